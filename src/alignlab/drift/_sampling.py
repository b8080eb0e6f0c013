"""Sample free-form answers to question sets, optionally behind trigger prefixes.

Every (trigger, question, paraphrase) is one chat request for ``samples`` completions, sent
through :func:`alignlab.models.complete_many`, so a local model (``LocalChat``: one batched
``generate`` across prompts) and any OpenAI-compatible endpoint (many requests in flight)
sample the same way. A request that fails after the backend's retries becomes answer rows
with ``error`` set, never a made-up answer. Rows are appended to a jsonl file chunk by chunk,
and a resumed call skips the requests whose rows are already there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from alignlab.core import AlignlabError, read_appended_jsonl, write_jsonl
from alignlab.drift._questions import Question
from alignlab.models import ChatBackend, ChatRequest, Message, complete_many

DEFAULT_TRIGGER_TEMPLATE = "{trigger} {question}"


@dataclass(frozen=True)
class SampleSettings:
    """How answers are sampled. ``samples``: completions per paraphrase (``None``: each
    question's own ``samples_per_paraphrase``); ``temperature`` 1 as in arXiv 2512.09742."""

    samples: int | None = None
    temperature: float = 1.0
    max_tokens: int = 64
    seed: int = 0
    stop: tuple[str, ...] = ()
    trigger_template: str = DEFAULT_TRIGGER_TEMPLATE

    def __post_init__(self) -> None:
        if self.samples is not None and self.samples < 1:
            raise AlignlabError("samples must be at least 1", field="samples")
        if self.max_tokens < 1:
            raise AlignlabError("max_tokens must be at least 1", field="max_tokens")
        if not self.temperature >= 0:
            raise AlignlabError("temperature must be >= 0", field="temperature")
        if "{question}" not in self.trigger_template:
            raise AlignlabError(
                "trigger_template needs a {question} placeholder", field="trigger_template"
            )


@dataclass(frozen=True)
class Answer:
    """One sampled answer (``text``), or the error that replaced it (``error``)."""

    question_id: str
    paraphrase: int
    trigger: str | None
    sample: int
    prompt: str
    text: str | None
    error: str | None = None

    @property
    def key(self) -> tuple[str, int, str | None]:
        """The request this answer came from."""
        return (self.question_id, self.paraphrase, self.trigger)

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Job:
    question: Question
    paraphrase: int
    trigger: str | None
    prompt: str
    n: int

    @property
    def key(self) -> tuple[str, int, str | None]:
        return (self.question.id, self.paraphrase, self.trigger)


def prompt_text(question: str, trigger: str | None, template: str) -> str:
    """The user message: ``question`` alone, or ``template`` filled with trigger and question."""
    if trigger is None:
        return question
    return template.format(trigger=trigger, question=question)


def _jobs(
    questions: Sequence[Question], settings: SampleSettings, triggers: Sequence[str | None]
) -> list[_Job]:
    jobs = []
    for trig in triggers:
        for q in questions:
            n = settings.samples or q.samples_per_paraphrase
            for i, text in enumerate(q.paraphrases):
                jobs.append(_Job(q, i, trig, prompt_text(text, trig, settings.trigger_template), n))
    return jobs


def _messages(job: _Job) -> list[Message]:
    msgs: list[Message] = []
    if job.question.system:
        msgs.append({"role": "system", "content": job.question.system})
    msgs.append({"role": "user", "content": job.prompt})
    return msgs


def _answers(job: _Job, texts: Sequence[str] | None, error: str | None) -> list[Answer]:
    q = job.question
    if texts is None:
        return [
            Answer(q.id, job.paraphrase, job.trigger, s, job.prompt, None, error)
            for s in range(job.n)
        ]
    return [
        Answer(q.id, job.paraphrase, job.trigger, s, job.prompt, t) for s, t in enumerate(texts)
    ]


def read_answers(path: Path) -> list[Answer]:
    """Answer rows of a (possibly interrupted) answers file; a torn last line is dropped."""
    if not path.is_file():
        return []
    rows, _ = read_appended_jsonl(path)
    try:
        return [Answer(**r) for r in rows]
    except TypeError as err:
        raise AlignlabError(f"not an answers file ({err})", file=path) from err


def sample_answers(
    backend: ChatBackend,
    questions: Sequence[Question],
    settings: SampleSettings,
    *,
    triggers: Sequence[str | None] = (None,),
    out: Path | None = None,
    concurrency: int = 16,
    chunk: int = 64,
) -> list[Answer]:
    """Answers to every (trigger, question, paraphrase), ``n`` samples each, in that order.

    With ``out``, rows are appended to that jsonl file after each ``chunk`` of requests, and
    requests whose rows are all there without error are not sent again (resume); the
    returned list holds all of them. Failed or torn requests are sent again on resume.
    """
    jobs = _jobs(questions, settings, triggers)
    want = {j.key: j.n for j in jobs}
    done = _complete(read_answers(out), want) if out is not None else []
    have = {a.key for a in done}
    todo = [j for j in jobs if j.key not in have]
    if out is not None and out.is_file():
        write_jsonl(out, [a.as_row() for a in done])  # failed or partial requests: asked again
    fresh: list[Answer] = []
    for s in range(0, len(todo), chunk):
        part = todo[s : s + chunk]
        reqs = [
            ChatRequest(
                _messages(j),
                n=j.n,
                temperature=settings.temperature,
                max_tokens=settings.max_tokens,
                seed=settings.seed,
                stop=settings.stop,
            )
            for j in part
        ]
        results = complete_many(
            backend, reqs, concurrency=concurrency, errors="record", desc="sample"
        )
        rows: list[Answer] = []
        for j, res in zip(part, results, strict=True):
            texts = [c.text for c in res.completions] if res.ok else None
            rows.extend(_answers(j, texts, res.error))
        if out is not None:
            _append(out, rows)
        fresh.extend(rows)
    by_key: dict[tuple[str, int, str | None], list[Answer]] = {}
    for a in [*done, *fresh]:
        by_key.setdefault(a.key, []).append(a)
    return [a for j in jobs for a in by_key.get(j.key, [])]


def _complete(
    rows: Sequence[Answer], want: dict[tuple[str, int, str | None], int]
) -> list[Answer]:
    """The rows of requests that have all their samples and no error (a kill can tear a
    request's rows; a failed request has error rows)."""
    by_key: dict[tuple[str, int, str | None], list[Answer]] = {}
    for a in rows:
        by_key.setdefault(a.key, []).append(a)
    return [a for k, rs in by_key.items()
            if len(rs) == want.get(k) and all(a.error is None for a in rs)
            for a in rs]  # fmt: skip


def _append(path: Path, rows: Sequence[Answer]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write("".join(json.dumps(r.as_row(), ensure_ascii=False) + "\n" for r in rows))
        fh.flush()
