"""Resumable runs: status in run.json, salvaged folders, resume checks, metrics.jsonl,
provenance."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from alignlab.core import (
    AlignlabError,
    Run,
    collect_provenance,
    read_metrics_log,
    resumed_config,
)

CFG = {"steps": 4, "lr": 0.1, "net": {"width": 8}, "resume": None}


def _meta(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "run.json").read_text())


def _crashed_run(tmp_path: Path) -> Path:
    run = Run("assist", "train", CFG, root=tmp_path, resumable=True)
    with pytest.raises(RuntimeError, match="NaN loss"), run:
        assert run.dir.is_dir() and not run.dir.name.startswith(".")
        assert _meta(run.dir)["status"] == "running"
        for step in range(1, 6):
            run.log_metrics(step, {"loss": 1.0 / step})
        raise RuntimeError("NaN loss")
    return run.dir


def test_crash_keeps_the_folder_and_resume_finishes_it(tmp_path: Path) -> None:
    run_dir = _crashed_run(tmp_path)
    assert run_dir == tmp_path / "assist-train" / run_dir.name
    meta = _meta(run_dir)
    assert meta["status"] == "failed" and meta["error"] == "RuntimeError: NaN loss"
    assert meta["resumable"] is True and meta["system"] == "assist"
    assert [r["step"] for r in read_metrics_log(run_dir)] == [1, 2, 3, 4, 5]
    assert not (run_dir / "report.md").exists()

    run = Run.resume(
        run_dir, {**CFG, "steps": 8, "resume": str(run_dir)}, allowed=("steps", "resume")
    )
    with run:
        assert run.status == "running" and run.dir == run_dir
        assert run.truncate_metrics(3) == 2  # the checkpoint was at step 3
        for step in range(4, 9):
            run.log_metrics(step, {"loss": 1.0 / step})
        run.report.text("resumed")
    meta = _meta(run_dir)
    assert meta["status"] == "done" and meta["error"] is None and meta["resumes"] == 1
    assert [r["step"] for r in read_metrics_log(run_dir)] == list(range(1, 9))
    assert json.loads((run_dir / "config.json").read_text())["steps"] == 8
    assert "resumed" in (run_dir / "report.md").read_text()
    prov = json.loads((run_dir / "provenance.json").read_text())
    assert len(prov["history"]) == 1 and "history" not in prov["history"][0]
    with pytest.raises(AlignlabError, match="already finished") as err:
        Run.resume(run_dir, CFG)
    assert err.value.field == "status"
    with Run.resume(run_dir, CFG, allowed=("steps", "resume"), extend=True) as run:
        assert run.status == "running"
        run.log_metrics(9, {"loss": 0.1})
    meta = _meta(run_dir)
    assert meta["status"] == "done" and meta["resumes"] == 2


def test_interrupt_is_recorded(tmp_path: Path) -> None:
    run = Run("judge", "train", CFG, root=tmp_path, resumable=True)
    with pytest.raises(KeyboardInterrupt), run:
        raise KeyboardInterrupt
    assert _meta(run.dir)["status"] == "interrupted" and run.dir.is_dir()


def test_config_mismatch_names_file_and_field(tmp_path: Path) -> None:
    run_dir = _crashed_run(tmp_path)
    with pytest.raises(AlignlabError, match=r"0\.1.*0\.2.*only steps may change") as err:
        Run.resume(run_dir, {**CFG, "lr": 0.2}, allowed=("steps",))
    assert err.value.field == "lr" and err.value.file == str(run_dir / "config.json")
    with pytest.raises(AlignlabError) as err:
        Run.resume(run_dir, {**CFG, "net": {"width": 16}}, allowed=("steps",))
    assert err.value.field == "net.width"
    with pytest.raises(AlignlabError, match="absent") as err:
        Run.resume(run_dir, {**CFG, "seed": 1})
    assert err.value.field == "seed"
    assert Run.resume(run_dir, {**CFG, "net": {"width": 16}}, allowed=("net.width",))
    assert _meta(run_dir)["status"] == "failed"  # checking changed nothing


@dataclasses.dataclass(frozen=True)
class _Config:
    """A command's config after two fields were added (``human``, ``tags``)."""

    steps: int = 4
    lr: float = 0.1
    human: str = "heuristic"
    tags: tuple[str, ...] = dataclasses.field(default_factory=tuple)
    resume: str = ""


def _run_before_new_fields(tmp_path: Path) -> Path:
    """A crashed run whose ``config.json`` predates ``_Config.human`` and ``_Config.tags``."""
    run = Run("assist", "train", {"steps": 4, "lr": 0.1, "resume": ""}, tmp_path, resumable=True)
    with pytest.raises(RuntimeError), run:
        raise RuntimeError("killed")
    return run.dir


def test_a_field_newer_than_the_run_resumes_at_its_default(tmp_path: Path) -> None:
    run_dir = _run_before_new_fields(tmp_path)
    cfg = resumed_config(_Config(steps=8, resume=str(run_dir)), run_dir)
    assert cfg == _Config(steps=8, resume=str(run_dir))  # the new fields keep their defaults
    with Run.resume(run_dir, cfg, allowed=("steps", "resume")) as run:
        run.log_metrics(1, {"loss": 0.5})
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["human"] == "heuristic" and saved["tags"] == [] and saved["steps"] == 8
    assert _meta(run_dir)["status"] == "done"


def test_a_field_newer_than_the_run_may_not_change_on_resume(tmp_path: Path) -> None:
    run_dir = _run_before_new_fields(tmp_path)
    for changed, field, default in (
        (_Config(human="bc:h.npz"), "human", "'heuristic'"),
        (_Config(tags=("a",)), "tags", "[]"),
    ):
        cfg = resumed_config(dataclasses.replace(changed, resume=str(run_dir)), run_dir)
        with pytest.raises(AlignlabError, match="predates that field") as err:
            Run.resume(run_dir, cfg, allowed=("resume",))
        assert err.value.field == field and err.value.file == str(run_dir / "config.json")
        assert f"the default {default}" in str(err.value)
    assert _meta(run_dir)["status"] == "failed"  # checking changed nothing


def test_resume_refuses_what_it_cannot_resume(tmp_path: Path) -> None:
    with pytest.raises(AlignlabError, match="run folder not found"):
        Run.resume(tmp_path / "nope", CFG)
    with Run("monitor", "bench", CFG, root=tmp_path) as short:
        pass
    with pytest.raises(AlignlabError, match="not a resumable run") as err:
        Run.resume(short.final_dir, CFG)
    assert err.value.field == "resumable"
    (tmp_path / "empty").mkdir()
    with pytest.raises(AlignlabError, match="file not found"):
        Run.resume(tmp_path / "empty", CFG)


def test_a_run_open_elsewhere_cannot_be_resumed(tmp_path: Path) -> None:
    run = Run("assist", "train", CFG, root=tmp_path, resumable=True)
    with run:
        with pytest.raises(AlignlabError, match="another process"), Run.resume(run.dir, CFG):
            pass
        run.log_metrics(1, {"loss": 0.5})
    assert _meta(run.dir)["status"] == "done"


def test_torn_metrics_line_is_ignored_and_repaired(tmp_path: Path) -> None:
    run_dir = _crashed_run(tmp_path)
    log = run_dir / "metrics.jsonl"
    with log.open("a") as fh:
        fh.write('{"step": 6, "lo')  # what kill -9 in the middle of a write leaves
    assert [r["step"] for r in read_metrics_log(log)] == [1, 2, 3, 4, 5]
    with Run.resume(run_dir, CFG) as run:
        run.log_metrics(6, {"loss": 0.1})
    assert [r["step"] for r in read_metrics_log(log)] == [1, 2, 3, 4, 5, 6]
    assert log.read_text().endswith("\n")
    log.write_text('{"step": 1}\n{"step": 2, \n{"step": 3}\n')
    with pytest.raises(AlignlabError, match="invalid JSON") as err:
        read_metrics_log(log)
    assert err.value.line == 2
    log.write_text('{"loss": 1}\n')
    with pytest.raises(AlignlabError, match="integer step"):
        read_metrics_log(log)


def test_metrics_rows_are_strict_json(tmp_path: Path) -> None:
    import numpy as np

    with Run("monitor", "bench", {}, root=tmp_path) as run:
        run.log_metrics(1, {"loss": float("nan"), "acc": np.float32(0.5), "charts/x": [1, 2]})
        with pytest.raises(AlignlabError) as err:
            run.log_metrics(2, {"step": 3})
        assert err.value.field == "step"
    (row,) = read_metrics_log(run.final_dir)
    assert row["step"] == 1 and row["loss"] is None and row["acc"] == 0.5
    assert isinstance(row["time"], float) and row["charts/x"] == [1, 2]
    assert run.truncate_metrics(None) == 1 and read_metrics_log(run.final_dir) == []


def test_provenance_in_both_modes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Run("monitor", "bench", {}, root=tmp_path) as run:
        pass
    prov = json.loads((run.final_dir / "provenance.json").read_text())
    assert set(prov) == {"start_utc", "argv", "python", "platform", "packages", "git"}
    assert prov["packages"]["numpy"] and "alignlab" in prov["packages"]
    assert "torch_nonexistent" not in prov["packages"]
    assert isinstance(prov["argv"], list) and re.match(r"\d+\.\d+\.\d+", prov["python"])
    if prov["git"] is not None:  # a source checkout; an installed copy has no commit to show
        assert re.fullmatch(r"[0-9a-f]{40}", prov["git"]["commit"])
        assert isinstance(prov["git"]["dirty"], bool)
    monkeypatch.setenv("PATH", str(tmp_path / "no-git-here"))
    assert collect_provenance()["git"] is None  # no git: skipped, no failure
    run2 = Run("assist", "train", {}, root=tmp_path, resumable=True)
    with run2:
        pass
    assert (run2.dir / "provenance.json").is_file()
