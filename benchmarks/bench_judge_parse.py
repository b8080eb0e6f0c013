"""Throughput of the judge's chain parser and reward functions, against a bare regex pass.

Prints JSON: completions/s of ``parse_verdict``, ``parse_chain``, the weighted judge reward
(``make_judge_reward``: one parse per completion, then format + accuracy + consistency) and the
three reward functions called one after another as TRL calls a list of them (each parses on
its own), over one batch of synthetic judge outputs interleaved as (pair, swapped) rows; and
the baseline, one ``re.findall`` of the tags and ids over the same texts (the least any parser
of this format must do). Ratios are each figure over the baseline's, measured in the same run.
Target: reward calls ≥ 10,000 completions/s on one core. The load averages say how busy the
machine was (on a shared 2-core box the figures vary by about ±30% from run to run).

The batch (``--n`` rows, default 4,096): 70% whole chains (4-10 observations, 2-6 claims per
response each with a verification line, a three-to-six-sentence evaluation; ~1.5 kB), 10% the
same cut off part-way, 10% bare verdicts (the baseline prompt's answers), 10% prose without
tags. Each figure is the best of ``--repeats`` passes.

Run: ``.venv/bin/python benchmarks/bench_judge_parse.py [--n 4096] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import time
from collections.abc import Callable
from typing import Any

from alignlab.judge._chain import Chain, Claim, Observation, Verification, render_chain
from alignlab.judge._parse import parse_chain, parse_verdict
from alignlab.judge._rewards import (
    make_accuracy_reward,
    make_consistency_reward,
    make_format_reward,
    make_judge_reward,
)

WORDS = (
    "the", "red", "circle", "left", "of", "a", "blue", "square", "three", "green", "triangles",
    "sign", "reading", "OPEN", "chart", "bar", "taller", "than", "image", "shows", "caption",
    "response", "claims", "count", "colour", "above", "below", "label", "axis",
)  # fmt: skip
BASELINE = re.compile(r"</?\w+>|\[[A-Za-z]+[0-9]+\]")


def _sentence(rng: random.Random, lo: int = 6, hi: int = 14) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi))).capitalize() + "."


def _chain(rng: random.Random, verdict: str) -> str:
    n_obs = rng.randint(4, 10)
    obs = tuple(Observation(i + 1, _sentence(rng), rng.randint(1, 3)) for i in range(n_obs))
    claims, checks = [], []
    for side in ("A", "B"):
        for k in range(1, rng.randint(2, 6) + 1):
            claims.append(Claim(side, k, _sentence(rng)))  # type: ignore[arg-type]
            status = rng.choice(("supported", "contradicted", "unverifiable"))
            cites = tuple(rng.sample(range(1, n_obs + 1), rng.randint(1, 2)))
            checks.append(Verification(side, k, status, cites, _sentence(rng, 3, 8)))  # type: ignore[arg-type]
    evaluation = " ".join(_sentence(rng) for _ in range(rng.randint(3, 6)))
    return render_chain(Chain(obs, tuple(claims), tuple(checks), evaluation, verdict))  # type: ignore[arg-type]


def make_batch(n: int, seed: int = 0) -> tuple[list[str], list[str], dict[str, list[Any]]]:
    rng = random.Random(seed)
    prompts, texts = [], []
    cols: dict[str, list[Any]] = {"pair_id": [], "order": [], "gold": []}
    for i in range(n):
        pair, order = i // 2, ("forward", "reverse")[i % 2]
        gold = rng.choice("AB") if order == "forward" else {"A": "B", "B": "A"}[cols["gold"][-1]]
        verdict = rng.choice("AB")
        kind = rng.random()
        text = _chain(rng, verdict)
        if 0.7 <= kind < 0.8:
            text = text[: rng.randint(0, len(text) - 1)]
        elif 0.8 <= kind < 0.9:
            text = f"<verdict>{verdict}</verdict>"
        elif kind >= 0.9:
            text = " ".join(_sentence(rng) for _ in range(8))
        prompts.append(f"judge pair {pair}")
        texts.append(text)
        cols["pair_id"].append(pair)
        cols["order"].append(order)
        cols["gold"].append(gold)
    return prompts, texts, cols


def _rate(fn: Callable[[], object], n: int, repeats: int) -> float:
    """Completions/s of the best of ``repeats`` passes (wall clock)."""
    fn()  # warm-up: compiled patterns, caches
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return n / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=4096, help="completions in the batch")
    ap.add_argument("--repeats", type=int, default=5, help="passes per figure; the best is kept")
    args = ap.parse_args()
    prompts, texts, cols = make_batch(args.n)
    res: dict[str, object] = {
        "n_completions": len(texts),
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
        "repeats": args.repeats,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_avg_1m_before": round(os.getloadavg()[0], 2),
    }
    fns = [make_format_reward(), make_accuracy_reward(), make_consistency_reward()]
    judge = make_judge_reward()
    cases: dict[str, Callable[[], object]] = {
        "findall_baseline": lambda: [BASELINE.findall(t) for t in texts],
        "parse_verdict": lambda: [parse_verdict(t) for t in texts],
        "parse_chain": lambda: [parse_chain(t) for t in texts],
        "judge_reward": lambda: judge(prompts, texts, **cols),
        "three_reward_fns": lambda: [f(prompts, texts, **cols) for f in fns],
    }
    rates = {name: _rate(fn, len(texts), args.repeats) for name, fn in cases.items()}
    base = rates["findall_baseline"]
    for name, rate in rates.items():
        res[f"{name}_per_s"] = round(rate)
        if name != "findall_baseline":
            res[f"{name}_vs_findall"] = round(rate / base, 3)
    res["target_per_s"] = 10_000
    res["meets_target"] = min(rates["judge_reward"], rates["three_reward_fns"]) >= 10_000
    res["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
