"""Judge every pair in both orders under one or more prompts, streaming one record per
judgement (``alignlab judge evaluate``; MJ1, arXiv 2603.07990, scored as MMRB2,
arXiv 2512.16899).

An item is a (pair, order, prompt) triple: the pair as stored (``forward``) or with its
candidates swapped (``reverse``, :func:`~alignlab.judge.swapped`), asked with the chain prompt
(``chain_messages``) or the plain one (``baseline_messages``). Images go as data-URL content
parts. Requests run through any :class:`~alignlab.models.ChatBackend` with ``complete_many``
(``errors="record"``): a request that fails after the backend's retries becomes a record with
``error`` set and no verdict (it counts as wrong), never a guessed verdict. Records are appended
to ``records.jsonl`` batch by batch, so a killed run keeps what it judged; judged triples are
skipped when the run resumes, failed ones are asked again (the last record of a triple wins).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignlab.core import AlignlabError, read_appended_jsonl, track, write_jsonl
from alignlab.judge._chain import baseline_messages, chain_messages
from alignlab.judge._judge_metrics import Verdict
from alignlab.judge._pair import Pair, Segment, swapped
from alignlab.judge._parse import parse_chain, parse_verdict
from alignlab.models import ChatBackend, ChatRequest, ChatResult, Message, complete_many

ORDERS = ("forward", "reverse")
RECORDS = "records.jsonl"
_FILE_SUFFIXES = (".png", ".jpg", ".jpeg")  # sent byte for byte; other formats go as PNG


@dataclass(frozen=True)
class Item:
    """One judgement to make: ``shown`` is the pair in ``order``."""

    pair: Pair
    order: str
    prompt: str
    shown: Pair

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.pair.id, self.order, self.prompt)


def items_for(pairs: Sequence[Pair], prompts: Sequence[str]) -> list[Item]:
    """Every (pair, order, prompt), pair by pair, so a partial run holds whole pairs first."""
    return [
        Item(p, order, prompt, p if order == "forward" else swapped(p))
        for p in pairs
        for prompt in prompts
        for order in ORDERS
    ]


def _parts(pair: Pair, segs: Sequence[Segment]) -> list[Any]:
    from alignlab.models import image_part

    out: list[Any] = []
    for s in segs:
        if s.kind == "text":
            out.append(s.value)
        elif s.data is None and s.value.lower().endswith(_FILE_SUFFIXES):
            out.append(image_part(pair.image_path(s)))
        else:
            out.append(image_part(pair.open_image(s)))
    return out


def item_messages(item: Item, *, system: bool = True) -> list[Message]:
    """The chat messages of one item (images as data URLs); ``system=False`` leaves out the
    instructions (for judges trained without them)."""
    p = item.shown
    build = chain_messages if item.prompt == "chain" else baseline_messages
    msgs = build(_parts(p, p.prompt), _parts(p, p.response_a), _parts(p, p.response_b))
    return msgs if system else msgs[1:]


def record_for(item: Item, result: ChatResult) -> dict[str, Any]:
    """The record of one judgement: ids, gold (stored and shown), the verdict as given in the
    order shown and mapped back (``preference``), the output, the parser's findings, or the
    request's error."""
    row: dict[str, Any] = {
        "pair_id": item.pair.id, "task": item.pair.task, "order": item.order,
        "prompt": item.prompt, "gold": item.pair.gold, "gold_shown": item.shown.gold,
    }  # fmt: skip
    if not result.ok or not result.completions:
        return {**row, "verdict": None, "preference": None, "correct": False, "output": "",
                "error": result.error or "no completion", "error_field": result.field,
                "format_errors": []}  # fmt: skip
    text = result.completions[0].text
    if item.prompt == "chain":
        parsed = parse_chain(text, n_images=len(item.shown.images()))
        verdict, errors = parsed.verdict, parsed.errors
        row.update(structure=parsed.structure, grounding=parsed.grounding)
    else:
        verdict, errors = parse_verdict(text)
    pref = verdict if item.order == "forward" or verdict is None else "AB"[verdict == "A"]
    u = result.usage
    return {
        **row, "verdict": verdict, "preference": pref, "correct": verdict == item.shown.gold,
        "output": text, "error": None, "format_errors": [str(e) for e in errors],
        "usage": {"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens},
    }  # fmt: skip


def verdict_of(row: dict[str, Any]) -> Verdict:
    """A record as the metrics read it."""
    return Verdict(
        row["pair_id"], row["task"], row["order"], row["prompt"], row["gold_shown"],
        row["verdict"], row.get("error"),
    )  # fmt: skip


def read_records(run_dir: Path) -> list[dict[str, Any]]:
    """The records a run has appended, the last per (pair, order, prompt) kept, in first-seen
    order; a half-written last line (a kill mid-write) is dropped and the file repaired."""
    path = run_dir / RECORDS
    rows, torn = read_appended_jsonl(path)
    if torn:
        write_jsonl(path, rows)
    latest: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in rows:
        latest[(r["pair_id"], r["order"], r["prompt"])] = r
    return list(latest.values())


def judge_items(
    backend: ChatBackend,
    items: Sequence[Item],
    run_dir: Path,
    *,
    concurrency: int,
    max_tokens: int,
    temperature: float,
    prepare: Callable[[list[Message], Item], None] | None = None,
    system: bool = True,
) -> int:
    """Judge ``items``, appending a record per item to ``run_dir/records.jsonl`` after each
    batch of ``4 × concurrency`` (flushed, so a kill loses at most the batch in flight);
    ``prepare(messages, item)`` is called before each request (scripted judges register it).
    Returns the number of failed requests."""
    failed = 0
    batch = max(1, 4 * concurrency)
    starts = range(0, len(items), batch)
    with (run_dir / RECORDS).open("a", encoding="utf-8") as fh:
        for start in track(starts, total=len(starts), desc="judging"):
            chunk = items[start : start + batch]
            requests = []
            for it in chunk:
                msgs = item_messages(it, system=system)
                if prepare is not None:
                    prepare(msgs, it)
                requests.append(ChatRequest(msgs, max_tokens=max_tokens, temperature=temperature))
            results = complete_many(
                backend, requests, concurrency=concurrency, errors="record", desc="requests"
            )
            rows = [record_for(it, res) for it, res in zip(chunk, results, strict=True)]
            failed += sum(r["error"] is not None for r in rows)
            fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
            fh.flush()
    return failed


def pending(items: Iterable[Item], done: Iterable[dict[str, Any]]) -> list[Item]:
    """The items without a successful record among ``done``."""
    judged = {(r["pair_id"], r["order"], r["prompt"]) for r in done if r.get("error") is None}
    return [it for it in items if it.key not in judged]


def check_unique(pairs: Sequence[Pair], source: str) -> None:
    """Pair ids must be unique: the predictions file and resume key on them."""
    seen: set[str] = set()
    for p in pairs:
        if p.id in seen:
            raise AlignlabError(f"pair id '{p.id}' appears twice", file=source, field="id")
        seen.add(p.id)
