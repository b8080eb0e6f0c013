"""Evaluate one model: sample answers to a question set, score them, and the hits of each
target per answer — the unit ``drift evaluate`` runs once and ``drift run`` runs per model.

A model's folder holds ``answers.jsonl`` (appended as sampled; a killed evaluation resumes
from it), then ``scored.jsonl`` and ``done.json``, written atomically once scoring finished,
so a folder with ``done.json`` is complete and is never evaluated twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignlab.core import AlignlabError, atomic_write_json, read_json, read_jsonl, write_jsonl
from alignlab.drift._experiment import EvaluateStep, ScorerSpec, TargetSpec
from alignlab.drift._judges import ClassifyJudge, LogprobJudge, ReasonJudge
from alignlab.drift._paths import data_path
from alignlab.drift._questions import load_question_set
from alignlab.drift._rule_scorers import EmbeddingScorer, RegexScorer
from alignlab.drift._sampling import SampleSettings, sample_answers
from alignlab.drift._scores import Scorer
from alignlab.drift._targets import Condition, Target, check_targets, score_answers
from alignlab.models import ChatBackend, load_chat, load_encoder

DONE = "done.json"


@dataclass(frozen=True)
class ModelEval:
    """One model's verdicts: target → per-answer hit (1/0, ``None`` = no verdict), and the same
    split by question id."""

    model: str
    hits: dict[str, list[float | None]]
    by_question: dict[str, dict[str, list[float | None]]]
    n_answers: int
    n_failed: int


def build_targets(specs: Sequence[TargetSpec]) -> list[Target]:
    return [
        Target(t.name, tuple(Condition(c.scorer, c.label, c.below, c.above) for c in t.all))
        for t in specs
    ]


def build_scorers(
    specs: Sequence[ScorerSpec], *, base_url: str | None = None, concurrency: int = 8
) -> list[Scorer]:
    """Scorer objects for their specs; judge models load once per spec string."""
    judges: dict[str, ChatBackend] = {}
    out: list[Scorer] = []
    for s in specs:
        scorer: Scorer
        if s.kind == "regex":
            assert s.patterns is not None
            scorer = RegexScorer(s.patterns, flags=re.IGNORECASE, default=s.default_label,
                                 name=s.name)  # fmt: skip
        elif s.kind == "embedding":
            assert s.references is not None
            scorer = EmbeddingScorer(load_encoder(s.encoder), s.references, name=s.name)
        else:
            assert s.model is not None and s.prompt is not None
            if s.model not in judges:
                judges[s.model] = load_chat(s.model, base_url=base_url)
            backend = judges[s.model]
            kw: dict[str, Any] = {"concurrency": concurrency, "name": s.name}
            if s.kind == "judge":
                scorer = LogprobJudge(backend, s.prompt, **kw)
            elif s.kind == "classify":
                scorer = ClassifyJudge(backend, s.prompt, s.labels or [], **kw)
            else:
                scorer = ReasonJudge(backend, s.prompt, s.labels or [], **kw)
        out.append(scorer)
    return out


def read_model_eval(folder: Path) -> ModelEval | None:
    """The finished evaluation in ``folder``, or ``None`` when it has not finished."""
    if not (folder / DONE).is_file():
        return None
    meta = read_json(folder / DONE)
    hits: dict[str, list[float | None]] = {t: [] for t in meta["targets"]}
    by_q: dict[str, dict[str, list[float | None]]] = {t: {} for t in meta["targets"]}
    failed = 0
    n = 0
    for _, row in read_jsonl(folder / "scored.jsonl"):
        n += 1
        failed += row["error"] is not None
        for t in meta["targets"]:
            h = row["hits"][t]
            hits[t].append(h)
            by_q[t].setdefault(row["question_id"], []).append(h)
    return ModelEval(str(meta["model"]), hits, by_q, n, failed)


def evaluate_model(
    backend: ChatBackend,
    model: str,
    step: EvaluateStep,
    scorers: Sequence[Scorer],
    *,
    folder: Path,
    seed: int = 0,
    concurrency: int = 16,
) -> ModelEval:
    """Sample, score and write ``folder`` (see the module docstring); a finished folder is
    read back instead of evaluated again."""
    done = read_model_eval(folder)
    if done is not None:
        return done
    targets = build_targets(step.targets)
    check_targets(targets, scorers)
    questions = load_question_set(data_path(step.questions, field="questions"))
    settings = SampleSettings(
        samples=step.samples, temperature=step.temperature, max_tokens=step.max_tokens,
        seed=seed, stop=tuple(step.stop),
    )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    answers = sample_answers(backend, questions, settings, out=folder / "answers.jsonl",
                             concurrency=concurrency)  # fmt: skip
    scores = score_answers(answers, scorers)
    rows = []
    for a, sc in zip(answers, scores, strict=True):
        rows.append({**a.as_row(), "scores": {k: v.as_dict() for k, v in sc.items()},
                     "hits": {t.name: t.hit(sc) for t in targets}})  # fmt: skip
    write_jsonl(folder / "scored.jsonl", rows)
    atomic_write_json(folder / DONE, {"model": model, "targets": [t.name for t in targets],
                                      "answers": len(rows)})  # fmt: skip
    result = read_model_eval(folder)
    if result is None:  # pragma: no cover - just written
        raise AlignlabError("evaluation folder vanished", file=folder)
    return result
