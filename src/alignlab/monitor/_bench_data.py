"""Where a bench's rows come from, and the per-domain caps that keep it inside a CPU budget."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from pathlib import Path

import numpy as np

from alignlab.core import AlignlabError
from alignlab.monitor._config import BuildConfig
from alignlab.monitor._schema import MoodData, MoodRow

DEFAULT_RAW_DIR = Path("../shared/data/raw")
PUBLIC_DESIGNS = {"public": "absolute", "public-hh-preference": "hh-preference"}


def load_data(spec: str, *, raw_dir: str | Path | None = None, seed: int = 0) -> MoodData:
    """Resolve a ``--data`` spec.

    ``demo``: the small set the project ships; ``public``: built in memory from the raw public
    sources in ``raw_dir`` (absolute labels); ``public-hh-preference``: the same sources with
    HH-RLHF relative preferences as the training labels; ``mood-bench`` / ``mood-bench:PATH``:
    the official MOOD dataset from the hub or a local copy; any other value: a folder written
    by ``alignlab monitor build``.
    """
    if spec == "demo":
        from alignlab.monitor._demo_data import demo_benchmark

        return demo_benchmark(seed=seed)
    if spec in PUBLIC_DESIGNS:
        from alignlab.monitor._builder import build_benchmark

        raw = Path(raw_dir or DEFAULT_RAW_DIR)
        return build_benchmark(raw, design=PUBLIC_DESIGNS[spec], seed=seed)
    if spec == "mood-bench" or spec.startswith("mood-bench:"):
        from alignlab.monitor._loaders import load_mood_bench

        source = spec.split(":", 1)[1] if ":" in spec else "hub"
        return load_mood_bench(source, seed=seed)
    path = Path(spec)
    if not path.is_dir():
        raise AlignlabError(
            "not a benchmark folder (expected train.jsonl/test.jsonl) and not one of "
            "demo, public, public-hh-preference, mood-bench, mood-bench:PATH",
            file=path,
            field="data",
        )
    from alignlab.monitor._loaders import load_benchmark_dir

    return load_benchmark_dir(path)


def cap_rows(rows: list[MoodRow], cap: int | None, seed: int) -> list[MoodRow]:
    """Keep at most ``cap`` rows per (domain, label), chosen with a seeded shuffle."""
    if cap is None or cap <= 0:
        return list(rows)
    buckets: dict[tuple[str, int], list[MoodRow]] = defaultdict(list)
    for r in rows:
        buckets[(r.domain, r.malign)].append(r)
    rng = np.random.default_rng(seed)
    keep: set[str] = set()
    for key in sorted(buckets):
        bucket = buckets[key]
        idx = rng.permutation(len(bucket))[:cap]
        keep.update(bucket[i].id for i in idx)
    return [r for r in rows if r.id in keep]


def apply_caps(
    data: MoodData, *, max_rows: int | None, max_train: int | None, seed: int
) -> MoodData:
    """Cap test rows per (domain, label) at ``max_rows`` and train/calib at ``max_train``."""
    return dataclasses.replace(
        data,
        train=cap_rows(data.train, max_train, seed),
        calib=cap_rows(data.calib, max_train, seed + 1),
        test=cap_rows(data.test, max_rows, seed + 2),
    )


def build_to_folder(cfg: BuildConfig) -> Path:
    """``alignlab monitor build``: raw public sources → a benchmark folder (atomic)."""
    from alignlab.monitor._builder import build_benchmark, write_benchmark

    data = build_benchmark(
        Path(cfg.raw_dir), design=cfg.design, seed=cfg.seed, max_per_domain=cfg.max_per_domain
    )
    out = Path(cfg.out)
    write_benchmark(data, out, overwrite=cfg.overwrite)
    return out
