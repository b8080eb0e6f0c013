"""CraftAssist house schematics as goals, with the transforms of MBAG
(AssistanceZero, arXiv 2504.07091).

A schematic is ``[y, x, z, 2]`` integers: Minecraft block id and meta ("data") value, as stored
in ``houses/<subset>/<house>/schematic.npy`` of the CraftAssist corpus. Two JSON maps turn a
Minecraft block into one of our 10 blocks: ``craftassist_block_map.json`` maps ``"id:meta"`` to
``[name, variant]`` (or null = air) and ``limited_block_map.json`` maps that name to a building
block name. Decisions where the maps are silent (documented because they change goals):

- ``"id:meta"`` missing from the map: use ``"id:0"`` if present, else air.
- A limited-map value of ``""`` (or a name that is not one of our blocks): air.
- ``"auto"`` (lamps, pumpkins…): the most common non-air block among the voxel's 6 neighbours,
  repeated until none is left; leftovers take the house's most common block.
- Mapped dirt is the terrain the house was built on, not the house: it becomes air (MBAG also
  counts dirt as air when cropping); we add our own ground afterwards.

Transforms, in order: map blocks → largest 6-connected component (with a virtual ground layer
below the schematic, so parts resting on the ground stay together, as MBAG does) → crop air →
drop sparse bottom layers (< ``min_layer_fill`` of the bounding box filled) → downscale if too
big → random x/z placement in the interior → add grass.

Downscaling uses one factor for all axes (keeps proportions): each target voxel covers a block
of source voxels; it is non-air if at least ``min_occupancy`` of them are, and takes their most
common non-air block (ties → lower id). Grass: ``"under"`` (default) puts the house on top of a
full dirt layer ``y = 1``; ``"surround"`` puts the house's bottom layer into ``y = 1`` and fills
the rest of that layer with dirt.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
from scipy import ndimage

from alignlab.core import AlignlabError

from ._goals import Size, check_size, empty_goal
from ._layout import AIR, BLOCK_NAMES, DIRT, N_BLOCKS, STONE

AUTO = 255  # placeholder id in a block map: fill from the neighbours
CRAFTASSIST_MAP = "craftassist_block_map.json"
LIMITED_MAP = "limited_block_map.json"


def load_block_map(
    craftassist_map: str | Path, limited_map: str | Path | None = None
) -> dict[str, int]:
    """``{"id:meta": block id}`` (``AUTO`` = 255 for blocks to fill from their neighbours)."""
    raw = _read_json_dict(craftassist_map)
    limited = _read_json_dict(limited_map) if limited_map is not None else {}
    out: dict[str, int] = {}
    for key, value in raw.items():
        if value is None:
            out[key] = AIR
            continue
        if not isinstance(value, list) or not value or not isinstance(value[0], str):
            raise AlignlabError(
                f"expected null or [name, variant], got {value!r}", file=craftassist_map, field=key
            )
        name = limited.get(value[0], value[0])
        out[key] = (
            AUTO if name == "auto" else (BLOCK_NAMES.index(name) if name in BLOCK_NAMES else AIR)
        )
    return out


def find_block_map(folder: str | Path, levels: int = 3) -> dict[str, int]:
    """Load the block maps from ``folder`` or one of its ``levels`` nearest ancestors."""
    here = Path(folder).resolve()
    for place in [here, *here.parents[:levels]]:
        if (place / CRAFTASSIST_MAP).is_file():
            limited = place / LIMITED_MAP
            return load_block_map(place / CRAFTASSIST_MAP, limited if limited.is_file() else None)
    raise AlignlabError(
        f"no {CRAFTASSIST_MAP} in this folder or its parents; pass block_map=", file=folder
    )


def _read_json_dict(path: str | Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise AlignlabError(f"cannot read block map: {err}", file=path) from err
    if not isinstance(data, dict):
        raise AlignlabError("block map must be a JSON object", file=path)
    return data


def load_schematic(path: str | Path) -> np.ndarray:
    """``[y, x, z, 2]`` Minecraft (id, meta) from a ``schematic.npy``; clear errors if malformed."""
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise AlignlabError(f"cannot read schematic: {err}", file=path) from err
    return _check_schematic(arr, file=str(path))


def _check_schematic(arr: np.ndarray, *, file: str | None = None) -> np.ndarray:
    if not isinstance(arr, np.ndarray) or arr.ndim != 4 or arr.shape[-1] != 2:
        shape = getattr(arr, "shape", None)
        raise AlignlabError(
            f"schematic must be [y, x, z, 2] (id, meta), got shape {shape}", file=file
        )
    if min(arr.shape) == 0:
        raise AlignlabError(f"schematic is empty (shape {arr.shape})", file=file)
    if not np.issubdtype(arr.dtype, np.integer):
        raise AlignlabError(f"schematic dtype {arr.dtype} is not an integer type", file=file)
    if int(arr.min()) < 0 or int(arr.max()) > 255:
        raise AlignlabError("schematic ids and metas must be in 0..255", file=file)
    return arr


def _lookup_table(block_map: dict[str, int]) -> np.ndarray:
    """``[256, 256] uint8`` (id, meta) → block; missing metas fall back to ``id:0``, else air."""
    table = np.zeros((256, 256), dtype=np.uint8)
    known = np.zeros((256, 256), dtype=bool)
    for key, block in block_map.items():
        try:
            mc_id, meta = (int(part) for part in key.split(":"))
        except ValueError:
            continue  # names ("stone") are not id:meta keys
        if 0 <= mc_id < 256 and 0 <= meta < 256:
            table[mc_id, meta], known[mc_id, meta] = block, True
    fallback = np.where(known[:, :1], table[:, :1], AIR)
    return np.where(known, table, fallback).astype(np.uint8)


def map_blocks(schematic: np.ndarray, block_map: dict[str, int]) -> np.ndarray:
    """``[y, x, z, 2]`` schematic → ``[x, y, z] uint8`` of our ids (AUTO filled, dirt → air)."""
    blocks = _lookup_table(block_map)[schematic[..., 0], schematic[..., 1]]
    blocks = np.ascontiguousarray(blocks.transpose(1, 0, 2))
    blocks[blocks == DIRT] = AIR
    _fill_auto(blocks)
    return blocks


def _fill_auto(blocks: np.ndarray) -> None:
    offsets = ((1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1))
    while np.any(blocks == AUTO):
        todo = np.argwhere(blocks == AUTO)
        changed = False
        for x, y, z in todo:
            votes = np.zeros(N_BLOCKS, dtype=int)
            for dx, dy, dz in offsets:
                n = (x + dx, y + dy, z + dz)
                if all(0 <= n[k] < blocks.shape[k] for k in range(3)):
                    b = int(blocks[n])
                    if b not in (AIR, AUTO):
                        votes[b] += 1
            if votes.any():
                blocks[x, y, z] = int(votes.argmax())
                changed = True
        if not changed:
            solid = blocks[(blocks != AIR) & (blocks != AUTO)]
            blocks[blocks == AUTO] = np.bincount(solid).argmax() if solid.size else STONE


def _largest_component(blocks: np.ndarray) -> np.ndarray:
    solid = np.zeros((blocks.shape[0], blocks.shape[1] + 1, blocks.shape[2]), dtype=bool)
    solid[:, 1:, :] = blocks != AIR
    solid[:, 0, :] = True  # virtual ground
    labels, n = ndimage.label(solid)  # default structure = 6-connectivity
    if n == 0:
        return blocks
    sizes = np.bincount(labels[:, 1:, :][solid[:, 1:, :]], minlength=n + 1)
    keep = labels[:, 1:, :] == int(sizes.argmax())
    return np.where(keep, blocks, AIR).astype(np.uint8)


def _crop_air(blocks: np.ndarray) -> np.ndarray:
    idx = np.argwhere(blocks != AIR)
    if idx.size == 0:
        return blocks[:0, :0, :0]
    lo, hi = idx.min(axis=0), idx.max(axis=0) + 1
    return blocks[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]


def _drop_sparse_bottom(blocks: np.ndarray, min_fill: float) -> np.ndarray:
    while blocks.shape[1] > 1 and np.mean(blocks[:, 0, :] != AIR) < min_fill:
        blocks = _crop_air(blocks[:, 1:, :])
    return blocks


def downscale(blocks: np.ndarray, fit: Size, min_occupancy: float = 0.25) -> np.ndarray:
    """Shrink ``[x, y, z]`` blocks by one factor so each axis fits ``fit`` (see module doc)."""
    factor = max(blocks.shape[k] / fit[k] for k in range(3))
    if factor <= 1:
        return blocks
    target = [max(1, min(fit[k], int(np.ceil(blocks.shape[k] / factor)))) for k in range(3)]
    bins = [(np.arange(blocks.shape[k]) * target[k]) // blocks.shape[k] for k in range(3)]
    bx, by, bz = np.meshgrid(*bins, indexing="ij")
    counts = np.zeros((*target, N_BLOCKS), dtype=np.int32)
    np.add.at(counts, (bx, by, bz, blocks.astype(np.intp)), 1)
    total = counts.sum(axis=-1)
    solid = counts[..., 1:]
    out = (solid.argmax(axis=-1) + 1).astype(np.uint8)
    out[solid.sum(axis=-1) < min_occupancy * total] = AIR
    return out


def schematic_to_goal(
    schematic: np.ndarray,
    block_map: dict[str, int],
    size: Size,
    rng: np.random.Generator,
    *,
    min_layer_fill: float = 0.25,
    min_occupancy: float = 0.25,
    grass: str = "under",
) -> np.ndarray:
    """A CraftAssist schematic ``[y, x, z, 2]`` → goal ``[X, Y, Z] uint8`` (transforms above)."""
    x_size, y_size, z_size = check_size(size, (3, 4, 3))
    if grass not in ("under", "surround"):
        raise AlignlabError(f"grass must be 'under' or 'surround', got {grass!r}", field="grass")
    blocks = map_blocks(_check_schematic(np.asarray(schematic)), block_map)
    blocks = _crop_air(_largest_component(blocks))
    blocks = _drop_sparse_bottom(blocks, min_layer_fill)
    if blocks.size == 0:
        raise AlignlabError("schematic has no building blocks after mapping")
    y0 = 2 if grass == "under" else 1
    blocks = downscale(blocks, (x_size - 2, y_size - 1 - y0, z_size - 2), min_occupancy)
    goal = empty_goal(size)
    w, h, d = blocks.shape
    x0 = int(rng.integers(1, x_size - 1 - w + 1))
    z0 = int(rng.integers(1, z_size - 1 - d + 1))
    region = goal[x0 : x0 + w, y0 : y0 + h, z0 : z0 + d]
    region[blocks != AIR] = blocks[blocks != AIR]
    return goal  # air of the house's bottom layer keeps the dirt empty_goal laid ("surround")


def load_house_folder(
    folder: str | Path, size: Size, seed: int, *, block_map: dict[str, int] | None = None
) -> list[np.ndarray]:
    """Goals from every ``**/schematic.npy`` under ``folder`` (sorted paths; house ``i`` uses
    ``default_rng([seed, i])``). The block maps are looked up beside the folder or above it
    unless given. Houses left empty by the maps are skipped with a warning."""
    root = Path(folder)
    if not root.is_dir():
        raise AlignlabError("house folder not found", file=root)
    paths = sorted(root.rglob("schematic.npy"))
    if not paths:
        raise AlignlabError("no */schematic.npy in this folder", file=root)
    if block_map is None:
        block_map = find_block_map(root)
    goals = []
    for i, path in enumerate(paths):
        try:
            goal = schematic_to_goal(
                load_schematic(path), block_map, size, np.random.default_rng([seed, i])
            )
        except AlignlabError as err:
            if err.file is not None:
                raise
            warnings.warn(f"{path}: skipped: {err.message}", stacklevel=2)
            continue
        goals.append(goal)
    if not goals:
        raise AlignlabError(
            "no house in this folder gave a goal (all empty after mapping)", file=root
        )
    return goals
