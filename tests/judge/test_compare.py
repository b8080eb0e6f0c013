"""``alignlab judge compare``: evaluate runs side by side, each minus the one before it with
paired bootstrap CIs; the scripted judges separate as constructed; a local model evaluates
through the same command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alignlab.cli import main
from alignlab.judge._compare_cmd import CompareConfig, compare_evaluations


def _evaluate(bench: Path, out: Path, model: str, *extra: str) -> Path:
    argv = ["judge", "evaluate", "--pairs", str(bench), "--model", model, "--out", str(out),
            "--n-boot", "100", *extra]  # fmt: skip
    assert main(argv) == 0
    return max((out / "judge-evaluate").iterdir())


@pytest.fixture(scope="module")
def runs(train_bench: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("cmp")
    return {b: _evaluate(train_bench, out / b, f"scripted:{b}", "--prompt", "chain")
            for b in ("position-biased", "grounded")}  # fmt: skip


def test_grounded_minus_position_biased_as_constructed(runs: dict[str, Path]) -> None:
    cfg = CompareConfig(runs=(str(runs["position-biased"]), str(runs["grounded"])),
                        names=("biased", "grounded"), n_boot=200)  # fmt: skip
    res = compare_evaluations(cfg)
    biased, grounded = res["columns"]
    assert biased["position_bias"]["value"] == pytest.approx(0.5)  # always the first shown
    assert biased["consistency"]["value"] == 0.0 and biased["accuracy"]["value"] == 0.5
    assert grounded["position_bias"]["value"] == pytest.approx(0.0, abs=0.2)  # gold balance
    assert grounded["accuracy"]["value"] == 1.0 and grounded["consistency"]["value"] == 1.0
    (diff,) = res["differences"]
    assert (diff["name"], diff["vs"], diff["pairs"]) == ("grounded", "biased", 8)
    assert diff["accuracy"]["value"] == pytest.approx(0.5)
    assert diff["consistency"]["value"] == 1.0
    assert diff["consistency"]["low"] == diff["consistency"]["high"] == 1.0  # no spread
    assert diff["position_bias"]["high"] < 0


def test_compare_command_writes_markdown_and_json(
    runs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "summary.md"
    argv = ["judge", "compare", "--runs", str(runs["position-biased"]), str(runs["grounded"]),
            "--n-boot", "100", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert printed == out.read_text()
    assert f"{runs['grounded'].name} − {runs['position-biased'].name}" in printed
    assert json.loads(out.with_suffix(".json").read_text())["columns"][1]["pairs"] == 8


def test_compare_refuses_folders_that_are_not_evaluate_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["judge", "compare", "--runs", str(tmp_path)]) == 2
    assert "records.jsonl" in capsys.readouterr().err
    assert main(["judge", "compare"]) == 2


def test_a_local_model_judges_through_evaluate(train_bench: Path, tmp_path: Path) -> None:
    run = _evaluate(train_bench, tmp_path, "tiny-vlm", "--prompt", "baseline", "--no-system",
                    "--max-tokens", "4", "--limit", "2")  # fmt: skip
    rows = [json.loads(x) for x in (run / "records.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and all(r["error"] is None for r in rows)
    assert all(r["usage"]["completion_tokens"] <= 4 for r in rows)
