"""LocalChat (a local LM as a ChatBackend), complete_many batching its sampled requests,
``stop`` through ChatRequest and OpenAIChat, and load_chat's spec forms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from alignlab.core import AlignlabError, JsonCache
from alignlab.models import (
    ChatBackend,
    ChatRequest,
    HFCausalLM,
    LocalChat,
    OpenAIChat,
    complete_many,
    load_chat,
    tiny_lm,
)

CHATS = [[{"role": "user", "content": p}] for p in ("hi", "name a bird species please", "ok")]


@pytest.fixture(scope="module")
def lm() -> HFCausalLM:
    return tiny_lm()


def test_complete_matches_generate_and_reports_usage(lm: HFCausalLM) -> None:
    chat = LocalChat(lm, batch_size=2)
    assert isinstance(chat, ChatBackend) and chat.name == lm.name
    out = chat.complete_batch(CHATS, n=2, temperature=1.0, max_tokens=6, seed=3)
    want = lm.generate_batch(CHATS, n=2, temperature=1.0, max_tokens=6, seed=3)
    assert [[c.text for c in row] for row in out] == want
    assert chat.complete(CHATS[1], n=2, temperature=1.0, max_tokens=6, seed=3) == out[1]
    u = out[1][0].usage
    assert u is not None and u.prompt_tokens == lm.prompt_ids(CHATS[1]).shape[1]
    assert 0 < u.completion_tokens <= 6 and u.total_tokens == u.prompt_tokens + u.completion_tokens
    assert chat.complete(CHATS[0], seed=None) == chat.complete(CHATS[0], seed=0)
    assert chat.complete_batch([]) == []


def test_first_token_top_logprobs_and_per_position(lm: HFCausalLM) -> None:
    chat = LocalChat(lm)
    one = chat.complete(CHATS[0], max_tokens=1, top_logprobs=5)[0]
    assert one.top_logprobs == [lm.first_token_logprobs(CHATS[0], top_k=5)]
    assert one.text == max(one.top_logprobs[0], key=one.top_logprobs[0].__getitem__)  # greedy
    many = chat.complete(CHATS[0], max_tokens=4, top_logprobs=3)[0]
    assert many.top_logprobs is not None and many.usage is not None
    assert len(many.top_logprobs) == many.usage.completion_tokens
    assert all(len(d) <= 3 and max(d.values()) <= 0 for d in many.top_logprobs)
    assert chat.complete(CHATS[0], max_tokens=4)[0].top_logprobs is None


def test_complete_many_batches_sampled_requests_without_changing_samples(
    lm: HFCausalLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = LocalChat(lm)
    calls: list[int] = []
    real = chat.complete_batch

    def spy(chats: Any, **kw: Any) -> Any:
        calls.append(len(chats))
        return real(chats, **kw)

    monkeypatch.setattr(chat, "complete_batch", spy)
    reqs = [
        ChatRequest(c, n=2, temperature=1.0, max_tokens=5, seed=s) for s in (1, 2) for c in CHATS
    ]
    reqs.append(ChatRequest(CHATS[0], max_tokens=5, stop=("e",)))
    out = complete_many(chat, reqs, concurrency=8)
    assert sorted(calls) == [1, 3, 3]  # two seeds → two batches of three, plus the stop group
    alone = [real([r.messages], n=r.n, temperature=r.temperature, max_tokens=r.max_tokens,
                  seed=r.seed, stop=r.stop)[0] for r in reqs]  # fmt: skip
    assert [r.completions for r in out] == alone
    assert "e" not in out[-1].completions[0].text


def test_threaded_path_passes_stop_only_when_set() -> None:
    class _NoStop:  # a backend (like many test fakes) without a stop argument
        def complete(self, messages: Any, **kw: Any) -> list[Any]:
            from alignlab.models import Completion

            return [Completion(json.dumps(sorted(kw)))]

    out = complete_many(_NoStop(), [ChatRequest(CHATS[0]), ChatRequest(CHATS[0], stop=("x",))])
    assert "stop" not in out[0].completions[0].text and "stop" in out[1].completions[0].text


def test_openai_sends_stop_and_keys_the_cache_on_it(tmp_path: Path) -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        msg = {"role": "assistant", "content": f"r{len(bodies)}"}
        return httpx.Response(200, json={"choices": [{"index": 0, "message": msg}]})

    cache = JsonCache(tmp_path / "cache")
    chat = OpenAIChat("m", base_url="http://x.test/v1", transport=httpx.MockTransport(handler),
                      cache=cache)  # fmt: skip
    a = chat.complete(CHATS[0])
    b = chat.complete(CHATS[0], stop=("\n",))
    c = chat.complete(CHATS[0], stop=["\n"])
    assert "stop" not in bodies[0] and bodies[1]["stop"] == ["\n"]
    assert len(bodies) == 2 and a[0].text == "r1" and b[0].text == c[0].text == "r2"


def test_load_chat_specs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tiny = load_chat("tiny:3", batch_size=4)
    assert isinstance(tiny, LocalChat) and tiny.batch_size == 4 and tiny.name == "tiny:3"
    assert tiny.complete(CHATS[0], max_tokens=4) == load_chat("tiny:3").complete(
        CHATS[0], max_tokens=4
    )
    assert load_chat("tiny").complete(CHATS[0], max_tokens=4) != tiny.complete(
        CHATS[0], max_tokens=4
    )  # another seed, another random model
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(AlignlabError, match="OPENAI_BASE_URL") as err:
        load_chat("openai:gpt-4.1")
    assert err.value.field == "base_url"
    remote = load_chat("openai:ft:gpt-4.1:org::abc", base_url="http://h.test/v1")
    assert isinstance(remote, OpenAIChat) and remote.model == "ft:gpt-4.1:org::abc"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://env.test/v1")
    env = load_chat("openai:m")
    assert isinstance(env, OpenAIChat) and env.base_url == "http://env.test/v1"
    with pytest.raises(AlignlabError, match="lora.json"):  # lora: loads through load_lora_lm
        load_chat(f"lora:{tmp_path / 'missing'}")
    for bad in ("tinyx", "tiny:abc", "openai:", "lora:", "gpt"):
        with pytest.raises(AlignlabError, match="known forms: tiny") as err:
            load_chat(bad)
        assert err.value.field == "model"


def test_load_chat_hf_folder_offline(
    lm: HFCausalLM, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    lm.model.save_pretrained(tmp_path)
    lm.tokenizer.save_pretrained(tmp_path)
    local = load_chat(f"hf:{tmp_path}")
    assert isinstance(local, LocalChat)
    assert local.complete(CHATS[1], max_tokens=5) == LocalChat(lm).complete(CHATS[1], max_tokens=5)
