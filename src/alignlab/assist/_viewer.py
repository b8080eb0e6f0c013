"""A browser replay viewer for assist episodes: one self-contained HTML file per episode.

``episode_html(episode)`` fills ``viewer_template.html`` (inline CSS and vanilla JS, no network)
with an :func:`alignlab.assist._render.episode_json` episode; ``load_episode(path)`` reads and
validates an episode file, so a bad file gives one clear error naming the file and the field.
"""

from __future__ import annotations

import html
import math
import numbers
import re
from collections.abc import Callable, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeGuard

from alignlab.assist._layout import N_BLOCKS, N_PLAYERS, n_actions
from alignlab.core import AlignlabError, atomic_write_text, read_json
from alignlab.core.io import dumps_strict

EPISODE_FORMAT = "alignlab.assist.episode/1"
TEMPLATE_NAME = "viewer_template.html"
DEFAULT_TITLE = "alignlab assist episode"
# The page keeps the goal, the state and a checkpoint every 64 steps as byte arrays of X·Y·Z and
# draws every voxel each frame; these bounds keep it to a few MB and a smooth redraw (the paper's
# grid is 11×10×10). The assist commands hold --size to them before any work.
MAX_GRID_SIDE = 64
MAX_GRID_VOXELS = 131_072  # 2**17, e.g. 64×32×64
_PLACEHOLDER = re.compile(r"\{\{(TITLE|EPISODE_JSON|COLORS_JSON)\}\}")
_Fail = Callable[[str, str], AlignlabError]


def episode_html(episode: dict[str, Any], *, title: str = "") -> str:
    """One HTML file that replays ``episode`` in a browser (validated first)."""
    validate_episode(episode)
    from alignlab.assist._render import COLORS

    template = (files("alignlab.assist") / TEMPLATE_NAME).read_text(encoding="utf-8")
    values = {
        "TITLE": html.escape(title or DEFAULT_TITLE),
        "EPISODE_JSON": script_json(episode),
        "COLORS_JSON": script_json([[round(c, 4) for c in rgba] for rgba in COLORS.tolist()]),
    }
    # one pass, so a title or episode that contains a placeholder is left as it is
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def save_episode_html(path: str | Path, episode: dict[str, Any], *, title: str = "") -> Path:
    """Write :func:`episode_html` atomically; returns the path."""
    atomic_write_text(path, episode_html(episode, title=title))
    return Path(path)


def script_json(obj: Any) -> str:
    """JSON that is safe inside a ``<script>`` element: ``<``, ``>`` and ``&`` are escaped as
    ``\\u003c`` etc., so no string can close the element; NaN and infinities become null."""
    text = dumps_strict(obj, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def load_episode(path: str | Path) -> dict[str, Any]:
    """Read and validate an episode JSON file.

    Raises:
        AlignlabError: missing file, invalid JSON (with its line), or a field that does not fit
            the episode format (named, with the step index).
    """
    episode = read_json(path)
    validate_episode(episode, file=path)
    return episode  # type: ignore[no-any-return]


def validate_episode(episode: Any, *, file: str | Path | None = None) -> None:
    """Check the episode format; raises :class:`AlignlabError` naming the first bad field."""

    def fail(message: str, field: str) -> AlignlabError:
        return AlignlabError(message, file=file, field=field)

    if not isinstance(episode, dict):
        raise fail("an episode must be a JSON object", "episode")
    if "format" not in episode:
        raise fail(f"missing; expected '{EPISODE_FORMAT}'", "format")
    if episode["format"] != EPISODE_FORMAT:
        raise fail(f"expected '{EPISODE_FORMAT}', got {_short(episode['format'])}", "format")
    raw_size = episode.get("size")
    if not (_int_list(raw_size, 3) and all(n > 0 for n in raw_size)):
        raise fail(f"expected three positive integers [X, Y, Z], got {_short(raw_size)}", "size")
    size = [int(n) for n in raw_size]
    too_big = grid_too_big(size)
    if too_big:
        raise fail(too_big, "size")
    n_voxels = math.prod(size)
    names = episode.get("block_names")
    if names is not None and not (
        isinstance(names, list)
        and len(names) >= N_BLOCKS
        and all(isinstance(s, str) for s in names)
    ):
        raise fail(f"expected a list of {N_BLOCKS} block names", "block_names")
    meta = episode.get("meta", {})
    if not isinstance(meta, dict):
        raise fail("expected a JSON object", "meta")
    if "goal" not in episode:
        raise fail("missing", "goal")
    _voxel_list(episode["goal"], size, "goal", fail)
    if "steps" not in episode:
        raise fail("missing", "steps")
    steps = episode["steps"]
    if not isinstance(steps, list) or not steps:
        raise fail("expected a non-empty list of steps", "steps")
    top = n_actions(n_voxels, finite_inventory=meta.get("finite_inventory") is True)
    for k, step in enumerate(steps):
        _check_step(step, f"steps[{k}]", size, top, fail)


def grid_too_big(size: Sequence[int]) -> str:
    """Why the viewer page cannot hold an ``[X, Y, Z]`` grid, or ``""`` when it can."""
    if max(size) > MAX_GRID_SIDE:
        limit = f"the replay viewer's limit of {MAX_GRID_SIDE} per dimension"
        return f"grid {_dims(size)} is over {limit}"
    if math.prod(size) > MAX_GRID_VOXELS:
        return (
            f"grid {_dims(size)} has {math.prod(size):,} voxels, over the replay viewer's limit of "
            f"{MAX_GRID_VOXELS:,}"
        )
    return ""


def _check_step(step: Any, where: str, size: list[int], top: int, fail: _Fail) -> None:
    if not isinstance(step, dict):
        raise fail("expected a JSON object", where)
    for key in ("actions", "positions", "reward", "changes"):
        if key not in step:
            raise fail("missing", f"{where}.{key}")
    actions = step["actions"]
    if not (_int_list(actions, N_PLAYERS) and all(0 <= a < top for a in actions)):
        raise fail(
            f"expected [human, assistant] action ids in 0..{top - 1}, got {_short(actions)}",
            f"{where}.actions",
        )
    pos = step["positions"]
    if not (isinstance(pos, list) and len(pos) == N_PLAYERS and all(_int_list(p, 3) for p in pos)):
        raise fail(
            f"expected [[x, y, z], [x, y, z]] integers, got {_short(pos)}", f"{where}.positions"
        )
    for p in pos:
        if not _in_grid(p, size):
            raise fail(f"feet {tuple(p)} outside the {_dims(size)} grid", f"{where}.positions")
    reward = step["reward"]
    if not (isinstance(reward, numbers.Real) and not isinstance(reward, bool)) or not math.isfinite(
        reward
    ):
        raise fail(f"expected a finite number, got {_short(reward)}", f"{where}.reward")
    _voxel_list(step["changes"], size, f"{where}.changes", fail)
    inv = step.get("inventory")
    if inv is not None and not (
        isinstance(inv, list)
        and len(inv) == N_PLAYERS
        and all(_int_list(row, N_BLOCKS) and min(row) >= 0 for row in inv)
    ):
        raise fail(
            f"expected {N_PLAYERS} lists of {N_BLOCKS} non-negative block counts",
            f"{where}.inventory",
        )


def _voxel_list(entries: Any, size: list[int], where: str, fail: _Fail) -> None:
    if not isinstance(entries, list):
        raise fail("expected a list of [x, y, z, block]", where)
    for i, e in enumerate(entries):
        if not _int_list(e, 4):
            raise fail(f"expected [x, y, z, block] integers, got {_short(e)}", f"{where}[{i}]")
        if not _in_grid(e[:3], size):
            raise fail(f"voxel {tuple(e[:3])} outside the {_dims(size)} grid", f"{where}[{i}]")
        if not 0 <= e[3] < N_BLOCKS:
            raise fail(f"block id {e[3]} not in 0..{N_BLOCKS - 1}", f"{where}[{i}]")


def _int_list(v: Any, n: int) -> TypeGuard[Sequence[int]]:
    return (
        isinstance(v, (list, tuple))
        and len(v) == n
        and all(isinstance(c, numbers.Integral) and not isinstance(c, bool) for c in v)
    )


def _in_grid(xyz: Any, size: list[int]) -> bool:
    return all(0 <= c < n for c, n in zip(xyz, size, strict=True))


def _dims(size: Sequence[int]) -> str:
    return "×".join(map(str, size))


def _short(v: Any, limit: int = 60) -> str:
    text = repr(v)
    return text if len(text) <= limit else text[: limit - 3] + "..."
