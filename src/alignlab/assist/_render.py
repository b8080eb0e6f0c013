"""Looking at the game: text slices, PNG images, and episode files a browser viewer can replay.

All functions take plain ``uint8 [X, Y, Z]`` block arrays (numpy or JAX), so they work on a
``State``'s ``blocks`` / ``goal`` or on a goal from a bank.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from alignlab.assist._layout import BLOCK_NAMES, N_BLOCKS
from alignlab.core import atomic_write_text

# One character per block id, for text slices: air, bedrock, dirt, cobble, glass, log, planks,
# stone, stonebrick, wool.
CHARS = ".#dcglpsbw"
# RGBA per block id for images (air transparent).
COLORS = (
    np.array(
        [
            [0, 0, 0, 0],
            [40, 40, 40, 255],
            [134, 96, 67, 255],
            [122, 122, 122, 255],
            [190, 225, 245, 120],
            [102, 81, 50, 255],
            [181, 145, 90, 255],
            [150, 150, 150, 255],
            [110, 110, 120, 255],
            [235, 235, 235, 255],
        ],
        dtype=np.float64,
    )
    / 255.0
)


def text_slices(blocks: Any, *, goal: Any | None = None, players: Any | None = None) -> str:
    """Horizontal slices from the top layer down, one character per voxel (see ``CHARS``).

    ``goal``: printed beside each slice. ``players``: ``[n, 3]`` feet positions, drawn as
    ``H`` (player 0) and ``A`` (player 1) on their feet and head voxels.
    """
    b = np.asarray(blocks)
    g = None if goal is None else np.asarray(goal)
    marks: dict[tuple[int, int, int], str] = {}
    if players is not None:
        for i, (x, y, z) in enumerate(np.asarray(players).tolist()):
            for dy in (0, 1):
                marks[(x, y + dy, z)] = "HA"[i] if i < 2 else "P"
    out = []
    for y in range(b.shape[1] - 1, -1, -1):
        out.append(f"y={y}" + (" " * (b.shape[2] + 1) + "goal" if g is not None else ""))
        for x in range(b.shape[0]):
            row = "".join(marks.get((x, y, z), CHARS[b[x, y, z]]) for z in range(b.shape[2]))
            if g is not None:
                row += "   " + "".join(CHARS[g[x, y, z]] for z in range(g.shape[2]))
            out.append(row)
    return "\n".join(out)


def save_png(blocks: Any, path: str | Path, *, title: str = "") -> Path:
    """An isometric-ish 3-D voxel picture (matplotlib ``voxels``); y is drawn upward."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    b = np.asarray(blocks)
    filled = b > 0
    colors = COLORS[b]
    # matplotlib's 3-D z axis is vertical: draw (x, z, y)
    fig = plt.figure(figsize=(5, 5))
    ax = fig.add_subplot(projection="3d")
    ax.voxels(
        filled.transpose(0, 2, 1),
        facecolors=colors.transpose(0, 2, 1, 3),
        edgecolor=(0, 0, 0, 0.15),
    )
    ax.set_xlabel("x")
    ax.set_ylabel("z")
    ax.set_zlabel("y")
    ax.set_title(title)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def episode_json(
    frames: Sequence[dict[str, Any]],
    goal: Any,
    *,
    meta: dict[str, Any] | None = None,
    inventory: bool = False,
) -> dict[str, Any]:
    """A replayable episode: the goal once, then per step the actions, positions, reward and the
    voxels that changed (``[x, y, z, block]``), so files stay small.

    ``frames``: dicts with ``blocks [X,Y,Z]``, ``positions [2,3]``, ``actions [2]``, ``reward``
    and, when ``inventory``, ``inventory [2, 10]`` (block counts per player, kept per step).
    """
    goal = np.asarray(goal)
    steps = []
    prev = None
    for f in frames:
        blocks = np.asarray(f["blocks"])
        changed = np.argwhere(blocks > 0) if prev is None else np.argwhere(blocks != prev)
        steps.append(
            {
                "actions": np.asarray(f.get("actions", [0, 0])).tolist(),
                "positions": np.asarray(f["positions"]).tolist(),
                "reward": float(f.get("reward", 0.0)),
                "changes": [[*map(int, v), int(blocks[tuple(v)])] for v in changed],
            }
        )
        if inventory:
            steps[-1]["inventory"] = np.asarray(f["inventory"]).tolist()
        prev = blocks
    return {
        "format": "alignlab.assist.episode/1",
        "size": list(goal.shape),
        "block_names": list(BLOCK_NAMES[:N_BLOCKS]),
        "goal": [[*map(int, v), int(goal[tuple(v)])] for v in np.argwhere(goal > 0)],
        "steps": steps,
        "meta": meta or {},
    }


def replay(episode: dict[str, Any]) -> list[np.ndarray]:
    """The block arrays after each step of an :func:`episode_json` episode (inverse of it)."""
    blocks = np.zeros(episode["size"], dtype=np.uint8)
    out = []
    for step in episode["steps"]:
        for x, y, z, b in step["changes"]:
            blocks[x, y, z] = b
        out.append(blocks.copy())
    return out


def save_episode(path: str | Path, episode: dict[str, Any]) -> Path:
    atomic_write_text(path, json.dumps(episode))
    return Path(path)
