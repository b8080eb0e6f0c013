"""The original MBAG's reach and line-of-sight rule (``EnvConfig.los = "mbag"``), as
precomputed ray tables and JAX gathers.

The rule (MBAG of AssistanceZero, arXiv 2504.07091, as its environment applies it): a player
aims from its eye, 1.6 above the bottom of its feet voxel and centred in x and z, at 9 points
on a face of a voxel (``u, v`` in {0.1, 0.5, 0.9} across the face, 1e-4 off the face plane
inside the voxel whose face it is). A point counts when it is within ``reach`` of the eye
(Euclidean) and the grid traversal of the segment (Amanatides & Woo; ties step x before y
before z) enters no obstructed voxel: a non-air block or a voxel of the other player. The
eye's own voxel is not tested; the voxel holding the point is.

* PLACE(v) needs a face of ``v`` whose neighbour across it is in the grid and non-air (the
  face placed against) with a counting point inside ``v`` on that face.
* BREAK(n) needs a face of ``n`` whose neighbour ``c`` across it is in the grid with a
  counting point inside ``c`` on the face shared with ``n`` (so the face must be exposed).

Rays are traced in coordinates relative to the player's feet, so a ray's voxels are the
same wherever the player stands: one table per ``reach`` lists, for each end voxel offset
``d``, face and point, the voxels crossed as flat offsets into a padded obstruction grid,
and the masks become gathers. A voxel ``c`` with face ``k`` is "seen" (``seen[c, k]``) when
one of its 9 points counts.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from alignlab.assist._layout import AIR, MOVES

EYE = (0.5, 1.6, 0.5)  # relative to the feet voxel's lower corner
SHIFT = 1e-4
UV = (0.1, 0.5, 0.9)


def face_points(d: tuple[int, int, int], k: int) -> list[tuple[float, float, float]]:
    """The 9 aim points inside voxel ``d`` on its face ``k`` (``MOVES[k]``'s direction)."""
    axis = next(i for i in range(3) if MOVES[k][i])
    plane = 1.0 - SHIFT if MOVES[k][axis] > 0 else SHIFT
    out = []
    for u in UV:
        for v in UV:
            p = [float(d[0]), float(d[1]), float(d[2])]
            p[axis] += plane
            p[(axis + 1) % 3] += u
            p[(axis + 2) % 3] += v
            out.append((p[0], p[1], p[2]))
    return out


@functools.lru_cache(maxsize=1 << 16)
def traverse(eye: tuple[float, ...], point: tuple[float, ...]) -> tuple[tuple[int, int, int], ...]:
    """Voxels entered by the segment eye -> point, in order, the eye's voxel excluded."""
    delta = [p - e for p, e in zip(point, eye, strict=True)]
    step = [int(math.copysign(1, dl)) for dl in delta]
    t_max, t_delta = [], []
    for e, dl, s in zip(eye, delta, step, strict=True):
        t_max.append(1.0 if dl == 0 else abs(((-s * e) - math.floor(-s * e)) / dl))
        t_delta.append(1.0 if dl == 0 else abs(1.0 / dl))
    cell = [math.floor(e) for e in eye]
    cells = []
    while min(t_max) < 1:
        if t_max[0] <= t_max[1] and t_max[0] <= t_max[2]:
            i = 0
        elif t_max[1] <= t_max[2] and t_max[1] < t_max[0]:
            i = 1
        else:
            i = 2
        cell[i] += step[i]
        t_max[i] += t_delta[i]
        cells.append((cell[0], cell[1], cell[2]))
    return tuple(cells)


def reaches(eye: tuple[float, ...], point: tuple[float, ...], reach: float) -> bool:
    return sum((p - e) ** 2 for p, e in zip(point, eye, strict=True)) <= reach * reach


@functools.lru_cache(maxsize=8)
def ray_table(reach: float) -> tuple[np.ndarray, ...]:
    """``(offsets [D, 3], cells [D, 6, 9, L, 3], ok [D, 6, 9, L], never [D, 6, 9])`` for every
    end voxel offset ``d`` with a point in reach: the voxels each ray crosses (relative to the
    feet), which slots are real (a slot past the ray's end is not), and which points are out of
    reach (their rays never count)."""
    r = int(math.ceil(reach)) + 2
    offsets, rays = [], []
    for dx in range(-r, r + 1):
        for dy in range(-r, r + 2):
            for dz in range(-r, r + 1):
                d = (dx, dy, dz)
                per_face = []
                for k in range(6):
                    pts = face_points(d, k)
                    per_face.append(
                        [traverse(EYE, p) if reaches(EYE, p, reach) else None for p in pts]
                    )
                if any(ray is not None for face in per_face for ray in face):
                    offsets.append(d)
                    rays.append(per_face)
    n_len = max([1] + [len(ray) for per_face in rays for face in per_face for ray in face if ray])
    cells = np.zeros((len(rays), 6, 9, n_len, 3), np.int32)
    ok = np.zeros((len(rays), 6, 9, n_len), bool)
    never = np.zeros((len(rays), 6, 9), bool)
    for i, per_face in enumerate(rays):
        for k, face in enumerate(per_face):
            for j, ray in enumerate(face):
                never[i, k, j] = ray is None
                for s, c in enumerate(ray or []):
                    cells[i, k, j, s] = c
                    ok[i, k, j, s] = True
    return np.asarray(offsets, np.int32), cells, ok, never


def pad(reach: float) -> int:
    """Padding of the obstruction grid on every side: more than any ray's offset."""
    return int(math.ceil(reach)) + 4


def padded_shape(size: tuple[int, int, int], reach: float) -> tuple[int, int, int]:
    return tuple(n + 2 * pad(reach) for n in size)  # type: ignore[return-value]


@functools.lru_cache(maxsize=8)
def _gather_table(size: tuple[int, int, int], reach: float) -> tuple[np.ndarray, ...]:
    """``(flat [D+1, 6, 9, L], ok [D+1, 6, 9, L], never [D+1, 6, 9], box)``: the rays' voxels
    as flat offsets into the padded grid, with one extra never-seen row ``D``; ``box [2X-1, 2Y,
    2Z-1]`` maps every relative position in the grid to its row (``D`` when none)."""
    offsets, cells, ok, never = ray_table(reach)
    _, py, pz = padded_shape(size, reach)
    flat = np.where(ok, (cells[..., 0] * py + cells[..., 1]) * pz + cells[..., 2], 0)
    flat = np.concatenate([flat, np.zeros_like(flat[:1])]).astype(np.int32)
    ok = np.concatenate([ok, np.zeros_like(ok[:1])])
    never = np.concatenate([never, np.ones_like(never[:1])])
    nx, ny, nz = size
    box = np.full((2 * nx - 1, 2 * ny, 2 * nz - 1), len(offsets), np.int32)
    for i, (dx, dy, dz) in enumerate(offsets):
        b = (dx + nx - 1, dy + ny - 1, dz + nz - 1)
        if all(0 <= c < n for c, n in zip(b, box.shape, strict=True)):
            box[b] = i
    return flat, ok, never, box


def obstruction(
    size: tuple[int, int, int], reach: float, blocks: jax.Array, other: jax.Array
) -> jax.Array:
    """``[P] bool``: the padded grid, flat, of voxels that stop a ray (non-air blocks and the
    other player's feet and head)."""
    solid = jnp.pad(blocks.reshape(size) != AIR, pad(reach))
    px, py, pz = padded_shape(size, reach)
    o = other + pad(reach)
    in_col = (jnp.arange(px) == o[0])[:, None, None] & (jnp.arange(pz) == o[2])[None, None, :]
    in_y = ((jnp.arange(py) == o[1]) | (jnp.arange(py) == o[1] + 1))[None, :, None]
    return (solid | (in_col & in_y)).reshape(-1)


def _base(size: tuple[int, int, int], reach: float, feet: jax.Array) -> jax.Array:
    _, py, pz = padded_shape(size, reach)
    f = feet + pad(reach)
    return (f[0] * py + f[1]) * pz + f[2]


def seen_rows(
    size: tuple[int, int, int], reach: float, obst: jax.Array, feet: jax.Array, rows: jax.Array
) -> jax.Array:
    """``[..., 6] bool``: ``seen`` for table rows ``rows [...]`` (row ``D``: never seen)."""
    flat, ok, never, _ = (jnp.asarray(a) for a in _gather_table(size, reach))
    okk = ok[rows]  # [..., 6, 9, L]
    idx = jnp.where(okk, _base(size, reach, feet) + flat[rows], 0)
    blocked = jnp.any(obst[idx] & okk, axis=-1) | never[rows]
    return jnp.any(~blocked, axis=-1)


@functools.lru_cache(maxsize=8)
def ray_trie(reach: float) -> tuple[np.ndarray, np.ndarray, tuple[int, ...], np.ndarray]:
    """The rays of :func:`ray_table` as a prefix tree, so a voxel shared by many rays is looked
    up once: ``(cells [N, 3], parent [N], levels, point_node [D, 6, 9])``.

    Node ``n`` is a ray prefix ending in voxel ``cells[n]`` (relative to the feet); nodes are
    numbered by depth, ``levels`` holds where each depth starts (and the end), and ``parent``
    points at the previous prefix, with ``N`` standing for the empty prefix (always clear).
    ``point_node`` is the node a point's whole ray ends at: ``N`` for a ray that crosses no
    voxel, ``N + 1`` for a point out of reach (never counts). On the paper grid the 20,386
    rays in reach share 3,865 prefixes, against 277k voxel slots in the flat table.
    """
    offsets, cells, ok, never = ray_table(reach)
    ids: dict[tuple[tuple[int, ...], ...], int] = {}
    ends = np.zeros(never.shape, np.int64)
    for i, k, j in np.ndindex(*never.shape):
        prefix: tuple[tuple[int, ...], ...] = ()
        for c in cells[i, k, j, : int(ok[i, k, j].sum())]:
            prefix = (*prefix, tuple(int(x) for x in c))
            ids.setdefault(prefix, len(ids))
        ends[i, k, j] = ids[prefix] if prefix else -1
    order = sorted(ids, key=lambda q: (len(q), ids[q]))  # by depth, so levels are contiguous
    renumber = {q: n for n, q in enumerate(order)}
    n_nodes = len(order)
    node_cells = np.array([q[-1] for q in order], np.int32).reshape(-1, 3)
    parent = np.array([renumber[q[:-1]] if len(q) > 1 else n_nodes for q in order], np.int64)
    depth = np.array([len(q) for q in order])
    levels = tuple(int(x) for x in np.searchsorted(depth, np.arange(1, depth.max() + 2)))
    by_old = np.array([renumber[q] for q in sorted(ids, key=ids.__getitem__)], np.int64)
    point_node = np.where(ends >= 0, by_old[np.maximum(ends, 0)], n_nodes)
    point_node = np.where(never, n_nodes + 1, point_node).astype(np.int32)
    return node_cells, parent.astype(np.int32), levels, point_node


@functools.lru_cache(maxsize=8)
def _trie_gather(
    size: tuple[int, int, int], reach: float
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...], np.ndarray]:
    """``(flat [N], parent [N], levels, point_node [D, 6, 9])``: :func:`ray_trie` with each
    node's voxel as a flat offset into the padded obstruction grid."""
    cells, parent, levels, point_node = ray_trie(reach)
    _, py, pz = padded_shape(size, reach)
    flat = ((cells[:, 0] * py + cells[:, 1]) * pz + cells[:, 2]).astype(np.int32)
    return flat, parent, levels, point_node


def seen_grid(
    size: tuple[int, int, int], reach: float, obst: jax.Array, feet: jax.Array
) -> jax.Array:
    """``[X, Y, Z, 6] bool``: ``seen`` for every voxel and face, for a player with ``feet``.

    Walks the ray prefix tree one depth at a time: a prefix is clear when its parent is and
    its last voxel is not obstructed (one gather per shared voxel, not per ray)."""
    flat, parent, levels, point_node = _trie_gather(size, reach)
    n_nodes = flat.shape[0]
    free = ~obst[_base(size, reach, feet) + jnp.asarray(flat)]  # [N]
    # [N + 2]: the nodes, then the empty prefix (clear) and the out-of-reach sentinel
    clear = jnp.concatenate([jnp.zeros(n_nodes, bool), jnp.array([True, False])])
    for lo, hi in zip(levels[:-1], levels[1:], strict=True):
        clear = clear.at[lo:hi].set(clear[jnp.asarray(parent[lo:hi])] & free[lo:hi])
    seen = jnp.any(clear[jnp.asarray(point_node)], axis=-1)  # [D, 6]
    seen = jnp.concatenate([seen, jnp.zeros((1, 6), bool)])  # row D: never seen
    _, _, _, box = _gather_table(size, reach)
    nx, ny, nz = size
    start = (nx - 1 - feet[0], ny - 1 - feet[1], nz - 1 - feet[2])
    rows = jax.lax.dynamic_slice(jnp.asarray(box), start, size)  # [X, Y, Z]
    return seen[rows]


def box_row(size: tuple[int, int, int], reach: float, d: jax.Array) -> jax.Array:
    """Table row of relative offsets ``d [..., 3]`` (row ``D``, never seen, when none)."""
    flat, _, _, box = _gather_table(size, reach)
    top = jnp.asarray(box.shape) - 1
    b = d + jnp.asarray([size[0] - 1, size[1] - 1, size[2] - 1])
    inside = jnp.all((b >= 0) & (b <= top), axis=-1)
    b = jnp.clip(b, 0, top)
    return jnp.where(inside, jnp.asarray(box)[b[..., 0], b[..., 1], b[..., 2]], flat.shape[0] - 1)


def _shifted(a: jax.Array, m: tuple[int, int, int]) -> jax.Array:
    """``out[v] = a[v + m]`` over the first three axes, False outside the grid."""
    p = jnp.pad(a, [(1, 1)] * 3 + [(0, 0)] * (a.ndim - 3))
    nx, ny, nz = a.shape[:3]
    return p[1 + m[0] : 1 + m[0] + nx, 1 + m[1] : 1 + m[1] + ny, 1 + m[2] : 1 + m[2] + nz]


def opposite(k: int) -> int:
    """The face opposite face ``k`` (``MOVES`` pairs +/- along each axis)."""
    return k ^ 1


def place_break(
    size: tuple[int, int, int], reach: float, blocks: jax.Array, feet: jax.Array, other: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """``(place [X, Y, Z], seen_to_break [X, Y, Z])`` bool for the player with ``feet``:
    PLACE needs a seen face against a non-air neighbour; BREAK needs a seen face of an
    in-grid neighbour that faces the block. Voxel conditions (air, breakable, players) are
    the caller's."""
    seen = seen_grid(size, reach, obstruction(size, reach, blocks, other), feet)
    solid = blocks.reshape(size) != AIR
    place = jnp.zeros(size, bool)
    brk = jnp.zeros(size, bool)
    for k, m in enumerate(MOVES):
        place |= seen[..., k] & _shifted(solid, m)
        brk |= _shifted(seen[..., opposite(k)], m)
    return place, brk


def target_seen(
    size: tuple[int, int, int],
    reach: float,
    blocks: jax.Array,
    feet: jax.Array,
    other: jax.Array,
    xyz: jax.Array,
) -> tuple[jax.Array, jax.Array]:
    """``(place, break)`` ``[] bool``: the face conditions of ``place_break`` for the one
    target ``xyz [3]`` (the step's cheap path: 7 table rows instead of the whole grid)."""
    moves = jnp.asarray(MOVES, jnp.int32)  # [6, 3]
    ends = jnp.concatenate([xyz[None], xyz + moves])  # [7, 3]: the target, its neighbours
    inside = jnp.all((ends >= 0) & (ends < jnp.asarray(size)), axis=-1)
    obst = obstruction(size, reach, blocks, other)
    seen = seen_rows(size, reach, obst, feet, box_row(size, reach, ends - feet))  # [7, 6]
    flat_end = (ends[:, 0] * size[1] + ends[:, 1]) * size[2] + ends[:, 2]
    solid = inside & (blocks.reshape(-1)[jnp.where(inside, flat_end, 0)] != AIR)
    place = jnp.any(seen[0] & solid[1:])
    opp = np.array([opposite(k) for k in range(6)])
    brk = jnp.any(seen[1 + np.arange(6), opp] & inside[1:])
    return place, brk
