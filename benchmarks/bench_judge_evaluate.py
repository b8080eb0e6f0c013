"""Evaluation throughput of ``judge evaluate``'s request path with N requests in flight
against one request at a time, same process.

Prints JSON. Pairs come from the synthetic bench (two-image t2i pairs and one-image reasoning
pairs, 64-px PNGs); each judgement builds the chain prompt with its images as data URLs,
sends it through ``OpenAIChat`` to a local ``StubChatServer`` (127.0.0.1, answering after a
fixed ``--delay``, in its own process as a real server would be, so its JSON decoding of the
images does not share this process's interpreter), parses the answer and appends its record,
exactly as ``judge evaluate`` does (``judge_items``). ``ratio_vs_sequential_nN`` is
judgements/s at concurrency N over judgements/s at concurrency 1, both measured in this run;
``efficiency_nN`` is that ratio over N (target ≥ 0.8 up to N = 32). Each rate is the best of
``--repeats`` runs. No cache.

Run: ``.venv/bin/python benchmarks/bench_judge_evaluate.py [--delay 0.1] [--rounds 4]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import tempfile
import time
from pathlib import Path

from alignlab.judge import load_pairs, write_bench
from alignlab.judge._evaluate import items_for, judge_items
from alignlab.models import OpenAIChat, StubChatServer


def _rate(chat: OpenAIChat, items: list, level: int, folder: Path) -> float:
    run = Path(tempfile.mkdtemp(dir=folder))
    t0 = time.perf_counter()
    failed = judge_items(chat, items, run, concurrency=level, max_tokens=64, temperature=0.0)
    rate = len(items) / (time.perf_counter() - t0)
    assert failed == 0
    return rate


def _serve(conn: object, delay: float) -> None:
    """Run a stub server in this (child) process until the parent says stop."""
    with StubChatServer(delay_s=delay) as srv:
        conn.send(srv.base_url)  # type: ignore[attr-defined]
        conn.recv()  # type: ignore[attr-defined]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--delay", type=float, default=0.1, help="server latency per request (s)")
    ap.add_argument("--rounds", type=int, default=4, help="judgements per level = rounds × N")
    ap.add_argument("--sequential", type=int, default=16, help="judgements in the baseline")
    ap.add_argument("--levels", type=int, nargs="+", default=[4, 8, 16, 32])
    ap.add_argument("--repeats", type=int, default=3, help="runs per figure; the best is kept")
    args = ap.parse_args()
    res: dict[str, object] = {
        "server_delay_s": args.delay,
        "rounds": args.rounds,
        "repeats": args.repeats,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_avg_1m_before": round(os.getloadavg()[0], 2),
    }
    with tempfile.TemporaryDirectory() as tmp:
        need = max(args.sequential, max(args.levels) * args.rounds)
        bench = write_bench(Path(tmp) / "bench", n=(need + 1) // 2, families=("t2i", "reasoning"))
        items = items_for(load_pairs(bench), ["chain"])
        parent, child = mp.Pipe()
        server = mp.get_context("fork").Process(target=_serve, args=(child, args.delay))
        server.start()
        with OpenAIChat("stub", base_url=parent.recv()) as chat:
            _rate(chat, items[:2], 1, Path(tmp))  # warm-up
            seq = max(_rate(chat, items[: args.sequential], 1, Path(tmp))
                      for _ in range(args.repeats))  # fmt: skip
            res["sequential_judgements_per_s"] = round(seq, 2)
            for level in args.levels:
                n = level * args.rounds
                rate = max(_rate(chat, items[:n], level, Path(tmp)) for _ in range(args.repeats))
                res[f"judgements_per_s_n{level}"] = round(rate, 2)
                res[f"ratio_vs_sequential_n{level}"] = round(rate / seq, 2)
                res[f"efficiency_n{level}"] = round(rate / seq / level, 3)
        parent.send("stop")
        server.join()
    res["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
