"""Bad flags and inputs to ``alignlab assist ...`` end in one error line naming the field, exit
code 2 and nothing written; the checks fire before any episode is played or step trained."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alignlab.assist._bc_cmd import TrainHumanConfig, run_train_human
from alignlab.assist._layout import EnvConfig
from alignlab.assist._rollout_cmd import RolloutConfig
from alignlab.assist._view_cmd import ViewConfig, run_view
from alignlab.assist._viewer import MAX_GRID_SIDE, MAX_GRID_VOXELS, validate_episode
from alignlab.cli import main
from alignlab.core import AlignlabError

FORMAT = "alignlab.assist.episode/1"


def _fails(
    argv: list[str], field: str, words: str, capsys: pytest.CaptureFixture[str], out: Path
) -> None:
    """``alignlab ARGV --out OUT`` exits 2 with one stderr line naming ``field``; OUT stays
    unwritten."""
    assert main([*argv, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("alignlab: error: ") and f"field '{field}'" in lines[0]
    assert words in lines[0]
    assert captured.out == ""
    assert not out.exists()


# ---------------------------------------------------------------- assist rollout

ROLLOUT_CASES = [
    (["--episodes", "0"], "episodes", "--episodes must be >= 1"),
    (["--episodes", "-1"], "episodes", "--episodes must be >= 1"),
    (["--horizon", "0"], "horizon", "--horizon must be >= 1"),
    (["--seed", "-1"], "seed", "--seed must be in 0..2**63-1"),
    (["--seed", str(2**63)], "seed", "--seed must be in 0..2**63-1"),
    (["--mistake-rate", "2"], "mistake_rate", "must be in [0, 1], not 2.0"),
    (["--mistake-rate", "-0.1"], "mistake_rate", "must be in [0, 1]"),
    (["--mistake-rate", "nan"], "mistake_rate", "must be in [0, 1]"),
    (["--beta", "-1"], "beta", "--beta must be a finite number >= 0"),
    (["--beta", "inf"], "beta", "--beta must be a finite number >= 0"),
    (["--inventory", "3", "3"], "inventory", "add --finite-inventory"),
    (["--finite-inventory", "--inventory", "3"], "inventory", "two counts in 0..64"),
    (["--finite-inventory", "--inventory", "3", "-1"], "inventory", "two counts in 0..64"),
    (["--finite-inventory", "--inventory", "3", "65"], "inventory", "two counts in 0..64"),
    (["--size", "6", "-6", "6"], "size", "--size 6 -6 6 is too small"),
    (["--size", "6", "6"], "size", "three integers X Y Z"),
    (["--goals", "blob", "--size", "3", "3", "3"], "size", "need >= 3 4 3"),
    (["--size", "4", "6", "5"], "size", "too small for --goals house: need >= 5 6 5"),
    (["--size", "100000", "100000", "100000"], "size", "limit of 64 per dimension"),
    (["--goals", "blob", "--size", "64", "64", "64"], "size", "262,144 voxels"),
    (["--goals", "castle"], "goals", "unknown goals 'castle'"),
    (["--human", "oracle"], "human", "unknown human 'oracle'"),
]


@pytest.mark.parametrize(("argv", "field", "words"), ROLLOUT_CASES)
def test_rollout_rejects_bad_flags(
    argv: list[str], field: str, words: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _fails(["assist", "rollout", *argv], field, words, capsys, tmp_path / "runs")


def test_rollout_config_keeps_boundary_values() -> None:
    most = EnvConfig.inventory_max
    cfg = RolloutConfig(
        episodes=1, horizon=1, beta=0.0, mistake_rate=1.0, seed=2**63 - 1,
        finite_inventory=True, inventory=(0, most), goals="blob", size=(3, 4, 3),
    )  # fmt: skip
    assert cfg.inventory == (0, most) and cfg.mistake_rate == 1.0
    big = RolloutConfig(goals="blob", size=(MAX_GRID_SIDE, 32, MAX_GRID_SIDE))
    assert np.prod(big.size) == MAX_GRID_VOXELS
    with pytest.raises(AlignlabError) as err:
        RolloutConfig(goals="blob", size=(MAX_GRID_SIDE + 1, 4, 3))
    assert err.value.field == "size"


# ---------------------------------------------------------------- assist train-human

TRAIN_CASES = [
    (["--val-fraction", "0"], "val_fraction", "--val-fraction must be in (0, 1), not 0.0"),
    (["--val-fraction", "1"], "val_fraction", "--val-fraction must be in (0, 1)"),
    (["--val-fraction", "nan"], "val_fraction", "--val-fraction must be in (0, 1)"),
    (["--lr", "0"], "lr", "--lr must be a finite number > 0"),
    (["--lr", "-0.001"], "lr", "--lr must be a finite number > 0"),
    (["--lr", "nan"], "lr", "--lr must be a finite number > 0"),
    (["--epochs", "0"], "epochs", "--epochs must be >= 1"),
    (["--batch-size", "-4"], "batch_size", "--batch-size must be >= 1"),
    (["--episodes", "0"], "episodes", "--episodes must be >= 1"),
    (["--horizon", "-1"], "horizon", "--horizon must be >= 1"),
    (["--seed", "-1"], "seed", "--seed must be in 0..2**63-1"),
    (["--goals", "castle"], "goals", "unknown goals 'castle'; use house or blob"),
    (["--size", "6", "6", "100"], "size", "limit of 64 per dimension"),
    (["--data", "t.npz", "--episodes", "3"], "episodes", "only read when recording"),
    (["--data", "t.npz", "--goals", "blob"], "goals", "only read when recording"),
]


@pytest.mark.parametrize(("argv", "field", "words"), TRAIN_CASES)
def test_train_human_rejects_bad_flags(
    argv: list[str], field: str, words: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _fails(["assist", "train-human", *argv], field, words, capsys, tmp_path / "runs")


def _tiny_trajectories(path: Path, n: int) -> Path:
    size = (3, 4, 3)
    n_act = EnvConfig(size=size).n_actions
    masks = np.zeros((n, n_act), bool)
    masks[:, 0] = True
    np.savez(
        path,
        obs=np.zeros((n, 6, *size), np.float32),
        actions=np.zeros(n, np.int32),
        masks=masks,
    )
    return path


@pytest.mark.parametrize(("fraction", "held_out"), [(0.05, 0), (0.95, 5)])
def test_train_human_refuses_a_split_with_an_empty_side(
    fraction: float, held_out: int, tmp_path: Path
) -> None:
    traj = _tiny_trajectories(tmp_path / "t.npz", 5)
    out = tmp_path / "runs"
    cfg = TrainHumanConfig(data=str(traj), size=(3, 4, 3), val_fraction=fraction, out=str(out))
    with pytest.raises(AlignlabError) as err:
        run_train_human(cfg)
    assert err.value.field == "val_fraction" and err.value.file == str(traj)
    assert f"of 5 steps holds out {held_out}" in err.value.message
    assert not out.exists()


# ---------------------------------------------------------------- assist view


def _episode(size: list[int]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "size": size,
        "goal": [[1, 2, 1, 3]],
        "steps": [{"actions": [0, 0], "positions": [[0, 1, 0], [2, 1, 2]], "reward": 0.0,
                   "changes": [[1, 2, 1, 3]]}],
    }  # fmt: skip


def _write(path: Path, episode: dict[str, Any]) -> Path:
    path.write_text(json.dumps(episode), encoding="utf-8")
    return path


def test_view_out_folder_gets_the_page_named_after_the_episode(tmp_path: Path) -> None:
    src = _write(tmp_path / "ep0.json", _episode([3, 4, 3]))
    folder = tmp_path / "pages"
    folder.mkdir()
    page = run_view(ViewConfig(episode=str(src), out=str(folder)))
    assert page == folder / "ep0.html" and "ep0.json" in page.read_text(encoding="utf-8")
    # a path ending in / is a folder too, made when missing
    fresh = run_view(ViewConfig(episode=str(src), out=f"{tmp_path / 'new'}/"))
    assert fresh == tmp_path / "new" / "ep0.html" and fresh.is_file()


def test_view_out_refuses_a_folder_in_the_page_path_and_a_file_above_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _write(tmp_path / "ep0.json", _episode([3, 4, 3]))
    (tmp_path / "pages" / "ep0.html").mkdir(parents=True)
    argv = ["assist", "view", "--episode", str(src)]
    assert main([*argv, "--out", str(tmp_path / "pages")]) == 2
    err = capsys.readouterr().err
    assert "field 'out'" in err and "the page path is a folder" in err
    assert main([*argv, "--out", str(src / "x.html")]) == 2
    err = capsys.readouterr().err
    assert "field 'out'" in err and f"under the file {src}" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ep0.json", "pages"]


@pytest.mark.parametrize(
    ("size", "words"),
    [
        ([100000, 100000, 100000], "over the replay viewer's limit of 64 per dimension"),
        ([64, 64, 64], "262,144 voxels, over the replay viewer's limit of 131,072"),
    ],
)
def test_view_refuses_a_grid_the_page_cannot_hold(
    size: list[int], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _write(tmp_path / "big.json", _episode(size))
    assert main(["assist", "view", "--episode", str(src)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "field 'size'" in lines[0] and words in lines[0]
    assert str(src) in lines[0]
    assert not (tmp_path / "big.html").exists()


def test_view_accepts_the_largest_grid() -> None:
    validate_episode(_episode([64, 32, 64]))  # MAX_GRID_VOXELS exactly: no error
    with pytest.raises(AlignlabError) as err:
        validate_episode(_episode([65, 4, 3]))
    assert err.value.field == "size"
