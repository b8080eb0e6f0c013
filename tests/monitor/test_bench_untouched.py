"""Held-out ('untouched') groups, pooling suffixes and the terminal digest of a bench run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alignlab.core import AlignlabError
from alignlab.monitor import BenchConfig, run_bench
from alignlab.monitor._bench import ExtractionPlan
from alignlab.monitor._bench_report import headline_lines


def _cfg(tmp_path: Path, **kw: object) -> BenchConfig:
    base = dict(
        data="demo",
        models=("tiny-lm",),
        ppl_model="tiny-lm",
        text_guards=(),
        n_boot=20,
        out=str(tmp_path / "runs"),
    )
    base.update(kw)
    return BenchConfig(**base)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_bench(_cfg(tmp_path_factory.mktemp("u")))


def test_manifest_untouched_groups_are_reported_apart(demo_run: Path) -> None:
    metrics = json.loads((demo_run / "metrics.json").read_text())
    assert metrics["untouched_domains"] == ["tool-misuse", "sycophancy"]
    assert metrics["labels"].startswith("absolute")
    g = metrics["monitors"]["tiny-lm/guard"]["groups"]
    mean = (g["tool-misuse"]["auroc"]["value"] + g["sycophancy"]["auroc"]["value"]) / 2
    assert g["untouched"]["auroc"]["value"] == pytest.approx(mean)
    report = (demo_run / "report.md").read_text()
    assert "tool-misuse (untouched)" in report and "untouched safe rows flagged" in report
    # untouched columns come after every other group
    header = next(line for line in report.splitlines() if "tool-misuse (untouched)" in line)
    assert header.index("code-vuln") < header.index("tool-misuse (untouched)")


def test_headline_digest_lists_guard_based_monitors(demo_run: Path) -> None:
    metrics = json.loads((demo_run / "metrics.json").read_text())
    lines = headline_lines(metrics)
    assert "id AUROC" in lines[0] and "untouched" in lines[0]
    monitors = [line.split()[1] for line in lines[1:]]
    assert monitors == [
        "guard",
        "guard+mahalanobis",
        "guard+perplexity",
        "guard+mahalanobis+perplexity",
    ]
    auroc = metrics["monitors"]["tiny-lm/guard"]["groups"]["id"]["auroc"]["value"]
    assert lines[1].split()[2] == f"{100 * auroc:.1f}"


def test_untouched_flag_overrides_and_is_checked(tmp_path: Path) -> None:
    run = run_bench(_cfg(tmp_path, untouched=("code-vuln",), detectors=("mahalanobis",)))
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["untouched_domains"] == ["code-vuln"]
    with pytest.raises(AlignlabError, match="not an OOD test domain") as info:
        run_bench(_cfg(tmp_path, untouched=("chat",)))
    assert info.value.field == "untouched"


def test_pooling_suffix() -> None:
    plan = ExtractionPlan(("smollm2@mean",), "smollm2", 64)
    assert plan.spec("smollm2@mean").pooling == "mean"
    assert plan.spec("smollm2").pooling == "mean"  # measured better than last on this data
    assert plan.spec("hf:org/model@cls").model == "hf:org/model"
    with pytest.raises(AlignlabError, match="unknown pooling 'max'") as info:
        plan.spec("minilm@max")
    assert info.value.field == "models"


def test_two_poolings_of_one_model_are_two_rows(tmp_path: Path) -> None:
    run = run_bench(_cfg(tmp_path, models=("tiny-lm@last", "tiny-lm@mean"), detectors=()))
    m = json.loads((run / "metrics.json").read_text())["monitors"]
    last, mean = m["tiny-lm@last/guard"], m["tiny-lm@mean/guard"]
    assert last["n_params"] == mean["n_params"]
    assert last["groups"]["id"]["auroc"] != mean["groups"]["id"]["auroc"]


def test_cli_bench_prints_the_digest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from alignlab.cli import main

    argv = ["monitor", "bench", "--models", "tiny-lm", "--ppl-model", "tiny-lm"]
    argv += ["--text-guards", "--n-boot", "10", "--out", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert "id AUROC" in out[0] and "untouched" in out[0]
    assert out[1].split()[:2] == ["tiny-lm", "guard"]
    assert out[-1].startswith("report: ") and out[-1].endswith("report.html")
