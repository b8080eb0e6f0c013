"""HFEncoder / HFCausalLM on tiny random models: shapes, ordering, batching, NLL, sampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from alignlab.core import AlignlabError
from alignlab.models import (
    CausalLM,
    HFCausalLM,
    HFEncoder,
    TextEncoder,
    tiny_causal_lm_model,
    tiny_encoder,
    tiny_lm,
    tiny_seq_classifier_model,
    tiny_tokenizer,
)

TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "hi",
    "A monitor flags unsafe actions taken by an agent before they run, and logs them. " * 3,
    "",
    "Numbers like 1, 2, 3 and 42.",
    "Please write a short poem about the sea.",
]


@pytest.fixture(scope="module")
def lm() -> HFCausalLM:
    return tiny_lm(batch_tokens=64)


@pytest.fixture(scope="module")
def enc() -> HFEncoder:
    return tiny_encoder(batch_tokens=64)


def test_protocols_and_attributes(lm: HFCausalLM, enc: HFEncoder) -> None:
    assert isinstance(enc, TextEncoder) and isinstance(lm, TextEncoder)
    assert isinstance(lm, CausalLM)
    assert enc.dim == 32 and lm.dim == 32
    assert lm.n_params == sum(p.numel() for p in lm.model.parameters()) > 0


def test_tokenizer_specials_and_template() -> None:
    tok = tiny_tokenizer()
    assert (tok.pad_token, tok.unk_token, tok.bos_token, tok.eos_token) == (
        "<pad>",
        "<unk>",
        "<s>",
        "</s>",
    )
    assert tok.padding_side == "right"
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert prompt == "<|user|>\nhi\n<|assistant|>\n"
    assert tok.decode(tok("héllo wörld ✓")["input_ids"]) == "héllo wörld ✓"  # byte-level


@pytest.mark.parametrize("which", ["lm", "enc"])
def test_encode_shape_and_order_restored(which: str, lm: HFCausalLM, enc: HFEncoder) -> None:
    model = lm if which == "lm" else enc
    out = model.encode(TEXTS)
    assert out.shape == (len(TEXTS), 32) and out.dtype == np.float32
    one_by_one = np.stack([model.encode([t])[0] for t in TEXTS])
    np.testing.assert_allclose(out, one_by_one, atol=1e-5)
    # a permuted input gives permuted rows: order is restored after length sorting
    perm = [3, 0, 5, 1, 4, 2]
    np.testing.assert_allclose(model.encode([TEXTS[i] for i in perm]), out[perm], atol=1e-5)


def test_features_batched_equals_single(lm: HFCausalLM) -> None:
    fb = lm.features(TEXTS, poolings=("mean", "last", "cls"))
    assert set(fb.pooled) == {"mean", "last", "cls"}
    assert fb.mean_nll is not None and fb.mean_entropy is not None
    for i, text in enumerate(TEXTS):
        single = lm.features([text], poolings=("mean", "last", "cls"))
        for p in fb.pooled:
            np.testing.assert_allclose(fb.pooled[p][i], single.pooled[p][0], atol=1e-5)
        np.testing.assert_allclose(fb.mean_nll[i], single.mean_nll[0], atol=1e-5)  # type: ignore[index]
        assert fb.n_tokens[i] == single.n_tokens[0]


def _manual_stats(lm: HFCausalLM, text: str) -> tuple[float, float, torch.Tensor]:
    ids = torch.tensor([lm.tokenizer(text, truncation=True, max_length=lm.max_tokens)["input_ids"]])
    with torch.no_grad():
        logits = lm.model(input_ids=ids).logits[0].double()
    logp = torch.log_softmax(logits[:-1], -1)
    tok_lp = logp.gather(1, ids[0, 1:, None])[:, 0]
    entropy = -(logp.exp() * logp).sum(-1)
    return float(-tok_lp.mean()), float(entropy.mean()), tok_lp


def test_nll_and_entropy_match_manual_logits(lm: HFCausalLM) -> None:
    fb = lm.features(TEXTS)
    lps = lm.token_logprobs(TEXTS)
    assert fb.mean_nll is not None and fb.mean_entropy is not None
    for i, text in enumerate(TEXTS):
        if fb.n_tokens[i] < 2:  # nothing to predict
            assert np.isnan(fb.mean_nll[i]) and lps[i].shape == (0,)
            continue
        nll, ent, tok_lp = _manual_stats(lm, text)
        assert fb.mean_nll[i] == pytest.approx(nll, abs=1e-4)
        assert fb.mean_entropy[i] == pytest.approx(ent, abs=1e-4)
        np.testing.assert_allclose(lps[i], tok_lp.numpy(), atol=1e-4)
    assert np.all(fb.mean_nll[fb.n_tokens >= 2] > 0)


def test_plain_forward_path_matches_split_path(lm: HFCausalLM) -> None:
    plain = HFCausalLM(lm.model, lm.tokenizer, name="plain", batch_tokens=64)
    plain._split = False  # models that scale logits in forward() take this path
    a, b = lm.features(TEXTS), plain.features(TEXTS)
    np.testing.assert_allclose(a.mean_nll, b.mean_nll, atol=1e-5)  # type: ignore[arg-type]
    np.testing.assert_allclose(a.pooled["last"], b.pooled["last"], atol=1e-5)


def test_truncation_respected() -> None:
    short = tiny_lm(max_tokens=5)
    fb = short.features(TEXTS)
    assert fb.n_tokens.max() == 5
    assert all(len(x) <= 4 for x in short.token_logprobs(TEXTS))
    # the pooled vector of a long text equals that of its first 5 tokens
    ids = short.tokenizer(TEXTS[2])["input_ids"][:5]
    prefix = short.tokenizer.decode(ids)
    np.testing.assert_allclose(short.encode([TEXTS[2]]), short.encode([prefix]), atol=1e-5)


def test_hidden_layer_choice(lm: HFCausalLM) -> None:
    first = HFEncoder(lm.model, lm.tokenizer, name="l1", layer=1)
    a, b = first.encode(TEXTS[:2]), lm.encode(TEXTS[:2])
    assert a.shape == b.shape and not np.allclose(a, b)


def test_empty_input(lm: HFCausalLM) -> None:
    fb = lm.features([])
    assert fb.pooled["mean"].shape == (0, 32) and fb.mean_nll is not None
    assert fb.mean_nll.shape == (0,) and lm.token_logprobs([]) == []


def test_encoder_has_no_nll(enc: HFEncoder) -> None:
    fb = enc.features(TEXTS[:2])
    assert fb.mean_nll is None and fb.mean_entropy is None
    with pytest.raises(AlignlabError, match="no LM head"):
        enc.features(TEXTS[:2], with_nll=True)
    with pytest.raises(AlignlabError, match="pooling"):
        HFEncoder(enc.model, enc.tokenizer, name="x", pooling="max")


def test_generate_n_and_seed_determinism(lm: HFCausalLM) -> None:
    msgs = [{"role": "user", "content": "hello"}]
    rng_before = torch.random.get_rng_state()
    a = lm.generate(msgs, n=3, temperature=1.0, max_tokens=8, seed=7)
    assert torch.equal(rng_before, torch.random.get_rng_state())  # global RNG untouched
    b = lm.generate(msgs, n=3, temperature=1.0, max_tokens=8, seed=7)
    c = lm.generate(msgs, n=3, temperature=1.0, max_tokens=8, seed=8)
    assert len(a) == 3 and all(isinstance(t, str) for t in a)
    assert a == b and a != c
    greedy = lm.generate(msgs, n=2, temperature=0.0, max_tokens=8)
    assert len(greedy) == 2 and greedy[0] == greedy[1]


def test_first_token_logprobs(lm: HFCausalLM) -> None:
    msgs = [{"role": "user", "content": [{"type": "text", "text": "hello"}]}]
    top = lm.first_token_logprobs(msgs, top_k=10)
    assert 1 <= len(top) <= 10
    vals = np.array(list(top.values()))
    assert np.all(vals <= 0) and np.exp(vals).sum() <= 1 + 1e-6
    ids = lm.prompt_ids(msgs)
    with torch.no_grad():
        best = int(lm.model(input_ids=ids).logits[0, -1].argmax())
    assert lm.tokenizer.decode([best]) in top


def test_tiny_builders() -> None:
    tok = tiny_tokenizer(["abc abd abe"] * 5, vocab_size=300)
    assert len(tok) <= 300
    lm = tiny_causal_lm_model(tok, hidden=16, layers=1, heads=2, seed=1)
    assert lm.config.vocab_size == len(tok) and lm.config.hidden_size == 16
    clf = tiny_seq_classifier_model(tok, num_labels=3)
    assert clf.config.pad_token_id == tok.pad_token_id
    batch = tok(["abc", "abd abe abc"], padding=True, return_tensors="pt")
    with torch.no_grad():
        assert clf(**batch).logits.shape == (2, 3)
    as_encoder = HFEncoder(clf, tok, name="clf", pooling="last")  # classifier body as encoder
    assert not as_encoder.has_lm_head and as_encoder.encode(["abc"]).shape == (1, 32)
    with pytest.raises(AlignlabError, match="no LM head"):
        HFCausalLM(clf, tok, name="clf")
    # the same seed gives the same weights
    again = tiny_causal_lm_model(tok, hidden=16, layers=1, heads=2, seed=1)
    assert all(torch.equal(p, q) for p, q in zip(lm.parameters(), again.parameters(), strict=True))


def test_image_parts_are_refused_not_dropped(lm: HFCausalLM) -> None:
    from PIL import Image

    from alignlab.models import image_part, text_part, user_message

    chat = [
        {"role": "system", "content": "be brief"},
        user_message("what is this?", Image.new("RGB", (2, 2)), image_part("https://x.test/a.png")),
    ]
    for call in (lambda: lm.generate(chat, max_tokens=2), lambda: lm.first_token_logprobs(chat)):
        with pytest.raises(AlignlabError) as err:
            call()
        msg = str(err.value)
        assert err.value.field == "messages" and f"model '{lm.name}'" in msg
        assert "text-only" in msg and "2 image part(s)" in msg
        assert "messages[1]: data:image/png;base64," in msg and "https://x.test/a.png" in msg
    # text parts alone are fine and read as the plain string would be
    parts = [{"role": "user", "content": [text_part("hello "), text_part("there")]}]
    plain = [{"role": "user", "content": "hello there"}]
    assert lm.generate(parts, temperature=0, max_tokens=3) == lm.generate(
        plain, temperature=0, max_tokens=3
    )
