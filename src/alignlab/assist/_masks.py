"""Legality masks of the building assistance game (rules in ``_env``'s module doc):
``legal_masks``, ``packed_masks``, ``unpack_masks``, ``flat_mask``, ``legal_action_mask``;
``_env`` re-exports them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from alignlab.assist import _los
from alignlab.assist._geometry import (
    _UP,
    _in_sight,
    _moves_ok,
    _other_in_reach,
    _player_voxels,
    validate_config,
)
from alignlab.assist._layout import (
    AIR,
    ASSISTANT,
    BEDROCK,
    HUMAN,
    N_MOVES,
    N_PLACEABLE,
    EnvConfig,
)

if TYPE_CHECKING:
    from alignlab.assist._env import State


class LegalMasks(NamedTuple):
    """One player's factorised legality (see ``legal_masks``)."""

    place: jax.Array  # [X, Y, Z] bool: PLACE(v, b) is legal iff place[v] and held[b - 2]
    brk: jax.Array  # [X, Y, Z] bool: BREAK(v)
    globals: jax.Array  # [7] bool: NOOP, then the 6 moves
    held: jax.Array  # [8] bool: the player holds a block of type 2..9 (all True if infinite)
    give: jax.Array  # [8] bool: GIVE(b) for b = 2..9 (all False if infinite)


def _reach_mask(cfg: EnvConfig, feet: jax.Array) -> jax.Array:
    """``[X, Y, Z] bool``: voxels within ``reach`` of the eye of a player with feet ``[3]``."""
    eye = feet + _UP
    sq = [(jnp.arange(n) - eye[i]) ** 2 for i, n in enumerate(cfg.size)]
    d2 = sq[0][:, None, None] + sq[1][None, :, None] + sq[2][None, None, :]
    return d2 <= int(np.floor(cfg.reach * cfg.reach))  # d2 is an integer


def _adjacent(blocks: jax.Array) -> jax.Array:
    """``[X, Y, Z] bool``: some face neighbour in the grid is non-air."""
    solid = jnp.pad(blocks != AIR, 1)  # out-of-grid neighbours count as air
    return (
        solid[2:, 1:-1, 1:-1]
        | solid[:-2, 1:-1, 1:-1]
        | solid[1:-1, 2:, 1:-1]
        | solid[1:-1, :-2, 1:-1]
        | solid[1:-1, 1:-1, 2:]
        | solid[1:-1, 1:-1, :-2]
    )


def _masks_from(cfg, state, player, free, breakable):  # type: ignore[no-untyped-def]
    """One player's masks given the player-independent ``free`` (air, unoccupied, adjacent)
    and ``breakable`` grids."""
    pos = state.positions
    flat = state.blocks.reshape(-1)
    if cfg.los == "mbag":
        feet, other = pos[player], pos[1 - player]
        place_seen, break_seen = _los.place_break(cfg.size, cfg.reach, flat, feet, other)
        theirs = _player_voxels(cfg, other)
        free = (state.blocks == AIR) & ~theirs & place_seen
        breakable = breakable & ~theirs & break_seen
        in_reach = jnp.ones(cfg.size, bool)
    else:
        in_reach = _reach_mask(cfg, pos[player])
    if cfg.los == "centre":
        grid = jnp.stack(jnp.meshgrid(*[jnp.arange(n) for n in cfg.size], indexing="ij"), -1)
        in_reach &= _in_sight(cfg, flat, pos[player] + _UP, grid)
    moves = jnp.where(
        player == HUMAN, _moves_ok(cfg, flat, pos, HUMAN), _moves_ok(cfg, flat, pos, ASSISTANT)
    )
    glob = jnp.concatenate([jnp.ones((1,), bool), moves])
    if cfg.finite_inventory:
        inv = state.inventory
        held = inv[player, 2:] >= 1
        give = held & (inv[1 - player, 2:] < cfg.inventory_max) & _other_in_reach(cfg, pos, player)
    else:
        held, give = jnp.ones((N_PLACEABLE,), bool), jnp.zeros((N_PLACEABLE,), bool)
    return LegalMasks(free & in_reach, breakable & in_reach, glob, held, give)


def _shared(cfg: EnvConfig, state: State) -> tuple[jax.Array, jax.Array]:
    blocks = state.blocks
    if cfg.los == "mbag":  # free: per player (see _masks_from)
        return blocks == AIR, (blocks != AIR) & (blocks != BEDROCK)
    occupied = _player_voxels(cfg, state.positions[0]) | _player_voxels(cfg, state.positions[1])
    free = (blocks == AIR) & ~occupied & _adjacent(blocks)
    return free, (blocks != AIR) & (blocks != BEDROCK)


def legal_masks(cfg: EnvConfig, state: State, player: int | jax.Array) -> LegalMasks:
    """Factorised legality for ``player`` on ``state``: ``LegalMasks(place [X,Y,Z], brk
    [X,Y,Z], globals [7], held [8], give [8])``, all bool; ``globals`` = NOOP then the 6
    moves. PLACE(v, b) is legal iff ``place[v] & held[b - 2]`` (``held`` is all True with
    infinite inventories). For the assistant the mask is taken on ``state`` itself; the
    human's action in the same step may still pre-empt it."""
    validate_config(cfg)
    return _masks_from(cfg, state, jnp.asarray(player, jnp.int32), *_shared(cfg, state))


def packed_masks(cfg: EnvConfig, state: State) -> jax.Array:
    """Both players' factorised masks in one ``[2, 2V + 23] bool`` array (row = player; per
    row ``place (V) | brk (V) | globals (7) | held (8) | give (8)``, voxels flat).

    For callers that step one game per jitted call: every output array costs a few
    microseconds of dispatch, so one array instead of ten is what makes single-game stepping
    fast (see ``benchmarks/bench_assist_env.py``). ``unpack_masks`` turns a row back into
    ``LegalMasks``."""
    validate_config(cfg)
    free, breakable = _shared(cfg, state)
    rows = []
    for p in (HUMAN, ASSISTANT):
        m = _masks_from(cfg, state, jnp.int32(p), free, breakable)
        rows.append(jnp.concatenate([m.place.reshape(-1), m.brk.reshape(-1), *m[2:]]))
    return jnp.stack(rows)


def unpack_masks(cfg: EnvConfig, row: Any) -> LegalMasks:
    """The ``LegalMasks`` of one row of ``packed_masks`` (works on numpy or JAX arrays)."""
    n = cfg.n_voxels
    cuts = np.cumsum([n, n, 1 + N_MOVES, N_PLACEABLE])
    place, brk, glob, held, give = (
        row[a:b] for a, b in zip([0, *cuts], [*cuts, None], strict=True)
    )
    return LegalMasks(place.reshape(cfg.size), brk.reshape(cfg.size), glob, held, give)


def flat_mask(cfg: EnvConfig, masks: LegalMasks) -> jax.Array:
    """``[n_actions] bool`` from the factorised masks."""
    if not cfg.finite_inventory:  # every block is held: the PLACE part is the voxel mask tiled
        places = jnp.tile(masks.place.reshape(-1), N_PLACEABLE)
        return jnp.concatenate([masks.globals, masks.brk.reshape(-1), places])
    places = (masks.held[:, None] & masks.place.reshape(1, -1)).reshape(-1)
    return jnp.concatenate([masks.globals, masks.brk.reshape(-1), places, masks.give])


def legal_action_mask(cfg: EnvConfig, state: State, player: int | jax.Array) -> jax.Array:
    """``[n_actions] bool``: the flat legality mask of ``player`` (built from ``legal_masks``)."""
    return flat_mask(cfg, legal_masks(cfg, state, player))
