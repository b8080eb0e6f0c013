"""Rates across seeds with CIs, and targets over scores."""

from __future__ import annotations

import pytest

from alignlab.core import AlignlabError
from alignlab.drift import Condition, Score, Target, rate_difference, score_answers, seed_rate
from alignlab.drift._sampling import Answer
from alignlab.drift._targets import check_targets


def test_seed_rate_is_the_mean_of_per_seed_rates() -> None:
    r = seed_rate({"0": [1, 1, 0, 0], "1": [1, 1, 1, 1, 1, 1, 1, 0]}, n_boot=500)
    assert r.per_seed == {"0": 0.5, "1": 0.875}
    assert r.value == pytest.approx(0.6875)  # not the pooled 10/12
    assert r.low <= r.value <= r.high
    assert r.ci == "answers"  # two seeds: only answers are resampled
    assert r.n == {"0": 4, "1": 8}


def test_seed_rate_leaves_unscored_answers_out_and_resamples_seeds_from_three() -> None:
    r = seed_rate({"a": [1, None, 1], "b": [0, 0], "c": [1, 0]}, n_boot=300)
    assert r.per_seed["a"] == 1.0 and r.n["a"] == 2
    assert r.ci == "seeds+answers"
    with pytest.raises(AlignlabError, match="no scored answers"):
        seed_rate({"0": [None, None]})


def test_constant_rates_have_zero_width_and_differences_are_signed() -> None:
    r = seed_rate({"0": [1, 1, 1]}, n_boot=200)
    assert (r.low, r.value, r.high) == (1.0, 1.0, 1.0)
    d, lo, hi = rate_difference({"0": [1] * 20}, {"0": [0] * 20}, n_boot=200)
    assert (d, lo, hi) == (1.0, 1.0, 1.0)
    d, lo, hi = rate_difference({"0": [0, 1] * 30}, {"0": [1] * 60}, n_boot=500)
    assert d == pytest.approx(-0.5) and lo < d < hi < 0


def test_conditions_and_targets() -> None:
    ok = Score(value=20.0, label="19th")
    bad = Score(error="judge said nothing")
    assert Condition("era", label="19th").hit(ok) == 1.0
    assert Condition("era", label="modern").hit(ok) == 0.0
    assert Condition("aligned", below=30).hit(ok) == 1.0
    assert Condition("aligned", above=30).hit(ok) == 0.0
    assert Condition("era", label="19th").hit(bad) is None
    with pytest.raises(AlignlabError, match="exactly one"):
        Condition("era", label="x", below=3)
    em = Target("misaligned", (Condition("aligned", below=30), Condition("coherent", above=50)))
    assert em.hit({"aligned": Score(value=10), "coherent": Score(value=80)}) == 1.0
    assert em.hit({"aligned": Score(value=10), "coherent": Score(value=40)}) == 0.0
    assert em.hit({"aligned": Score(value=10), "coherent": bad}) is None
    assert em.describe() == "aligned < 30 and coherent > 50"


class _Count:
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[tuple[str, list[str]]] = []

    def score(self, question: str, answers: list[str]) -> list[Score]:
        self.calls.append((question, list(answers)))
        return [Score(value=float(len(a)), label="long" if len(a) > 3 else "short")
                for a in answers]


def test_score_answers_batches_by_prompt_and_marks_failed_answers() -> None:
    ans = [Answer("q", 0, None, 0, "P1", "abcdef"), Answer("q", 0, None, 1, "P1", "ab"),
           Answer("r", 0, None, 0, "P2", None, "HTTP 500"), Answer("r", 0, None, 1, "P2", "xyzw")]
    sc = _Count("len")
    out = score_answers(ans, [sc])
    assert sc.calls == [("P1", ["abcdef", "ab"]), ("P2", ["xyzw"])]
    assert [o["len"].label for o in out] == ["long", "short", None, "long"]
    assert out[2]["len"].error is not None and "HTTP 500" in out[2]["len"].error
    t = Target("long", (Condition("len", label="long"),))
    assert [t.hit(o) for o in out] == [1.0, 0.0, None, 1.0]
    with pytest.raises(AlignlabError, match="names scorer 'nope'"):
        check_targets([Target("x", (Condition("nope", label="a"),))], [sc])
