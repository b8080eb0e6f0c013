from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo.test import parallel_api_test

from alignlab.assist._adapters import (
    MbagAssistantEnv,
    MbagParallelEnv,
    MbagVectorAssistantEnv,
)
from alignlab.assist._layout import EnvConfig

CFG = EnvConfig(size=(6, 6, 6), horizon=12)


def test_pettingzoo_parallel_api() -> None:
    parallel_api_test(MbagParallelEnv(CFG), num_cycles=30)


def test_parallel_env_masks_and_shared_reward() -> None:
    env = MbagParallelEnv(CFG)
    obs, _ = env.reset(seed=1)
    assert obs["assistant"]["observation"].shape == (6, 6, 6, 6)
    assert not obs["assistant"]["observation"][2].any()  # no goal for the assistant
    assert obs["human"]["observation"][2].any()
    done = False
    rng = np.random.default_rng(0)
    while not done:
        acts = {a: int(rng.choice(np.flatnonzero(obs[a]["action_mask"]))) for a in env.agents}
        obs, rew, term, trunc, info = env.step(acts)
        assert rew["human"] == rew["assistant"]
        done = term["human"] or trunc["human"]
    assert env.agents == [] and "goal_percentage" in info["human"]
    assert "y=" in env.render()


def test_gymnasium_assistant_env() -> None:
    env = MbagAssistantEnv(CFG)
    check_env(env, skip_render_check=True)
    obs, _ = env.reset(seed=0)
    total, steps = 0.0, 0
    while True:
        obs, r, term, trunc, info = env.step(0)  # a NOOP assistant: the human builds alone
        total += r
        steps += 1
        if term or trunc:
            break
    assert steps == CFG.horizon or term
    assert info["goal_percentage"] > 0  # the heuristic human made progress on its own
    assert total > 0


@pytest.mark.parametrize("n", [1, 4])
def test_vector_env_autoresets(n: int) -> None:
    venv = MbagVectorAssistantEnv(n, CFG, seed=3)
    obs, mask = venv.reset()
    assert obs.shape == (n, 6, 6, 6, 6) and mask.shape == (n, CFG.n_actions)
    dones_seen = 0
    for _ in range(CFG.horizon + 1):
        obs, mask, rew, dones, info = venv.step(np.zeros(n, np.int64))
        dones_seen += int(dones.sum())
        assert rew.shape == (n,) and info["human_actions"].shape == (n,)
    assert dones_seen >= n  # every env finished once and was reset
    assert (np.asarray(venv.state.t) <= 1).all()  # fresh episodes after the reset


def test_finite_inventory_envs_carry_inventories() -> None:
    cfg = EnvConfig(size=(6, 6, 6), horizon=12, finite_inventory=True, inventory_start=(3, 5))
    parallel_api_test(MbagParallelEnv(cfg), num_cycles=12)
    env = MbagParallelEnv(cfg)
    obs, _ = env.reset(seed=2)
    assert obs["human"]["action_mask"].shape == (cfg.n_actions,)  # 8 GIVE ids appended
    assert (obs["human"]["inventory"][0, 2:] == 3).all()
    assert (obs["assistant"]["inventory"][0, 2:] == 5).all()  # own row first
    assert (obs["assistant"]["inventory"][1, 2:] == 3).all()
    check_env(MbagAssistantEnv(cfg), skip_render_check=True)
    venv = MbagVectorAssistantEnv(2, cfg, seed=0)
    venv.reset()
    assert venv.inventories is not None and venv.inventories.shape == (2, 2, 10)
    *_, info = venv.step(np.zeros(2, np.int64))
    assert info["inventory"].shape == (2, 2, 10) and (info["inventory"][:, 0, 2:] == 5).all()
