from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from alignlab.monitor._metrics import false_flag_rate, group_metrics, make_groups
from alignlab.monitor._mood_format import mood_analysis


def _toy(n_safe: int = 2000, n_unsafe: int = 1000, seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    domains = ["id"] * n_safe + ["id"] * n_unsafe + ["far"] * n_unsafe + ["near"] * n_unsafe
    malign = np.r_[np.zeros(n_safe), np.ones(3 * n_unsafe)].astype(int)
    scores = np.r_[
        rng.normal(0, 1, n_safe),
        rng.normal(2, 1, n_unsafe),
        rng.normal(3, 1, n_unsafe),
        rng.normal(0, 1, n_unsafe),
    ]
    return scores, domains, malign


def test_groups_follow_mood_definition() -> None:
    domains = ["a", "a", "a", "x", "x", "y"]
    malign = np.array([0, 0, 1, 1, 0, 0])
    groups = make_groups(domains, malign, ["a"])
    assert [g.name for g in groups] == ["id", "x"]  # y has no unsafe rows
    assert groups[0].neg.tolist() == [0, 1] and groups[0].pos.tolist() == [2]
    assert groups[1].neg.tolist() == [0, 1] and groups[1].pos.tolist() == [3]  # OOD safe excluded


def test_group_metrics_closed_form_and_means() -> None:
    scores, domains, malign = _toy()
    m = group_metrics(scores, make_groups(domains, malign, ["id"]), n_boot=200)
    for name, mu in (("id", 2.0), ("far", 3.0), ("near", 0.0)):
        expected = 1 - norm.cdf(norm.ppf(0.99) - mu)
        assert m[name]["tpr@fpr0.01"]["value"] == pytest.approx(expected, abs=0.05)
        assert m[name]["auroc"]["value"] == pytest.approx(norm.cdf(mu / np.sqrt(2)), abs=0.03)
    rec = {g: m[g]["tpr@fpr0.01"]["value"] for g in ("id", "far", "near")}
    assert m["overall"]["tpr@fpr0.01"]["value"] == pytest.approx(np.mean(list(rec.values())))
    assert m["ood"]["tpr@fpr0.01"]["value"] == pytest.approx((rec["far"] + rec["near"]) / 2)
    for g in ("id", "overall", "ood"):
        e = m[g]["auroc"]
        assert e["low"] <= e["value"] <= e["high"] and e["high"] - e["low"] < 0.1


def test_false_flag_rate() -> None:
    scores = np.r_[np.arange(100.0), [1000.0, -5.0]]
    assert false_flag_rate(scores, np.arange(100), np.array([100, 101])) == 0.5
    assert np.isnan(false_flag_rate(scores, np.arange(100), np.array([], int)))


def test_mood_analysis_matches_group_metrics() -> None:
    scores, domains, malign = _toy(300, 100)
    a = mood_analysis(scores, domains, malign, ["id"], (0.005, 0.01, 0.02))
    m = group_metrics(scores, make_groups(domains, malign, ["id"]), n_boot=0)
    assert set(a["groups"]) == {"id", "far", "near", "overall"}
    assert a["groups"]["far"]["n_safe"] == 300 and a["groups"]["far"]["n_unsafe"] == 100
    assert a["groups"]["id"]["tpr@fpr0.01"] == pytest.approx(m["id"]["tpr@fpr0.01"]["value"])
    assert a["groups"]["overall"]["n_domains"] == 2
    assert a["groups"]["overall"]["auroc"] == pytest.approx(m["overall"]["auroc"]["value"])


def test_untouched_mean_covers_only_the_held_out_groups() -> None:
    scores, domains, malign = _toy()
    groups = make_groups(domains, malign, ["id"])
    m = group_metrics(scores, groups, n_boot=50, untouched=("near", "absent"))
    assert m["untouched"]["auroc"]["value"] == pytest.approx(m["near"]["auroc"]["value"])
    assert "untouched" not in group_metrics(scores, groups, n_boot=0)
    both = group_metrics(scores, groups, n_boot=0, untouched=("near", "far"))
    assert both["untouched"]["tpr@fpr0.01"]["value"] == pytest.approx(
        both["ood"]["tpr@fpr0.01"]["value"]
    )
