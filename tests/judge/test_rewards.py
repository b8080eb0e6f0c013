"""The judge's rewards on hand-computed batches, against a plain reference, and through
check_reward_fn (which must also catch deliberately broken reward functions)."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alignlab.core import AlignlabError
from alignlab.judge._chain import (
    ORDERS,
    Chain,
    Claim,
    Observation,
    Position,
    Verification,
    render_chain,
    underlying_preference,
)
from alignlab.judge._parse import completion_text
from alignlab.judge._rewards import (
    RewardConfig,
    check_reward_fn,
    make_accuracy_reward,
    make_consistency_reward,
    make_format_reward,
    make_judge_reward,
    reward_check_batch,
)

FLIP = {"A": "B", "B": "A"}


def chain(verdict: Position, *, grounded: bool = True) -> str:
    return render_chain(
        Chain(
            observations=(Observation(1, "two red squares", 1),),
            claims=(Claim("A", 1, "two squares"), Claim("B", 1, "three squares")),
            verifications=(
                Verification("A", 1, "supported", (1,) if grounded else ()),
                Verification("B", 1, "contradicted", (1,)),
            ),
            evaluation="A counts right.",
            verdict=verdict,
        )
    )


def interleaved(golds_fwd: list[Position]) -> dict[str, list[Any]]:
    """Columns for pairs p0, p1, ... each as (forward, reverse), one rollout per order."""
    cols: dict[str, list[Any]] = {"pair_id": [], "order": [], "gold": []}
    for i, g in enumerate(golds_fwd):
        cols["pair_id"] += [f"p{i}", f"p{i}"]
        cols["order"] += ["forward", "reverse"]
        cols["gold"] += [g, FLIP[g]]
    return cols


def call(fn: Any, completions: list[Any], cols: dict[str, list[Any]]) -> list[float | None]:
    return fn(prompts=["q"] * len(completions), completions=completions, **cols)


GOLDS: list[Position] = ["A", "B", "B", "A", "A", "B"]


def test_a_position_biased_judge_gets_half_accuracy_and_no_consistency() -> None:
    cols = interleaved(GOLDS)
    always_a = [chain("A")] * len(cols["gold"])
    acc = call(make_accuracy_reward(), always_a, cols)
    assert acc == [1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    assert sum(acc) / len(acc) == 0.5  # type: ignore[arg-type]
    assert call(make_consistency_reward(), always_a, cols) == [0.0] * 12
    strict = make_consistency_reward(RewardConfig(strict_consistency=True))
    assert call(strict, always_a, cols) == [0.0] * 12


def test_a_grounded_judge_gets_full_marks() -> None:
    cols = interleaved(GOLDS)
    right = [chain(g) for g in cols["gold"]]
    assert call(make_accuracy_reward(), right, cols) == [1.0] * 12
    assert call(make_consistency_reward(), right, cols) == [1.0] * 12
    strict = make_consistency_reward(RewardConfig(strict_consistency=True))
    assert call(strict, right, cols) == [1.0] * 12
    assert call(make_format_reward(), right, cols) == [1.0] * 12
    assert call(make_judge_reward(), right, cols) == pytest.approx([1.0] * 12)


# Two rollouts per order. p0 (gold forward A): forward says A, B; reverse says B (= A), nothing.
# p1 (gold forward A): forward says B, reverse A (= B): consistent, and wrong both times.
# p2: forward only. p3: no gold.
MIXED: dict[str, list[Any]] = {
    "completions": [chain("A"), "<verdict>B</verdict>", chain("B"), "I cannot decide.",
                    chain("B"), chain("A"), chain("A"), chain("B"), chain("A")],
    "pair_id": ["p0", "p0", "p0", "p0", "p1", "p1", "p2", "p3", "p3"],
    "order": ["forward", "forward", "reverse", "reverse", "forward", "reverse", "forward",
              "forward", "reverse"],
    "gold": ["A", "A", "B", "B", "A", "B", "B", None, None],
}  # fmt: skip


def mixed() -> tuple[list[Any], dict[str, list[Any]]]:
    cols = {k: list(v) for k, v in MIXED.items() if k != "completions"}
    return list(MIXED["completions"]), cols


def test_hand_computed_mixed_batch() -> None:
    completions, cols = mixed()
    acc = call(make_accuracy_reward(), completions, cols)
    assert acc == [1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, None, None]
    con = call(make_consistency_reward(), completions, cols)
    # p0 underlying: forward A, B; reverse A, None.  p3: forward B; reverse A -> B: agree.
    assert con == [0.5, 0.0, 0.5, 0.0, 1.0, 1.0, None, 1.0, 1.0]
    strict = call(make_consistency_reward(RewardConfig(strict_consistency=True)), completions, cols)
    assert strict == [0.5, 0.0, 0.5, 0.0, 0.0, 0.0, None, None, None]
    fmt = call(make_format_reward(), completions, cols)
    # a bare verdict: 1 of 5 sections, no grounding -> 0.5 * 0.2; no tags at all -> 0
    assert fmt == [1.0, 0.1, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    total = call(make_judge_reward(), completions, cols)
    expected = [
        0.2 + 0.5 + 0.15, 0.02, 0.2 + 0.5 + 0.15, 0.0, 0.2 + 0.3, 0.2 + 0.3, 0.2,
        0.2 + 0.3, 0.2 + 0.3,
    ]  # fmt: skip
    assert total == pytest.approx(expected)


def test_the_weighted_sum_is_configurable_and_none_only_when_every_term_is() -> None:
    completions, cols = mixed()
    only_acc = make_judge_reward(RewardConfig(format_weight=0, consistency_weight=0))
    assert call(only_acc, completions, cols) == [1.0 * 0.5, 0, 0.5, 0, 0, 0, 0, None, None]
    del cols["pair_id"], cols["order"]  # unused with consistency off: not needed
    weights = RewardConfig(format_weight=1.0, accuracy_weight=2.0, consistency_weight=0)
    got = call(make_judge_reward(weights), completions, cols)
    assert got == pytest.approx([3.0, 0.1, 3.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0])


def test_grounding_counts_in_the_format_reward() -> None:
    cols = {"n_images": [1, 1, 0]}
    fmt = make_format_reward()
    uncited = chain("A", grounded=False)
    # 5/5 structure; grounding 1/2 (A1 uncited) -> 0.75; observation of image 1 with 0 images -> 0.5
    assert call(fmt, [chain("A"), uncited, chain("A")], cols) == [1.0, 0.75, 0.5]
    share = make_format_reward(RewardConfig(grounding_share=1.0))
    assert call(share, [uncited], {}) == [0.5]


def test_missing_or_short_columns_are_named() -> None:
    with pytest.raises(AlignlabError, match="judge_accuracy needs the column 'gold'") as err:
        call(make_accuracy_reward(), ["x"], {})
    assert err.value.field == "gold"
    with pytest.raises(AlignlabError, match="1 values for 2 completions") as err:
        call(make_consistency_reward(), ["x", "y"], {"pair_id": [1], "order": ["forward"] * 2})
    assert err.value.field == "pair_id"
    renamed = RewardConfig(gold_column="better")
    assert call(make_accuracy_reward(renamed), [chain("B")], {"better": ["b"]}) == [1.0]
    with pytest.raises(AlignlabError) as err:
        RewardConfig(grounding_share=1.5)
    assert err.value.field == "grounding_share"


def test_conversational_completions_and_trl_extras() -> None:
    completions, cols = mixed()
    chat = [[{"role": "assistant", "content": completion_text(c)}] for c in completions]
    fn = make_judge_reward()
    plain = call(fn, completions, cols)
    extras: dict[str, Any] = {"trainer_state": object(), "completion_ids": [[1]] * 9}
    assert call(fn, chat, {**cols, **extras}) == plain
    assert fn.__name__ == "judge_reward"  # TRL logs rewards under their function's name


def test_underlying_preference() -> None:
    assert [underlying_preference(v, o) for v in ("A", "B") for o in ORDERS] == [
        "A", "B", "B", "A"
    ]  # fmt: skip
    assert underlying_preference(None, "forward") is None
    assert underlying_preference("A", "sideways") is None


def reference(verdicts: list[Any], pairs: list[Any], orders: list[Any], golds: list[Any],
              strict: bool) -> list[float | None]:  # fmt: skip
    """Consistency the slow, obvious way: compare each row with every other row."""
    out: list[float | None] = []
    for i in range(len(verdicts)):
        if pairs[i] is None or orders[i] not in ORDERS:
            out.append(None)
            continue
        others = [j for j in range(len(verdicts)) if pairs[j] == pairs[i]
                  and orders[j] in ORDERS and orders[j] != orders[i]]  # fmt: skip
        if not others or (strict and golds[i] is None):
            out.append(None)
            continue
        hits = 0
        for j in others:
            if strict:
                hits += verdicts[i] is not None and verdicts[i] == golds[i] \
                    and verdicts[j] is not None and verdicts[j] == golds[j]  # fmt: skip
            else:
                pi = underlying_preference(verdicts[i], orders[i])
                hits += pi is not None and pi == underlying_preference(verdicts[j], orders[j])
        out.append(hits / len(others))
    return out


ROWS = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", None]),
        st.sampled_from(["p0", "p1", "p2", None]),
        st.sampled_from(["forward", "reverse", "forward", "reverse", "sideways"]),
        st.sampled_from(["A", "B", "b", None]),
    ),
    max_size=24,
)


@settings(max_examples=200, deadline=None)
@given(ROWS, st.booleans())
def test_consistency_matches_the_reference(rows: list[tuple[Any, ...]], strict: bool) -> None:
    verdicts, pairs, orders, golds = (list(c) for c in zip(*rows, strict=True)) if rows else (
        [], [], [], [])  # fmt: skip
    texts = [chain(v) if v is not None else "no verdict" for v in verdicts]
    fn = make_consistency_reward(RewardConfig(strict_consistency=strict))
    got = call(fn, texts, {"pair_id": pairs, "order": orders, "gold": golds})
    norm = [g.upper() if g else None for g in golds]
    assert got == pytest.approx(reference(verdicts, pairs, orders, norm, strict))


@pytest.mark.parametrize("strict", [False, True])
def test_every_judge_reward_passes_the_checker(strict: bool) -> None:
    cfg = RewardConfig(strict_consistency=strict)
    for make in (make_format_reward, make_accuracy_reward, make_consistency_reward,
                 make_judge_reward):  # fmt: skip
        scores = check_reward_fn(make(cfg))
        assert len(scores) == len(reward_check_batch()[1])


def _none_crash(prompts: list[Any], completions: list[Any], **kw: Any) -> list[float | None]:
    return [float(len(completion_text(c))) if c is not None else float(c) for c in completions]  # type: ignore[arg-type]


def _garbage_crash(prompts: list[Any], completions: list[Any], **kw: Any) -> list[float | None]:
    if any(isinstance(c, int | float) for c in completions):
        raise ValueError("not text")
    return [float(len(completion_text(c))) for c in completions]


def _mutates(prompts: list[Any], completions: list[Any], **kw: Any) -> list[float | None]:
    kw["gold"][0] = "B" if kw["gold"][0] == "A" else "A"
    return [1.0] * len(completions)


def _no_columns(prompts: list[Any], completions: list[Any]) -> list[float | None]:
    return [1.0] * len(completions)


BROKEN = [
    (_no_columns, "signature"),
    (lambda prompts, completions, **kw: [1] * len(completions), "runs"),
    (lambda prompts, completions, **kw: [1.0] * (len(completions) - 1), "runs"),
    (lambda prompts, completions, **kw: [float("nan")] * len(completions), "runs"),
    (lambda prompts, completions, **kw: [None] * len(completions), "some-score"),
    (_mutates, "untouched"),
    (lambda prompts, completions, **kw: [random.random() for _ in completions], "deterministic"),
    (
        lambda prompts, completions, **kw: [float(isinstance(c, str)) for c in completions],
        "conversational",
    ),  # fmt: skip
    (
        lambda prompts, completions, **kw: [float(i) for i in range(len(completions))],
        "permutation",
    ),  # fmt: skip
    (_none_crash, "empty"),
    (_garbage_crash, "garbage"),
]


@pytest.mark.parametrize(("fn", "rule"), BROKEN, ids=[r for _, r in BROKEN])
def test_the_checker_catches_broken_rewards(fn: Any, rule: str) -> None:
    with pytest.raises(AssertionError, match=f"rule '{rule}' failed"):
        check_reward_fn(fn)
