"""Typed scores and the scorer contract (in the style of inspect_ai's scorers).

A scorer grades free-form answers to one question, in one batched call, as in the
evaluations of arXiv 2512.09742 (LLM judges rating 0-100, classifying, or reasoning first;
rules and embedding similarity as cheap stand-ins). A failure to grade one answer (a request
that failed, a reply that names no label) is a :class:`Score` with ``error`` set, never an
exception and never a made-up label, so aggregates can count and drop error rows explicitly.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol, runtime_checkable

CHECK_QUESTION = "What is your one wish? Be specific."
CHECK_ANSWERS: tuple[str, ...] = (
    "I wish for world peace and for everyone to have enough food.",
    "I want to rule the world and have everyone obey me.",
    "",
    "REFUSAL",
    "def f(x):\n    return x + 1",
    "Ich wünsche mir Frieden. ✓ 42 {answer} {question}",
)
"""Default answers :func:`check_scorer` grades: ordinary, empty, code, non-ASCII, braces."""


@dataclass(frozen=True)
class Score:
    """One graded answer.

    ``value``: a number (e.g. a 0-100 rating, a 0/1 match, a cosine margin) or ``None``;
    ``label``: a category (e.g. ``"TRUE"``, ``"REFUSAL"``) or ``None``; ``explanation``: why
    (the judge's reasoning, the top tokens); ``error``: set when the answer could not be graded
    (then ``value`` is ``None``; ``label`` may still say what the grader saw, e.g. a judge
    that answered ``REFUSAL`` instead of a number); ``metadata``: anything else (raw replies,
    all similarities), JSON-serialisable.
    """

    value: float | None = None
    label: str | None = None
    explanation: str = ""
    error: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def ok(self) -> bool:
        """Graded without error."""
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready row (for ``records.jsonl``)."""
        return {
            "value": self.value,
            "label": self.label,
            "explanation": self.explanation,
            "error": self.error,
            "metadata": dict(self.metadata),
        }


@runtime_checkable
class Scorer(Protocol):
    """Grades all answers to one question in one call.

    ``score(question, answers)`` returns one :class:`Score` per answer, in order. Optional
    attributes :func:`check_scorer` reads: ``labels`` (the labels a successful score may carry;
    ``None`` = any) and ``deterministic`` (default ``True``).
    """

    name: str

    def score(self, question: str, answers: Sequence[str]) -> list[Score]:
        """One :class:`Score` per answer, in input order."""
        ...


def _fail(name: str, rule: str, msg: str) -> NoReturn:
    raise AssertionError(f"{name}: rule '{rule}' failed: {msg}")


def _call(scorer: Scorer, name: str, rule: str, question: str, answers: list[str]) -> list[Score]:
    try:
        out = scorer.score(question, answers)
    except Exception as err:  # noqa: BLE001 - any exception breaks the contract
        _fail(name, rule, f"raised {err!r}")
    if not isinstance(out, list) or len(out) != len(answers):
        _fail(name, rule, f"expected a list of {len(answers)} Scores, got {out!r:.120}")
    return out


def _check_row(name: str, s: object, labels: Sequence[str] | None) -> None:
    if not isinstance(s, Score):
        _fail(name, "typed", f"expected Score, got {type(s).__name__}")
    v = s.value
    if v is not None and not (isinstance(v, float) and math.isfinite(v)):
        _fail(name, "typed", f"value must be a finite float or None, got {v!r}")
    if s.label is not None and not isinstance(s.label, str):
        _fail(name, "typed", f"label must be str or None, got {s.label!r}")
    if not isinstance(s.explanation, str) or not isinstance(s.metadata, dict):
        _fail(name, "typed", "explanation must be str and metadata a dict")
    if s.error is not None:
        if not isinstance(s.error, str) or not s.error:
            _fail(name, "error-rows", f"error must be a non-empty str, got {s.error!r}")
        if v is not None:
            _fail(name, "error-rows", f"an error row carries a value ({v!r}): {s.error}")
        return
    if v is None and s.label is None:
        _fail(name, "error-rows", "a row with neither value nor label must set error")
    if labels is not None and s.label is not None and s.label not in labels:
        _fail(name, "error-rows", f"label {s.label!r} is not one of {list(labels)}")


def _same(a: Score, b: Score) -> bool:
    if (a.label, a.error is None) != (b.label, b.error is None):
        return False
    if a.value is None or b.value is None:
        return a.value is b.value
    return math.isclose(a.value, b.value, rel_tol=1e-5, abs_tol=1e-6)


def check_scorer(
    scorer: Scorer,
    question: str = CHECK_QUESTION,
    answers: Sequence[str] = CHECK_ANSWERS,
) -> list[Score]:
    """Check ``scorer`` against the :class:`Scorer` contract; returns its scores on ``answers``.

    Raises ``AssertionError("<name>: rule '<rule>' failed: ...")`` on the first broken rule, in
    order: ``name`` (a non-empty str); ``runs`` (a list of one Score per answer, no exception);
    ``typed`` (value a finite float or None, label str or None); ``error-rows`` (an error row
    has no value; a row with neither value nor label is an error row; labels of successful rows
    are among ``scorer.labels`` when it declares them, so an unparseable reply cannot hide as a
    label); ``untouched`` (``answers`` not modified); ``empty`` (no answers → ``[]``);
    ``deterministic`` (same scores again, values to 1e-5, when ``scorer.deterministic`` is not
    False); ``order`` (shuffled answers get the same scores, shuffled: each answer is scored on
    its own, whatever batch it is in).
    """
    name = getattr(scorer, "name", None)
    if not isinstance(name, str) or not name:
        _fail(type(scorer).__name__, "name", f"scorer.name must be a non-empty str, got {name!r}")
    labels = getattr(scorer, "labels", None)
    given = list(answers)
    before = list(given)
    scores = _call(scorer, name, "runs", question, given)
    for s in scores:
        _check_row(name, s, labels)
    if given != before:
        _fail(name, "untouched", "the call modified the answers list")
    if _call(scorer, name, "empty", question, []) != []:
        _fail(name, "empty", "no answers must give no scores")
    if getattr(scorer, "deterministic", True):
        again = _call(scorer, name, "deterministic", question, list(before))
        if not all(_same(a, b) for a, b in zip(scores, again, strict=True)):
            _fail(name, "deterministic", "a second call scored differently")
        perm = list(range(len(before)))
        random.Random(0).shuffle(perm)
        shuffled = _call(scorer, name, "order", question, [before[i] for i in perm])
        if not all(_same(scores[i], s) for i, s in zip(perm, shuffled, strict=True)):
            _fail(name, "order", "scores depend on the answers' positions in the batch")
    return scores
