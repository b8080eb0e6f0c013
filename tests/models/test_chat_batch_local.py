"""``complete_many`` on a local backend with ``complete_batch``: greedy requests go in batches
of ``concurrency`` grouped by their settings, sampled ones one by one, results in input order,
and a failing batch is recorded for each of its requests (or raised)."""

from __future__ import annotations

from typing import Any

import pytest

from alignlab.core import AlignlabError
from alignlab.models import ChatRequest, Completion, complete_many


class _Local:
    def __init__(self, fail_on: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.singles: list[str] = []
        self.fail_on = fail_on

    @staticmethod
    def _text(messages: list[dict[str, Any]]) -> str:
        return str(messages[0]["content"])

    def complete(self, messages: list[dict[str, Any]], **kw: Any) -> list[Completion]:
        self.singles.append(self._text(messages))
        return [Completion(f"one:{self._text(messages)}")] * kw.get("n", 1)

    def complete_batch(
        self, chats: list[list[dict[str, Any]]], **kw: Any
    ) -> list[list[Completion]]:
        texts = [self._text(c) for c in chats]
        self.batches.append(texts)
        if self.fail_on in texts:
            raise AlignlabError("out of memory", field="model")
        return [[Completion(f"batch:{t}:{kw['max_tokens']}")] * kw["n"] for t in texts]


def _req(i: int, **kw: Any) -> ChatRequest:
    return ChatRequest([{"role": "user", "content": str(i)}], **kw)


def test_greedy_requests_batch_by_settings_and_sampled_ones_go_alone() -> None:
    local = _Local()
    reqs = [_req(0), _req(1, max_tokens=9), _req(2), _req(3, temperature=0.7), _req(4), _req(5)]
    out = complete_many(local, reqs, concurrency=2)
    assert local.batches == [["0", "2"], ["4", "5"], ["1"]]
    assert local.singles == ["3"]
    assert [r.completions[0].text for r in out] == [
        "batch:0:256", "batch:1:9", "batch:2:256", "one:3", "batch:4:256", "batch:5:256"
    ]  # fmt: skip


def test_a_failing_batch_is_recorded_for_each_request_or_raised() -> None:
    out = complete_many(_Local(fail_on="2"), [_req(i) for i in range(4)], concurrency=2,
                        errors="record")  # fmt: skip
    assert [r.ok for r in out] == [True, True, False, False]
    assert out[2].error == "out of memory" and out[2].field == "model"
    with pytest.raises(AlignlabError, match="request 2: out of memory"):
        complete_many(_Local(fail_on="2"), [_req(i) for i in range(4)], concurrency=2)
