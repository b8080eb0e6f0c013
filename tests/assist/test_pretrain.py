"""``assist train --pretrain-steps``: the goal and human heads learn from the human building
alone before self-play; the pretraining is checkpointed and never repeated on resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from alignlab.assist._train_cmd import TrainConfig
from alignlab.core import AlignlabError, read_metrics_log


@pytest.fixture(scope="module")
def pretrained(tiny_train: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    from alignlab.assist._train import run_train

    out = tmp_path_factory.mktemp("pretrain")
    cfg = TrainConfig(**tiny_train, env_steps=16, pretrain_steps=200, out=str(out))
    return run_train(cfg)


@pytest.mark.slow  # a pretraining run (~40 s with the resume): the slow tier
def test_pretraining_rows_come_first_and_count_in_env_steps(pretrained: Path) -> None:
    rows = read_metrics_log(pretrained / "metrics.jsonl")
    pre = [r for r in rows if r.get("phase") == "pretrain"]
    play = [r for r in rows if "phase" not in r]
    assert pre and rows[: len(pre)] == pre
    assert pre[-1]["step"] == 200  # 2 games x 100 steps of the human alone
    assert [r["step"] for r in play] == [208, 216]  # self-play steps follow
    assert all(np.isfinite(r["loss/goal"]) and np.isfinite(r["loss/human"]) for r in pre)
    assert pre[-1]["loss/goal"] < pre[0]["loss/goal"]  # the goal head learns


@pytest.mark.slow  # a pretraining run (~40 s with the resume): the slow tier
def test_resume_does_not_pretrain_again(pretrained: Path, tmp_path: Path) -> None:
    import shutil

    from alignlab.cli import main

    run = tmp_path / "run"
    shutil.copytree(pretrained, run)
    assert main(["assist", "train", "--resume", str(run), "--env-steps", "24"]) == 0
    rows = read_metrics_log(run / "metrics.jsonl")
    steps = [r["step"] for r in rows if "phase" not in r]
    assert steps == [208, 216, 224]
    assert sum(r.get("phase") == "pretrain" for r in rows) == sum(
        r.get("phase") == "pretrain" for r in read_metrics_log(pretrained / "metrics.jsonl")
    )


def test_pretraining_trains_only_the_goal_and_human_heads() -> None:
    """Policy and value heads keep their initial weights (their loss weights are zero);
    the goal head and the trunk move."""
    from alignlab.assist._goal_bank import build_goal_bank
    from alignlab.assist._goals import random_blob
    from alignlab.assist._layout import EnvConfig
    from alignlab.assist._learner import make_optimizer
    from alignlab.assist._net import NetConfig, init_params
    from alignlab.assist._pretrain import collect_human_play, pretrain

    cfg = EnvConfig(size=(4, 4, 4), horizon=12)
    net = NetConfig(width=4, depth=1)
    bank = jnp.asarray(build_goal_bank(random_blob, 4, cfg.size, 0))
    steps = collect_human_play(cfg, bank, 40, 4, jax.random.PRNGKey(0))
    assert steps.action.shape == (40,)
    params = init_params(net, cfg, jax.random.PRNGKey(1))
    opt = make_optimizer(1e-2)
    *_, (new, _, m) = pretrain(
        cfg, net, opt, params, opt.init(params), steps, 5, 8, jax.random.PRNGKey(2)
    )
    assert m["loss/policy"] == 0.0
    p0, p1 = params["params"], new["params"]
    for head in ("policy", "value", "value_hidden"):
        for a, b in zip(jax.tree.leaves(p0[head]), jax.tree.leaves(p1[head]), strict=True):
            np.testing.assert_array_equal(a, b)
    for part in ("goal_head", "human", "stem"):
        moved = [
            not np.allclose(a, b)
            for a, b in zip(jax.tree.leaves(p0[part]), jax.tree.leaves(p1[part]), strict=True)
        ]
        assert any(moved), part


@pytest.mark.parametrize("flag, value", [("pretrain_steps", -1), ("pretrain_epochs", 0.0)])
def test_bad_pretraining_flags_are_refused(
    flag: str, value: float, tiny_train: dict[str, Any], tmp_path: Path
) -> None:
    with pytest.raises(AlignlabError) as err:
        TrainConfig(**{**tiny_train, flag: value, "out": str(tmp_path)})
    assert err.value.field == flag
