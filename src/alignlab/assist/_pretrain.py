"""Pretraining of AssistanceZero's goal and human-action heads on the human building alone,
before self-play (``alignlab assist train --pretrain-steps N``).

At a CPU budget the goal head learns slowly from self-play alone, and a weak goal belief is
harmful: the search's rewards are expected similarity changes under that belief, and with
``place_wrong = −1`` breaking a block the head is unsure of looks like progress
(``docs/assist.md``, the CPU recipe). Pretraining gives the search a belief to start from,
at the cost of env steps that count in the run's budget — the same data the "pretraining +
SFT" baseline starts from.

**Data**: ``_sft.make_collect(stage="pretrain")`` — the simulated human (``--human``: the
heuristic or the behaviour-cloned one) builds alone (the assistant NOOPs) in ``envs`` games
on the training bank, recording each state and the human's sampled action.

**Loss**: ``_learner.losses`` with only the goal and human weights (the paper's 3 and 1):
goal cross-entropy to the true goal and the human-action head's cross-entropy to the human's
sampled action (a one-hot target: in expectation the KL to the human model's distribution,
as in self-play), from the assistant's own goal-masked view of the game. The policy and
value heads are left to self-play: the assistant's actions here are all NOOPs.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp

from alignlab.assist._human_model import HumanModel
from alignlab.assist._layout import EnvConfig
from alignlab.assist._learner import LossWeights, make_update
from alignlab.assist._net import NetConfig
from alignlab.assist._selfplay import Item

_WEIGHTS = LossWeights(policy=0.0, value=0.0)  # goal 3, human 1: the paper's weights


def collect_human_play(
    cfg: EnvConfig,
    bank: jax.Array,
    n_steps: int,
    envs: int,
    key: jax.Array,
    human: HumanModel | None = None,
) -> Any:
    """``_sft.Steps`` with leaves ``[n, ...]`` (``n >= n_steps``, a multiple of ``envs``):
    ``human`` (default: the heuristic) building alone in ``envs`` games on goals drawn from
    ``bank``."""
    from alignlab.assist._sft import make_collect, start_games

    chunk = math.ceil(n_steps / envs)
    k_start, k_play = jax.random.split(key)
    lo = jnp.zeros(envs, jnp.int32)
    n = jnp.full(envs, bank.shape[0], jnp.int32)
    games = start_games(cfg, k_start, lo, n, bank)
    _, steps = make_collect(cfg, "pretrain", chunk, human=human)(games, bank, k_play, None)
    return jax.tree.map(lambda x: x.reshape((-1, *x.shape[2:])), steps)


@functools.lru_cache(maxsize=8)
def _batch_fn(cfg: EnvConfig, batch: int) -> Callable[[Any, jax.Array], Item]:
    """Jitted ``(steps, key) -> Item``: a uniform batch with a one-hot human target."""

    def make(steps: Any, key: jax.Array) -> Item:
        idx = jax.random.randint(key, (batch,), 0, steps.action.shape[0])
        state = jax.tree.map(lambda x: jnp.take(x, idx, axis=0), steps.state)
        human = jax.nn.one_hot(steps.action[idx], cfg.n_actions, dtype=jnp.float16)
        zeros = jnp.zeros((batch, cfg.n_actions), jnp.float16)
        return Item(state, zeros, human, jnp.zeros(batch, jnp.float32))

    return jax.jit(make)


def pretrain_updates(n_steps: int, epochs: float, batch: int) -> int:
    """Updates that sample each of ``n_steps`` items ``epochs`` times on average."""
    return max(1, math.ceil(n_steps * epochs / batch)) if n_steps > 0 else 0


def pretrain(
    cfg: EnvConfig,
    net: NetConfig,
    optimizer: Any,
    params: Any,
    opt_state: Any,
    steps: Any,
    n_updates: int,
    batch: int,
    key: jax.Array,
) -> Iterator[tuple[Any, Any, dict[str, float]]]:
    """Train the goal and human heads (and the trunk) on recorded human play; yields
    ``(params, opt_state, metrics)`` after every update."""
    update = make_update(cfg, net, _WEIGHTS, optimizer)
    make = _batch_fn(cfg, batch)
    for k in jax.random.split(key, n_updates):
        params, opt_state, m = update(params, opt_state, make(steps, k))
        yield params, opt_state, {name: float(v) for name, v in m.items()}
