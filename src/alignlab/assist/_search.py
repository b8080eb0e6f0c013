"""AssistanceZero's search (arXiv 2504.07091): Gumbel MuZero (Danihelka et al., ICLR 2022)
on ``mctx``'s tree, which picks well among ~10⁴ actions with a handful of simulations.

``search`` is one pure, jittable function over a batch of games: the tree steps the real JAX
env (``_env.step``, ``vmap``-ed) from the current states, every node holding its ``State``;
there is no Python tree. Per simulation: one env step, both players' legal masks and one
network call at batch ``B``. The search loop is ``_gumbel.gumbel_muzero``, which returns what
``mctx.gumbel_muzero_policy`` returns (the tests hold it to that) with a backward pass that
updates the tree in place (its module doc says why; ``benchmarks/bench_assist_search.py``
times both loops).

* **The goal is hidden.** Unless ``goal_visible``, ``state.goal`` is replaced by zeros before
  anything reads it, so nothing computed — prior, values, rewards, the sampled human actions,
  the chosen action — depends on the true goal. Inside the tree the env runs with
  ``tree_env_config``: no termination on completion, no no-progress truncation, no reward
  terms (they would read the zeroed goal); the env's rewards are ignored; the horizon still
  truncates.
* **Rewards** are *expected* similarity changes under the network's goal belief
  ``p = softmax(goal_logits)``: per voxel ``E[sim(b, g)] = p[b] + place_wrong·(1 − p[b] −
  p[air])·[b ≠ air]`` (``expected_similarity_table``), and a transition's reward is
  ``Σ_v E[sim(new_v)] − E[sim(old_v)]`` under the belief held at the node the action is taken
  from. ``goal_source="node"`` (the default, as the paper: the network's prediction at each
  node) uses each node's own goal head; ``"root"`` keeps the root's belief for the whole tree.
* **The human** acts with the assistant at every tree step: its action is *sampled* from the
  network's human-action head at the parent node, masked by the human's legal mask there. The
  tree is keyed by the assistant's action only (mctx's layout), so each child holds the one
  human action sampled when it was expanded — the paper's (assistant action, sampled human
  action) children with one sample per assistant action.
* **Masking**: the assistant's prior logits are its policy logits with illegal actions at
  ``finfo.min`` (and ``invalid_actions`` at the root), so every tree action is legal.
* **Discount** ``gamma`` per step, 0 once the game is terminated or truncated (a finished
  node's value is 0). Values are the network's raw (unbounded) values; mctx's completed
  Q-values are min–max normalised.
* ``goal_visible=True`` (the upper-bound baseline, with a ``NetConfig(goal_visible=True)``
  network): the network sees the goal channel and the belief is the true goal as a one-hot, so
  rewards are the true similarity changes; the env's own termination rules apply.

Training targets: ``SearchOut.action_weights`` (Gumbel MuZero's improved policy, zero on
illegal actions), ``SearchOut.value`` (the root's search value), ``SearchOut.root`` (the root's
network outputs, e.g. the goal logits at sampling time for the paper's KL term).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import mctx

from alignlab.assist import _net
from alignlab.assist._env import LegalMasks, State, flat_mask, legal_masks, step
from alignlab.assist._gumbel import gumbel_muzero
from alignlab.assist._layout import (
    AIR,
    ASSISTANT,
    HUMAN,
    N_BLOCKS,
    N_PLACEABLE,
    EnvConfig,
    place_offset,
)
from alignlab.core import AlignlabError

_MASKED = float(jnp.finfo(jnp.float32).min)  # logit of illegal actions (finite, as mctx wants)
_GOAL_SOURCES = ("node", "root")


@dataclass(frozen=True)
class SearchConfig:
    """Static search settings (hashable). The paper: 100 simulations in training, 20 at
    evaluation, gamma 0.95."""

    num_simulations: int = 16
    max_num_considered_actions: int = 16  # Gumbel root: actions sampled without replacement
    gamma: float = 0.95
    gumbel_scale: float = 1.0  # 0: deterministic (evaluation)
    goal_visible: bool = False  # upper-bound baseline: the search and the net see the goal
    goal_source: str = "node"  # goal belief for rewards: each node's ("node") or the root's


class SearchOut(NamedTuple):
    """Batched search results (``B`` games, ``A = env_cfg.n_actions``)."""

    action: jax.Array  # [B] int32: the assistant's action (always legal)
    action_weights: jax.Array  # [B, A] float32: the search policy target (0 where illegal)
    value: jax.Array  # [B] float32: the root's search value
    root: _net.NetOut  # the root's network outputs, batched, unmasked
    legal: jax.Array  # [B, A] bool: the assistant's legal mask at the root


class _Node(NamedTuple):
    """What a tree node holds (mctx's embedding), one game per leading index."""

    state: State
    human_logits: jax.Array  # [A]: the human head's logits, illegal at finfo.min
    sim_table: jax.Array  # [X, Y, Z, 10]: E[sim(b, goal)] per voxel and block id


def expected_similarity_table(goal_probs: jax.Array, place_wrong: float) -> jax.Array:
    """``[..., 10]`` expected voxel similarity ``E[sim(b, g)]`` for each block id ``b`` under a
    per-voxel goal distribution ``goal_probs [..., 10]``: ``p[b] + place_wrong · (1 − p[b] −
    p[air]) · [b ≠ air]`` (equal: 1; both non-air and different: ``place_wrong``)."""
    p_air = goal_probs[..., AIR : AIR + 1]
    solid = jnp.arange(N_BLOCKS) != AIR
    return goal_probs + place_wrong * (1.0 - goal_probs - p_air) * solid


def expected_similarity(table: jax.Array, blocks: jax.Array) -> jax.Array:
    """``[...]`` total expected similarity of ``blocks [..., X, Y, Z]`` given ``table [..., X,
    Y, Z, 10]`` (``expected_similarity_table``)."""
    idx = blocks.astype(jnp.int32)[..., None]
    return jnp.take_along_axis(table, idx, axis=-1)[..., 0].sum(axis=(-3, -2, -1))


def expected_reward(table: jax.Array, old_blocks: jax.Array, new_blocks: jax.Array) -> jax.Array:
    """``[...]`` expected similarity change from ``old_blocks`` to ``new_blocks``."""
    return expected_similarity(table, new_blocks) - expected_similarity(table, old_blocks)


def sample_masked(key: jax.Array, logits: jax.Array) -> jax.Array:
    """``[B] int32``: one action per row of ``logits [B, A]`` (illegal ones at ``finfo.min``:
    probability exactly 0, never drawn), by inverting the cumulative distribution with one
    uniform per row — ``A`` times fewer random numbers than ``jax.random.categorical``."""
    probs = jax.nn.softmax(logits, axis=-1)
    cdf = jnp.cumsum(probs, axis=-1)
    tiny = jnp.finfo(jnp.float32).tiny
    u = jax.random.uniform(key, logits.shape[:-1], minval=tiny) * cdf[..., -1]
    # first index whose cdf reaches u: a zero-probability index repeats its predecessor's cdf,
    # which is below u, so it is never the first
    return jnp.sum(cdf < u[..., None], axis=-1).astype(jnp.int32)


def tree_env_config(env_cfg: EnvConfig, goal_visible: bool) -> EnvConfig:
    """The rules the tree steps with: with the goal hidden, nothing that reads the (zeroed)
    goal — no termination on completion, no no-progress truncation, no reward terms."""
    if goal_visible:
        return env_cfg
    zero = (0.0, 0.0)
    return dataclasses.replace(
        env_cfg,
        terminate_on_completion=False,
        truncate_on_no_progress_timesteps=None,
        noop_reward=zero,
        action_reward=zero,
        incorrect_action_reward=zero,
        own_reward_prop=zero,
    )


def hide_goal(states: State) -> State:
    """``states`` with the goal replaced by zeros (what the assistant's search works on)."""
    return states._replace(goal=jnp.zeros_like(states.goal))


def _masks(env_cfg: EnvConfig, states: State, player: int) -> LegalMasks:
    """``player``'s factorised legal masks for a batch of games."""
    return jax.vmap(lambda s: legal_masks(env_cfg, s, player))(states)


def mask_logits(env_cfg: EnvConfig, masks: LegalMasks, logits: jax.Array) -> jax.Array:
    """``logits [B, A]`` with the actions illegal under the batched factorised ``masks``
    (``legal_masks`` vmapped) at ``finfo.min``; the flat mask is never materialised (the PLACE
    part broadcasts the voxel mask over the 8 block types)."""
    b, n = logits.shape[0], env_cfg.n_voxels
    cut = place_offset(n)
    glob = jnp.where(masks.globals, logits[:, : cut - n], _MASKED)
    brk = jnp.where(masks.brk.reshape(b, n), logits[:, cut - n : cut], _MASKED)
    ok = masks.place.reshape(b, 1, n) & masks.held[:, :, None]
    places = logits[:, cut : cut + N_PLACEABLE * n].reshape(b, N_PLACEABLE, n)
    parts = [glob, brk, jnp.where(ok, places, _MASKED).reshape(b, -1)]
    if env_cfg.finite_inventory:
        parts.append(jnp.where(masks.give, logits[:, cut + N_PLACEABLE * n :], _MASKED))
    return jnp.concatenate(parts, axis=-1)


def _evaluate(
    env_cfg: EnvConfig, net_cfg: _net.NetConfig, search_cfg: SearchConfig, params: Any, s: State
) -> tuple[_net.NetOut, jax.Array, LegalMasks, _Node]:
    """Network outputs, masked prior ``[B, A]``, the assistant's masks and the node for ``s``."""
    vis = search_cfg.goal_visible
    out = _net.apply(net_cfg, env_cfg, params, _net.assistant_input(env_cfg, s, vis))
    masks_a = _masks(env_cfg, s, ASSISTANT)
    prior = mask_logits(env_cfg, masks_a, out.policy_logits)
    human = mask_logits(env_cfg, _masks(env_cfg, s, HUMAN), out.human_logits)
    if vis:
        probs = jax.nn.one_hot(s.goal, N_BLOCKS, dtype=jnp.float32)
    else:
        probs = jax.nn.softmax(out.goal_logits, axis=-1)
    table = expected_similarity_table(probs, env_cfg.place_wrong)
    return out, prior, masks_a, _Node(s, human, table)


def _recurrent_fn(
    env_cfg: EnvConfig, net_cfg: _net.NetConfig, search_cfg: SearchConfig
) -> Callable[..., tuple[mctx.RecurrentFnOutput, _Node]]:
    tree_cfg = tree_env_config(env_cfg, search_cfg.goal_visible)
    step_b = jax.vmap(functools.partial(step, tree_cfg))

    def fn(
        params: Any, key: jax.Array, action: jax.Array, node: _Node
    ) -> tuple[mctx.RecurrentFnOutput, _Node]:
        human = sample_masked(key, node.human_logits)
        new = step_b(node.state, jnp.stack([human, action.astype(jnp.int32)], axis=-1))
        reward = expected_reward(node.sim_table, node.state.blocks, new.blocks)
        out, prior, _, child = _evaluate(env_cfg, net_cfg, search_cfg, params, new)
        if search_cfg.goal_source == "root" and not search_cfg.goal_visible:
            child = child._replace(sim_table=node.sim_table)
        done = new.terminated | new.truncated
        step_out = mctx.RecurrentFnOutput(
            reward=reward,
            discount=jnp.where(done, 0.0, search_cfg.gamma).astype(jnp.float32),
            prior_logits=prior,
            value=jnp.where(done, 0.0, out.value),
        )
        return step_out, child

    return fn


def _check(net_cfg: _net.NetConfig, search_cfg: SearchConfig) -> None:
    if net_cfg.goal_visible != search_cfg.goal_visible:
        raise AlignlabError(
            "goal_visible must match between NetConfig and SearchConfig", field="goal_visible"
        )
    if search_cfg.goal_source not in _GOAL_SOURCES:
        raise AlignlabError(
            f"goal_source must be one of {_GOAL_SOURCES}, got {search_cfg.goal_source!r}",
            field="goal_source",
        )
    if search_cfg.num_simulations < 1:
        raise AlignlabError("num_simulations must be >= 1", field="num_simulations")


def search(
    env_cfg: EnvConfig,
    net_cfg: _net.NetConfig,
    search_cfg: SearchConfig,
    params: Any,
    states: State,
    key: jax.Array,
) -> SearchOut:
    """Search from each of a batch of games (``states``: a ``State`` with a leading ``[B]``
    axis) and return the assistant's actions and training targets (``SearchOut``).

    Pure and jittable with the three configs static, e.g. ``jax.jit(search,
    static_argnums=(0, 1, 2))`` or ``make_search``. Unless ``search_cfg.goal_visible``, the
    outputs do not depend on ``states.goal`` (it is zeroed first)."""
    _check(net_cfg, search_cfg)
    if not search_cfg.goal_visible:
        states = hide_goal(states)
    out, prior, masks, node = _evaluate(env_cfg, net_cfg, search_cfg, params, states)
    legal = jax.vmap(functools.partial(flat_mask, env_cfg))(masks)
    root = mctx.RootFnOutput(prior_logits=prior, value=out.value, embedding=node)
    policy = gumbel_muzero(
        params,
        key,
        root,
        _recurrent_fn(env_cfg, net_cfg, search_cfg),
        search_cfg.num_simulations,
        ~legal,
        max_num_considered_actions=search_cfg.max_num_considered_actions,
        gumbel_scale=search_cfg.gumbel_scale,
    )
    return SearchOut(
        action=policy.action.astype(jnp.int32),
        action_weights=policy.action_weights,
        value=policy.search_tree.node_values[:, 0],
        root=out,
        legal=legal,
    )


def make_search(
    env_cfg: EnvConfig, net_cfg: _net.NetConfig, search_cfg: SearchConfig
) -> Callable[[Any, State, jax.Array], SearchOut]:
    """``search`` jitted with the configs bound: ``fn(params, states, key) -> SearchOut``."""
    _check(net_cfg, search_cfg)
    return jax.jit(functools.partial(search, env_cfg, net_cfg, search_cfg))
