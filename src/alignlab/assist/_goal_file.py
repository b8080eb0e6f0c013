"""Hand-written goals: a small JSON file of named structures, read into goal arrays.

Format::

    {
      "grid": "6x6x6",
      "description": "optional free text",
      "goals": {
        "pillar": [[2, 0, 2, "stone"], [2, 1, 2, "stone"], [2, 2, 2, "log"]],
        "path":   [[1, -1, 3, "cobblestone"], [2, -1, 3, "air"]]
      }
    }

``grid`` is the env's size ``X×Y×Z`` (``y`` vertical; ``x`` or ``×`` between the numbers).
Each goal lists voxels ``[x, y, z, block]``:

* ``x`` and ``z`` are the env's own columns, inside the build area ``1..X-2`` and ``1..Z-2``
  (the border ring stays as it is, as for every generated goal: ``_goals``'s module doc);
* ``y`` counts layers from the ground: ``y = 0`` is the first layer standing on the dirt (the
  env's ``y = 2``), up to ``Y - 4`` (the env's ``Y - 2``; the top layer stays air). ``y = -1``
  is the ground layer itself (the env's ``y = 1``, dirt at reset): a block there replaces the
  dirt (a floor, a path) and ``"air"`` digs it out;
* ``block`` is a name of ``_layout.BLOCK_NAMES`` (any case: ``"Stone"``) or its id; bedrock
  cannot be asked for.

Voxels not listed stay as the reset state has them: air above the ground, dirt in it. So the
env coordinate of a voxel is ``(x, y + 2, z)``. A goal must ask for something (differ from
the reset state). Every problem raises one :class:`AlignlabError` naming the file and the
field, e.g. ``goals.pillar[2][3]`` for the block of the third voxel of ``pillar``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from alignlab.core import AlignlabError, atomic_write_text

from ._goals import Size, empty_goal, validate_goal_array
from ._layout import BEDROCK, BLOCK_NAMES, N_BLOCKS

GROUND_Y = 2  # the env's y of the file's y = 0 (the first layer above the dirt)
MIN_GRID: Size = (3, 4, 3)  # the smallest grid the env plays
_GRID = re.compile(r"^\s*(\d+)\s*[x×]\s*(\d+)\s*[x×]\s*(\d+)\s*$", re.IGNORECASE)
_KEYS = {"grid", "goals", "description"}
_Fail = Callable[[str, str], NoReturn]


@dataclass(frozen=True)
class GoalFile:
    """A read goal file: ``goals [N, X, Y, Z] uint8`` in file order, with their names."""

    names: tuple[str, ...]
    goals: np.ndarray
    size: Size


def parse_grid(text: Any, *, file: str | Path | None = None) -> Size:
    """``"6x6x6"`` → ``(6, 6, 6)``; at least ``MIN_GRID``."""
    m = _GRID.match(text) if isinstance(text, str) else None
    if m is None:
        raise AlignlabError(
            f'grid must be a string "XxYxZ" such as "6x6x6", not {json.dumps(text)}',
            file=file,
            field="grid",
        )
    size = (int(m[1]), int(m[2]), int(m[3]))
    if any(n < low for n, low in zip(size, MIN_GRID, strict=True)):
        raise AlignlabError(
            f"grid {text} is too small: the env needs at least {'x'.join(map(str, MIN_GRID))}",
            file=file,
            field="grid",
        )
    return size


def load_goal_file(path: str | Path, size: Size | None = None) -> GoalFile:
    """Read and check a goal file; with ``size``, its grid must be that size.

    Raises:
        AlignlabError: missing file, invalid JSON (with its line), or a field that breaks the
            format above (named, e.g. ``goals.house[3][1]``).
    """
    data = _read(path)
    if not isinstance(data, dict):
        raise AlignlabError("a goal file is a JSON object with grid and goals", file=path)
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise AlignlabError(f"unknown key; known: {', '.join(sorted(_KEYS))}", file=path,
                            field=unknown[0])  # fmt: skip
    if "grid" not in data:
        raise AlignlabError('missing; e.g. "grid": "6x6x6"', file=path, field="grid")
    grid = parse_grid(data["grid"], file=path)
    if size is not None and tuple(size) != grid:
        raise AlignlabError(
            f"the goals are for a {'x'.join(map(str, grid))} grid, not "
            f"{'x'.join(map(str, size))}; pass --size {' '.join(map(str, grid))}",
            file=path,
            field="grid",
        )
    goals = data.get("goals")
    if not isinstance(goals, dict) or not goals:
        raise AlignlabError(
            "must be a non-empty object {name: [[x, y, z, block], ...]}", file=path, field="goals"
        )
    arrays = [_goal(grid, name, voxels, path) for name, voxels in goals.items()]
    return GoalFile(names=tuple(goals), goals=np.stack(arrays), size=grid)


def _read(path: str | Path) -> Any:
    p = Path(path)
    if not p.is_file():
        raise AlignlabError("goal file not found", file=p)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise AlignlabError(f"cannot read the goal file ({err})", file=p) from None
    try:
        return json.loads(text, object_pairs_hook=lambda pairs: _no_twins(pairs, p))
    except json.JSONDecodeError as err:
        raise AlignlabError(f"not JSON ({err.msg})", file=p, line=err.lineno) from None


def _no_twins(pairs: list[tuple[str, Any]], path: Path) -> dict[str, Any]:
    """JSON objects whose keys are unique (a second goal of one name would silently win)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise AlignlabError("this key appears twice in one object", file=path, field=key)
        out[key] = value
    return out


def _goal(size: Size, name: str, voxels: Any, path: str | Path) -> np.ndarray:
    where = f"goals.{name}"

    def fail(message: str, field: str = where) -> NoReturn:
        raise AlignlabError(message, file=path, field=field)

    if not name.strip():
        fail("a goal needs a non-empty name")
    if not isinstance(voxels, list):
        fail("a goal is a list of voxels [x, y, z, block]")
    goal = empty_goal(size)
    seen: dict[tuple[int, int, int], int] = {}
    for i, voxel in enumerate(voxels):
        at = f"{where}[{i}]"
        if not isinstance(voxel, list) or len(voxel) != 4:
            fail(f"a voxel is [x, y, z, block], not {json.dumps(voxel)}", at)
        x, y, z = (_coordinate(voxel[k], f"{at}[{k}]", fail) for k in range(3))
        _check_inside(size, (x, y, z), at, fail)
        block = _block(voxel[3], f"{at}[3]", fail)
        if (x, y, z) in seen:
            fail(f"voxel ({x}, {y}, {z}) is listed twice (also {where}[{seen[x, y, z]}])", at)
        seen[x, y, z] = i
        goal[x, y + GROUND_Y, z] = block
    if np.array_equal(goal, empty_goal(size)):
        fail("the goal asks for nothing: it is the reset state (list blocks above the ground)")
    return validate_goal_array(goal, size, file=str(path))


def _coordinate(value: Any, field: str, fail: _Fail) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        fail(f"a coordinate must be an integer, not {json.dumps(value)}", field)
    return int(value)


def _check_inside(size: Size, xyz: tuple[int, int, int], field: str, fail: _Fail) -> None:
    """x, z in the build area ``1..X-2``, ``1..Z-2``; y from -1 (the ground) to ``Y - 4``."""
    ranges = {"x": (1, size[0] - 2), "y": (-1, size[1] - 2 - GROUND_Y), "z": (1, size[2] - 2)}
    for (axis, (low, high)), v in zip(ranges.items(), xyz, strict=True):
        if not low <= v <= high:
            fail(
                f"{axis} = {v} is outside the build area of a {'x'.join(map(str, size))} grid: "
                f"x in 1..{ranges['x'][1]}, y in -1..{ranges['y'][1]} (-1 = the ground layer), "
                f"z in 1..{ranges['z'][1]}",
                field,
            )


def _block(value: Any, field: str, fail: _Fail) -> int:
    if isinstance(value, str) and value.strip().lower() in BLOCK_NAMES:
        block = BLOCK_NAMES.index(value.strip().lower())
    elif isinstance(value, int) and not isinstance(value, bool) and 0 <= value < N_BLOCKS:
        block = int(value)
    else:
        known = ", ".join(BLOCK_NAMES[2:])
        fail(f"unknown block {json.dumps(value)}; use a name ({known}, or air) or its id", field)
    if block == BEDROCK:
        fail("bedrock cannot be placed or asked for", field)
    return block  # air above the ground or dirt in it: what reset has there; allowed


def goal_voxels(goal: np.ndarray) -> list[list[Any]]:
    """The ``[x, y, z, block name]`` entries (file convention) that make ``goal``: blocks above
    the ground and ground voxels that are not dirt, in ``(x, y, z)`` order."""
    goal = np.asarray(goal)
    out: list[list[Any]] = []
    for x, y, z in np.argwhere(goal[:, 1:, :] != empty_goal(goal.shape)[:, 1:, :]):  # type: ignore[arg-type]
        out.append([int(x), int(y) + 1 - GROUND_Y, int(z), BLOCK_NAMES[goal[x, y + 1, z]]])
    return out


def save_goal_file(
    path: str | Path, goals: Mapping[str, np.ndarray], description: str = ""
) -> Path:
    """Write ``{name: goal [X, Y, Z]}`` (one grid) as a goal file, atomically, one voxel a
    line; ``load_goal_file`` reads it back equal.

    Raises:
        AlignlabError: goals of different grids, or a goal the format cannot hold (a block in
            the border ring or the top layer); nothing is written then.
    """
    arrays = {name: np.asarray(g) for name, g in goals.items()}
    sizes = {g.shape for g in arrays.values()}
    if len(sizes) != 1:
        raise AlignlabError(f"goals of one file share one grid, not {sorted(sizes)}", file=path)
    size: Size = next(iter(sizes))  # type: ignore[assignment]
    voxels = {name: goal_voxels(g) for name, g in arrays.items()}
    for name, entries in voxels.items():
        _goal(size, name, entries, path)  # raises before anything is written
    head = {"grid": "x".join(map(str, size))} | (
        {"description": description} if description else {}
    )
    lines = [f"  {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()]
    body = [
        f"    {json.dumps(name)}: [\n"
        + ",\n".join(f"      {json.dumps(v)}" for v in entries)
        + "\n    ]"
        for name, entries in voxels.items()
    ]
    text = "{\n" + "\n".join(lines) + '\n  "goals": {\n' + ",\n".join(body) + "\n  }\n}\n"
    atomic_write_text(path, text)
    return Path(path)
