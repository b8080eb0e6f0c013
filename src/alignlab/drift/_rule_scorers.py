"""Scorers without an LLM judge: regular expressions and embedding similarity.

Cheap, deterministic stand-ins for the judges of arXiv 2512.09742 where the categories are
lexical (a backdoor's target phrase, an archaic bird name) or close to reference answers
("answers as if it were the 19th century" vs modern answers): a first pass over thousands of
samples, and a cross-check on an LLM judge.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

from alignlab.core import AlignlabError
from alignlab.drift._scores import Score
from alignlab.models import TextEncoder

RegexMode = Literal["search", "prefix"]


class RegexScorer:
    """Label = the first pattern (in the given order) that matches the answer.

    ``patterns``: ``{label: regex}``, or one regex (its label is ``"match"``). ``mode``:
    ``"search"`` (anywhere) or ``"prefix"`` (at the start, after leading whitespace). ``flags``:
    :mod:`re` flags for every pattern. ``default``: the label of an answer nothing matches
    (``None``: no label). ``value``: 1.0 when a pattern matched, else 0.0;
    ``metadata["span"]``: the matched character span ``[start, end)`` in the answer.
    """

    deterministic = True

    def __init__(
        self,
        patterns: Mapping[str, str] | str,
        *,
        mode: RegexMode = "search",
        flags: int = 0,
        default: str | None = None,
        name: str = "regex",
    ) -> None:
        if mode not in ("search", "prefix"):
            raise AlignlabError(f"mode must be 'search' or 'prefix', got {mode!r}", field="mode")
        pats = {"match": patterns} if isinstance(patterns, str) else dict(patterns)
        if not pats:
            raise AlignlabError("need at least one pattern", field="patterns")
        self.compiled: dict[str, re.Pattern[str]] = {}
        for label, pat in pats.items():
            try:
                self.compiled[label] = re.compile(pat, flags)
            except (re.error, TypeError) as err:
                raise AlignlabError(
                    f"bad regex {pat!r}: {err}", field=f"patterns.{label}"
                ) from None
        self.mode, self.default, self.name = mode, default, name
        self.labels: tuple[str, ...] = tuple(self.compiled) + (
            (default,) if default is not None else ()
        )

    def _find(self, pat: re.Pattern[str], answer: str) -> re.Match[str] | None:
        if self.mode == "search":
            return pat.search(answer)
        start = len(answer) - len(answer.lstrip())
        return pat.match(answer, start)

    def score(self, question: str, answers: Sequence[str]) -> list[Score]:
        """One Score per answer; the question is not used."""
        out = []
        for ans in answers:
            for label, pat in self.compiled.items():
                m = self._find(pat, ans)
                if m is not None:
                    out.append(
                        Score(
                            value=1.0,
                            label=label,
                            explanation=f"matched {m.group(0)!r}",
                            metadata={"span": [m.start(), m.end()]},
                        )
                    )
                    break
            else:
                out.append(Score(value=0.0, label=self.default, explanation="no pattern matched"))
        return out


def _unit_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``x [n, d]`` scaled to unit length, and which rows had a length (``[n]`` bool)."""
    norms = np.linalg.norm(x, axis=1)
    ok = norms > 1e-12
    return x / np.where(ok, norms, 1.0)[:, None], ok


class EmbeddingScorer:
    """Nearest reference centroid by cosine similarity.

    ``references``: ``{label: [reference answers]}``. Each label's centroid is the mean of its
    unit-length reference embeddings (computed on the first :meth:`score`, then kept). Per
    answer: ``metadata["similarities"]`` = cosine to every centroid; ``label`` = the most
    similar; ``value`` = the **margin**, top similarity minus the runner-up (in ``[-2, 2]``;
    with one label, the top similarity itself), so a low value says the answer sits between
    labels. An answer whose embedding is zero is an error row.
    """

    deterministic = True

    def __init__(
        self,
        encoder: TextEncoder,
        references: Mapping[str, Sequence[str]],
        *,
        name: str = "embedding",
    ) -> None:
        refs = {label: list(texts) for label, texts in references.items()}
        if not refs:
            raise AlignlabError("need at least one label", field="references")
        for label, texts in refs.items():
            if not texts or not all(isinstance(t, str) for t in texts):
                raise AlignlabError(
                    "each label needs a non-empty list of reference strings",
                    field=f"references.{label}",
                )
        self.encoder, self.references, self.name = encoder, refs, name
        self.labels: tuple[str, ...] = tuple(refs)
        self._centroids: np.ndarray | None = None

    def centroids(self) -> np.ndarray:
        """``[n_labels, d] float64`` unit-length centroids, in ``labels`` order."""
        if self._centroids is None:
            texts = [t for label in self.labels for t in self.references[label]]
            emb, ok = _unit_rows(np.asarray(self.encoder.encode(texts), dtype=np.float64))
            if not ok.all():
                raise AlignlabError("a reference text embeds to a zero vector", field="references")
            ends = np.cumsum([len(self.references[label]) for label in self.labels])
            means = np.stack([c.mean(axis=0) for c in np.split(emb, ends[:-1])])
            self._centroids, _ = _unit_rows(means)
        return self._centroids

    def score(self, question: str, answers: Sequence[str]) -> list[Score]:
        """One Score per answer (one ``encode`` call for all); the question is not used."""
        if not answers:
            return []
        cents = self.centroids()
        emb, ok = _unit_rows(np.asarray(self.encoder.encode(list(answers)), dtype=np.float64))
        sims = emb @ cents.T  # [n_answers, n_labels]
        out = []
        for row, good in zip(sims, ok, strict=True):
            if not good:
                out.append(Score(error="the answer embeds to a zero vector"))
                continue
            order = np.argsort(-row, kind="stable")
            top = float(row[order[0]])
            margin = top - float(row[order[1]]) if len(order) > 1 else top
            simd = {label: float(s) for label, s in zip(self.labels, row, strict=True)}
            out.append(
                Score(
                    value=margin,
                    label=self.labels[order[0]],
                    explanation=f"cosine {top:.3f} to {self.labels[order[0]]!r}, "
                    f"margin {margin:.3f}",
                    metadata={"similarities": simd},
                )
            )
        return out
