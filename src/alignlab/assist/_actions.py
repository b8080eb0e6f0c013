"""Flat action ids of the building assistance game (layout in ``_layout``): encoding for
people and tests, decoding in plain Python and as JAX arithmetic for the step."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from alignlab.assist._layout import (
    BREAK_OFFSET,
    N_BLOCKS,
    N_MOVES,
    NOOP,
    give_offset,
    n_actions,
    place_offset,
)
from alignlab.core import AlignlabError

KIND_NOOP, KIND_MOVE, KIND_BREAK, KIND_PLACE, KIND_GIVE = 0, 1, 2, 3, 4
KINDS = ("noop", "move", "break", "place", "give")


def encode_action(
    kind: str, v: int = 0, block: int = 0, *, n_voxels: int, finite_inventory: bool = False
) -> int:
    """Flat action id. ``kind``: noop | move (``v`` = move index 0..5) | break | place | give
    (``block`` only; finite inventories only)."""
    if kind == "noop":
        return NOOP
    if kind == "move":
        if not 0 <= v < N_MOVES:
            raise AlignlabError(f"move index {v} not in 0..{N_MOVES - 1}", field="action")
        return 1 + v
    if kind in ("place", "give") and not 2 <= block < N_BLOCKS:
        raise AlignlabError(f"block {block} not placeable (2..9)", field="action")
    if kind == "give":
        if not finite_inventory:
            raise AlignlabError("GIVE exists only with finite inventories", field="action")
        return give_offset(n_voxels) + block - 2
    if not 0 <= v < n_voxels:
        raise AlignlabError(f"voxel {v} not in 0..{n_voxels - 1}", field="action")
    if kind == "break":
        return BREAK_OFFSET + v
    if kind == "place":
        return place_offset(n_voxels) + (block - 2) * n_voxels + v
    raise AlignlabError(f"unknown action kind {kind!r}", field="action")


def decode_action(a: int, n_voxels: int, finite_inventory: bool = False) -> tuple[str, int, int]:
    """``(kind, v, block)`` of a flat action id; ``v`` is the move index for moves."""
    a = int(a)
    top = n_actions(n_voxels, finite_inventory)
    if not 0 <= a < top:
        raise AlignlabError(f"action {a} not in 0..{top - 1}", field="action")
    if a >= give_offset(n_voxels):
        return "give", 0, a - give_offset(n_voxels) + 2
    if a == NOOP:
        return "noop", 0, 0
    if a < BREAK_OFFSET:
        return "move", a - 1, 0
    if a < place_offset(n_voxels):
        return "break", a - BREAK_OFFSET, 0
    r = a - place_offset(n_voxels)
    return "place", r % n_voxels, r // n_voxels + 2


def decode_action_jax(
    a: jax.Array, n_voxels: int, finite_inventory: bool = False
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Arithmetic decode ``(kind id, v, block)``; out-of-range ids decode as NOOP."""
    po, go = place_offset(n_voxels), give_offset(n_voxels)
    is_move = (a >= 1) & (a < BREAK_OFFSET)
    is_break = (a >= BREAK_OFFSET) & (a < po)
    is_place = (a >= po) & (a < go)
    is_give = (a >= go) & (a < n_actions(n_voxels, finite_inventory))
    # nested wheres, not jnp.select: select lowers to an argmax reduction per call, which XLA
    # keeps as separate kernels (the per-call cost of stepping one game)
    kind = jnp.where(
        is_move,
        KIND_MOVE,
        jnp.where(is_break, KIND_BREAK, jnp.where(is_place, KIND_PLACE, KIND_NOOP)),
    )
    kind = jnp.where(is_give, KIND_GIVE, kind)
    r = a - po
    v = jnp.where(
        is_move, a - 1, jnp.where(is_break, a - BREAK_OFFSET, jnp.where(is_place, r % n_voxels, 0))
    )
    block = jnp.where(is_place, r // n_voxels + 2, jnp.where(is_give, a - go + 2, 0))
    return kind.astype(jnp.int32), v.astype(jnp.int32), block.astype(jnp.int32)
