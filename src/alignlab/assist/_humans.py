"""Goal-aware heuristic simulated human for the building assistance game (MBAG;
AssistanceZero, arXiv 2504.07091).

The human sees the goal (observation channels 2-3) and builds bottom-up: it breaks wrong
blocks and places goal blocks within reach of its eye, lowest layer first, and moves toward
the nearest unfinished voxel when nothing useful is within reach. Everything works on the
observation alone (layout in ``_layout.py``), so it is a pure JAX function that ``jit`` and
``vmap`` handle with ``cfg`` static::

    logits = heuristic_logits(HeuristicParams(beta=5.0), key, obs, cfg)  # [n_actions]
    action = sample_action(logits, key)                                   # int32 []

The returned logits are normalised log-probabilities. With ``mistake_rate = 0`` they equal
``beta × utility`` up to a constant (Boltzmann rationality with rationality ``beta``); with
``mistake_rate = m`` they are the log of ``(1 - m) · softmax(beta × utility) + m · uniform``
where ``uniform`` covers every in-reach PLACE (any placeable block into air) and BREAK
(any non-bedrock block). Actions the heuristic never proposes get ``NEG`` (≈ −1e9, finite so
that ``p · log p`` stays 0 in KL terms).

Reach follows ``cfg.los``. Under ``"mbag"`` (the default) "in reach" is the env's own rule,
``_los.place_break`` applied to the blocks and both players' positions read off the
observation, so every PLACE/BREAK the human (or its uniform mistake) proposes is legal, never
into its own voxels; when none is useful it prefers moves after which one is (the same test
from each of the 6 neighbouring positions), then moves that approach a useful voxel that can be
acted on from somewhere (a place with a solid neighbour, a break with an air neighbour). Two
rules keep it from stalling there. It holds back a goal place directly above unfinished work
(a wrong block, or a goal voxel with a solid neighbour) or above a block that buries such work
(a "cover"): the block would close the top face, a ground voxel's only open one, and the layer
preference alone is too soft to prevent it. When useful voxels remain but none is in sight
now or after one move, and no way leads to a place by one, it digs in: it breaks a cover (or
walks to one), does the work below, then rebuilds. Under ``"off"`` and ``"centre"`` reach is
the eye-to-centre distance alone: placement support and line of sight are not checked
(support is only preferred), so some proposals are refused.

With finite inventories (``cfg.finite_inventory``) the human also needs its inventory
(``_env.observe_inventory``, row 0 its own counts): it only places blocks it holds, treats goal
voxels whose block it lacks as out of its hands (it NOOPs when nothing else is left, waiting to
be given blocks), and never GIVEs (the 8 GIVE logits are ``NEG``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from alignlab.assist._layout import (
    AIR,
    BEDROCK,
    MOVES,
    N_BLOCKS,
    N_PLACEABLE,
    OBS_BLOCKS,
    OBS_GOAL_BLOCKS,
    OBS_PLAYERS,
    PLACEABLE,
    EnvConfig,
)

NEG = -1e9  # logit of actions the human never takes (finite: keeps p·log p = 0)

# Utility shape (units: utility, before × beta). Layers dominate; support and distance break ties.
_LAYER_COST = 0.2  # per layer above the lowest actionable one
_BREAK_BONUS = 0.1  # clearing a wrong block beats placing on the same layer
_SUPPORT_BELOW = 0.1  # block directly below the placed voxel
_SUPPORT_SIDE = 0.05  # any other face-neighbour is a block
_DIST_COST = 0.01  # per voxel of eye distance
_MOVE_BASE = 0.5  # + distance gained (voxels, in [-1, 1])
_ACT_AFTER_MOVE = 1.0  # los="mbag": the move brings a useful voxel into reach and sight
_PATH_GAIN = 0.5  # los="mbag": the move is one step nearer a place that sees a useful voxel
_FAR = 1e4  # path length offset of a cover's open side: any way to real work is shorter
_NOOP_DONE, _NOOP_IDLE = 1.0, -1.0


class HeuristicParams(NamedTuple):
    """``beta``: Boltzmann rationality (logits = beta × utility); ``mistake_rate``: chance of
    a uniformly random in-reach PLACE/BREAK instead. Both may be traced (vmap over humans)."""

    beta: float = 5.0
    mistake_rate: float = 0.0


def _shift(a: Any, axis: int, step: int, fill: Any) -> Any:
    """``out[i] = a[i - step]`` along ``axis`` (``fill`` where that is outside)."""
    import jax.numpy as jnp

    pad = [(0, 0)] * a.ndim
    pad[axis] = (step, 0) if step > 0 else (0, -step)
    padded = jnp.pad(a, pad, constant_values=fill)
    n = a.shape[axis]
    start = 0 if step > 0 else -step
    return jnp.take(padded, np.arange(start, start + n), axis=axis)


def _feet(players: Any, mark: int) -> tuple[Any, Any]:
    """Feet voxel ``[3] int32`` of the player marked ``mark`` (1 = the observer, 2 = the
    other): a marked voxel with no marked voxel below it; and ``[] bool`` whether it is seen."""
    import jax.numpy as jnp

    own = players == mark
    feet = own & ~_shift(own, 1, 1, False)
    idx = jnp.argmax(feet.reshape(-1))  # first match; the env keeps exactly one
    return jnp.stack(jnp.unravel_index(idx, players.shape)).astype(jnp.int32), jnp.any(feet)


def _move_terms(
    feet: Any, free: Any, target: Any, cur_dist: Any, head_above: bool
) -> tuple[Any, Any]:
    """Legality ``[6] bool`` and distance gained ``[6] float32`` of each unit move.

    ``free [X, Y, Z] bool``: air and not the other player; ``target``: voxels to approach;
    ``head_above``: the head may stand just above the grid (``los="mbag"``).
    """
    import jax.numpy as jnp

    size = jnp.array(free.shape, jnp.int32)
    new_feet = feet[None, :] + jnp.array(MOVES, jnp.int32)  # [6, 3]
    up = jnp.array([0, 1, 0], jnp.int32)
    legal = jnp.ones(len(MOVES), bool)
    for i, cell in enumerate((new_feet, new_feet + up)):  # feet and head voxels after the move
        inside = jnp.all((cell >= 0) & (cell < size), axis=1)
        c = jnp.clip(cell, 0, size - 1)
        ok = inside & free[c[:, 0], c[:, 1], c[:, 2]]
        if i == 1 and head_above:
            ok |= cell[:, 1] == size[1]  # the feet test already keeps x, z and y - 1 inside
        legal &= ok
    coords = jnp.asarray(np.indices(free.shape).reshape(3, -1), jnp.float32)  # [3, V]
    eye = (new_feet + up).astype(jnp.float32)
    d2 = jnp.sum((coords[None] - eye[:, :, None]) ** 2, axis=1)  # [6, V]
    d2 = jnp.where(target.reshape(1, -1), d2, jnp.inf)
    gained = cur_dist - jnp.sqrt(jnp.min(d2, axis=1))
    return legal, jnp.where(jnp.isfinite(gained), gained, 0.0)


def _mbag_sight(cfg: EnvConfig, blocks: Any, players: Any, feet: Any) -> tuple[Any, Any]:
    """``(place, brk)`` ``[7, X, Y, Z] bool``: the face conditions of ``los="mbag"``
    (``_los.place_break``) from where the observer stands (row 0) and after each unit move
    (rows 1-6; rows of illegal moves are meaningless), on the blocks and players it sees."""
    import jax
    import jax.numpy as jnp

    from alignlab.assist import _los

    other, seen = _feet(players, 2)
    # an unseen other player is put far outside the grid, where it blocks no ray
    other = jnp.where(seen, other, jnp.full((3,), -(1 << 20), jnp.int32))
    steps = jnp.concatenate([jnp.zeros((1, 3), jnp.int32), jnp.array(MOVES, jnp.int32)])
    flat = blocks.reshape(-1)
    return jax.vmap(lambda f: _los.place_break(cfg.size, cfg.reach, flat, f, other))(
        feet[None] + steps
    )


def _player_mask(feet: Any, shape: tuple[int, ...]) -> Any:
    """``[..., X, Y, Z] bool``: feet and head voxels of players with feet ``[..., 3]``."""
    import jax.numpy as jnp

    f = feet[..., None, None, None, :]
    x, y, z = (jnp.asarray(a) for a in np.indices(shape))
    col = (x == f[..., 0]) & (z == f[..., 2])
    return col & ((y == f[..., 1]) | (y == f[..., 1] + 1))


def _path_steps(free: Any, seeds: Any, far_seeds: Any) -> Any:
    """``[X, Y, Z] float32``: fewest unit moves from each feet voxel to one in ``seeds`` for a
    flying player (feet and head ``free``, the head may stand above the grid), or ``_FAR`` +
    the moves to one in ``far_seeds`` when that is less; inf where none leads there.
    Breadth-first as repeated relaxation (twice the grid's span, a static count)."""
    import jax
    import jax.numpy as jnp

    stand = free & _shift(free, 1, -1, True)  # the head voxel above is free too
    dist = jnp.where(seeds & stand, 0.0, jnp.where(far_seeds & stand, _FAR, jnp.inf))

    def relax(_: Any, d: Any) -> Any:
        near = d
        for axis in range(3):
            for step in (1, -1):
                near = jnp.minimum(near, _shift(d, axis, step, jnp.inf) + 1.0)
        return jnp.where(stand, near, jnp.inf)

    return jax.lax.fori_loop(0, 2 * sum(free.shape), relax, dist)


def _hold_back(blocks: Any, players: Any, need_place: Any, need_break: Any) -> tuple[Any, Any]:
    """``(need_place, cover)`` ``[X, Y, Z] bool`` under ``los="mbag"``: the goal places to make
    now, and the blocks that bury unfinished work.

    Unfinished work is a wrong block, or a goal voxel with a solid face neighbour to place
    against, outside the other player's voxels. A ``cover`` is a non-bedrock block directly
    above unfinished work or above another cover. A place directly above either is held back:
    it would close the top face, for a ground voxel its only open one."""
    import jax.numpy as jnp

    from alignlab.assist import _los

    solid = blocks != AIR
    near_solid = jnp.zeros_like(solid)
    for m in MOVES:
        near_solid |= _los._shifted(solid, m)
    work = ((need_place & near_solid) | need_break) & (players != 2)
    cover = jnp.zeros_like(solid)
    for _ in range(blocks.shape[1]):  # a column of covers grows one voxel per pass
        cover = solid & (blocks != BEDROCK) & _shift(work | cover, 1, 1, False)
    return need_place & ~_shift(work | cover, 1, 1, False), cover


def _stand_by(target: Any, free: Any) -> Any:
    """``[X, Y, Z] bool``: feet voxels whose feet or eye voxel is free air face-next to a
    voxel in ``target`` (where a ray from the eye can start toward it)."""
    import jax.numpy as jnp

    from alignlab.assist import _los

    open_side = jnp.zeros_like(free)
    for m in MOVES:
        open_side |= _los._shifted(target, m)
    open_side &= free
    return open_side | _los._shifted(open_side, (0, 1, 0))


def _mbag_grids(
    cfg: EnvConfig, blocks: Any, players: Any, feet: Any, need: Any, cover: Any
) -> dict[str, Any]:
    """Under ``los="mbag"``: what the human may place or break now (``can_place``,
    ``can_break [X, Y, Z]``; never into its own voxels, a subset of the env's legality), which
    useful voxels can be acted on from somewhere (``target``), after which moves some useful
    voxel can be acted on (``after [6]``), and which moves shorten the way to a standing place
    by a target, or else by a ``cover`` (``closer [6]``; ``reachable []`` whether there is a
    way to either, ``work []`` whether there is one to a target). ``need``: ``(need_place,
    need_break)``, held-back places left out."""
    import jax.numpy as jnp

    from alignlab.assist import _los

    place, brk = _mbag_sight(cfg, blocks, players, feet)
    air, theirs = blocks == AIR, players == 2
    can_place = air & (players == 0) & place[0]
    can_break = ~air & (blocks != BEDROCK) & ~theirs & brk[0]
    moved = _player_mask(feet[None] + jnp.array(MOVES, jnp.int32), blocks.shape)  # [6, X, Y, Z]
    after = jnp.any(need[0] & air & ~theirs & ~moved & place[1:], axis=(1, 2, 3))
    after |= jnp.any(need[1] & ~theirs & brk[1:], axis=(1, 2, 3))
    near_solid, near_air = jnp.zeros_like(air), jnp.zeros_like(air)
    for m in MOVES:
        near_solid |= _los._shifted(~air, m)
        near_air |= _los._shifted(air, m)
    target = ((need[0] & near_solid) | (need[1] & near_air)) & ~theirs
    free = air & ~theirs
    steps = _path_steps(free, _stand_by(target, free), _stand_by(cover, free))
    size = jnp.array(blocks.shape, jnp.int32)
    new_feet = feet[None] + jnp.array(MOVES, jnp.int32)
    inside = jnp.all((new_feet >= 0) & (new_feet < size), axis=1)
    c = jnp.clip(new_feet, 0, size - 1)
    d_new = jnp.where(inside, steps[c[:, 0], c[:, 1], c[:, 2]], jnp.inf)
    d_cur = steps[feet[0], feet[1], feet[2]]
    return {
        "can_place": can_place,
        "can_break": can_break,
        "target": target,
        "after": after,
        "closer": d_new < d_cur,
        "reachable": jnp.isfinite(d_cur),
        "work": d_cur < _FAR,
    }


def _act_utilities(air: Any, acting: Any, dist: Any) -> tuple[Any, Any]:
    """``(u_place, u_break) [X, Y, Z]``: layers above the lowest ``acting`` one cost, then eye
    distance; placing prefers support below, then beside; breaking beats placing."""
    import jax.numpy as jnp

    ys = jnp.asarray(np.indices(air.shape)[1], jnp.float32)
    y_lo = jnp.min(jnp.where(acting, ys, jnp.inf))
    base = -_LAYER_COST * (ys - jnp.where(jnp.any(acting), y_lo, 0.0)) - _DIST_COST * dist
    solid = ~air
    below = _shift(solid, 1, 1, True)  # the floor below y = 0 counts as support
    side = jnp.zeros_like(solid)
    for axis, step in ((0, 1), (0, -1), (1, -1), (2, 1), (2, -1)):
        side |= _shift(solid, axis, step, False)
    u_place = 1.0 + base + _SUPPORT_BELOW * below + _SUPPORT_SIDE * side
    return u_place, 1.0 + _BREAK_BONUS + base


def _utilities(obs: Any, cfg: EnvConfig, held: Any) -> dict[str, Any]:
    """Per-action utilities and candidate masks (see module doc); arrays are ``[X, Y, Z]``
    except ``noop []`` and ``move [6]``. ``held [10] bool``: block ids the human can place."""
    import jax.numpy as jnp

    blocks = jnp.round(obs[OBS_BLOCKS]).astype(jnp.int32)
    goal = jnp.round(obs[OBS_GOAL_BLOCKS]).astype(jnp.int32)
    players = jnp.round(obs[OBS_PLAYERS]).astype(jnp.int32)
    xs, ys, zs = (jnp.asarray(a, jnp.float32) for a in np.indices(blocks.shape))

    feet, _ = _feet(players, 1)
    eye = feet.astype(jnp.float32) + jnp.array([0.0, 1.0, 0.0])
    dist = jnp.sqrt((xs - eye[0]) ** 2 + (ys - eye[1]) ** 2 + (zs - eye[2]) ** 2)
    air = blocks == AIR
    occupied = players != 0
    placeable_goal = (goal >= PLACEABLE[0]) & (goal <= PLACEABLE[-1])
    need_place = air & placeable_goal & held[goal]
    need_break = ~air & (blocks != BEDROCK) & (blocks != goal)
    complete = ~jnp.any(need_place | need_break)

    mbag = cfg.los == "mbag"
    if mbag:
        need_place, cover = _hold_back(blocks, players, need_place, need_break)
        grids = _mbag_grids(cfg, blocks, players, feet, (need_place, need_break), cover)
        can_place, can_break, target = grids["can_place"], grids["can_break"], grids["target"]
    else:
        in_reach = dist <= cfg.reach + 1e-4
        can_place = air & in_reach & ~occupied  # any block: the mistake distribution's support
        can_break = ~air & (blocks != BEDROCK) & in_reach
        target, cover = (need_place | need_break) & ~occupied, jnp.zeros_like(air)
    act_place = need_place & can_place
    act_break = need_break & can_break
    cur = jnp.min(jnp.where(target, dist, jnp.inf))
    legal_move, gained = _move_terms(feet, air & (players != 2), target, cur, mbag)
    if mbag:  # stranded (no work in sight now or after a move, no way to any): dig in
        idle = ~jnp.any(act_place | act_break) & ~jnp.any(legal_move & grids["after"])
        act_break |= (~complete & idle & ~grids["work"]) & cover & can_break
    any_act = jnp.any(act_place | act_break)
    u_place, u_break = _act_utilities(air, act_place | act_break, dist)

    good = legal_move & (gained > 1e-4)  # moves that get closer
    u_move = _MOVE_BASE + gained
    if mbag:  # closer along a path round obstacles; best: a useful voxel comes into sight
        closer = legal_move & grids["closer"]
        good = jnp.where(grids["reachable"], closer, good) | (legal_move & grids["after"])
        u_move += _ACT_AFTER_MOVE * grids["after"] + _PATH_GAIN * closer
    seek = ~any_act & ~complete & jnp.any(target | cover)
    # Fall back to any legal move when boxed in (no move helps), never to standing still.
    move_ok = seek & jnp.where(jnp.any(good), good, legal_move)
    return {
        "noop": jnp.where(complete, _NOOP_DONE, _NOOP_IDLE),
        "move": jnp.where(move_ok, u_move, -jnp.inf),
        "break": jnp.where(act_break, u_break, -jnp.inf),
        "place": jnp.where(act_place, u_place, -jnp.inf),
        "goal": goal,
        "can_place": can_place,
        "can_break": can_break,
    }


def heuristic_logits(
    params: HeuristicParams, key: Any, obs: Any, cfg: EnvConfig, inventory: Any | None = None
) -> Any:
    """Action log-probabilities ``[n_actions] float32`` of the heuristic human.

    ``obs [6, X, Y, Z] float32`` is the human's own observation (goal channels filled);
    ``inventory [2, 10]``: its ``observe_inventory`` (needed with finite inventories, else
    ignored); ``key`` is unused (the heuristic is deterministic given ``obs``; kept for the
    policy signature). Pure and jit/vmap-able with ``cfg`` static.
    """
    import jax
    import jax.numpy as jnp

    del key
    if cfg.finite_inventory:
        if inventory is None:
            from alignlab.core import AlignlabError

            raise AlignlabError(
                "finite inventories: pass the human's inventory (observe_inventory)",
                field="inventory",
            )
        held = jnp.asarray(inventory)[0] >= 1
    else:
        held = jnp.ones((N_BLOCKS,), bool)
    u = _utilities(obs, cfg, held)
    blocks = jnp.asarray(PLACEABLE, jnp.int32)[:, None, None, None]
    place_ok = u["goal"][None] == blocks  # [8, X, Y, Z]: only the goal's own block is useful
    u_place = jnp.where(place_ok, u["place"][None], -jnp.inf)
    utility = jnp.concatenate(
        [u["noop"][None], u["move"], u["break"].reshape(-1), u_place.reshape(-1)]
    )
    beta = jnp.asarray(params.beta, jnp.float32)
    logits = jnp.where(jnp.isfinite(utility), beta * utility, NEG)
    log_h = jax.nn.log_softmax(logits)

    can_place = u["can_place"][None] & held[2:, None, None, None]  # [8, X, Y, Z]
    support = jnp.concatenate(
        [jnp.zeros(1 + len(MOVES), bool), u["can_break"].reshape(-1), can_place.reshape(-1)]
    )
    n = jnp.sum(support)
    log_u = jnp.where(support, -jnp.log(jnp.maximum(n, 1).astype(jnp.float32)), -jnp.inf)
    m = jnp.where(n > 0, jnp.asarray(params.mistake_rate, jnp.float32), 0.0)
    mixed = jnp.maximum(jnp.logaddexp(jnp.log1p(-m) + log_h, jnp.log(m) + log_u), NEG)
    if cfg.finite_inventory:  # the heuristic never gives
        mixed = jnp.concatenate([mixed, jnp.full((N_PLACEABLE,), NEG)])
    return mixed.astype(jnp.float32)


def heuristic_policy(
    params: HeuristicParams | None = None, cfg: EnvConfig | None = None
) -> Callable[..., Any]:
    """The human as ``policy(params, key, obs_with_goal, inventory=None) -> logits
    [n_actions]`` (``inventory`` as in ``heuristic_logits``).

    ``cfg`` is closed over (static); ``params`` here is the default used when the closure is
    called with ``params=None``, so a fixed human can be passed where a parametrised one is
    expected.
    """
    default = params if params is not None else HeuristicParams()
    config = cfg if cfg is not None else EnvConfig()

    def policy(p: HeuristicParams | None, key: Any, obs: Any, inventory: Any = None) -> Any:
        return heuristic_logits(default if p is None else p, key, obs, config, inventory)

    return policy


def sample_action(logits: Any, key: Any) -> Any:
    """One action ``int32 []`` (or ``[B]`` for ``[B, n_actions]`` logits) from log-probabilities."""
    import jax

    return jax.random.categorical(key, logits, axis=-1).astype("int32")
