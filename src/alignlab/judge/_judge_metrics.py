"""MMRB2-style scores of a judge from its verdicts in both orders (arXiv 2512.16899).

Every pair is judged forward (as stored) and reverse (candidates swapped). From the verdict
records of one prompt, per task and overall, with percentile bootstrap 95% CIs over pairs
(both orders of a pair resampled together, ``core.bootstrap_mean``):

* ``accuracy``: MMRB2's official score, correct / 2N; an unreadable verdict, a failed request
  or a missing order counts as wrong;
* ``pair_accuracy``: the share of pairs right in both orders (J1's strict rule);
* ``consistency``: the share of pairs whose two verdicts, mapped back to the stored order,
  name the same response (both readable);
* ``first_forward`` / ``first_reverse``: the share of readable verdicts in that order that
  pick the candidate shown first (0.5 for a judge without position bias on balanced gold);
* ``parse_failure``: the share of the 2N judgements without a readable verdict;
* ``request_failure``: the share of the 2N judgements whose request failed.

A pure function over :class:`Verdict` records; the run and its report live elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from alignlab.core import bootstrap_mean

METRICS = (
    "accuracy", "pair_accuracy", "consistency", "first_forward", "first_reverse",
    "parse_failure", "request_failure",
)  # fmt: skip


@dataclass(frozen=True)
class Verdict:
    """One judgement: pair ``pair_id`` of ``task`` shown in ``order`` (``"forward"`` /
    ``"reverse"``) under ``prompt``; ``gold`` and ``verdict`` are positions in the order shown
    (``"A"`` first); ``verdict`` is ``None`` when unreadable or when the request failed
    (``error`` set)."""

    pair_id: str
    task: str
    order: str
    prompt: str
    gold: str
    verdict: str | None
    error: str | None = None

    @property
    def correct(self) -> bool:
        return self.verdict is not None and self.verdict == self.gold


def _flip(position: str | None) -> str | None:
    return None if position is None else {"A": "B", "B": "A"}.get(position)


def pair_rows(verdicts: Iterable[Verdict]) -> list[dict[str, Any]]:
    """One row per pair (stored order): ``task``, per-pair values of every metric in
    :data:`METRICS` (``first_*`` ``None`` where that order's verdict is unreadable).

    Raises:
        ValueError: an unknown order, or two verdicts for one (pair, order).
    """
    by_pair: dict[str, dict[str, Verdict]] = {}
    for v in verdicts:
        if v.order not in ("forward", "reverse"):
            raise ValueError(f"pair {v.pair_id}: unknown order {v.order!r}")
        slot = by_pair.setdefault(v.pair_id, {})
        if v.order in slot:
            raise ValueError(f"pair {v.pair_id}: two {v.order} verdicts")
        slot[v.order] = v
    rows = []
    for pair_id, slot in by_pair.items():
        fwd, rev = slot.get("forward"), slot.get("reverse")
        both = [v for v in (fwd, rev) if v is not None]
        ok_f = fwd is not None and fwd.correct
        ok_r = rev is not None and rev.correct
        pref_f = fwd.verdict if fwd is not None else None
        pref_r = _flip(rev.verdict) if rev is not None else None
        rows.append(
            {
                "pair_id": pair_id,
                "task": both[0].task,
                "accuracy": (ok_f + ok_r) / 2,
                "pair_accuracy": float(ok_f and ok_r),
                "consistency": float(pref_f is not None and pref_f == pref_r),
                "first_forward": None if pref_f is None else float(pref_f == "A"),
                "first_reverse": (
                    None if rev is None or rev.verdict is None else float(rev.verdict == "A")
                ),
                "parse_failure": sum(v is None or v.verdict is None for v in (fwd, rev)) / 2,
                "request_failure": sum(v is None or v.error is not None for v in (fwd, rev)) / 2,
            }
        )
    return rows


def summarise(rows: Sequence[dict[str, Any]], *, n_boot: int, seed: int) -> dict[str, Any]:
    """``{"pairs": N, metric: {value, low, high} or None}`` over pair rows (``pair_rows``);
    ``first_*`` average over the pairs with a readable verdict in that order (None if none)."""
    out: dict[str, Any] = {"pairs": len(rows)}
    for name in METRICS:
        vals = np.array([r[name] for r in rows if r[name] is not None], dtype=np.float64)
        out[name] = bootstrap_mean(vals, n_boot=n_boot, seed=seed).as_dict() if vals.size else None
    return out


def judge_metrics(
    verdicts: Iterable[Verdict], *, n_boot: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Per prompt: ``{"overall": summary, "tasks": {task: summary}}`` (see ``summarise``);
    prompts and tasks in first-seen order."""
    by_prompt: dict[str, list[Verdict]] = {}
    for v in verdicts:
        by_prompt.setdefault(v.prompt, []).append(v)
    out: dict[str, Any] = {}
    for prompt, vs in by_prompt.items():
        rows = pair_rows(vs)
        tasks: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            tasks.setdefault(r["task"], []).append(r)
        out[prompt] = {
            "overall": summarise(rows, n_boot=n_boot, seed=seed),
            "tasks": {t: summarise(rs, n_boot=n_boot, seed=seed) for t, rs in tasks.items()},
        }
    return out


def predictions(
    verdicts: Iterable[Verdict], outputs: dict[tuple[str, str], str] | None = None
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """MMRB2's predictions file for one prompt: ``{pair_id: {"forward": [{"judgement": "A",
    ...}], "reverse": [...]}}``; each judgement is the verdict as given in that order
    (``None`` when unreadable), with ``output`` (the judge's text, from ``outputs`` keyed by
    (pair_id, order)) and ``error`` (a failed request's message) beside it."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for v in verdicts:
        entry = {"judgement": v.verdict, "output": (outputs or {}).get((v.pair_id, v.order), "")}
        if v.error is not None:
            entry["error"] = v.error
        out.setdefault(v.pair_id, {"forward": [], "reverse": []})[v.order].append(entry)
    return out
