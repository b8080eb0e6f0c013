"""Chat throughput with N requests in flight against sequential requests, same process.

Prints JSON. A local OpenAI-compatible stub server (``StubChatServer`` on 127.0.0.1, answering
each request after a fixed ``--delay``, no model) stands in for vLLM or a hosted API, so the
figure is what ``OpenAIChat.complete_many`` adds on top of the server's latency: thread pool,
httpx connection pool, JSON, retries bookkeeping. For each N in ``--levels``,
``ratio_vs_sequential_nN`` is requests/s of ``complete_many(concurrency=N)`` over requests/s of
plain ``complete()`` calls one after another, both measured in this run; ``efficiency_nN`` is
that ratio over N (target ≥ 0.8 up to N = 32). ``peak_in_flight_nN`` is the most requests the
server saw at once (it must equal N). Each rate is the best of ``--repeats`` runs (the
timeit convention: on a shared machine the slower runs measure other jobs, not this code).
Every request is distinct and no cache is used.

Run: ``.venv/bin/python benchmarks/bench_models_concurrency.py [--delay 0.1] [--rounds 8]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import httpx

from alignlab.models import ChatRequest, OpenAIChat, StubChatServer


def _msgs(tag: str, i: int) -> list[dict[str, str]]:
    return [{"role": "user", "content": f"{tag} request {i}: say something"}]


def _sequential_rate(chat: OpenAIChat, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        chat.complete(_msgs("seq", i))
    return n / (time.perf_counter() - t0)


def _concurrent_rate(
    chat: OpenAIChat, srv: StubChatServer, level: int, rounds: int, rep: int
) -> tuple[float, int]:
    """Requests/s and the server's peak requests in flight."""
    reqs = [ChatRequest(_msgs(f"n{level}-{rep}", i)) for i in range(level * rounds)]
    srv.peak_in_flight = 0
    t0 = time.perf_counter()
    out = chat.complete_many(reqs, concurrency=level)
    rate = len(reqs) / (time.perf_counter() - t0)
    assert all(r.ok for r in out)
    return rate, srv.peak_in_flight


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--delay", type=float, default=0.1, help="server latency per request (s)")
    ap.add_argument("--rounds", type=int, default=8, help="requests per level = rounds × N")
    ap.add_argument("--sequential", type=int, default=16, help="requests in the baseline")
    ap.add_argument("--levels", type=int, nargs="+", default=[2, 4, 8, 16, 32])
    ap.add_argument("--repeats", type=int, default=3, help="runs per figure; the best is kept")
    args = ap.parse_args()
    res: dict[str, object] = {
        "server_delay_s": args.delay,
        "rounds": args.rounds,
        "repeats": args.repeats,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_avg_1m_before": round(os.getloadavg()[0], 2),
        "httpx": httpx.__version__,
    }
    with (
        StubChatServer(delay_s=args.delay) as srv,
        OpenAIChat("stub", base_url=srv.base_url) as chat,
    ):
        chat.complete(_msgs("warm-up", 0))
        seq = max(_sequential_rate(chat, args.sequential) for _ in range(args.repeats))
        res["sequential_requests_per_s"] = round(seq, 2)
        res["ideal_sequential_requests_per_s"] = round(1 / args.delay, 2)
        for level in args.levels:
            runs = [_concurrent_rate(chat, srv, level, args.rounds, r) for r in range(args.repeats)]
            rate = max(r for r, _ in runs)
            res[f"requests_per_s_n{level}"] = round(rate, 2)
            res[f"ratio_vs_sequential_n{level}"] = round(rate / seq, 2)
            res[f"efficiency_n{level}"] = round(rate / seq / level, 3)
            res[f"peak_in_flight_n{level}"] = max(p for _, p in runs)
    res["load_avg_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
