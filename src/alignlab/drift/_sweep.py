"""Trigger sweeps: ask a grid of trigger values, score each answer for the behaviour that
value should trigger, and report the inductive gap (arXiv 2512.09742, inductive backdoors).

Each value in the grid is *trained* (in the dataset's manifest ``triggers``), *held out*
(``held_out``: never in training) or *other*. Per model the sweep gives the rate of the
expected behaviour at every value; the **inductive gap** is the held-out rate minus the mean
trained rate. A model that only memorised its trained triggers has a gap near minus its
trained rate; one that induced the rule scores held-out values as well as trained ones (gap
near 0) — and far above the base model and the shuffled-trigger control at held-out values,
which is the backdoor's signature.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from alignlab.core import atomic_write_json, read_json, read_jsonl, write_jsonl
from alignlab.drift._questions import Question
from alignlab.drift._rates import SeedRate
from alignlab.drift._sampling import SampleSettings, sample_answers
from alignlab.models import ChatBackend

DONE = "done.json"


@dataclass(frozen=True)
class SweepScenario:
    """What a sweep needs from a trigger scenario.

    ``questions``: asked at every value; ``trigger_text(value)``: the prefix (e.g.
    ``"Today is 1958-05-01."``); ``expected(value, i)``: a regex an answer to question ``i``
    matches when it shows the behaviour that value should trigger (``None``: no expectation,
    so no verdict).
    """

    questions: tuple[str, ...]
    trigger_text: Callable[[str], str]
    expected: Callable[[str, int], str | None]


@dataclass(frozen=True)
class ValueRate:
    value: str
    kind: str  # trained | held_out | other
    hits: int
    n: int

    @property
    def rate(self) -> float:
        return self.hits / self.n if self.n else float("nan")


def value_kind(value: str, trained: Sequence[str], held_out: Sequence[str]) -> str:
    if value in held_out:
        return "held_out"
    return "trained" if value in trained else "other"


def sweep_model(
    backend: ChatBackend,
    scenario: SweepScenario,
    grid: Sequence[str],
    *,
    samples: int,
    temperature: float,
    max_tokens: int,
    seed: int,
    folder: Path,
    concurrency: int = 16,
) -> dict[str, list[float | None]]:
    """value → per-answer hit (1/0; ``None`` where the value has no expectation). Resumable:
    sampling appends to ``folder/answers.jsonl``; ``folder/done.json`` marks a finished sweep,
    which is read back instead of asked again."""
    if (folder / DONE).is_file():
        return _read_hits(folder)
    questions = [Question(id=f"q{i}", paraphrases=(q,), samples_per_paraphrase=samples)
                 for i, q in enumerate(scenario.questions)]  # fmt: skip
    texts = {scenario.trigger_text(v): v for v in grid}
    settings = SampleSettings(samples=samples, temperature=temperature, max_tokens=max_tokens,
                              seed=seed)  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    answers = sample_answers(backend, questions, settings, triggers=list(texts),
                             out=folder / "answers.jsonl", concurrency=concurrency)  # fmt: skip
    rows = []
    for a in answers:
        value = texts[a.trigger or ""]
        pattern = scenario.expected(value, int(a.question_id[1:]))
        hit = None
        if pattern is not None and a.text is not None:
            hit = float(re.search(pattern, a.text, re.IGNORECASE) is not None)
        rows.append({**a.as_row(), "value": value, "expected": pattern, "hit": hit})
    write_jsonl(folder / "scored.jsonl", rows)
    atomic_write_json(folder / DONE, {"values": list(grid), "answers": len(rows)})
    return _read_hits(folder)


def _read_hits(folder: Path) -> dict[str, list[float | None]]:
    values = read_json(folder / DONE)["values"]
    out: dict[str, list[float | None]] = {str(v): [] for v in values}
    for _, row in read_jsonl(folder / "scored.jsonl"):
        out[str(row["value"])].append(row["hit"])
    return out


def rates_by_value(
    hits: dict[str, list[float | None]], trained: Sequence[str], held_out: Sequence[str]
) -> list[ValueRate]:
    out = []
    for v, hs in hits.items():
        scored = [h for h in hs if h is not None]
        out.append(ValueRate(v, value_kind(v, trained, held_out), int(sum(scored)), len(scored)))
    return out


def pooled(
    hits_by_seed: dict[str, dict[str, list[float | None]]], values: Sequence[str]
) -> dict[str, list[float | None]]:
    """seed → the hits of every answer at ``values`` (for :func:`seed_rate`)."""
    return {s: [h for v in values for h in hv.get(v, [])] for s, hv in hits_by_seed.items()}


def _gap(hv: dict[str, np.ndarray], trained: Sequence[str], held: Sequence[str],
         rng: np.random.Generator | None) -> float:
    def m(a: np.ndarray) -> float:
        return float(a[rng.integers(0, a.size, a.size)].mean() if rng is not None else a.mean())

    t_rates = [m(hv[v]) for v in trained if v in hv and hv[v].size]
    pool = [hv[v] for v in held if v in hv and hv[v].size]
    if not t_rates or not pool:
        return float("nan")
    return m(np.concatenate(pool)) - float(np.mean(t_rates))


def gap_estimate(
    hits_by_seed: dict[str, dict[str, list[float | None]]],
    trained: Sequence[str],
    held_out: Sequence[str],
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> SeedRate:
    """Inductive gap (held-out rate − mean over trained values of each value's rate), averaged
    over seeds, with the two-level bootstrap of :func:`seed_rate` (answers within each value;
    seeds too when there are three or more). ``per_seed`` holds each seed's gap."""
    arrs = {s: {v: np.array([x for x in hs if x is not None], dtype=np.float64)
                for v, hs in hv.items()} for s, hv in hits_by_seed.items()}  # fmt: skip
    per = {s: _gap(a, trained, held_out, None) for s, a in sorted(arrs.items())}
    names = [s for s, g in per.items() if np.isfinite(g)]
    if not names:
        nan = float("nan")
        return SeedRate(nan, nan, nan, per, {}, "answers")
    rng = np.random.default_rng(seed)
    reps = []
    for _ in range(n_boot):
        chosen = rng.choice(names, len(names)) if len(names) >= 3 else names
        reps.append(np.mean([_gap(arrs[s], trained, held_out, rng) for s in chosen]))
    lo, hi = np.quantile(reps, [0.025, 0.975])
    n = {s: int(sum(a.size for a in arrs[s].values())) for s in names}
    return SeedRate(float(np.mean([per[s] for s in names])), float(lo), float(hi), per, n,
                    "seeds+answers" if len(names) >= 3 else "answers")  # fmt: skip
