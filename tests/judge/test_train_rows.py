"""Training rows: both orders adjacent, gold and gold chain following the swap, images in the
order of their placeholders, and clear errors for pairs that cannot be trained on."""

from __future__ import annotations

from dataclasses import replace

import pytest

from alignlab.core import AlignlabError
from alignlab.judge import Pair, parse_chain, swapped
from alignlab.judge._train_rows import corpus_texts, pair_rows, training_rows

TRL_COLUMNS = {"chosen", "rejected", "messages"}


def _placeholders(row: dict) -> int:
    return sum(p["type"] == "image" for m in row["prompt"] for p in m["content"])


def test_rows_interleave_both_orders_with_gold_following_its_response(
    train_pairs: list[Pair],
) -> None:
    rows = training_rows(train_pairs)
    assert len(rows) == 2 * len(train_pairs)
    for k, pair in enumerate(train_pairs):
        fwd, rev = rows[2 * k], rows[2 * k + 1]
        assert (fwd["order"], rev["order"]) == ("forward", "reverse")
        assert fwd["pair_id"] == rev["pair_id"] == pair.id
        assert fwd["gold"] == pair.gold and rev["gold"] == swapped(pair).gold != pair.gold
        assert not TRL_COLUMNS & set(fwd)
        for row in (fwd, rev):
            assert _placeholders(row) == len(row["images"]) == row["n_images"]
            assert len(row["images"]) == len(pair.images())
    assert any(r["n_images"] == 2 for r in rows)


def test_reverse_row_shows_the_responses_swapped(train_pairs: list[Pair]) -> None:
    pair = next(p for p in train_pairs if p.task == "t2i")  # one image in each response
    fwd, rev = pair_rows(pair)
    # A's image comes first forward and second reversed
    assert fwd["images"][0].tobytes() == rev["images"][1].tobytes()
    assert fwd["images"][1].tobytes() == rev["images"][0].tobytes()

    def text(row: dict) -> str:
        return "".join(p.get("text", "") for m in row["prompt"] for p in m["content"])

    assert text(fwd).index("Response A") < text(fwd).index("Response B")
    assert "[image 1]" in text(rev)


def test_chain_target_is_the_gold_chain_in_the_rows_order(train_pairs: list[Pair]) -> None:
    for pair in train_pairs[:4]:
        for row in pair_rows(pair, target="chain"):
            (msg,) = row["completion"]
            target = msg["content"][0]["text"]
            parsed = parse_chain(target, n_images=row["n_images"])
            assert not parsed.errors and parsed.verdict == row["gold"]


def test_verdict_target_and_no_system_message(train_pairs: list[Pair]) -> None:
    fwd, rev = pair_rows(train_pairs[0], target="verdict", prompt="baseline", system=False)
    assert [m["role"] for m in fwd["prompt"]] == ["user"]
    assert fwd["completion"][0]["content"][0]["text"] == f"<verdict>{fwd['gold']}</verdict>"
    assert rev["completion"][0]["content"][0]["text"] == f"<verdict>{rev['gold']}</verdict>"
    full = pair_rows(train_pairs[0])
    assert [m["role"] for m in full[0]["prompt"]] == ["system", "user"]


def test_chain_target_needs_a_gold_chain(train_pairs: list[Pair]) -> None:
    bare = replace(train_pairs[0], metadata={})
    with pytest.raises(AlignlabError, match="no gold chain") as err:
        pair_rows(bare, target="chain")
    assert err.value.field == "target"
    assert pair_rows(bare, target="verdict")  # a verdict needs only gold


def test_corpus_holds_prompts_and_both_orders_chains(train_pairs: list[Pair]) -> None:
    texts = corpus_texts(train_pairs[:2])
    for pair in train_pairs[:2]:
        assert pair.metadata["gold_chain_text"] in texts
        assert swapped(pair).metadata["gold_chain_text"] in texts
    assert any("Response A" in t for t in texts)


def test_observations_target_is_the_chains_observations_section(train_pairs: list[Pair]) -> None:
    for pair in train_pairs[:4]:
        chain_rows = pair_rows(pair, target="chain")
        for row, full in zip(pair_rows(pair, target="observations"), chain_rows, strict=True):
            text = row["completion"][0]["content"][0]["text"]
            whole = full["completion"][0]["content"][0]["text"]
            assert whole.startswith(text) and text.endswith("</observations>")
            assert text.startswith("<observations>") and "<claims>" not in text
