"""The sqlite caches shared by many threads (the chat backend writes from a thread pool)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from alignlab.core import ArrayCache, JsonCache

N_THREADS = 16
N_KEYS = 60


def _hammer(work) -> list[BaseException]:  # type: ignore[no-untyped-def]
    start = threading.Barrier(N_THREADS)
    errors: list[BaseException] = []

    def run(t: int) -> None:
        start.wait()
        try:
            work(t)
        except BaseException as err:  # noqa: BLE001 - collected and asserted on below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(t,)) for t in range(N_THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return errors


def test_json_cache_many_threads_write_and_read(tmp_path: Path) -> None:
    cache = JsonCache(tmp_path / "j.sqlite")
    seen: dict[tuple[int, int], object] = {}

    def work(t: int) -> None:
        for i in range(N_KEYS):
            cache.put(f"t{t}-{i}", {"t": t, "i": i, "text": "x" * i})
            cache.put("shared", {"t": t})  # every thread overwrites one key too
            seen[t, i] = cache.get(f"t{t}-{i}")
            assert isinstance(cache.get("shared"), dict)

    assert _hammer(work) == []
    assert all(v == {"t": t, "i": i, "text": "x" * i} for (t, i), v in seen.items())
    assert len(seen) == N_THREADS * N_KEYS
    cache.close()
    reopened = JsonCache(tmp_path / "j.sqlite")
    assert len(reopened) == N_THREADS * N_KEYS + 1  # every write committed
    assert reopened.get(f"t{N_THREADS - 1}-{N_KEYS - 1}") == {
        "t": N_THREADS - 1,
        "i": N_KEYS - 1,
        "text": "x" * (N_KEYS - 1),
    }


def test_array_cache_many_threads(tmp_path: Path) -> None:
    cache = ArrayCache(tmp_path / "a.sqlite")

    def work(t: int) -> None:
        for i in range(N_KEYS // 4):
            cache.put_many({f"t{t}-{i}-{j}": np.full(j + 1, t, np.int32) for j in range(4)})
            got = cache.get_many([f"t{t}-{i}-{j}" for j in range(4)])
            assert [a.tolist() for a in got.values()] == [[t] * (j + 1) for j in range(4)]

    assert _hammer(work) == []
    assert len(cache) == N_THREADS * N_KEYS
