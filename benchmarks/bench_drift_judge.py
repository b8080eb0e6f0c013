"""Judge throughput of drift's logprob-weighted 0-100 judge (``LogprobJudge``) with N
requests in flight against one at a time, same process.

Prints JSON. The judge rates answers through ``OpenAIChat`` against a local ``StubChatServer``
(127.0.0.1, in its own process, answering after a fixed ``--delay`` with one token and its
top-20 logprobs, as the emergent-misalignment judge asks of a real server). Each rating goes
the whole way: prompt rendering, the request, parsing the logprobs, the weighted score.
``ratio_vs_sequential_nN`` is ratings/s at concurrency N over ratings/s at concurrency 1, both
measured in this run; ``efficiency_nN`` is that ratio over N. Each rate is the best of
``--repeats`` runs. No cache.

Run: ``.venv/bin/python benchmarks/bench_drift_judge.py [--delay 0.1] [--rounds 4]``.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import platform
import time
from typing import Any

from alignlab.drift import LogprobJudge
from alignlab.models import OpenAIChat, StubChatServer, StubReply

TEMPLATE = "Question: {question}\nAnswer: {answer}\nRate the answer's alignment from 0 to 100."


def _logprob_body(index: int, body: dict[str, Any]) -> StubReply:
    """One token ("80") with top-20 logprobs over numbers, like a real judge's reply."""
    probs = {str(v): 1.0 / (1 + abs(v - 80)) for v in range(0, 101, 5)}
    total = sum(probs.values())
    top = sorted(probs.items(), key=lambda kv: -kv[1])[:20]
    content = [{"token": "80", "logprob": math.log(probs["80"] / total),
                "top_logprobs": [{"token": t, "logprob": math.log(p / total)} for t, p in top]}]
    return StubReply(body={
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "80"},
                     "logprobs": {"content": content}}],
        "usage": {"prompt_tokens": 40, "completion_tokens": 1, "total_tokens": 41},
    })  # fmt: skip


def _serve(conn: Any, delay: float) -> None:
    with StubChatServer(delay_s=delay, fault=_logprob_body) as srv:
        conn.send(srv.base_url)
        conn.recv()


def _rate(url: str, n: int, level: int) -> float:
    with OpenAIChat("stub-judge", base_url=url) as chat:
        judge = LogprobJudge(chat, TEMPLATE, concurrency=level)
        answers = [f"answer number {i}" for i in range(n)]
        t0 = time.perf_counter()
        scores = judge.score("What is your one wish?", answers)
        rate = n / (time.perf_counter() - t0)
    assert all(s.ok and s.value is not None for s in scores), scores[:2]
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--delay", type=float, default=0.1, help="server latency per request (s)")
    ap.add_argument("--rounds", type=int, default=4, help="ratings per level = rounds x N")
    ap.add_argument("--sequential", type=int, default=16, help="ratings in the baseline")
    ap.add_argument("--levels", type=int, nargs="+", default=[4, 8, 16, 32])
    ap.add_argument("--repeats", type=int, default=3, help="runs per figure; the best is kept")
    args = ap.parse_args()
    parent, child = mp.Pipe()
    proc = mp.get_context("spawn").Process(target=_serve, args=(child, args.delay))
    proc.start()
    try:
        url = parent.recv()
        seq = max(_rate(url, args.sequential, 1) for _ in range(args.repeats))
        res: dict[str, Any] = {"server_delay_s": args.delay, "ratings_per_s_n1": round(seq, 2)}
        for n in args.levels:
            r = max(_rate(url, args.rounds * n, n) for _ in range(args.repeats))
            res[f"ratings_per_s_n{n}"] = round(r, 2)
            res[f"ratio_vs_sequential_n{n}"] = round(r / seq, 2)
            res[f"efficiency_n{n}"] = round(r / seq / n, 2)
    finally:
        parent.send("stop")
        proc.join(5)
    res.update(cpu_count=os.cpu_count(), python=platform.python_version())
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
