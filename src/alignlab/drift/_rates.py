"""Rates of a behaviour over scored answers, with bootstrap CIs, per model and across seeds.

arXiv 2512.09742 computes each rate per finetuned model (one seed), then averages over seeds
with a confidence interval. :func:`seed_rate` does that with a two-level bootstrap: answers are
resampled within each seed and, with three or more seeds, the seeds are resampled too; with
fewer seeds the interval covers answer sampling only (``ci`` says which), since two seeds
cannot estimate the spread between finetuning runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from alignlab.core import AlignlabError


@dataclass(frozen=True)
class SeedRate:
    """Mean rate over seeds with a 95% bootstrap interval.

    ``per_seed``: each seed's rate (answers with a verdict only); ``n``: answers with a verdict
    per seed; ``ci``: ``"seeds+answers"`` or ``"answers"`` (what was resampled).
    """

    value: float
    low: float
    high: float
    per_seed: dict[str, float]
    n: dict[str, int]
    ci: str

    def as_dict(self) -> dict[str, object]:
        return {
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "per_seed": self.per_seed,
            "n": self.n,
            "ci": self.ci,
        }

    def fmt(self) -> str:
        return f"{100 * self.value:.1f}% [{100 * self.low:.1f}, {100 * self.high:.1f}]"


def _clean(hits: Mapping[str, Sequence[float | None]]) -> dict[str, np.ndarray]:
    out = {}
    for seed, vals in hits.items():
        arr = np.array([v for v in vals if v is not None], dtype=np.float64)
        if arr.size == 0:
            raise AlignlabError(f"seed {seed} has no scored answers", field="seed")
        out[seed] = arr
    if not out:
        raise AlignlabError("no seeds to aggregate", field="seed")
    return out


def seed_rate(
    hits: Mapping[str, Sequence[float | None]], *, n_boot: int = 1000, seed: int = 0
) -> SeedRate:
    """Mean over seeds of each seed's mean of ``hits`` (1.0 = behaviour shown, 0.0 = not,
    ``None`` = unscored, left out), with a two-level percentile bootstrap CI."""
    arrs = _clean(hits)
    names = sorted(arrs)
    per = {k: float(arrs[k].mean()) for k in names}
    value = _mean_of_seeds(arrs)
    rng = np.random.default_rng(seed)
    reps = np.array([_one_rep(arrs, rng) for _ in range(n_boot)])
    lo, hi = np.quantile(reps, [0.025, 0.975]) if n_boot > 0 else (value, value)
    return SeedRate(
        value,
        float(lo),
        float(hi),
        per,
        {k: int(arrs[k].size) for k in names},
        "seeds+answers" if len(names) >= 3 else "answers",
    )


def rate_difference(
    a: Mapping[str, Sequence[float | None]],
    b: Mapping[str, Sequence[float | None]],
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """``rate(a) - rate(b)`` (each a mean over its seeds) with a 95% bootstrap CI from
    independent resampling of both, as in :func:`seed_rate`."""
    ea, eb = _clean(a), _clean(b)
    rng = np.random.default_rng(seed + 2)
    reps = np.array([_one_rep(ea, rng) - _one_rep(eb, rng) for _ in range(n_boot)])
    lo, hi = np.quantile(reps, [0.025, 0.975]) if n_boot > 0 else (0.0, 0.0)
    return _mean_of_seeds(ea) - _mean_of_seeds(eb), float(lo), float(hi)


def _mean_of_seeds(arrs: Mapping[str, np.ndarray]) -> float:
    return float(np.mean([a.mean() for a in arrs.values()]))


def _one_rep(arrs: Mapping[str, np.ndarray], rng: np.random.Generator) -> float:
    names = sorted(arrs)
    chosen = rng.choice(names, len(names)) if len(names) >= 3 else names
    return float(np.mean([arrs[k][rng.integers(0, arrs[k].size, arrs[k].size)].mean()
                          for k in chosen]))  # fmt: skip
