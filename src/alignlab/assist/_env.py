"""The building assistance game (MBAG of AssistanceZero, arXiv 2504.07091) as pure JAX
functions over a frozen state.

pgx style: ``init``, ``step``, ``observe`` and the legality masks are pure functions of a
``State`` pytree with fixed shapes, ``jax.jit``-able with the ``EnvConfig`` static and
``jax.vmap``-able over states, actions and keys::

    step_b = jax.jit(jax.vmap(functools.partial(step, cfg)))
    state = step_b(states, actions, keys)  # states: State with a leading [B] axis

Rules (``_reference.py`` restates them with plain loops and is the test oracle):

* Both players act each step; the step applies the human's action, then the assistant's on
  the result, so the human wins every conflict (both place into one voxel: the assistant's
  place meets a non-air voxel and is a no-op; a move into a voxel the other player holds,
  or has just moved into, is blocked). A consequence: if the human breaks a block, the
  assistant may place into that voxel in the same step.
* ``los="mbag"`` (the default; the original MBAG's rule, ``_los``'s module doc): PLACE(v, b)
  needs v air, not a voxel of the other player (the original lets a player build into its
  own voxels), and a face of v against an in-grid non-air neighbour on which one of 9 points
  is within ``reach`` of the eye (feet + (0.5, 1.6, 0.5)) with a ray blocked by no block and
  no voxel of the other player; BREAK(v) needs v neither air nor bedrock, not the other
  player's, and such a point on an exposed face. MOVE: the feet voxel stays in the grid, the
  head voxel is in the grid or just above it (the top layer), both are air and neither is the
  other player's; players fly (no gravity).
* ``los="off"`` (the default until 2026-11) and ``"centre"``: PLACE(v, b): v is air, within
  ``reach`` of the eye (head voxel centre to voxel centre, Euclidean), not a voxel of either
  player, and face-adjacent to a non-air voxel (out-of-grid neighbours do not count).
  BREAK(v): v is neither air nor bedrock, and within reach. MOVE: as above, but the head must
  stay in the grid.
* Illegal actions are no-ops. The reward is the change in total similarity, shared (both
  entries of ``rewards`` are equal), unless ``EnvConfig`` sets the original's per-player
  reward terms (noop, action, incorrect action, ``own_reward_prop``; ``_rewards``). The
  episode is ``terminated`` on reaching the goal, ``truncated`` at ``horizon`` or, with
  ``truncate_on_no_progress_timesteps``, after that many steps without progress. After
  either a step changes nothing (``rewards`` become 0).
* ``los="centre"`` adds a sampled ray test to PLACE and BREAK: the points
  ``eye + k/16 · (target - eye)`` (voxel centres, k = 1..15) must lie in air or in the target
  voxel (integer arithmetic, so the reference agrees exactly; a ray that grazes a corner
  between samples can pass).
* ``finite_inventory=True`` (the paper plays with infinite blocks; MBAG offers both): each
  player starts with ``inventory_start[p]`` blocks of every placeable type (``State.inventory
  [2, 10]``; all zeros, unused, with infinite inventories). PLACE(v, b) also needs one ``b`` in
  hand and uses it up; BREAK puts the broken block in the breaker's inventory (counts saturate
  at ``inventory_max``: a block broken into a full stack is lost); GIVE(b), appended to the
  action space, hands one ``b`` to the other player, legal when the giver holds one, the
  receiver's stack is not full and one of the receiver's two voxels is within ``reach`` of the
  giver's eye (line of sight is not asked for). The human's GIVE lands before the assistant
  acts, so the assistant can place a block the human handed it in the same step.

Flat actions follow ``_layout``: ``PLACE(v, b) = place_offset(V) + (b - 2) * V + v`` (block
major), so a flat PLACE mask is the voxel mask tiled 8 times (each tile gated by whether ``b``
is held), and ``GIVE(b) = give_offset(V) + b - 2``.

Here: ``State``, ``init``, ``step``, ``observe``; the legality masks live in ``_masks`` and the
validation and grid geometry they share with ``step`` in ``_geometry`` (re-exported here).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from alignlab.assist import _los, _rewards
from alignlab.assist._actions import (  # noqa: F401 (re-exported: callers import them from here)
    KIND_BREAK,
    KIND_GIVE,
    KIND_MOVE,
    KIND_NOOP,
    KIND_PLACE,
    KINDS,
    decode_action,
    decode_action_jax,
    encode_action,
)
from alignlab.assist._geometry import (  # noqa: F401 (re-exported)
    _MOVES,
    _UP,
    LOS_SAMPLES,
    _in_grid,
    _in_sight,
    _is_air,
    _moves_ok,
    _other_in_reach,
    _player_voxels,
    validate_config,
    validate_goal,
)
from alignlab.assist._layout import (
    AIR,
    ASSISTANT,
    BEDROCK,
    DIRT,
    HUMAN,
    N_BLOCKS,
    N_MOVES,
    N_OBS_CHANNELS,
    N_PLAYERS,
    OBS_BLOCKS,
    OBS_GOAL_BLOCKS,
    OBS_LAST_INTERACTED,
    OBS_PLAYERS,
    PLACEABLE,
    EnvConfig,
)
from alignlab.assist._masks import (  # noqa: F401 (re-exported)
    LegalMasks,
    flat_mask,
    legal_action_mask,
    legal_masks,
    packed_masks,
    unpack_masks,
)
from alignlab.assist._rewards import (  # noqa: F401 (re-exported)
    similarity,
    voxel_similarity,
)


class State(NamedTuple):
    """One game; every leaf has a fixed shape (add a leading ``[B]`` axis for batches).

    blocks ``[X, Y, Z] uint8``; goal ``[X, Y, Z] uint8``; positions ``[2, 3] int32`` (feet
    voxel of human, assistant); last_interacted ``[X, Y, Z] int8`` (-1 none, else player id);
    t ``[] int32``; rewards ``[2] float32`` (last step's reward of human, assistant: equal, the
    change in total similarity, unless ``EnvConfig`` sets reward terms or ``own_reward_prop``,
    see ``_rewards``); terminated, truncated ``[] bool``; sim0 ``[] float32`` (similarity at
    reset); inventory ``[2, 10] int32`` (block counts per player; zeros with infinite
    inventories); best_sim ``[] float32`` (best similarity since reset) and stalled ``[] int32``
    (steps in a row without beating it), tracked only with ``truncate_on_no_progress_timesteps``
    (else ``sim0`` and 0 throughout).
    """

    blocks: jax.Array
    goal: jax.Array
    positions: jax.Array
    last_interacted: jax.Array
    t: jax.Array
    rewards: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    sim0: jax.Array
    inventory: jax.Array
    best_sim: jax.Array
    stalled: jax.Array


# ---------------------------------------------------------------- similarity


def goal_percentage(state: State, cfg: EnvConfig | None = None) -> jax.Array:
    """``(sim - sim0) / (V - sim0)`` ``[] float32``; 1 when the goal was complete at reset."""
    pw = (cfg or EnvConfig()).place_wrong
    sim = voxel_similarity(state.blocks, state.goal, pw).sum(axis=(-3, -2, -1))
    n_vox = state.blocks.shape[-3] * state.blocks.shape[-2] * state.blocks.shape[-1]
    denom = n_vox - state.sim0
    return jnp.where(denom > 0, (sim - state.sim0) / jnp.maximum(denom, 1e-6), 1.0)


# ---------------------------------------------------------------- init


def init(cfg: EnvConfig, key: jax.Array, goal: object) -> State:
    """A fresh game: air, bedrock at y=0, dirt at y=1. ``start="ground"``: players stand (feet
    y=2) on random distinct columns, preferring columns where the goal is air above the dirt
    layer; ``start="mbag"``: the original's random start (``_random_start``)."""
    validate_config(cfg)
    return _init(cfg, key, validate_goal(cfg, goal))


def _init(cfg: EnvConfig, key: jax.Array, goal: jax.Array) -> State:
    nx, ny, nz = cfg.size
    blocks = jnp.zeros(cfg.size, jnp.uint8).at[:, 0, :].set(BEDROCK).at[:, 1, :].set(DIRT)
    outside = ~jnp.any(goal[:, 2:, :] != AIR, axis=1).reshape(-1)  # [X*Z]
    k_h, k_a = jax.random.split(key)
    bonus = jnp.where(outside, 100.0, 0.0)  # gumbel noise is far below 100
    col_h = jnp.argmax(jax.random.gumbel(k_h, (nx * nz,)) + bonus)
    score_a = jax.random.gumbel(k_a, (nx * nz,)) + bonus
    col_a = jnp.argmax(score_a.at[col_h].set(-jnp.inf))
    cols = jnp.stack([col_h, col_a]).astype(jnp.int32)
    positions = jnp.stack([cols // nz, jnp.full((2,), 2, jnp.int32), cols % nz], axis=1)
    if cfg.start == "mbag":
        positions = _random_start(cfg, key)
    sim0 = similarity(cfg, blocks, goal)
    return State(
        blocks=blocks,
        goal=goal,
        positions=positions,
        last_interacted=jnp.full(cfg.size, -1, jnp.int8),
        t=jnp.zeros((), jnp.int32),
        rewards=jnp.zeros((N_PLAYERS,), jnp.float32),
        terminated=jnp.zeros((), bool),
        truncated=jnp.zeros((), bool),
        sim0=sim0,
        inventory=start_inventory(cfg),
        best_sim=sim0,
        stalled=jnp.zeros((), jnp.int32),
    )


def _random_start(cfg: EnvConfig, key: jax.Array) -> jax.Array:
    """``[2, 3]``: the original MBAG's random start, each player uniform over the feet voxels
    where it fits in the reset world (air from y = 2 up; the head may stand above the grid
    under ``los="mbag"``) and, for the assistant, clear of the human."""
    nx, ny, nz = cfg.size
    top = ny - 1 if cfg.los == "mbag" else ny - 2
    y = jnp.arange(ny)[None, :, None]
    fits = jnp.broadcast_to((y >= 2) & (y <= top), cfg.size).reshape(-1)
    k_h, k_a = jax.random.split(jax.random.fold_in(key, 1))
    grid = jnp.stack(jnp.meshgrid(*[jnp.arange(n) for n in cfg.size], indexing="ij"), -1)
    grid = grid.reshape(-1, 3).astype(jnp.int32)
    g = jax.random.gumbel(k_h, fits.shape)
    human = grid[jnp.argmax(jnp.where(fits, g, -jnp.inf))]
    clash = (grid[:, 0] == human[0]) & (grid[:, 2] == human[2])
    clash &= jnp.abs(grid[:, 1] - human[1]) <= 1
    g = jax.random.gumbel(k_a, fits.shape)
    assistant = grid[jnp.argmax(jnp.where(fits & ~clash, g, -jnp.inf))]
    return jnp.stack([human, assistant])


def start_inventory(cfg: EnvConfig) -> jax.Array:
    """``[2, 10] int32``: ``inventory_start[p]`` of every placeable block, or zeros (infinite)."""
    if not cfg.finite_inventory:
        return jnp.zeros((N_PLAYERS, N_BLOCKS), jnp.int32)
    counts = np.zeros((N_PLAYERS, N_BLOCKS), np.int32)
    counts[:, list(PLACEABLE)] = np.asarray(cfg.inventory_start, np.int32)[:, None]
    return jnp.asarray(counts)


# ---------------------------------------------------------------- step


def _trade(cfg, inventory, positions, p, kind, b, cur, place_ok, break_ok):  # type: ignore[no-untyped-def]
    """Finite inventories: gate PLACE on holding ``b``, apply GIVE, and move blocks between the
    world and the inventories. Returns ``(inventory, place_ok, give_ok)``."""
    held = inventory[p, b] >= 1  # b = 0 (air) unless PLACE or GIVE: then never used
    place_ok = place_ok & held
    give_ok = (
        (kind == KIND_GIVE)
        & held
        & (inventory[1 - p, b] < cfg.inventory_max)
        & _other_in_reach(cfg, positions, p)
    )
    ids = jnp.arange(N_BLOCKS)
    spent = ((place_ok | give_ok) & (ids == b)).astype(jnp.int32)
    gained = (break_ok & (ids == cur)).astype(jnp.int32)
    mine = jnp.minimum(inventory[p] - spent + gained, cfg.inventory_max)
    theirs = inventory[1 - p] + (give_ok & (ids == b)).astype(jnp.int32)
    return inventory.at[p].set(mine).at[1 - p].set(theirs), place_ok, give_ok


def _act(cfg: EnvConfig, blocks, last, positions, inv, goal, p: int, a):  # type: ignore[no-untyped-def]
    """Apply player ``p``'s action to flat ``blocks``/``last``; return them, positions, the
    inventory and the player's own reward (``_rewards.own_reward``)."""
    n_vox = cfg.n_voxels
    kind, v, b = decode_action_jax(a, n_vox, cfg.finite_inventory)
    _, ny, nz = cfg.size
    xyz = jnp.stack([v // (ny * nz), (v // nz) % ny, v % nz])
    cur = blocks[v]
    feet_all = positions  # [2, 3]
    same_col = (feet_all[:, 0] == xyz[0]) & (feet_all[:, 2] == xyz[2])
    in_player = same_col & ((xyz[1] == feet_all[:, 1]) | (xyz[1] == feet_all[:, 1] + 1))
    if cfg.los == "mbag":
        place_seen, break_seen = _los.target_seen(
            cfg.size, cfg.reach, blocks, positions[p], positions[1 - p], xyz
        )
        theirs = in_player[1 - p]
        place_ok = (kind == KIND_PLACE) & (cur == AIR) & ~theirs & place_seen
        break_ok = (kind == KIND_BREAK) & (cur != AIR) & (cur != BEDROCK) & ~theirs & break_seen
    else:
        d2 = jnp.sum((xyz - positions[p] - _UP) ** 2)
        in_reach = d2.astype(jnp.float32) <= cfg.reach * cfg.reach
        if cfg.los == "centre":
            in_reach &= _in_sight(cfg, blocks, positions[p] + _UP, xyz)
        occupied = jnp.any(in_player)
        adjacent = jnp.any(~_is_air(cfg, blocks, xyz + _MOVES) & _in_grid(cfg, xyz + _MOVES))
        place_ok = (kind == KIND_PLACE) & (cur == AIR) & in_reach & ~occupied & adjacent
        break_ok = (kind == KIND_BREAK) & (cur != AIR) & (cur != BEDROCK) & in_reach
    give_ok = jnp.zeros((), bool)
    if cfg.finite_inventory:
        inv, place_ok, give_ok = _trade(cfg, inv, positions, p, kind, b, cur, place_ok, break_ok)
    new = jnp.where(place_ok, b.astype(jnp.uint8), jnp.where(break_ok, jnp.uint8(AIR), cur))
    g = goal[v]
    d_sim = voxel_similarity(new, g, cfg.place_wrong) - voxel_similarity(cur, g, cfg.place_wrong)
    # dynamic_update_slice rather than a scatter (``.at[v].set``): at one game per call XLA
    # updates it in place inside a fusion, where a scatter is a kernel (and a copy) of its own,
    # and kernel count is what the step's time is made of; under vmap both become the same
    # batched scatter (a dense one-hot ``where`` was as fast at batch 1 but O(V) per game and
    # ~15% slower at batch 1024; measured with benchmarks/bench_assist_env.py).
    blocks = jax.lax.dynamic_update_slice(blocks, new[None], (v,))
    touched = jnp.where(place_ok | break_ok, jnp.int8(p), last[v])
    last = jax.lax.dynamic_update_slice(last, touched[None], (v,))
    m = jnp.clip(v, 0, N_MOVES - 1)
    moved = (kind == KIND_MOVE) & _moves_ok(cfg, blocks, positions, p)[m]
    mover = np.arange(N_PLAYERS)[:, None] == p  # [2, 1], static
    positions = jnp.where(moved & mover, positions + jnp.asarray(_MOVES)[m], positions)
    effect = place_ok | break_ok | moved | give_ok
    return blocks, last, positions, inv, _rewards.own_reward(cfg, p, kind, effect, d_sim)


def step(cfg: EnvConfig, state: State, actions: jax.Array, key: jax.Array | None = None) -> State:
    """One joint step. actions ``[2] int32`` (human, assistant); ``key`` is unused (the game
    is deterministic) and kept for the pgx-style signature."""
    del key
    validate_config(cfg)
    actions = jnp.asarray(actions, jnp.int32)
    blocks = state.blocks.reshape(-1)
    last = state.last_interacted.reshape(-1)
    goal = state.goal.reshape(-1)
    pos, inv = state.positions, state.inventory
    blocks, last, pos, inv, r_h = _act(cfg, blocks, last, pos, inv, goal, HUMAN, actions[HUMAN])
    blocks, last, pos, inv, r_a = _act(
        cfg, blocks, last, pos, inv, goal, ASSISTANT, actions[ASSISTANT]
    )
    blocks = blocks.reshape(cfg.size)
    t = state.t + 1
    terminated = jnp.asarray(cfg.terminate_on_completion) & jnp.all(blocks == state.goal)
    best, stalled, stop = _rewards.no_progress(
        cfg, blocks, state.goal, state.best_sim, state.stalled
    )
    nxt = state._replace(
        blocks=blocks,
        positions=pos,
        inventory=inv,
        last_interacted=last.reshape(cfg.size),
        t=t,
        rewards=_rewards.player_rewards(cfg, jnp.stack([r_h, r_a])),
        terminated=terminated,
        truncated=(t >= cfg.horizon) | stop,
        best_sim=best,
        stalled=stalled,
    )
    done = state.terminated | state.truncated
    frozen = state._replace(rewards=jnp.zeros_like(state.rewards))
    out = jax.tree.map(lambda old, new: jnp.where(done, old, new), frozen, nxt)
    return out._replace(goal=state.goal, sim0=state.sim0)  # never change: no select needed


# ---------------------------------------------------------------- observations


def observe(cfg: EnvConfig, state: State, player: int | jax.Array) -> jax.Array:
    """``[6, X, Y, Z] float32`` per ``_layout``'s channels (last interacted: 1 = by the
    observer, 2 = by the other, unless ``last_interacted_obs="absolute"``). The goal channels
    are zero for the assistant: with a Python int ``player`` the assistant's branch never
    reads ``state.goal``; with a traced one the goal is multiplied by ``player == 0``."""
    pl = jnp.asarray(player, jnp.int32)
    if isinstance(player, int):
        goal_ch = state.goal.astype(jnp.float32) if player == HUMAN else jnp.zeros(cfg.size)
    else:
        goal_ch = state.goal.astype(jnp.float32) * (pl == HUMAN)
    mine = _player_voxels(cfg, state.positions[pl])
    theirs = _player_voxels(cfg, state.positions[1 - pl])
    obs = jnp.zeros((N_OBS_CHANNELS, *cfg.size), jnp.float32)
    obs = obs.at[OBS_BLOCKS].set(state.blocks.astype(jnp.float32))
    obs = obs.at[OBS_GOAL_BLOCKS].set(goal_ch)
    obs = obs.at[OBS_PLAYERS].set(jnp.where(mine, 1.0, jnp.where(theirs, 2.0, 0.0)))
    last = state.last_interacted
    if cfg.last_interacted_obs == "absolute":
        return obs.at[OBS_LAST_INTERACTED].set(last.astype(jnp.float32) + 1.0)
    who = jnp.where(last == pl, 1.0, jnp.where(last == 1 - pl, 2.0, 0.0))
    return obs.at[OBS_LAST_INTERACTED].set(who)


def observe_inventory(cfg: EnvConfig, state: State, player: int | jax.Array) -> jax.Array:
    """``[2, 10] int32``: the observer's block counts, then the other player's (``_layout``'s
    ``INV_SELF``, ``INV_OTHER``); zeros with infinite inventories."""
    del cfg
    pl = jnp.asarray(player, jnp.int32)
    return jnp.stack([state.inventory[pl], state.inventory[1 - pl]])
