"""LoRA SFT training throughput on SmolLM2-135M-Instruct: ``lora_sft`` at batch size B against
batch size 1, same chats, same process.

Prints JSON. Each arm is a real :func:`alignlab.models.lora_sft` run (rank 8 on all linear
layers, AdamW, one epoch, checkpoints and ``metrics.jsonl`` as usual) on ``--chats`` synthetic
single-turn chats of mixed length (replies of 8 to 60 words, loss on assistant tokens only).
``trained_tokens_per_s`` counts the tokens that carried loss (``metrics.jsonl``'s ``tokens``)
over the wall time between the first and the last optimizer step's callback, so model loading,
tokenisation and the first (warm-up) step are left out. ``ratio_batch{B}_vs_batch1`` is how
much faster the same data trains in padded, shuffled batches of B than one chat per step: what
batching buys on this machine despite the padding of mixed lengths. Torch runs with
``--threads`` threads, 1 by default: on 2 cores shared with other jobs, two threads fight them
(a run with 2 threads at load average 6 did not finish in 400 s; with 1 it took 160 s). The
figures move a lot with the machine's other load; see ``load_avg_1m_*``.

Run: ``.venv/bin/python benchmarks/bench_lora_sft.py [--chats 32] [--batch 8] [--threads 1]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from alignlab.core import read_metrics_log
from alignlab.models import LoraSFTConfig, lora_sft

WORDS = ["the", "bird", "flew", "over", "old", "town", "while", "people", "in", "square",
         "watched", "it", "circle", "and", "some", "said", "was", "a", "heron", "others", "crane"]


def _chats(n: int, seed: int = 0) -> list[list[dict[str, str]]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        reply = " ".join(rng.choice(WORDS, size=int(rng.integers(8, 61))))
        out.append([{"role": "user", "content": f"Tell me about bird number {i}."},
                    {"role": "assistant", "content": reply.capitalize() + "."}])
    return out


def _arm(chats: list, batch: int, folder: Path) -> dict[str, float]:
    stamps: list[float] = []
    cfg = LoraSFTConfig(epochs=1, batch_size=batch, lr=1e-4, warmup_ratio=0.0,
                        schedule="constant", max_tokens=128)
    lora_sft("smollm2", chats, cfg, out_dir=folder,
             callback=lambda step, loss: stamps.append(time.perf_counter()))
    rows = read_metrics_log(folder / "metrics.jsonl")
    tokens = sum(r["tokens"] for r in rows[1:])  # steps 2..N, timed from step 1's end
    seconds = stamps[-1] - stamps[0]
    return {"steps": len(rows), "trained_tokens_timed": tokens, "seconds": round(seconds, 2),
            "trained_tokens_per_s": round(tokens / seconds, 1),
            "final_loss": round(rows[-1]["loss"], 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chats", type=int, default=32)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    res: dict[str, object] = {
        "model": "smollm2", "chats": args.chats, "torch_threads": args.threads,
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "platform": platform.platform(), "cpus": os.cpu_count(),
        "load_avg_1m_before": round(os.getloadavg()[0], 2),
    }
    chats = _chats(args.chats)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        base = _arm(chats, 1, Path(tmp) / "b1")
        res["batch1"] = base
        batched = _arm(chats, args.batch, Path(tmp) / f"b{args.batch}")
        res[f"batch{args.batch}"] = batched
        res["total_s"] = round(time.perf_counter() - t0, 1)
    res[f"ratio_batch{args.batch}_vs_batch1"] = round(
        batched["trained_tokens_per_s"] / base["trained_tokens_per_s"], 2)
    res["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
