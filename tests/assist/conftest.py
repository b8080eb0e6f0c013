"""Tiny trainer settings the assist tests share: a 4×4×4 grid of blob goals and a width-4,
one-block network, so a training run takes seconds on a CPU. Fixtures, not module constants:
``tests/`` has no ``__init__.py`` to import from."""

from __future__ import annotations

from typing import Any

import pytest

GRID: dict[str, Any] = dict(size=(4, 4, 4), goals="blob", bank_size=8, horizon=12)
NET: dict[str, Any] = dict(width=4, depth=1)


def _argv(flags: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for name, value in flags.items():
        values = value if isinstance(value, tuple) else (value,)
        out += ["--" + name.replace("_", "-"), *map(str, values)]
    return out


@pytest.fixture(scope="session")
def tiny_grid() -> dict[str, Any]:
    """``--size 4 4 4 --goals blob --bank-size 8 --horizon 12`` as config fields."""
    return dict(GRID)


@pytest.fixture(scope="session")
def tiny_train() -> dict[str, Any]:
    """``TrainConfig`` fields of a tiny ``assist train`` run: 2 games × 4 steps per
    iteration, 2 simulations, a checkpoint every 2 iterations (add ``env_steps``, ``out``)."""
    return dict(
        **GRID,
        **NET,
        envs=2,
        fragment=4,
        simulations=2,
        considered=2,
        replay=64,
        batch_size=8,
        checkpoint_every=2,
    )


@pytest.fixture(scope="session")
def tiny_ppo() -> dict[str, Any]:
    """``PPOConfig`` fields of a tiny ``assist train-ppo`` run: 2 games × 4 steps per
    iteration, 2 epochs of 2 minibatches, a checkpoint every 2 iterations."""
    return dict(**GRID, **NET, envs=2, rollout=4, epochs=2, minibatches=2, checkpoint_every=2)


@pytest.fixture(scope="session")
def tiny_train_argv(tiny_train: dict[str, Any]) -> list[str]:
    """``tiny_train`` as ``alignlab assist train`` flags."""
    return _argv(tiny_train)
