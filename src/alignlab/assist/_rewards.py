"""Rewards and the no-progress limit of the building assistance game, as the original MBAG
(AssistanceZero, arXiv 2504.07091) computes them; pure JAX, ``EnvConfig`` static.

Per step, each player ``p`` earns its own reward from its own action alone:

* the change in similarity its action made (``voxel_similarity`` of the voxel it changed);
* ``incorrect_action_reward[p]`` if the action was a PLACE or BREAK that took effect but was not
  correct: a PLACE is correct when its similarity change is > 0, a BREAK when it is >= 0 (so
  breaking a wrong block is correct, breaking a goal block is not);
* ``noop_reward[p]`` if the action had no effect (NOOP, an illegal action, a blocked move, a
  GIVE that could not be made; illegal PLACE/BREAK get this, never the incorrect term), else
  ``action_reward[p]``.

The step reward of ``p`` is ``own_reward_prop[p] * own[p] + (1 - own_reward_prop[p]) *
(own[0] + own[1])``: at 0 (the default) both players get the sum of both players' own rewards,
noop and action terms included; at 1 only their own. With every term 0 this is the shared
change in total similarity, and the step skips the extra arithmetic.

No progress (``truncate_on_no_progress_timesteps = n``): a step makes progress when the total
similarity after it exceeds the best seen since reset (the reset's included), the original's
"goal percentage above its previous maximum" (the percentage is increasing in similarity). After
``n`` steps in a row without progress the episode is ``truncated``; reaching the goal is still
``terminated``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from alignlab.assist._actions import KIND_BREAK, KIND_PLACE
from alignlab.assist._layout import AIR, N_PLAYERS, EnvConfig
from alignlab.core import AlignlabError


def validate_config(cfg: EnvConfig) -> None:
    """Raise for reward terms that are not (human, assistant) pairs or a limit below 1."""
    for name in ("noop_reward", "action_reward", "incorrect_action_reward", "own_reward_prop"):
        if len(getattr(cfg, name)) != N_PLAYERS:
            raise AlignlabError(f"{name} must be one number or (human, assistant)", field=name)
    limit = cfg.truncate_on_no_progress_timesteps
    if limit is not None and limit < 1:
        raise AlignlabError(
            "truncate_on_no_progress_timesteps must be >= 1 or None",
            field="truncate_on_no_progress_timesteps",
        )


def voxel_similarity(blocks: jax.Array, goal: jax.Array, place_wrong: float) -> jax.Array:
    """Per voxel: 1 if equal, ``place_wrong`` if both non-air and different, else 0 (float32)."""
    both = (blocks != AIR) & (goal != AIR)
    return jnp.where(blocks == goal, 1.0, jnp.where(both, place_wrong, 0.0)).astype(jnp.float32)


def similarity(cfg: EnvConfig, blocks: jax.Array, goal: jax.Array) -> jax.Array:
    """Total similarity ``[] float32`` of ``blocks`` to ``goal`` (both ``[X, Y, Z]``)."""
    return voxel_similarity(blocks, goal, cfg.place_wrong).sum()


def own_reward(
    cfg: EnvConfig, p: int, kind: jax.Array, effect: jax.Array, d_sim: jax.Array
) -> jax.Array:
    """``[] float32``: player ``p``'s own reward for an action of ``kind`` (``_actions``'s
    KIND_*) that took effect or not (``effect [] bool``) and changed similarity by ``d_sim``."""
    if not cfg.reward_terms:
        return d_sim
    correct = jnp.where(kind == KIND_PLACE, d_sim > 0, d_sim >= 0)
    incorrect = effect & ((kind == KIND_PLACE) | (kind == KIND_BREAK)) & ~correct
    r = d_sim + jnp.where(incorrect, jnp.float32(cfg.incorrect_action_reward[p]), 0.0)
    return r + jnp.where(effect, jnp.float32(cfg.action_reward[p]), cfg.noop_reward[p])


def player_rewards(cfg: EnvConfig, own: jax.Array) -> jax.Array:
    """``[2] float32`` step rewards (human, assistant) from the own rewards ``[2]``."""
    total = own[0] + own[1]
    if not cfg.reward_terms:
        return jnp.broadcast_to(total, (N_PLAYERS,)).astype(jnp.float32)
    prop = jnp.asarray(cfg.own_reward_prop, jnp.float32)
    return (prop * own + (1 - prop) * total).astype(jnp.float32)


def no_progress(
    cfg: EnvConfig, blocks: jax.Array, goal: jax.Array, best_sim: jax.Array, stalled: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``(best_sim, stalled, stop)`` after a step that left ``blocks``: the best similarity
    since reset, the steps in a row without progress, and whether that count reached
    ``truncate_on_no_progress_timesteps``. With the option off nothing is tracked (the inputs
    come back, ``stop`` False) and the step costs no whole-grid sum."""
    limit = cfg.truncate_on_no_progress_timesteps
    if limit is None:
        return best_sim, stalled, jnp.zeros((), bool)
    sim = similarity(cfg, blocks, goal)
    better = sim > best_sim
    stalled = jnp.where(better, 0, stalled + 1).astype(jnp.int32)
    return jnp.maximum(sim, best_sim), stalled, stalled >= limit
