"""``alignlab judge evaluate``: the metrics by hand, scripted judges on a synthetic bench, the
predictions file, an OpenAI-compatible stub with faults, and resuming."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alignlab.cli import main
from alignlab.judge import load_pairs, write_bench
from alignlab.judge._judge_metrics import Verdict, judge_metrics, pair_rows, predictions

FAST = ["--n-boot", "100"]


def _run_dir(out: Path) -> Path:
    (run,) = sorted((out / "judge-evaluate").iterdir())
    return run


def _metrics(run: Path) -> dict[str, Any]:
    return json.loads((run / "metrics.json").read_text())


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_bench(tmp_path_factory.mktemp("b") / "bench", n=8, image_size=32)


def _evaluate(bench: Path, out: Path, model: str, *extra: str) -> Path:
    argv = ["judge", "evaluate", "--pairs", str(bench), "--model", model, "--out", str(out)]
    assert main([*argv, *FAST, *extra]) == 0
    return _run_dir(out)


# ------------------------------------------------------------------ the metrics by hand


def V(pid: str, order: str, gold: str, verdict: str | None, **kw: Any) -> Verdict:  # noqa: N802
    return Verdict(pid, kw.pop("task", "t"), order, kw.pop("prompt", "chain"), gold, verdict, **kw)


def test_metrics_by_hand_unreadable_and_failed_are_wrong() -> None:
    vs = [
        # p1 (gold A as stored): right both ways -> consistent
        V("p1", "forward", "A", "A"), V("p1", "reverse", "B", "B"),
        # p2 (gold B): says A both times -> half right, inconsistent
        V("p2", "forward", "B", "A"), V("p2", "reverse", "A", "A"),
        # p3 (gold A): right forward, unreadable reverse
        V("p3", "forward", "A", "A"), V("p3", "reverse", "B", None),
        # p4 (gold B): the request failed forward, right reverse
        V("p4", "forward", "B", None, error="500"), V("p4", "reverse", "A", "A"),
    ]  # fmt: skip
    m = judge_metrics(vs, n_boot=100)["chain"]["overall"]
    assert m["pairs"] == 4
    assert m["accuracy"]["value"] == pytest.approx(5 / 8)  # correct / 2N
    assert m["pair_accuracy"]["value"] == pytest.approx(1 / 4)
    assert m["consistency"]["value"] == pytest.approx(1 / 4)
    # readable forward verdicts: p1 A, p2 A, p3 A -> 1; reverse: p1 B, p2 A, p4 A -> 2/3
    assert m["first_forward"]["value"] == pytest.approx(1.0)
    assert m["first_reverse"]["value"] == pytest.approx(2 / 3)
    assert m["parse_failure"]["value"] == pytest.approx(2 / 8)
    assert m["request_failure"]["value"] == pytest.approx(1 / 8)
    assert m["accuracy"]["low"] <= m["accuracy"]["value"] <= m["accuracy"]["high"]


def test_metrics_split_by_task_and_prompt_and_missing_order_is_wrong() -> None:
    vs = [
        V("a", "forward", "A", "A", task="x"), V("a", "reverse", "B", "B", task="x"),
        V("b", "forward", "A", "A", task="y"),  # reverse never judged
        V("a", "forward", "A", "B", prompt="baseline", task="x"),
        V("a", "reverse", "B", "A", prompt="baseline", task="x"),
    ]  # fmt: skip
    m = judge_metrics(vs, n_boot=100)
    assert list(m) == ["chain", "baseline"]
    assert m["chain"]["tasks"]["x"]["accuracy"]["value"] == 1.0
    assert m["chain"]["tasks"]["y"]["accuracy"]["value"] == 0.5
    assert m["chain"]["tasks"]["y"]["consistency"]["value"] == 0.0
    assert m["chain"]["tasks"]["y"]["first_reverse"] is None  # no readable reverse verdict
    base = m["baseline"]["overall"]
    assert base["accuracy"]["value"] == 0.0 and base["consistency"]["value"] == 1.0
    with pytest.raises(ValueError, match="two forward"):
        pair_rows([V("a", "forward", "A", "A"), V("a", "forward", "A", "B")])


def test_predictions_file_format() -> None:
    vs = [V("p1", "forward", "A", "A"), V("p1", "reverse", "B", None, error="timeout")]
    out = predictions(vs, {("p1", "forward"): "<verdict>A</verdict>"})
    assert out == {
        "p1": {
            "forward": [{"judgement": "A", "output": "<verdict>A</verdict>"}],
            "reverse": [{"judgement": None, "output": "", "error": "timeout"}],
        }
    }


# ------------------------------------------------------------------ scripted judges on a bench


def test_position_biased_judge(bench: Path, tmp_path: Path) -> None:
    run = _evaluate(bench, tmp_path, "scripted:position-biased")
    for prompt in ("chain", "baseline"):
        m = _metrics(run)["prompts"][prompt]["overall"]
        assert m["pairs"] == 8
        assert m["accuracy"]["value"] == 0.5
        assert m["pair_accuracy"]["value"] == 0.0
        assert m["consistency"]["value"] == 0.0
        assert m["first_forward"]["value"] == 1.0 and m["first_reverse"]["value"] == 1.0
        assert m["parse_failure"]["value"] == 0.0


def test_grounded_judge_and_the_files(bench: Path, tmp_path: Path) -> None:
    run = _evaluate(bench, tmp_path, "scripted:grounded", "--prompt", "chain")
    pairs = load_pairs(bench)
    share_a = sum(p.gold == "A" for p in pairs) / len(pairs)
    metrics = _metrics(run)
    assert list(metrics["prompts"]) == ["chain"]
    m = metrics["prompts"]["chain"]["overall"]
    assert (m["accuracy"]["value"], m["pair_accuracy"]["value"]) == (1.0, 1.0)
    assert m["consistency"]["value"] == 1.0
    assert m["first_forward"]["value"] == pytest.approx(share_a)
    assert m["first_reverse"]["value"] == pytest.approx(1 - share_a)  # swapped golds
    assert set(metrics["prompts"]["chain"]["tasks"]) == {"t2i", "edit", "interleaved", "reasoning"}
    rows = [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines()]
    assert len(rows) == 16 and all(r["format_errors"] == [] for r in rows)  # gold chains parse
    assert all(r["structure"] == 1.0 and r["grounding"] == 1.0 for r in rows)
    preds = json.loads((run / "predictions-chain.json").read_text())
    assert set(preds) == {p.id for p in pairs}
    for p in pairs:
        entry = preds[p.id]
        assert set(entry) == {"forward", "reverse"}
        assert entry["forward"][0]["judgement"] == p.gold
        assert entry["reverse"][0]["judgement"] == ("B" if p.gold == "A" else "A")
        assert "<verdict>" in entry["forward"][0]["output"]
    assert not (run / "predictions-baseline.json").exists()
    report = (run / "report.md").read_text()
    assert "accuracy (MMRB2: correct / 2N)" in report and "Failed requests" in report
    assert (run / "plots" / "scores.png").stat().st_size > 0


def test_random_judge_is_deterministic(bench: Path, tmp_path: Path) -> None:
    a = _evaluate(bench, tmp_path / "1", "scripted:random", "--prompt", "baseline")
    b = _evaluate(bench, tmp_path / "2", "scripted:random", "--prompt", "baseline")
    assert _metrics(a)["prompts"] == _metrics(b)["prompts"]
    verdicts = {json.loads(x)["verdict"] for x in (a / "records.jsonl").read_text().splitlines()}
    assert verdicts == {"A", "B"}


# ------------------------------------------------------------------ bad input


def test_bad_flags_and_pairs_without_gold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "pairs.jsonl"
    bad.write_text(json.dumps({"id": "a", "prompt": "p", "response_a": "x", "response_b": "y"}))
    base = ["judge", "evaluate", "--out", str(tmp_path / "runs")]
    assert main([*base, "--pairs", str(bad), "--model", "scripted:grounded"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:1" in err and "gold" in err
    assert main([*base, "--pairs", str(bad), "--model", "gpt-4"]) == 2
    assert "--model" in capsys.readouterr().err
    assert main([*base, "--pairs", str(bad), "--prompt", "chain", "chain"]) == 2
    assert "twice" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


_SIDE = st.sampled_from(["A", "B"])
_VERDICT = st.sampled_from(["A", "B", None])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_SIDE, _VERDICT, _VERDICT), min_size=1, max_size=12))
def test_metrics_match_a_plain_count(cases: list[tuple[str, str | None, str | None]]) -> None:
    """Against the definitions counted directly: gold as stored, then the verdicts as given
    forward and reverse (None: unreadable)."""
    flip = {"A": "B", "B": "A"}
    vs = []
    for i, (gold, fwd, rev) in enumerate(cases):
        vs += [V(f"p{i}", "forward", gold, fwd), V(f"p{i}", "reverse", flip[gold], rev)]
    m = judge_metrics(vs, n_boot=100)["chain"]["overall"]
    n = len(cases)
    right = [(f == g, r == flip[g]) for g, f, r in cases]
    assert m["accuracy"]["value"] == pytest.approx(sum(a + b for a, b in right) / (2 * n))
    assert m["pair_accuracy"]["value"] == pytest.approx(sum(a and b for a, b in right) / n)
    same = sum(f is not None and r is not None and f == flip[r] for _, f, r in cases)
    assert m["consistency"]["value"] == pytest.approx(same / n)
    unread = sum((f is None) + (r is None) for _, f, r in cases)
    assert m["parse_failure"]["value"] == pytest.approx(unread / (2 * n))
    read_f = [f for _, f, _ in cases if f is not None]
    if read_f:
        assert m["first_forward"]["value"] == pytest.approx(read_f.count("A") / len(read_f))
    else:
        assert m["first_forward"] is None
    assert m["pair_accuracy"]["value"] <= min(m["accuracy"]["value"], m["consistency"]["value"])
