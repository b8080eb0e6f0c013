"""The tiny Qwen2.5-VL built in code and the local vision-language chat backend."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image, ImageDraw

from alignlab.core import AlignlabError
from alignlab.models import (
    MODEL_SPECS,
    ChatBackend,
    ChatRequest,
    HFVisionChat,
    complete_many,
    image_part,
    load_hf_vlm,
    load_vision_chat,
    tiny_qwen2_5_vl,
    tiny_vlm,
    user_message,
)


def _picture(colour: str, box: tuple[int, int, int, int] = (6, 6, 34, 44)) -> Image.Image:
    img = Image.new("RGB", (56, 56), "white")
    ImageDraw.Draw(img).rectangle(box, fill=colour)
    return img


@pytest.fixture(scope="module")
def backend() -> HFVisionChat:
    return tiny_vlm(seed=0)


@pytest.fixture(scope="module")
def chats() -> list[list[dict]]:
    first = [user_message("Which is safer?", _picture("red"), "or", _picture("blue"))]
    second = [
        {"role": "system", "content": "You judge pictures."},
        user_message(
            "Compare these two pictures carefully, please.",
            _picture("green", (0, 0, 20, 20)),
            _picture("black"),
        ),
    ]
    return [first, second]


def test_builds_offline_and_deterministic_by_seed() -> None:
    a, proc = tiny_qwen2_5_vl(seed=3)
    b, _ = tiny_qwen2_5_vl(seed=3)
    c, _ = tiny_qwen2_5_vl(seed=4)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    n_params = sum(p.numel() for p in a.parameters())
    assert n_params == MODEL_SPECS["tiny-vlm"].n_params
    assert proc.image_token_id == a.config.image_token_id
    for token in ("<|vision_start|>", "<|image_pad|>", "<|vision_end|>", "<|im_end|>"):
        assert proc.tokenizer.convert_tokens_to_ids(token) != proc.tokenizer.unk_token_id
    assert isinstance(tiny_vlm(), ChatBackend)


def test_batch_matches_each_chat_alone(backend: HFVisionChat, chats: list) -> None:
    batched = backend.complete_batch(chats, max_tokens=6)
    alone = [backend.complete(c, max_tokens=6) for c in chats]
    assert [b[0].text for b in batched] == [a[0].text for a in alone]
    # the two prompts differ in length, so the shorter one really was left padded
    prompt_tokens = [b[0].usage.prompt_tokens for b in batched if b[0].usage]
    assert len(set(prompt_tokens)) == 2
    enc = backend.encode_chats(chats)
    assert enc["attention_mask"][:, -1].all() and not enc["attention_mask"][:, 0].all()
    assert all(len(b[0].text) > 0 for b in batched)


def test_images_reach_the_model(backend: HFVisionChat, chats: list) -> None:
    base = backend.next_token_logits(chats[0])
    other = [user_message("Which is safer?", _picture("red"), "or", _picture("yellow"))]
    changed = backend.next_token_logits(other)
    assert not torch.allclose(base, changed, atol=1e-6)
    # and every image part became vision tokens: 2 images × (56/28)² merged patches each
    enc = backend.encode_chats([chats[0]])
    assert int((enc["input_ids"] == backend.model.config.image_token_id).sum()) == 2 * 4


def test_sampling_is_seeded_and_n_samples(backend: HFVisionChat, chats: list) -> None:
    a = backend.complete(chats[0], n=3, temperature=1.0, max_tokens=5, seed=7)
    b = backend.complete(chats[0], n=3, temperature=1.0, max_tokens=5, seed=7)
    assert [c.text for c in a] == [c.text for c in b] and len(a) == 3
    assert len({c.text for c in a}) > 1
    greedy = backend.complete(chats[0], n=2, max_tokens=5, top_logprobs=3)
    assert greedy[0] == greedy[1] and greedy[0].top_logprobs is not None
    assert len(greedy[0].top_logprobs) == greedy[0].usage.completion_tokens  # type: ignore[union-attr]
    assert all(len(d) <= 3 and max(d.values()) <= 0 for d in greedy[0].top_logprobs)


def test_complete_many_threads_match_sequential_samples(backend: HFVisionChat, chats: list) -> None:
    reqs = [
        ChatRequest(c, n=2, temperature=1.0, max_tokens=4, seed=s) for s in (1, 2) for c in chats
    ]
    pooled = complete_many(backend, reqs, concurrency=4)
    one_by_one = [
        backend.complete(r.messages, n=2, temperature=1.0, max_tokens=4, seed=r.seed) for r in reqs
    ]
    assert [[c.text for c in r.completions] for r in pooled] == [
        [c.text for c in cs] for cs in one_by_one
    ]


def test_stop_strings_cut_the_reply(backend: HFVisionChat, chats: list) -> None:
    full = backend.complete(chats[0], max_tokens=6)[0].text
    stop = full[len(full) // 2 :][:2]
    cut = HFVisionChat(backend.model, backend.processor, name="cut", stop=[stop])
    assert cut.complete(chats[0], max_tokens=6)[0].text == full[: full.find(stop)]


def test_save_load_round_trip_offline(
    backend: HFVisionChat, chats: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    backend.model.save_pretrained(tmp_path)
    backend.processor.save_pretrained(tmp_path)
    loaded = load_vision_chat(f"hf-vlm:{tmp_path}")
    assert loaded.name == str(tmp_path)
    want = backend.complete_batch(chats, max_tokens=5)
    got = loaded.complete_batch(chats, max_tokens=5)
    assert [g[0].text for g in got] == [w[0].text for w in want]


def test_hub_id_offline_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(AlignlabError, match="offline") as err:
        load_hf_vlm("alignlab-test/no-such-vlm")
    assert err.value.field == "model"
    with pytest.raises(AlignlabError, match="not a vision-language"):
        load_vision_chat("tiny-lm")


@pytest.mark.parametrize(
    ("part", "match"),
    [
        (image_part("https://example.com/a.png"), "not a base64 data URL"),
        (image_part("data:image/png;base64,bm90IGFuIGltYWdl"), "unreadable image"),
        ({"type": "video", "video": "x"}, "expected a 'text' or 'image_url' part"),
    ],
)
def test_bad_image_part_is_a_clear_error(backend: HFVisionChat, part: dict, match: str) -> None:
    msg = {"role": "user", "content": [{"type": "text", "text": "look"}, part]}
    with pytest.raises(AlignlabError, match=match) as err:
        backend.complete([msg], max_tokens=2)
    assert err.value.field == "messages[0].content[1]"


def test_pil_image_parts_equal_data_urls(backend: HFVisionChat) -> None:
    img = _picture("purple")
    as_url = [user_message("see", img)]
    as_pil = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "see"}, {"type": "image", "image": img}],
        }
    ]
    assert torch.equal(backend.next_token_logits(as_url), backend.next_token_logits(as_pil))
