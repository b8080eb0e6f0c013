"""Flat action ids of the original MBAG (AssistanceZero, arXiv 2504.07091) and of the MBAG
conformance fixture, converted to and from alignlab's layout (``_layout``). Pure numpy,
vectorised over arrays of ids of any shape; no JAX.

The original layout (no teleportation, the paper's setting; ``V = X·Y·Z``, voxels indexed
``v = (x·Y + y)·Z + z`` as in alignlab, block ids as in alignlab):

| ids | action |
|---|---|
| 0 | NOOP |
| ``1 + b·V + v`` | PLACE_BLOCK(v, b), b ∈ 0..9 (air and bedrock included, never legal) |
| ``1 + 10·V + v`` | BREAK_BLOCK(v) |
| ``1 + 11·V + k`` | move k ∈ 0..5: +x, −x, +y, −y, +z, −z |
| ``7 + 11·V + b·V + v`` | GIVE_BLOCK(v, b), b ∈ 0..9, v the receiver's feet (finite only) |

so ``7 + 11·V`` ids (12,107 on the 11×10×10 grid), ``7 + 21·V`` with finite inventories.
The fixture's 9,907-id layout is alignlab's infinite-inventory layout id for id; it has no GIVE.

``strict=True`` (the default) raises ``AlignlabError`` naming the first id without a
counterpart; ``strict=False`` maps such ids to -1 and passes -1 inputs through, so padded id
arrays survive. Ids outside the source layout always raise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from alignlab.assist._layout import BLOCK_NAMES, BREAK_OFFSET, N_MOVES, EnvConfig, give_offset
from alignlab.core.errors import AlignlabError

IntArray = npt.NDArray[np.int64]

# original-MBAG block ids equal alignlab's (air, bedrock, dirt, ..., wool): 10 PLACE channels
_MB_BLOCKS = len(BLOCK_NAMES)


def _mb_offsets(v_n: int) -> tuple[int, int, int]:
    """First BREAK_BLOCK, first move and first GIVE_BLOCK id of the original layout."""
    brk = 1 + _MB_BLOCKS * v_n
    return brk, brk + v_n, brk + v_n + N_MOVES


def mbag_n_actions(cfg: EnvConfig) -> int:
    """Ids in the original MBAG flat layout: ``7 + 11·V`` (12,107 on the paper grid), plus
    ``10·V`` GIVE_BLOCK ids with finite inventories."""
    v_n = cfg.n_voxels
    return _mb_offsets(v_n)[2] + (_MB_BLOCKS * v_n if cfg.finite_inventory else 0)


def fixture_n_actions(cfg: EnvConfig) -> int:
    """Ids in the conformance fixture's layout: ``7 + 9·V`` (9,907 on the paper grid)."""
    return give_offset(cfg.n_voxels)


def _ids(ids: Any, top: int, strict: bool, layout: str) -> IntArray:
    a = np.asarray(ids)
    if a.dtype.kind not in "iu" and a.size:
        raise AlignlabError(f"{layout} action ids must be integers, got {a.dtype}", field="action")
    a = a.astype(np.int64)
    bad = (a < 0) | (a >= top)
    if not strict:
        bad &= a != -1
    if bad.any():
        raise AlignlabError(
            f"{layout} action {int(a[bad].flat[0])} not in 0..{top - 1}", field="action"
        )
    return a


def _refuse(out: IntArray, src: IntArray, strict: bool, what: Callable[[int], str]) -> IntArray:
    missing = (out < 0) & (src >= 0)
    if strict and missing.any():
        first = int(src[missing].flat[0])
        raise AlignlabError(f"{what(first)}; pass strict=False to get -1", field="action")
    return out


def to_mbag(ids: Any, cfg: EnvConfig, *, give_voxel: Any = None, strict: bool = True) -> IntArray:
    """Original-MBAG ids of alignlab ids (any shape, same shape out, int64).

    alignlab's GIVE(b) has no location; MBAG's GIVE_BLOCK(v, b) names the receiver's feet voxel.
    Pass ``give_voxel`` (flat voxel index, broadcastable to ``ids``) to map GIVE ids; without it
    they have no counterpart. With finite inventories the games differ beyond the ids: MBAG's
    non-human giver hands over up to 5 blocks from within one voxel, and MBAG keeps a block
    palette at ``x = X − 1``.
    """
    v_n = cfg.n_voxels
    a = _ids(ids, cfg.n_actions, strict, "alignlab")
    go, po = give_offset(v_n), BREAK_OFFSET + v_n
    mb_brk, mb_mov, mb_giv = _mb_offsets(v_n)
    r = a - po
    out = np.where(
        a == 0,
        0,
        np.where(
            a < BREAK_OFFSET,
            mb_mov + (a - 1),  # moves, same order in both
            np.where(
                a < po,
                mb_brk + (a - BREAK_OFFSET),  # BREAK
                1 + (r // v_n + 2) * v_n + r % v_n,  # PLACE(v, b)
            ),
        ),
    )
    give = a >= go
    if give_voxel is None:
        out = np.where(give, -1, out)
    else:
        gv = np.broadcast_to(np.asarray(give_voxel, dtype=np.int64), a.shape)
        if ((gv < 0) | (gv >= v_n))[give].any():
            raise AlignlabError(f"give_voxel not in 0..{v_n - 1}", field="give_voxel")
        out = np.where(give, mb_giv + (a - go + 2) * v_n + gv, out)
    out = np.where(a < 0, -1, out).astype(np.int64)

    def what(i: int) -> str:
        return f"alignlab action {i} (GIVE {BLOCK_NAMES[i - go + 2]}) needs give_voxel for MBAG"

    return _refuse(out, a, strict, what)


def _mbag_name(i: int, v_n: int) -> str:
    giv = _mb_offsets(v_n)[2]
    if i >= giv:
        r = i - giv
        return f"GIVE_BLOCK {BLOCK_NAMES[r // v_n]} at voxel {r % v_n}"
    r = i - 1
    return f"PLACE_BLOCK {BLOCK_NAMES[r // v_n]} at voxel {r % v_n}"


def from_mbag(ids: Any, cfg: EnvConfig, *, strict: bool = True) -> IntArray:
    """alignlab ids of original-MBAG ids (any shape, same shape out, int64).

    PLACE_BLOCK and GIVE_BLOCK of air or bedrock have no counterpart (never legal in MBAG
    either). GIVE_BLOCK(v, b) maps to GIVE(b), dropping the location (many to one).
    """
    v_n = cfg.n_voxels
    a = _ids(ids, mbag_n_actions(cfg), strict, "MBAG")
    brk, mov, giv = _mb_offsets(v_n)
    rp, rg = a - 1, a - giv
    bp, bg = rp // v_n, rg // v_n
    place = np.where(bp >= 2, BREAK_OFFSET + v_n + (bp - 2) * v_n + rp % v_n, -1)
    give = np.where(bg >= 2, give_offset(v_n) + bg - 2, -1)
    out = np.where(
        a <= 0,
        np.where(a == 0, 0, -1),
        np.where(
            a < brk,
            place,
            np.where(a < mov, BREAK_OFFSET + (a - brk), np.where(a < giv, 1 + (a - mov), give)),
        ),
    ).astype(np.int64)

    def what(i: int) -> str:
        return f"MBAG action {i} ({_mbag_name(i, v_n)}) has no alignlab counterpart"

    return _refuse(out, a, strict, what)


def from_fixture_layout(ids: Any, cfg: EnvConfig, *, strict: bool = True) -> IntArray:
    """alignlab ids of ids in the fixture's layout (0 NOOP; 1–6 moves; ``7 + v`` BREAK;
    ``7 + V + (b − 2)·V + v`` PLACE). It is alignlab's infinite-inventory layout, so every id
    maps to itself, checked against ``fixture_n_actions(cfg)``."""
    return _ids(ids, fixture_n_actions(cfg), strict, "fixture")


def to_fixture_layout(ids: Any, cfg: EnvConfig, *, strict: bool = True) -> IntArray:
    """Fixture-layout ids of alignlab ids; GIVE ids (finite inventories) have no counterpart."""
    a = _ids(ids, cfg.n_actions, strict, "alignlab")
    out = np.where(a >= fixture_n_actions(cfg), -1, a).astype(np.int64)

    def what(i: int) -> str:
        return f"alignlab action {i} (GIVE) has no counterpart in the fixture's layout"

    return _refuse(out, a, strict, what)


def _vector(values: Any, n: int, layout: str) -> np.ndarray:
    x = np.asarray(values)
    if x.ndim == 0 or x.shape[-1] != n:
        raise AlignlabError(f"expected [..., {n}] over {layout} ids, got {x.shape}", field="values")
    return x


def vector_to_mbag(
    values: Any, cfg: EnvConfig, *, fill: Any = 0, give_voxel: int | None = None
) -> np.ndarray:
    """``[..., n_actions]`` (a mask, logits, probabilities over alignlab ids) →
    ``[..., mbag_n_actions]``; ids without a counterpart get ``fill`` (False, -inf, 0)."""
    x = _vector(values, cfg.n_actions, "alignlab")
    src = np.arange(cfg.n_actions)
    idx = to_mbag(src, cfg, give_voxel=give_voxel, strict=False)
    ok = idx >= 0
    out = np.full((*x.shape[:-1], mbag_n_actions(cfg)), fill, dtype=x.dtype)
    out[..., idx[ok]] = x[..., src[ok]]
    return out


def vector_from_mbag(
    values: Any, cfg: EnvConfig, *, fill: Any = 0, give_voxel: int | None = None
) -> np.ndarray:
    """``[..., mbag_n_actions]`` → ``[..., n_actions]``: each alignlab id takes its MBAG id's
    value (GIVE(b) the one at ``give_voxel``, else ``fill``); PLACE of air/bedrock is dropped."""
    x = _vector(values, mbag_n_actions(cfg), "MBAG")
    idx = to_mbag(np.arange(cfg.n_actions), cfg, give_voxel=give_voxel, strict=False)
    ok = idx >= 0
    out = np.full((*x.shape[:-1], cfg.n_actions), fill, dtype=x.dtype)
    out[..., ok] = x[..., idx[ok]]
    return out
