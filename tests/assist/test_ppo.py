"""``assist train-ppo``: GAE, the goal mask, a tiny PPO run end to end, resume, the trained
assistant in ``assist evaluate``, bad flags."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from alignlab.assist._ppo_cmd import PPOConfig
from alignlab.cli import main
from alignlab.core import AlignlabError, read_metrics_log


@pytest.fixture(scope="module")
def trained(tiny_ppo: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    from alignlab.assist._ppo_cmd import run_ppo

    out = tmp_path_factory.mktemp("ppo")
    return run_ppo(PPOConfig(**tiny_ppo, env_steps=32, out=str(out)))


def test_gae_matches_a_hand_computed_example() -> None:
    from alignlab.assist._ppo import gae

    rewards = jnp.array([[1.0], [2.0], [3.0]])
    values = jnp.array([[0.5], [1.0], [1.5]])
    dones = jnp.array([[False], [True], [False]])
    adv, ret = gae(rewards, values, dones, jnp.array([2.0]), gamma=0.5, lam=0.5)
    # t=2: 3 + 0.5·2 − 1.5 = 2.5; t=1 ends its episode: 2 − 1 = 1; t=0: (1 + 0.5·1 − 0.5)
    # + 0.5·0.5·1 = 1.25
    np.testing.assert_allclose(np.asarray(adv)[:, 0], [1.25, 1.0, 2.5])
    np.testing.assert_allclose(np.asarray(ret)[:, 0], [1.75, 2.0, 4.0])


def test_gae_with_lambda_one_gives_the_discounted_returns() -> None:
    from alignlab.assist._ppo import gae
    from alignlab.assist._selfplay import value_targets

    k = jax.random.split(jax.random.PRNGKey(0), 4)
    rewards = jax.random.normal(k[0], (7, 3))
    values = jax.random.normal(k[1], (7, 3))
    dones = jax.random.bernoulli(k[2], 0.3, (7, 3))
    last = jax.random.normal(k[3], (3,))
    _, ret = gae(rewards, values, dones, last, gamma=0.9, lam=1.0)
    want = value_targets(rewards, dones, last, 0.9)
    np.testing.assert_allclose(np.asarray(ret), np.asarray(want), rtol=1e-5, atol=1e-5)


def test_the_goal_never_reaches_the_policy() -> None:
    """Two states that differ only in their goal get the same input, mask, policy and value."""
    from alignlab.assist import _env
    from alignlab.assist._goals import random_blob
    from alignlab.assist._layout import EnvConfig
    from alignlab.assist._net import NetConfig, init_params
    from alignlab.assist._ppo import policy

    cfg, net = EnvConfig(size=(4, 4, 4), horizon=12), NetConfig(width=4, depth=1)
    params = init_params(net, cfg, jax.random.PRNGKey(1))
    goals = [random_blob(cfg.size, np.random.default_rng(s)) for s in (0, 1)]
    assert not np.array_equal(goals[0], goals[1])
    a = _env.init(cfg, jax.random.PRNGKey(2), goals[0])
    b = a._replace(goal=jnp.asarray(goals[1], a.goal.dtype))
    fn = jax.jit(policy, static_argnums=(0, 1))
    for x, y in zip(fn(cfg, net, params, a), fn(cfg, net, params, b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_run_streams_metrics_changes_params_and_saves_the_model(trained: Path) -> None:
    from alignlab.assist._net import init_params
    from alignlab.assist._ppo import read_model

    rows = read_metrics_log(trained / "metrics.jsonl")
    assert [r["step"] for r in rows] == [8, 16, 24, 32]  # 2 envs x 4 steps per iteration
    for key in ("loss/policy", "loss/value", "loss/entropy", "loss/goal", "approx_kl"):
        assert all(np.isfinite(r[key]) for r in rows), key
    assert json.loads((trained / "run.json").read_text())["status"] == "done"
    assert (trained / "plots" / "learning_curves.png").is_file()
    report = (trained / "report.md").read_text()
    assert "Learning curves" in report and "Simulated human: heuristic (β = 5.0" in report
    env, net, params = read_model(trained)
    assert env.size == (4, 4, 4) and not net.goal_visible
    fresh = init_params(net, env, jax.random.PRNGKey(0))
    moved = [
        not np.allclose(a, b)
        for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(fresh), strict=True)
    ]
    assert any(moved)


def test_resume_continues_without_duplicate_metrics(trained: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    # the run's own flags are kept: only what is given here (more env steps) changes
    assert main(["assist", "train-ppo", "--resume", str(run), "--env-steps", "48"]) == 0
    assert [r["step"] for r in read_metrics_log(run / "metrics.jsonl")] == [8, 16, 24, 32, 40, 48]
    # another network is refused, naming the field
    assert main(["assist", "train-ppo", "--resume", str(run), "--width", "8"]) == 2


def test_a_model_says_which_trainer_wrote_it(trained: Path, tmp_path: Path) -> None:
    """``model/`` records its trainer; another trainer's loader names it; a model saved
    before the ``trainer`` key (PPO's had ``algorithm: "ppo"``) still loads."""
    from alignlab.assist._assistants import load_azero
    from alignlab.assist._layout import EnvConfig
    from alignlab.assist._ppo import load_ppo, read_model
    from alignlab.core import latest_checkpoint, load_checkpoint, save_checkpoint

    last = latest_checkpoint(trained / "model")
    assert last is not None
    ck = load_checkpoint(last)
    assert ck.meta["trainer"] == "train-ppo"
    with pytest.raises(AlignlabError) as err:
        load_azero(EnvConfig(size=(4, 4, 4), horizon=12), str(trained))
    assert "'assist train-ppo'" in str(err.value) and "ppo:RUN" in str(err.value)
    assert err.value.field == "meta.trainer"
    old = tmp_path / "model"
    meta = {k: v for k, v in ck.meta.items() if k != "trainer"}
    save_checkpoint(old, ck.step, ck.tree, meta)
    assert read_model(old)[0].size == (4, 4, 4)
    assert load_ppo(EnvConfig(size=(4, 4, 4), horizon=12), str(old)).name == "ppo"


def test_trained_ppo_plays_in_evaluate(trained: Path, tmp_path: Path) -> None:
    args = ["assist", "evaluate", "--assistants", "noop", f"ppo:{trained}", "--goals", "blob"]
    args += ["--horizon", "12", "--episodes", "2"]
    assert main([*args, "--size", "4", "4", "4", "--out", str(tmp_path)]) == 0
    run = next((tmp_path / "assist-evaluate").iterdir())
    rows = [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines()]
    assert {r["assistant"] for r in rows} == {"noop", f"ppo:{trained}"}
    # another grid, or no run, is one clear error (exit 2)
    assert main([*args, "--size", "5", "5", "5", "--out", str(tmp_path / "x")]) == 2
    no_run = ["assist", "evaluate", "--assistants", "ppo", "--goals", "blob", "--size", "4", "4"]
    assert main([*no_run, "4", "--out", str(tmp_path / "y")]) == 2


BAD = [
    (["--minibatches", "3"], "minibatches", "must divide --envs x --rollout"),
    (["--gamma", "1.5"], "gamma", "--gamma must be a finite number in [0, 1]"),
    (["--gae-lambda", "nan"], "gae_lambda", "--gae-lambda must be a finite number"),
    (["--clip", "0"], "clip", "--clip must be a finite number > 0"),
    (["--ent-coef", "-1"], "ent_coef", "--ent-coef must be a finite number >= 0"),
    (["--lr", "inf"], "lr", "--lr must be a finite number > 0"),
    (["--epochs", "0"], "epochs", "--epochs must be >= 1"),
    (["--kernel", "4"], "kernel", "--kernel must be odd"),
    (["--seed", "1000000"], "seed", "--seed must be below 1,000,000"),
    (["--goals", "castle"], "goals", "unknown goals 'castle'"),
    (["--size", "4", "4"], "size", "three integers X Y Z"),
]


@pytest.mark.parametrize("argv, field, words", BAD)
def test_bad_flags_exit_2_naming_the_field(
    argv: list[str], field: str, words: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert main(["assist", "train-ppo", *argv, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert f"field '{field}'" in lines[0] and words in lines[0]
    assert not out.exists()
