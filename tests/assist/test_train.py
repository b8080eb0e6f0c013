"""``assist train``: a tiny self-play run end to end, resume, faults, the trained assistant
in ``assist evaluate``."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alignlab.assist._train_cmd import TrainConfig
from alignlab.core import AlignlabError, read_metrics_log


@pytest.fixture(scope="module")
def cfg(tiny_train: dict[str, Any]) -> Any:
    """``TrainConfig`` of the tiny run (32 env steps) with the given fields changed."""

    def make(out: Path, **kw: Any) -> TrainConfig:
        return TrainConfig(**{**tiny_train, "env_steps": 32, "out": str(out), **kw})

    return make


@pytest.fixture(scope="module")
def trained(cfg: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from alignlab.assist._train import run_train

    return run_train(cfg(tmp_path_factory.mktemp("train")))


def test_run_folder_streams_metrics_and_saves_the_model(trained: Path) -> None:
    from alignlab.assist._net import init_params
    from alignlab.assist._train import load_assistant
    from alignlab.core import latest_checkpoint, read_checkpoint_meta

    rows = read_metrics_log(trained / "metrics.jsonl")
    assert [r["step"] for r in rows] == [8, 16, 24, 32]  # 2 envs x 4 steps per iteration
    assert all(np.isfinite(r["loss"]) for r in rows)
    assert json.loads((trained / "run.json").read_text())["status"] == "done"
    assert (trained / "plots" / "learning_curves.png").is_file()
    report = (trained / "report.md").read_text()
    assert "Learning curves" in report and "Simulated human: heuristic (β = 5.0" in report
    model = latest_checkpoint(trained / "model")
    assert model is not None and read_checkpoint_meta(model)["trainer"] == "train"
    setup, params = load_assistant(trained)
    assert setup.env.size == (4, 4, 4) and not setup.net.goal_visible
    import jax

    fresh = init_params(setup.net, setup.env, jax.random.PRNGKey(0))
    moved = [
        not np.allclose(a, b)
        for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(fresh), strict=True)
    ]
    assert any(moved)  # the learner changed the network


def test_resume_continues_without_duplicate_metrics(trained: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    from alignlab.cli import main

    # as a run written before these flags existed: they resume at their defaults
    config = json.loads((run / "config.json").read_text())
    for newer in ("human", "pretrain_steps", "pretrain_epochs"):
        del config[newer]
    (run / "config.json").write_text(json.dumps(config))

    # the run's own flags are kept: only what is given here (more env steps) changes
    assert main(["assist", "train", "--resume", str(run), "--env-steps", "48"]) == 0
    steps = [r["step"] for r in read_metrics_log(run / "metrics.jsonl")]
    assert steps == [8, 16, 24, 32, 40, 48]


def test_resume_refuses_another_config(cfg: Any, trained: Path, tmp_path: Path) -> None:
    from alignlab.assist._train import run_train

    run = tmp_path / "run"
    shutil.copytree(trained, run)
    with pytest.raises(AlignlabError) as err:
        run_train(cfg(tmp_path, width=8, env_steps=48, resume=str(run)))
    assert "width" in str(err.value)


def test_checkpoint_of_another_grid_is_one_clear_error(
    cfg: Any, trained: Path, tmp_path: Path
) -> None:
    """A checkpoint written for another grid, dropped into a run's folder."""
    from alignlab.assist._train import CHECKPOINT_DIR, run_train
    from alignlab.core import latest_checkpoint, load_checkpoint, save_checkpoint

    run = tmp_path / "run"
    shutil.copytree(trained, run)
    last = latest_checkpoint(run / CHECKPOINT_DIR)
    assert last is not None
    ck = load_checkpoint(last)
    meta = dict(ck.meta)
    meta["env"] = {**meta["env"], "size": [5, 5, 5]}
    save_checkpoint(run / CHECKPOINT_DIR, 99, ck.tree, meta)
    with pytest.raises(AlignlabError) as err:
        run_train(cfg(tmp_path, env_steps=48, resume=str(run)))
    assert err.value.field == "meta.env.size"
    assert "step_00000099" in str(err.value)


def test_trained_assistant_plays_in_evaluate(trained: Path, tmp_path: Path) -> None:
    from alignlab.cli import main

    args = ["assist", "evaluate", "--assistants", "noop", f"azero:{trained}", "--goals", "blob"]
    args += ["--size", "4", "4", "4", "--horizon", "12", "--episodes", "2", "--out", str(tmp_path)]
    assert main(args) == 0
    run = next((tmp_path / "assist-evaluate").iterdir())
    rows = [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines()]
    assert {r["assistant"] for r in rows} == {"noop", f"azero:{trained}"}
    # another grid is refused with one error naming the run
    bad = args[:-8] + ["--size", "5", "5", "5", "--horizon", "12", "--episodes", "2"]
    assert main([*bad, "--out", str(tmp_path)]) == 2


@pytest.mark.slow
def test_kill_9_loses_at_most_one_checkpoint_interval(
    tiny_train: dict[str, Any], tmp_path: Path
) -> None:
    """A training process killed with SIGKILL mid-run resumes from its newest checkpoint."""
    tiny = {**tiny_train, "checkpoint_every": 1}
    code = (
        "import sys; from alignlab.assist._train import run_train;"
        "from alignlab.assist._train_cmd import TrainConfig;"
        f"cfg = TrainConfig(**{tiny!r}, env_steps=10**6, "
        f"out={str(tmp_path)!r}); run_train(cfg)"
    )
    env = {**os.environ, "CI": "1"}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    deadline = time.time() + 240
    log = None
    while time.time() < deadline:
        found = list(tmp_path.glob("assist-train/*/metrics.jsonl"))
        if found and len(read_metrics_log(found[0])) >= 4:
            log = found[0]
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert log is not None, "training did not start in time"
    run = log.parent
    before = read_metrics_log(log)
    assert json.loads((run / "run.json").read_text())["status"] == "running"
    from alignlab.assist._train import CHECKPOINT_DIR, run_train
    from alignlab.core import latest_checkpoint, load_checkpoint

    last = latest_checkpoint(run / CHECKPOINT_DIR)
    assert last is not None
    saved_steps = int(load_checkpoint(last).tree["env_steps"])
    per_iter = tiny["envs"] * tiny["fragment"]
    assert saved_steps >= before[-1]["step"] - per_iter  # at most one interval lost
    target = saved_steps + 2 * per_iter
    run_train(TrainConfig(**tiny, env_steps=target, out=str(tmp_path), resume=str(run)))
    steps = [r["step"] for r in read_metrics_log(log)]
    assert steps == sorted(set(steps)) and steps[-1] == target


@pytest.mark.slow
def test_ray_workers_feed_the_learner_and_survive_a_death(cfg: Any, tmp_path: Path) -> None:
    """Self-play on two Ray actors (a local Ray instance); one is killed mid-run and the
    learner goes on with the other."""
    import jax
    import ray

    from alignlab.assist._net import init_params
    from alignlab.assist._train import run_train, setup
    from alignlab.assist._workers import WorkerPool

    config = cfg(tmp_path, workers=2)
    try:
        run = run_train(config)  # 32 env steps: 2 iterations of 2 workers x 2 envs x 4 steps
        assert [r["step"] for r in read_metrics_log(run / "metrics.jsonl")] == [16, 32]
        s = setup(config)
        params = init_params(s.net, s.env, jax.random.PRNGKey(0))
        pool = WorkerPool(2, config)
        items, eps, live = pool.play(params, jax.random.PRNGKey(1))
        assert live == 2 and items.value.shape == (2 * 2 * 4,)
        pool.kill(0)
        with pytest.warns(UserWarning, match="worker died"):
            items, eps, live = pool.play(params, jax.random.PRNGKey(2))
        assert live == 1 and items.value.shape == (2 * 4,)
        pool.kill(0)
        with (
            pytest.raises(AlignlabError, match="every self-play worker died"),
            pytest.warns(UserWarning, match="worker died"),
        ):
            pool.play(params, jax.random.PRNGKey(3))
    finally:
        ray.shutdown()
