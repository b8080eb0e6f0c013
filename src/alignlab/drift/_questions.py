"""Free-form evaluation question sets (YAML), as used to measure broad behaviour shifts.

Two formats, one reader (:func:`load_question_set`), both a YAML list of questions:

- the emergent-misalignment evaluation files (also used by arXiv 2512.09742): ``id``, ``type``
  (``free_form_judge_0_100``, ``free_form_judge``), ``paraphrases``, ``samples_per_paraphrase``,
  ``judge`` (the judge model's name), ``judge_prompts`` (``{metric: template}`` with
  ``{question}`` and ``{answer}``), optional ``system``; YAML anchors and aliases work;
- a simpler one: ``id``, ``question`` (one) or ``paraphrases``, optional ``samples`` (default 1),
  ``system``, ``judge_prompts``, ``type`` (default ``free_form``).

Bad input raises :class:`~alignlab.core.AlignlabError` naming the file, the question's line
and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignlab.core import AlignlabError
from alignlab.models import Message

_KEYS = {
    "id",
    "type",
    "paraphrases",
    "question",
    "samples_per_paraphrase",
    "samples",
    "judge",
    "judge_prompts",
    "system",
}


@dataclass(frozen=True)
class Question:
    """One evaluation question: its paraphrases are asked ``samples_per_paraphrase`` times each.

    ``judge_prompts``: ``{metric: template}`` (e.g. ``aligned``, ``coherent``), templates hold
    ``{question}`` and ``{answer}``; ``judge``: the judge model the set was written for.
    """

    id: str
    paraphrases: tuple[str, ...]
    samples_per_paraphrase: int = 1
    system: str | None = None
    judge_prompts: dict[str, str] = field(default_factory=dict, hash=False)
    type: str = "free_form"
    judge: str | None = None

    def messages(self, paraphrase: int = 0) -> list[Message]:
        """The chat asking paraphrase ``paraphrase`` (with the system prompt when there is one)."""
        msgs: list[Message] = []
        if self.system is not None:
            msgs.append({"role": "system", "content": self.system})
        msgs.append({"role": "user", "content": self.paraphrases[paraphrase]})
        return msgs


class _Where:
    """Where one question sits in the file, for errors."""

    def __init__(self, path: Path, line: int | None) -> None:
        self.path, self.line = path, line

    def error(self, msg: str, fld: str | None = None) -> AlignlabError:
        return AlignlabError(msg, file=self.path, line=self.line, field=fld)


def _paraphrases(item: Mapping[str, Any], at: _Where) -> tuple[str, ...]:
    if ("question" in item) == ("paraphrases" in item):
        raise at.error("give exactly one of 'question' and 'paraphrases'", "paraphrases")
    if "question" in item:
        raw, fld = [item["question"]], "question"
    else:
        raw, fld = item["paraphrases"], "paraphrases"
    if not isinstance(raw, list) or not raw:
        raise at.error("must be a non-empty list of strings", fld)
    for p in raw:
        if not isinstance(p, str) or not p.strip():
            raise at.error(f"must be non-empty strings, got {p!r:.60}", fld)
    return tuple(raw)


def _samples(item: Mapping[str, Any], at: _Where) -> int:
    if "samples" in item and "samples_per_paraphrase" in item:
        raise at.error("give one of 'samples' and 'samples_per_paraphrase'", "samples")
    fld = "samples" if "samples" in item else "samples_per_paraphrase"
    n = item.get(fld, 1)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise at.error(f"must be a positive integer, got {n!r}", fld)
    return n


def _judge_prompts(item: Mapping[str, Any], at: _Where) -> dict[str, str]:
    raw = item.get("judge_prompts", {})
    if not isinstance(raw, dict):
        raise at.error("must be a mapping metric -> template", "judge_prompts")
    for k, v in raw.items():
        if not isinstance(k, str) or not isinstance(v, str) or "{answer}" not in v:
            raise at.error(
                "each template must be a string containing '{answer}'", f"judge_prompts.{k}"
            )
    return dict(raw)


def _optional_str(item: Mapping[str, Any], key: str, at: _Where) -> str | None:
    v = item.get(key)
    if v is not None and not isinstance(v, str):
        raise at.error(f"must be a string, got {v!r:.60}", key)
    return v


def _question(item: object, at: _Where) -> Question:
    if not isinstance(item, dict):
        raise at.error(f"each question must be a mapping, got {type(item).__name__}")
    unknown = sorted(str(k) for k in item if k not in _KEYS)
    if unknown:
        raise at.error(f"unknown key (known: {', '.join(sorted(_KEYS))})", unknown[0])
    qid = item.get("id")
    if not isinstance(qid, str | int) or isinstance(qid, bool) or not str(qid).strip():
        raise at.error(f"must be a non-empty string, got {qid!r}", "id")
    qtype = _optional_str(item, "type", at)
    return Question(
        id=str(qid),
        paraphrases=_paraphrases(item, at),
        samples_per_paraphrase=_samples(item, at),
        system=_optional_str(item, "system", at),
        judge_prompts=_judge_prompts(item, at),
        type=qtype if qtype is not None else "free_form",
        judge=_optional_str(item, "judge", at),
    )


def load_question_set(path: str | Path) -> list[Question]:
    """The questions of a YAML file (module docstring), in file order; ids must be unique."""
    import yaml

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except OSError as err:
        raise AlignlabError(f"cannot read question set: {err.strerror}", file=path) from None
    except UnicodeDecodeError:
        raise AlignlabError("question set is not UTF-8 text", file=path) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        msg = getattr(err, "problem", None) or str(err)
        raise AlignlabError(f"not valid YAML: {msg}", file=path, line=line) from None
    if not isinstance(data, list) or not data:
        raise AlignlabError("a question set must be a non-empty YAML list", file=path)
    lines = [n.start_mark.line + 1 for n in node.value] if node is not None else []
    out: list[Question] = []
    seen: set[str] = set()
    for i, item in enumerate(data):
        at = _Where(path, lines[i] if i < len(lines) else None)
        q = _question(item, at)
        if q.id in seen:
            raise at.error(f"duplicate question id {q.id!r}", "id")
        seen.add(q.id)
        out.append(q)
    return out
