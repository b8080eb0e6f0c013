"""Validation of configs and goals, and the grid geometry (reach, sight, moves, player voxels)
that both ``_env.step`` and the legality masks (``_masks``) use; ``_env`` re-exports the public
names."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from alignlab.assist import _rewards
from alignlab.assist._layout import AIR, MOVES, N_BLOCKS, N_PLAYERS, EnvConfig
from alignlab.core import AlignlabError

_UP = np.array([0, 1, 0], np.int32)
_MOVES = np.array(MOVES, np.int32)  # [6, 3]
LOS_SAMPLES = 16


# ---------------------------------------------------------------- validation (never traced)


def validate_config(cfg: EnvConfig) -> None:
    """Raise for settings this environment cannot run (called at trace time: cfg is static)."""
    x, y, z = cfg.size
    if y < 4 or x < 1 or z < 1 or x * z < 2:
        raise AlignlabError(f"grid {cfg.size} too small: need Y >= 4 and X*Z >= 2", field="size")
    if cfg.horizon < 1:
        raise AlignlabError("horizon must be >= 1", field="horizon")
    if cfg.los not in ("mbag", "centre", "off"):
        raise AlignlabError(f"los {cfg.los!r} not one of mbag, centre, off", field="los")
    if cfg.start not in ("ground", "mbag"):
        raise AlignlabError(f"start {cfg.start!r} not one of ground, mbag", field="start")
    _rewards.validate_config(cfg)
    if cfg.last_interacted_obs not in ("relative", "absolute"):
        raise AlignlabError(
            f"last_interacted_obs {cfg.last_interacted_obs!r} not relative or absolute",
            field="last_interacted_obs",
        )
    if cfg.finite_inventory:
        if cfg.inventory_max < 1:
            raise AlignlabError("inventory_max must be >= 1", field="inventory_max")
        start = tuple(np.atleast_1d(cfg.inventory_start).tolist())
        if len(start) != N_PLAYERS or not all(0 <= n <= cfg.inventory_max for n in start):
            raise AlignlabError(
                f"inventory_start must be (human, assistant) counts in 0..{cfg.inventory_max}",
                field="inventory_start",
            )


def validate_goal(cfg: EnvConfig, goal: object) -> jax.Array:
    """Check a goal ``[X, Y, Z]`` of block ids 0..9 and return it as uint8.

    Under tracing (e.g. ``vmap(init)``) only the shape can be checked.
    """
    if isinstance(goal, jax.core.Tracer):
        if tuple(goal.shape) != cfg.size:
            raise AlignlabError(f"goal shape {goal.shape} != grid {cfg.size}", field="goal")
        return goal.astype(jnp.uint8)
    arr = np.asarray(goal)
    if arr.shape != cfg.size:
        raise AlignlabError(f"goal shape {arr.shape} != grid {cfg.size}", field="goal")
    if arr.dtype.kind not in "iub":
        raise AlignlabError(f"goal must hold integer block ids, got {arr.dtype}", field="goal")
    if arr.size and (arr.min() < 0 or arr.max() >= N_BLOCKS):
        raise AlignlabError(f"goal block ids must be in 0..{N_BLOCKS - 1}", field="goal")
    return jnp.asarray(arr, jnp.uint8)


# ---------------------------------------------------------------- geometry


def _flat(cfg: EnvConfig, xyz: jax.Array) -> jax.Array:
    _, ny, nz = cfg.size
    return (xyz[..., 0] * ny + xyz[..., 1]) * nz + xyz[..., 2]


def _in_grid(cfg: EnvConfig, xyz: jax.Array) -> jax.Array:
    return jnp.all((xyz >= 0) & (xyz < jnp.asarray(cfg.size, jnp.int32)), axis=-1)


def _is_air(cfg: EnvConfig, flat_blocks: jax.Array, xyz: jax.Array) -> jax.Array:
    """Air at ``xyz [..., 3]``; out-of-grid reads as not air."""
    ok = _in_grid(cfg, xyz)
    idx = jnp.where(ok, _flat(cfg, xyz), 0)
    return ok & (flat_blocks[idx] == AIR)


def _in_sight(
    cfg: EnvConfig, flat_blocks: jax.Array, eye: jax.Array, target: jax.Array
) -> jax.Array:
    """``[...] bool``: the sampled ray from ``eye [3]`` to ``target [..., 3]`` meets only air
    or the target (both voxel centres; exact integer floor of ``e + .5 + k (t - e) / n``)."""
    n = LOS_SAMPLES
    k = jnp.arange(1, n, dtype=jnp.int32)[:, None]  # [n-1, 1]
    diff = (target - eye)[..., None, :]  # [..., 1, 3]
    cells = (n * (2 * eye + 1) + 2 * k * diff) // (2 * n)  # [..., n-1, 3]
    hit = ~_is_air(cfg, flat_blocks, cells) & ~jnp.all(cells == target[..., None, :], axis=-1)
    return ~jnp.any(hit, axis=-1)


def _moves_ok(cfg: EnvConfig, flat_blocks: jax.Array, positions: jax.Array, p: int) -> jax.Array:
    """``[6] bool``: legality of each move of player ``p``."""
    feet = positions[p] + _MOVES  # [6, 3]
    other = positions[1 - p]
    head_ok = _is_air(cfg, flat_blocks, feet + _UP)
    if cfg.los == "mbag":  # the original lets the head stand above the grid
        head_ok |= (feet[:, 1] + 1 == cfg.size[1]) & _in_grid(cfg, feet)
    free = _is_air(cfg, flat_blocks, feet) & head_ok
    # both players are vertical pairs, so they overlap iff same column and |dy| <= 1
    clash = (
        (feet[:, 0] == other[0]) & (feet[:, 2] == other[2]) & (jnp.abs(feet[:, 1] - other[1]) <= 1)
    )
    return free & ~clash


def _other_in_reach(cfg: EnvConfig, positions: jax.Array, p: int | jax.Array) -> jax.Array:
    """``[] bool``: a voxel (feet or head) of the other player is within reach of p's eye."""
    eye = positions[p] + _UP
    other = positions[1 - p]
    d2 = jnp.minimum(jnp.sum((other - eye) ** 2), jnp.sum((other + _UP - eye) ** 2))
    return d2 <= int(np.floor(cfg.reach * cfg.reach))


def _player_voxels(cfg: EnvConfig, feet: jax.Array) -> jax.Array:
    """``[X, Y, Z] bool``: the feet and head voxels of a player with feet ``[3]`` (separable:
    an outer product of three small vectors, cheaper than comparing full coordinate grids)."""
    nx, ny, nz = cfg.size
    in_x = jnp.arange(nx) == feet[0]
    in_y = (jnp.arange(ny) == feet[1]) | (jnp.arange(ny) == feet[1] + 1)
    in_z = jnp.arange(nz) == feet[2]
    return in_x[:, None, None] & in_y[None, :, None] & in_z[None, None, :]
