"""Goal arrays for the building assistance game, and the simplest generator (random blobs).

A goal is ``[X, Y, Z] uint8`` in the full env size (block ids of ``_layout``): bedrock in the
whole ``y = 0`` layer, the structure inside the interior ``[1:X-1, 1:Y-1, 1:Z-1]`` (MBAG, the
game of AssistanceZero, arXiv 2504.07091, generates goals at ``(X-2, Y-2, Z-2)`` and writes them
there). ``y = 1`` is the dirt layer at reset; the goal keeps it as ground outside the structure
(the border ring included), so only a structure that holds air there asks the players to dig —
never a goal-independent chore that an assistant could do without inferring the goal.

A generator is any callable ``(size, rng) -> goal`` with ``rng`` a ``numpy.random.Generator``;
generators run off the hot path (goal banks are built once), so they use numpy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import numpy as np

from alignlab.core import AlignlabError

from ._layout import BEDROCK, DIRT, N_BLOCKS, PLACEABLE

Size = tuple[int, int, int]
GoalGenerator = Callable[[Size, np.random.Generator], np.ndarray]

_NEIGHBOURS = ((1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1))


def check_size(size: Size, minimum: Size = (3, 3, 3)) -> Size:
    """Return ``size`` as a tuple of 3 ints, or raise if it is smaller than ``minimum``."""
    try:
        out = tuple(int(s) for s in size)
    except (TypeError, ValueError) as err:
        raise AlignlabError(f"size must be 3 integers (X, Y, Z), got {size!r}") from err
    if len(out) != 3 or any(s < m for s, m in zip(out, minimum, strict=True)):
        raise AlignlabError(f"size {size!r} is too small; need at least {minimum}", field="size")
    return out  # type: ignore[return-value]


def empty_goal(size: Size, *, ground: int = DIRT) -> np.ndarray:
    """``[X, Y, Z] uint8``: bedrock at ``y = 0``, ``ground`` over all of ``y = 1``."""
    x, y, z = check_size(size)
    goal = np.zeros((x, y, z), dtype=np.uint8)
    goal[:, 0, :] = BEDROCK
    goal[:, 1, :] = ground
    return goal


def validate_goal_array(
    goal: np.ndarray, size: Size | None, *, file: str | None = None
) -> np.ndarray:
    """Check a goal and return it as ``[X, Y, Z] uint8``.

    Raises ``AlignlabError`` for: not 3-D or not ``size``; a dtype that cannot hold block ids
    (anything but integers); ids outside ``0..9``; bedrock outside ``y = 0`` or a ``y = 0`` layer
    that is not all bedrock (the env's floor can never be changed, so such a goal is unreachable).
    """
    arr = np.asarray(goal)
    if arr.ndim != 3:
        raise AlignlabError(f"goal must be 3-D [X, Y, Z], got shape {arr.shape}", file=file)
    if size is not None and tuple(arr.shape) != tuple(size):
        raise AlignlabError(f"goal shape {arr.shape} != env size {tuple(size)}", file=file)
    if not np.issubdtype(arr.dtype, np.integer):
        raise AlignlabError(f"goal dtype {arr.dtype} cannot hold block ids", file=file)
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) >= N_BLOCKS):
        raise AlignlabError(
            f"goal block ids must be in 0..{N_BLOCKS - 1}, got {int(arr.min())}..{int(arr.max())}",
            file=file,
        )
    if np.any(arr[:, 1:, :] == BEDROCK):
        raise AlignlabError("goal has bedrock above y=0", file=file)
    if np.any(arr[:, 0, :] != BEDROCK):
        raise AlignlabError("goal layer y=0 must be all bedrock", file=file)
    return arr.astype(np.uint8, copy=False)


def random_blob(size: Size, rng: np.random.Generator, *, fill: float = 0.3) -> np.ndarray:
    """A random 6-connected blob of placeable blocks standing on the dirt ground.

    The blob starts at a random voxel of ``y = 2`` (on the ground) and grows one random
    face-neighbour at a time inside the interior above the ground until it holds
    ``round(fill * volume)`` voxels (``volume`` = interior above ground). Each blob uses 1-3
    materials. Returns ``[X, Y, Z] uint8``.
    """
    x_size, y_size, z_size = check_size(size, (3, 4, 3))
    if not 0.0 < fill <= 1.0:
        raise AlignlabError(f"fill must be in (0, 1], got {fill}", field="fill")
    goal = empty_goal(size)
    lo, hi = np.array([1, 2, 1]), np.array([x_size - 1, y_size - 1, z_size - 1])
    volume = int(np.prod(hi - lo))
    target = max(1, round(fill * volume))
    start = (int(rng.integers(1, x_size - 1)), 2, int(rng.integers(1, z_size - 1)))
    inside = np.zeros(goal.shape, dtype=bool)
    inside[start] = True
    frontier: list[tuple[int, int, int]] = [start]
    count = 0
    while frontier and count < target:
        i = int(rng.integers(len(frontier)))
        frontier[i], frontier[-1] = frontier[-1], frontier[i]
        vox = frontier.pop()
        goal[vox] = 255  # marker: material assigned below
        count += 1
        for d in _NEIGHBOURS:
            nb = (vox[0] + d[0], vox[1] + d[1], vox[2] + d[2])
            if all(lo[k] <= nb[k] < hi[k] for k in range(3)) and not inside[nb]:
                inside[nb] = True
                frontier.append(nb)
    materials = rng.choice(np.array(PLACEABLE, dtype=np.uint8), size=int(rng.integers(1, 4)))
    mask = goal == 255
    goal[mask] = materials[rng.integers(len(materials), size=int(mask.sum()))]
    return goal


def goal_hash(goal: np.ndarray) -> str:
    """A short stable hash of a goal's shape and bytes (for de-duplication)."""
    arr = np.ascontiguousarray(goal, dtype=np.uint8)
    return hashlib.blake2b(repr(arr.shape).encode() + arr.tobytes(), digest_size=16).hexdigest()


def count_distinct(generator: GoalGenerator, n: int, size: Size) -> int:
    """How many distinct goals ``generator`` gives for seeds ``0..n-1`` (``default_rng(seed)``)."""
    return len({goal_hash(generator(size, np.random.default_rng(seed))) for seed in range(n)})
