from __future__ import annotations

import json
from pathlib import Path

import pytest

from alignlab.cli import main


def test_build_command_writes_benchmark(raw_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "mood-public"
    assert main(["monitor", "build", "--raw-dir", str(raw_dir), "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert (out / "train.jsonl").is_file() and (out / "test.jsonl").is_file()
    assert manifest and "sources" in json.dumps(manifest)
    # a second build refuses to overwrite without --overwrite
    assert main(["monitor", "build", "--raw-dir", str(raw_dir), "--out", str(out)]) == 2


def test_build_missing_raw_dir_is_a_clear_error(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert (
        main(
            ["monitor", "build", "--raw-dir", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]
        )
        == 2
    )
    assert "nope" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_build_overwrite_keeps_a_folder_that_is_not_a_benchmark(
    raw_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    argv = ["monitor", "build", "--raw-dir", str(raw_dir), "--out", str(out)]
    assert main(argv) == 2
    assert "--overwrite" in capsys.readouterr().err  # the CLI flag, not API wording
    assert main([*argv, "--overwrite"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "no benchmark manifest" in err[0]
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize(
    ("flags", "field"),
    [
        (["--max-per-domain", "0"], "max_per_domain"),
        (["--seed", "-1"], "seed"),
        (["--design", "relative"], "design"),
    ],
)
def test_build_bad_flags_exit_2(
    raw_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], field: str
) -> None:
    out = tmp_path / "o"
    assert main(["monitor", "build", "--raw-dir", str(raw_dir), "--out", str(out), *flags]) == 2
    assert f"field '{field}'" in capsys.readouterr().err
    assert not out.exists()


def test_build_hh_preference_is_labelled(raw_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "hh"
    argv = ["monitor", "build", "--raw-dir", str(raw_dir), "--out", str(out)]
    assert main([*argv, "--design", "hh-preference"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["design"] == "hh-preference" and manifest["labels"].startswith("relative")
    assert manifest["id_domains"] == ["hh-rlhf-harmless"] and "untouched_domains" not in manifest
