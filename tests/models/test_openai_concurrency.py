"""OpenAIChat against a real local HTTP server (StubChatServer on 127.0.0.1): requests in
flight, order, retries, garbage, timeouts, cache keys, usage and images on the wire."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from alignlab.core import AlignlabError, JsonCache
from alignlab.models import (
    ChatRequest,
    OpenAIChat,
    StubChatServer,
    StubReply,
    Usage,
    complete_many,
    user_message,
)


def _req(text: str, **kw: Any) -> ChatRequest:
    return ChatRequest([{"role": "user", "content": text}], **kw)


def _chat(server: StubChatServer, **kw: Any) -> OpenAIChat:
    chat = OpenAIChat("stub-model", base_url=server.base_url, **kw)
    chat.sleep = lambda s: None  # no backoff waits in tests
    return chat


def _text(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])


@pytest.mark.parametrize("n", [1, 5])
def test_peak_in_flight_reaches_n_never_more_and_order_kept(n: int) -> None:
    # even requests answer slowly, odd ones fast, so answers arrive out of input order
    def slow_evens(index: int, body: dict[str, Any]) -> StubReply:
        return StubReply(delay_s=0.3 if int(_text(body)[1:]) % 2 == 0 else 0.05)

    with StubChatServer(fault=slow_evens) as srv, _chat(srv) as chat:
        out = chat.complete_many([_req(f"q{i}") for i in range(3 * n)], concurrency=n)
        assert srv.peak_in_flight == n
        assert srv.n_requests == 3 * n
    assert [r.completions[0].text for r in out] == [f"stub: q{i}" for i in range(3 * n)]
    assert all(r.ok and r.error is None for r in out)


def test_500_then_200_is_retried_with_backoff() -> None:
    def first_fails(index: int, body: dict[str, Any]) -> StubReply | None:
        return StubReply(500, {"error": {"message": "overloaded"}}) if index == 0 else None

    with StubChatServer(fault=first_fails) as srv, _chat(srv) as chat:
        delays: list[float] = []
        chat.sleep = delays.append
        out = chat.complete([{"role": "user", "content": "hi"}])
        assert out[0].text == "stub: hi"
        assert srv.n_requests == 2 and chat.n_requests == 2
        assert len(delays) == 1 and 0 < delays[0] <= 0.75


def test_retries_are_bounded_when_the_server_always_fails() -> None:
    always = StubReply(503, {"error": {"message": "down"}})
    with StubChatServer(fault=lambda i, b: always) as srv, _chat(srv, max_retries=3) as chat:
        with pytest.raises(AlignlabError, match=r"after 4 attempts \(HTTP 503: down\)"):
            chat.complete([{"role": "user", "content": "hi"}])
        assert srv.n_requests == 4


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"<html>502 Bad Gateway from the proxy</html>", "not a JSON object"),
        (b"[1, 2, 3]", "not a JSON object"),
        ({"choices": "nope"}, "not a chat completion"),
        ({"choices": [{"message": {"content": 7}}]}, "not a chat completion"),
    ],
)
def test_garbage_body_is_a_recorded_failure(body: bytes | dict[str, Any], says: str) -> None:
    def garbage_for_bad(index: int, b: dict[str, Any]) -> StubReply | None:
        return StubReply(200, body) if _text(b) == "bad" else None

    with StubChatServer(fault=garbage_for_bad) as srv, _chat(srv) as chat:
        out = chat.complete_many([_req("a"), _req("bad"), _req("c")], errors="record")
        assert srv.n_requests == 3  # a garbage 200 is not retried
        assert [r.ok for r in out] == [True, False, True]
        assert out[0].completions[0].text == "stub: a" and out[2].completions[0].text == "stub: c"
        bad = out[1]
        assert bad.completions == [] and bad.field == "base_url"
        assert bad.error is not None and says in bad.error and srv.base_url in bad.error
        with pytest.raises(AlignlabError, match=f"^field 'base_url': request 1: .*{says}"):
            chat.complete_many([_req("a"), _req("bad")])


def test_timeouts_are_bounded_and_recorded() -> None:
    def hang_on_slow(index: int, b: dict[str, Any]) -> StubReply | None:
        return StubReply(delay_s=30.0) if _text(b) == "slow" else None

    with (
        StubChatServer(fault=hang_on_slow) as srv,
        _chat(srv, timeout=0.3, max_retries=1) as chat,
    ):
        out = chat.complete_many([_req("slow"), _req("quick")], concurrency=2, errors="record")
        slow = [b for b in srv.bodies if _text(b) == "slow"]
    assert len(slow) == 2  # one try + one retry, then it gives up
    assert out[0].error is not None and "after 2 attempts (ReadTimeout)" in out[0].error
    assert out[1].ok and out[1].completions[0].text == "stub: quick"


def test_two_base_urls_do_not_share_cache_entries(tmp_path: Path) -> None:
    db = tmp_path / "chat.sqlite"
    msgs = [{"role": "user", "content": "hi"}]
    with StubChatServer(tag="a") as a, StubChatServer(tag="b") as b:
        assert _chat(a, cache=db).complete(msgs)[0].text == "a: hi"
        from_b = _chat(b, cache=db).complete(msgs)
        assert from_b[0].text == "b: hi" and b.n_requests == 1
        again = _chat(a, cache=JsonCache(db)).complete(msgs)
        assert again[0].text == "a: hi" and again[0].cached and a.n_requests == 1


def test_usage_on_each_completion_totals_and_cache(tmp_path: Path) -> None:
    with StubChatServer() as srv, _chat(srv, cache=tmp_path / "c.sqlite") as chat:
        out = chat.complete_many([_req("one two", n=2), _req("three")], concurrency=2)
        first, second = out[0].completions, out[1].completions
        # the stub counts words: 2 prompt tokens, 2 samples of "stub: one two"
        assert first[0].usage == first[1].usage == Usage(2, 6, 8)  # 2 samples, 1 request
        assert second[0].usage == Usage(1, 2, 3)
        assert out[0].usage == Usage(2, 6, 8) and chat.usage == Usage(3, 8, 11)
        rerun = chat.complete_many([_req("one two", n=2), _req("three")], concurrency=2)
        assert srv.n_requests == 2  # all from the cache
        assert all(c.cached for r in rerun for c in r.completions)
        assert rerun[0].completions[0].usage == Usage(2, 6, 8)  # what it cost when made
        assert rerun[0].usage == Usage() and chat.usage == Usage(3, 8, 11)


def test_many_threads_share_one_cache(tmp_path: Path) -> None:
    reqs = [_req(f"q{i}", n=2, temperature=1.0) for i in range(40)]
    with StubChatServer(delay_s=0.01) as srv, _chat(srv, cache=tmp_path / "c.sqlite") as chat:
        first = chat.complete_many(reqs, concurrency=16)
        assert srv.n_requests == 40
        again = chat.complete_many(reqs, concurrency=16)
        assert srv.n_requests == 40 and again == first
        assert chat.cache is not None and len(chat.cache) == 80  # one entry per sample


def _png(color: tuple[int, int, int], size: tuple[int, int] = (4, 3)) -> Image.Image:
    return Image.new("RGB", size, color)


def test_images_go_as_data_urls_in_content_parts(tmp_path: Path) -> None:
    path = tmp_path / "red.png"
    _png((255, 0, 0)).save(path)
    msg = user_message("Which is red?", path, _png((0, 0, 255)))
    with StubChatServer() as srv, _chat(srv, cache=tmp_path / "c.sqlite") as chat:
        out = chat.complete([msg])
        parts = srv.bodies[0]["messages"][0]["content"]
        assert out[0].text == "stub: Which is red? [2 image(s)]"
        assert parts[0] == {"type": "text", "text": "Which is red?"}
        assert [p["type"] for p in parts] == ["text", "image_url", "image_url"]
        urls = [p["image_url"]["url"] for p in parts[1:]]
        assert all(u.startswith("data:image/png;base64,") for u in urls)
        assert base64.b64decode(urls[0].split(",", 1)[1]) == path.read_bytes()
        blue = Image.open(io.BytesIO(base64.b64decode(urls[1].split(",", 1)[1])))
        assert blue.size == (4, 3) and blue.getpixel((0, 0)) == (0, 0, 255)
        # the image bytes are part of the cache key: same text, other image → a new request
        chat.complete([user_message("Which is red?", path, _png((0, 0, 254)))])
        chat.complete([msg])
        assert srv.n_requests == 2


def test_not_json_messages_and_bad_batch_arguments() -> None:
    with StubChatServer() as srv, _chat(srv) as chat:
        raw = [{"role": "user", "content": [{"type": "image_url", "image_url": _png((1, 2, 3))}]}]
        with pytest.raises(AlignlabError, match="not JSON.*image_data_url") as err:
            chat.complete(raw)
        assert err.value.field == "messages" and srv.n_requests == 0
        with pytest.raises(AlignlabError, match="at least 1") as err:
            chat.complete_many([_req("a")], concurrency=0)
        assert err.value.field == "concurrency"
        assert chat.complete_many([]) == []


def test_complete_many_works_for_any_chat_backend() -> None:
    class Echo:
        def complete(self, messages, **kw):  # type: ignore[no-untyped-def]
            from alignlab.models import Completion

            if messages[0]["content"] == "boom":
                raise AlignlabError("boom", field="request")
            return [Completion(messages[0]["content"].upper())] * kw["n"]

    out = complete_many(Echo(), [_req("a", n=2), _req("boom"), _req("c")], errors="record")
    assert [c.text for c in out[0].completions] == ["A", "A"]
    assert (out[1].error, out[1].field) == ("boom", "request")
    assert out[2].completions[0].text == "C"
    assert json.dumps([r.ok for r in out]) == "[true, false, true]"


def test_progress_bar_path_keeps_results(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIGNLAB_PROGRESS", "1")  # the rich bar, as on a terminal
    with StubChatServer() as srv, _chat(srv) as chat:
        out = chat.complete_many([_req(f"q{i}") for i in range(6)], concurrency=3, desc="test")
    assert [r.completions[0].text for r in out] == [f"stub: q{i}" for i in range(6)]
