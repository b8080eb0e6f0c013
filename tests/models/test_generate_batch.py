"""HFCausalLM.generate_batch: left padding gives the replies of one-at-a-time calls, per-row
seeds make samples independent of the batch, stop strings cut, n samples per prompt in order,
and the Gumbel-max sampler draws from softmax(logits / temperature)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from alignlab.core import AlignlabError
from alignlab.models import HFCausalLM, tiny_lm
from alignlab.models._generate import _GumbelSampler, cut_at_stop

PROMPTS = [
    "hi",
    "What is the capital of France? Please answer with one word and then explain why.",
    "ok",
    "The quick brown fox jumps over the lazy dog.",
    "Judges compare two responses",
]


@pytest.fixture(scope="module")
def lm() -> HFCausalLM:
    return tiny_lm()


def _chats() -> list[list[dict[str, str]]]:
    return [[{"role": "user", "content": p}] for p in PROMPTS]


def test_greedy_batch_equals_one_at_a_time(lm: HFCausalLM) -> None:
    chats = _chats()
    lengths = {lm.prompt_ids(c).shape[1] for c in chats}
    assert len(lengths) >= 3  # the batch really mixes prompt lengths, so padding is exercised
    alone = [lm.generate(c, temperature=0.0, max_tokens=12) for c in chats]
    for bs in (2, 16):
        batched = lm.generate_batch(chats, n=2, temperature=0.0, max_tokens=12, batch_size=bs)
        assert [row[0] for row in batched] == [a[0] for a in alone]
        assert all(row[0] == row[1] for row in batched)  # greedy: n copies


def test_samples_do_not_depend_on_the_batch_and_seed_repeats(lm: HFCausalLM) -> None:
    chats = _chats()
    rng_before = torch.random.get_rng_state()
    a = lm.generate_batch(chats, n=3, temperature=1.0, max_tokens=10, seed=4, batch_size=2)
    assert torch.equal(rng_before, torch.random.get_rng_state())  # global RNG untouched
    b = lm.generate_batch(chats, n=3, temperature=1.0, max_tokens=10, seed=4, batch_size=16)
    alone = [lm.generate(c, n=3, temperature=1.0, max_tokens=10, seed=4) for c in chats]
    assert a == b == alone
    assert [len(row) for row in a] == [3] * len(chats)
    assert all(len(set(row)) > 1 for row in a)  # n samples are distinct draws, not copies
    other = lm.generate_batch(chats, n=3, temperature=1.0, max_tokens=10, seed=5)
    assert other != a
    # sample k of n is sample k of a longer run: samples come in a fixed order
    more = lm.generate_batch(chats[:1], n=5, temperature=1.0, max_tokens=10, seed=4)
    assert more[0][:3] == a[0]


def test_stop_strings_cut_the_reply(lm: HFCausalLM) -> None:
    chats = _chats()
    full = lm.generate_batch(chats, n=2, temperature=1.0, max_tokens=16, seed=1)
    stop = full[0][0][len(full[0][0]) // 2 :][:2]
    assert stop
    cut = lm.generate_batch(chats, n=2, temperature=1.0, max_tokens=16, seed=1, stop=[stop, "zz"])
    for row_full, row_cut in zip(full, cut, strict=True):
        for f, c in zip(row_full, row_cut, strict=True):
            assert c == cut_at_stop(f, [stop, "zz"]) and stop not in c
    assert len(cut[0][0]) < len(full[0][0])


def test_cut_at_stop_takes_the_earliest() -> None:
    assert cut_at_stop("abc. def\nghi", ["\n", "."]) == "abc"
    assert cut_at_stop("abc", ["", "x"]) == "abc"


def test_bad_arguments_are_refused(lm: HFCausalLM) -> None:
    for kw, field in (
        ({"n": 0}, "n"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"batch_size": 0}, "batch_size"),
        ({"temperature": -1.0}, "temperature"),
    ):
        with pytest.raises(AlignlabError) as err:
            lm.generate_batch(_chats(), **kw)  # type: ignore[arg-type]
        assert err.value.field == field
    assert lm.generate_batch([], max_tokens=3) == []


def test_gumbel_sampler_matches_softmax() -> None:
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]])
    temperature = 0.7
    want = torch.softmax(logits[0] / temperature, -1).numpy()
    draws = np.zeros(4)
    sampler = _GumbelSampler(list(range(4000)), temperature, torch.device("cpu"))
    masked = sampler(torch.zeros(4000, 1, dtype=torch.long), logits.expand(4000, 4).clone())
    assert torch.isfinite(masked).sum(-1).eq(1).all()  # exactly one allowed token per row
    np.add.at(draws, masked.argmax(-1).numpy(), 1)
    assert np.abs(draws / draws.sum() - want).max() < 0.03  # ~4 standard errors at n=4000
