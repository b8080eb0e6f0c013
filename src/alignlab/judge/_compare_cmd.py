"""``alignlab judge compare``: several ``judge evaluate`` runs on the same pairs side by side,
each against the one before it with paired bootstrap CIs.

Columns are (run, prompt) in the order given. Besides MMRB2's scores (``_judge_metrics``) it
reports **position bias**: the share of readable verdicts that pick the candidate shown first,
pooled over both orders, minus 0.5, in absolute value (0 for a judge that ignores position).
A difference is column minus the column before it, over the pairs both judged, with both
columns' pairs resampled together (a paired bootstrap, so the CI reflects the difference, not
two independent spreads).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alignlab.core import (
    AlignlabError,
    atomic_write_text,
    bad_flag,
    check_at_least,
    check_seed,
    config_field,
)
from alignlab.judge._judge_metrics import pair_rows

SCORES = ("accuracy", "pair_accuracy", "consistency", "position_bias", "parse_failure")
LABELS = {
    "accuracy": "accuracy (correct / 2N)",
    "pair_accuracy": "pair accuracy (both orders right)",
    "consistency": "consistency (same preference both orders)",
    "position_bias": "position bias: abs(P(first) - 0.5)",
    "parse_failure": "no readable verdict",
}


@dataclass(frozen=True)
class CompareConfig:
    runs: tuple[str, ...] = config_field((), "judge evaluate run folders, in the order to compare")
    names: tuple[str, ...] = config_field((), "a name per run (none: the folder names)")
    n_boot: int = config_field(2000, "bootstrap replicates (>= 100)")
    seed: int = config_field(0, "bootstrap seed")
    out: str = config_field("", "also write the table here (Markdown; a .json beside it)")

    def __post_init__(self) -> None:
        """Reject bad flag values before any work.

        Raises:
            AlignlabError: naming the field.
        """
        if not self.runs:
            bad_flag("runs", "give at least one judge evaluate run folder")
        for r in self.runs:
            if not (Path(r) / "records.jsonl").is_file():
                bad_flag("runs", f"{r}: no records.jsonl (not a judge evaluate run)")
        if self.names and len(self.names) != len(self.runs):
            bad_flag("names", f"{len(self.names)} names for {len(self.runs)} runs")
        check_at_least(self.n_boot, 100, "n_boot", "bootstrap replicates")
        check_seed(self.seed)


def _columns(cfg: CompareConfig) -> list[tuple[str, dict[str, dict[str, Any]]]]:
    """(name, {pair_id: pair row}) per (run, prompt)."""
    from alignlab.judge._evaluate import read_records, verdict_of

    cols = []
    for i, run in enumerate(cfg.runs):
        verdicts = [verdict_of(r) for r in read_records(Path(run))]
        prompts = list(dict.fromkeys(v.prompt for v in verdicts))
        base = cfg.names[i] if cfg.names else Path(run).name
        for p in prompts:
            rows = pair_rows(v for v in verdicts if v.prompt == p)
            name = base if len(prompts) == 1 else f"{base} / {p}"
            cols.append((name, {r["pair_id"]: r for r in rows}))
    return cols


def _first_share(row: dict[str, Any]) -> float:
    vals = [row[k] for k in ("first_forward", "first_reverse") if row[k] is not None]
    return float(np.mean(vals)) if vals else np.nan


def _stat(name: str) -> Callable[[list[dict[str, Any]]], np.ndarray]:
    """Per-pair values whose mean (nan ignored) is the metric; position bias is taken of it."""

    def values(rows: list[dict[str, Any]]) -> np.ndarray:
        if name == "position_bias":
            return np.array([_first_share(r) for r in rows], dtype=np.float64)
        return np.array([r[name] for r in rows], dtype=np.float64)

    return values


def _metric(vals: np.ndarray, name: str, axis: int | None = None) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-nan slice: nothing readable
        m = np.nanmean(vals, axis=axis)
    return np.abs(m - 0.5) if name == "position_bias" else m


def _estimate(a: np.ndarray, b: np.ndarray | None, name: str, idx: np.ndarray) -> dict[str, float]:
    """The metric of ``a`` (or of ``a`` minus that of ``b``, paired) with a percentile 95% CI
    over resampled pair indices ``idx`` ``[n_boot, n]``. Written here because ``core``'s
    bootstrap resamples one array, and a paired difference must resample both together."""
    point = _metric(a, name) - (0.0 if b is None else _metric(b, name))
    reps = _metric(a[idx], name, axis=1) - (0.0 if b is None else _metric(b[idx], name, axis=1))
    low, high = np.nanpercentile(reps, [2.5, 97.5])
    return {"value": float(point), "low": float(low), "high": float(high)}


def compare_evaluations(cfg: CompareConfig) -> dict[str, Any]:
    """``{"columns": [{name, pairs, metric: estimate}], "differences": [{name, vs, pairs,
    metric: estimate}]}`` (module doc)."""
    cols = _columns(cfg)
    rng = np.random.default_rng(cfg.seed)
    out: dict[str, Any] = {"columns": [], "differences": []}
    for k, (name, rows) in enumerate(cols):
        ids = sorted(rows)
        idx = rng.integers(0, len(ids), size=(cfg.n_boot, len(ids)))
        entry: dict[str, Any] = {"name": name, "pairs": len(ids)}
        for s in SCORES:
            entry[s] = _estimate(_stat(s)([rows[i] for i in ids]), None, s, idx)
        out["columns"].append(entry)
        if k == 0:
            continue
        prev_name, prev = cols[k - 1]
        shared = sorted(set(rows) & set(prev))
        if not shared:
            raise AlignlabError(f"{name} and {prev_name} judged no pair in common", field="runs")
        idx = rng.integers(0, len(shared), size=(cfg.n_boot, len(shared)))
        diff: dict[str, Any] = {"name": name, "vs": prev_name, "pairs": len(shared)}
        for s in SCORES:
            f = _stat(s)
            a, b = f([rows[i] for i in shared]), f([prev[i] for i in shared])
            diff[s] = _estimate(a, b, s, idx)
        out["differences"].append(diff)
    return out


def _fmt(e: dict[str, float], signed: bool = False) -> str:
    v = f"{e['value']:+.3f}" if signed else f"{e['value']:.3f}"
    return (
        f"{v} [{e['low']:+.3f}, {e['high']:+.3f}]"
        if signed
        else f"{v} [{e['low']:.3f}, {e['high']:.3f}]"
    )


def render(result: dict[str, Any]) -> str:
    """The comparison as Markdown tables."""
    cols = result["columns"]
    lines = ["| metric | " + " | ".join(c["name"] for c in cols) + " |",
             "|---" * (len(cols) + 1) + "|",
             "| pairs | " + " | ".join(str(c["pairs"]) for c in cols) + " |"]  # fmt: skip
    lines += [f"| {LABELS[s]} | " + " | ".join(_fmt(c[s]) for c in cols) + " |" for s in SCORES]
    text = "\n".join(lines) + "\n\nValues with 95% bootstrap CIs over pairs.\n"
    diffs = result["differences"]
    if diffs:
        text += "\n| difference | pairs | " + " | ".join(LABELS[s] for s in SCORES) + " |\n"
        text += "|---" * (len(SCORES) + 2) + "|\n"
        for d in diffs:
            text += (f"| {d['name']} − {d['vs']} | {d['pairs']} | "
                     + " | ".join(_fmt(d[s], signed=True) for s in SCORES) + " |\n")  # fmt: skip
        text += "\nEach run minus the one before it, paired bootstrap 95% CIs over shared pairs.\n"
    return text


def run_compare(cfg: CompareConfig) -> str:
    """Compare, print-ready Markdown; written to ``cfg.out`` (and JSON beside it) if set."""
    result = compare_evaluations(cfg)
    text = render(result)
    if cfg.out:
        out = Path(cfg.out)
        atomic_write_text(out.with_suffix(".json"), json.dumps(result, indent=2) + "\n")
        atomic_write_text(out, text)
    return text
