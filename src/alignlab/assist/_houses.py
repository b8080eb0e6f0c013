"""Procedural houses: the hand-made-house goal family of MBAG (AssistanceZero,
arXiv 2504.07091), randomised.

``house(size, rng)`` draws a footprint and wall height that fit the interior, then builds: a
floor in the dirt layer (or bare ground), walls of one material with log (or other) corners
and optional foundation/trim rows, one or two 2-high doors (sometimes with a path through the
ground to the edge of the build area), glass windows (at least one, sometimes 2 high), a roof
(flat with optional parapet or skylight, gable along x or z with filled gable ends, hip, or
stepped pyramid; optional 1-block overhang), and interior features (table, column, inner wall
with a doorway, bed, mezzanine floor, chimney). ``count_distinct(house, 10_000, (11, 10, 10))``
measures how diverse it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._goals import Size, check_size, empty_goal
from ._layout import AIR, COBBLESTONE, DIRT, GLASS, LOG, PLANKS, STONE, STONEBRICK, WOOL

WALLS = (COBBLESTONE, PLANKS, STONE, STONEBRICK, WOOL, LOG)
ROOFS = (PLANKS, STONEBRICK, COBBLESTONE, STONE, WOOL, LOG)
FLOORS = (PLANKS, COBBLESTONE, STONE, STONEBRICK, DIRT)  # DIRT = no floor (bare ground)
ROOF_KINDS = ("flat", "gable", "hip", "stepped")
MIN_HOUSE_SIZE: Size = (5, 6, 5)


@dataclass
class _Plan:
    x0: int  # footprint [x0, x1) x [z0, z1), walls on its border
    x1: int
    z0: int
    z1: int
    y_top: int  # highest buildable y (Y - 2)
    wall_h: int  # walls fill y in [2, 2 + wall_h)

    @property
    def roof_y(self) -> int:
        return 2 + self.wall_h


def _pick(rng: np.random.Generator, options: tuple[int, ...]) -> int:
    return int(options[int(rng.integers(len(options)))])


def _materials(rng: np.random.Generator) -> dict[str, int]:
    wall = _pick(rng, WALLS)
    return {
        "wall": wall,
        # logs at the corners of half the houses (but not of log houses: no contrast there)
        "corner": LOG if rng.random() < 0.5 and wall != LOG else _pick(rng, WALLS),
        "roof": _pick(rng, ROOFS),
        "ridge": LOG if rng.random() < 0.3 else -1,
        "floor": _pick(rng, FLOORS),
        "trim": _pick(rng, WALLS),
        "feature": _pick(rng, (PLANKS, LOG, STONE, WOOL, STONEBRICK)),
        "path": _pick(rng, (COBBLESTONE, STONE, PLANKS, AIR)),
    }


def house(size: Size, rng: np.random.Generator) -> np.ndarray:
    """A random house goal, ``[X, Y, Z] uint8`` (size at least ``(5, 6, 5)``)."""
    x_size, y_size, z_size = check_size(size, MIN_HOUSE_SIZE)
    goal = empty_goal(size)
    mats = _materials(rng)
    w = int(rng.integers(3, x_size - 1))
    d = int(rng.integers(3, z_size - 1))
    x0 = int(rng.integers(1, x_size - w))
    z0 = int(rng.integers(1, z_size - d))
    levels = y_size - 3  # buildable levels above the ground: y = 2 .. Y-2
    wall_h = int(rng.integers(2, min(levels - 1, 6) + 1))
    plan = _Plan(x0, x0 + w, z0, z0 + d, y_size - 2, wall_h)
    if mats["floor"] != DIRT:
        goal[plan.x0 : plan.x1, 1, plan.z0 : plan.z1] = mats["floor"]
    _walls(goal, plan, mats, rng)
    doors = _doors(goal, plan, mats, rng)
    _windows(goal, plan, doors, rng)
    _roof(goal, plan, mats, rng)
    _features(goal, plan, mats, doors, rng)
    return goal


def _walls(goal: np.ndarray, p: _Plan, mats: dict[str, int], rng: np.random.Generator) -> None:
    ys = slice(2, p.roof_y)
    goal[p.x0 : p.x1, ys, p.z0] = mats["wall"]
    goal[p.x0 : p.x1, ys, p.z1 - 1] = mats["wall"]
    goal[p.x0, ys, p.z0 : p.z1] = mats["wall"]
    goal[p.x1 - 1, ys, p.z0 : p.z1] = mats["wall"]
    ring = _ring_mask(goal.shape, p.x0, p.x1, p.z0, p.z1)
    if rng.random() < 0.3:  # foundation row
        goal[:, 2, :][ring] = _pick(rng, (COBBLESTONE, STONE, STONEBRICK))
    if p.wall_h >= 3 and rng.random() < 0.3:  # trim row under the roof
        goal[:, p.roof_y - 1, :][ring] = mats["trim"]
    for cx in (p.x0, p.x1 - 1):
        for cz in (p.z0, p.z1 - 1):
            goal[cx, ys, cz] = mats["corner"]


def _ring_mask(shape: tuple[int, ...], x0: int, x1: int, z0: int, z1: int) -> np.ndarray:
    """``[X, Z] bool``: the border of the box ``[x0, x1) x [z0, z1)``."""
    mask = np.zeros((shape[0], shape[2]), dtype=bool)
    mask[x0:x1, z0:z1] = True
    if x1 - x0 > 2 and z1 - z0 > 2:
        mask[x0 + 1 : x1 - 1, z0 + 1 : z1 - 1] = False
    return mask


def _wall_cells(p: _Plan) -> list[tuple[int, int, int, int]]:
    """Non-corner wall columns as ``(x, z, dx, dz)`` with ``(dx, dz)`` pointing outwards."""
    cells = [(x, p.z0, 0, -1) for x in range(p.x0 + 1, p.x1 - 1)]
    cells += [(x, p.z1 - 1, 0, 1) for x in range(p.x0 + 1, p.x1 - 1)]
    cells += [(p.x0, z, -1, 0) for z in range(p.z0 + 1, p.z1 - 1)]
    cells += [(p.x1 - 1, z, 1, 0) for z in range(p.z0 + 1, p.z1 - 1)]
    return cells


def _doors(
    goal: np.ndarray, p: _Plan, mats: dict[str, int], rng: np.random.Generator
) -> list[tuple[int, int, int, int]]:
    """Cut one or two 2-high doorways; maybe lay a path from a door to the build area's edge."""
    cells = _wall_cells(p)
    n_doors = 2 if rng.random() < 0.3 and len(cells) >= 4 else 1
    doors = [cells[int(i)] for i in rng.choice(len(cells), size=n_doors, replace=False)]
    for x, z, _, _ in doors:
        goal[x, 2:4, z] = AIR
    if rng.random() < 0.5:
        x, z, dx, dz = doors[0]
        x, z = x + dx, z + dz
        while 1 <= x < goal.shape[0] - 1 and 1 <= z < goal.shape[2] - 1:
            goal[x, 1, z] = mats["path"]  # AIR here means a dug trench
            x, z = x + dx, z + dz
    return doors


def _windows(
    goal: np.ndarray, p: _Plan, doors: list[tuple[int, int, int, int]], rng: np.random.Generator
) -> None:
    door_xz = {(x, z) for x, z, _, _ in doors}
    cells = [c for c in _wall_cells(p) if (c[0], c[1]) not in door_xz]
    if not cells:
        return
    density = rng.uniform(0.15, 0.6)
    chosen = [c for c in cells if rng.random() < density]
    if not chosen:
        chosen = [cells[int(rng.integers(len(cells)))]]
    tall = p.wall_h >= 4 and rng.random() < 0.4
    for x, z, _, _ in chosen:
        goal[x, 3, z] = GLASS
        if tall:
            goal[x, 4, z] = GLASS


def _roof(goal: np.ndarray, p: _Plan, mats: dict[str, int], rng: np.random.Generator) -> None:
    kind = ROOF_KINDS[int(rng.integers(len(ROOF_KINDS)))]
    x_size, z_size = goal.shape[0], goal.shape[2]
    o = int(kind != "flat" and rng.random() < 0.5)  # overhang, clipped to the interior
    bx0, bx1 = max(1, p.x0 - o), min(x_size - 1, p.x1 + o)
    bz0, bz1 = max(1, p.z0 - o), min(z_size - 1, p.z1 + o)
    y = p.roof_y
    if kind == "flat":
        goal[bx0:bx1, y, bz0:bz1] = mats["roof"]
        if p.x1 - p.x0 >= 5 and p.z1 - p.z0 >= 5 and rng.random() < 0.3:
            goal[
                int(rng.integers(p.x0 + 1, p.x1 - 1)), y, int(rng.integers(p.z0 + 1, p.z1 - 1))
            ] = GLASS
        if y + 1 <= p.y_top and rng.random() < 0.4:  # parapet
            goal[:, y + 1, :][_ring_mask(goal.shape, bx0, bx1, bz0, bz1)] = mats["trim"]
    elif kind == "gable":
        _gable(goal, p, mats, (bx0, bx1, bz0, bz1), along_x=bool(rng.random() < 0.5))
    else:
        _pyramid(goal, p, mats["roof"], (bx0, bx1, bz0, bz1), hollow=kind == "hip")


def _gable(
    goal: np.ndarray, p: _Plan, mats: dict[str, int], box: tuple[int, ...], *, along_x: bool
) -> None:
    """Two roof slopes meeting at a ridge along x (or z), gable ends filled with wall blocks."""
    # Work in a view where the ridge runs along the first axis.
    view = goal if along_x else goal.transpose(2, 1, 0)
    a0, a1, c0, c1 = box if along_x else (box[2], box[3], box[0], box[1])
    w0, w1 = (p.x0, p.x1) if along_x else (p.z0, p.z1)  # gable-end wall planes: w0, w1 - 1
    f0, f1 = (p.z0, p.z1) if along_x else (p.x0, p.x1)
    lo, hi, y = c0, c1 - 1, p.roof_y
    while y <= p.y_top:
        last = hi - lo <= 1 or y == p.y_top
        if last:
            view[a0:a1, y, lo : hi + 1] = mats["ridge"] if mats["ridge"] >= 0 else mats["roof"]
            break
        view[a0:a1, y, lo] = mats["roof"]
        view[a0:a1, y, hi] = mats["roof"]
        inner = slice(max(lo + 1, f0), min(hi, f1))
        view[w0, y, inner] = mats["wall"]
        view[w1 - 1, y, inner] = mats["wall"]
        lo, hi, y = lo + 1, hi - 1, y + 1


def _pyramid(goal: np.ndarray, p: _Plan, block: int, box: tuple[int, ...], *, hollow: bool) -> None:
    """Layers shrinking by one on every side: hollow rings (hip) or full slabs (stepped)."""
    x0, x1, z0, z1 = box
    y = p.roof_y
    while y <= p.y_top and x1 > x0 and z1 > z0:
        last = x1 - x0 <= 2 or z1 - z0 <= 2 or y == p.y_top
        if hollow and not last:  # 2-wide rings, so consecutive layers share faces
            ring = _ring_mask(goal.shape, x0, x1, z0, z1)
            ring |= _ring_mask(goal.shape, x0 + 1, x1 - 1, z0 + 1, z1 - 1)
            goal[:, y, :][ring] = block
        else:
            goal[x0:x1, y, z0:z1] = block
        if last:
            break
        x0, x1, z0, z1, y = x0 + 1, x1 - 1, z0 + 1, z1 - 1, y + 1


def _features(
    goal: np.ndarray,
    p: _Plan,
    mats: dict[str, int],
    doors: list[tuple[int, int, int, int]],
    rng: np.random.Generator,
) -> None:
    """Furnish the inside: each feature is drawn independently and placed if it fits."""
    ix0, ix1, iz0, iz1 = p.x0 + 1, p.x1 - 1, p.z0 + 1, p.z1 - 1
    if ix1 <= ix0 or iz1 <= iz0:
        return
    keep_clear = {(x - dx, z - dz) for x, z, dx, dz in doors}  # just inside each door

    def free_cell() -> tuple[int, int] | None:
        for _ in range(8):
            cell = (int(rng.integers(ix0, ix1)), int(rng.integers(iz0, iz1)))
            if cell not in keep_clear and goal[cell[0], 2, cell[1]] == AIR:
                return cell
        return None

    if (ix1 - ix0) * (iz1 - iz0) >= 4 and rng.random() < 0.4:
        _inner_wall(goal, p, mats, rng, keep_clear)
    if p.wall_h >= 5 and rng.random() < 0.4:  # mezzanine with a ladder hole
        y = 2 + p.wall_h // 2
        goal[ix0:ix1, y, iz0:iz1] = PLANKS
        goal[int(rng.integers(ix0, ix1)), y, int(rng.integers(iz0, iz1))] = AIR
    if rng.random() < 0.5 and (cell := free_cell()) is not None:  # table
        goal[cell[0], 2, cell[1]] = mats["feature"]
    if rng.random() < 0.3 and (cell := free_cell()) is not None:  # column to the ceiling
        goal[cell[0], 2 : p.roof_y, cell[1]] = _pick(rng, (LOG, STONE, STONEBRICK))
    if rng.random() < 0.3 and (cell := free_cell()) is not None:  # bed
        goal[cell[0], 2, cell[1]] = WOOL
        if cell[0] + 1 < ix1 and (cell[0] + 1, cell[1]) not in keep_clear:
            goal[cell[0] + 1, 2, cell[1]] = WOOL
    if rng.random() < 0.25:  # chimney through the roof
        top = min(p.y_top, p.roof_y + 2)
        goal[ix0, p.roof_y : top + 1, iz0] = COBBLESTONE


def _inner_wall(
    goal: np.ndarray,
    p: _Plan,
    mats: dict[str, int],
    rng: np.random.Generator,
    keep_clear: set[tuple[int, int]],
) -> None:
    """A partition across the house with a 2-high doorway; skipped if it would block a door."""
    along_x = p.x1 - p.x0 >= p.z1 - p.z0
    if along_x and p.x1 - p.x0 >= 5:
        cut = int(rng.integers(p.x0 + 2, p.x1 - 2))
        cells = [(cut, z) for z in range(p.z0 + 1, p.z1 - 1)]
    elif not along_x and p.z1 - p.z0 >= 5:
        cut = int(rng.integers(p.z0 + 2, p.z1 - 2))
        cells = [(x, cut) for x in range(p.x0 + 1, p.x1 - 1)]
    else:
        return
    if any(c in keep_clear for c in cells):
        return
    for x, z in cells:
        goal[x, 2 : p.roof_y, z] = mats["trim"]
    x, z = cells[int(rng.integers(len(cells)))]
    goal[x, 2:4, z] = AIR
