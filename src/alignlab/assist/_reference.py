"""Plain-Python restatement of the MBAG rules in ``_env`` (one game, loops, numpy copies).

It is the oracle for the JAX environment's tests and the baseline of its benchmark: written
for clarity, not speed. Functions take a ``State`` whose leaves are numpy arrays (convert a
JAX state with ``to_numpy``) and never modify their input.

For ``los="mbag"`` it aims at each face's 9 points and walks each ray voxel by voxel; the
point positions and the single-ray grid walk (``_los.face_points``, ``_los.traverse``) are
shared with the JAX tables, and are held to the original MBAG by the conformance test.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from alignlab.assist import _los
from alignlab.assist._env import LOS_SAMPLES, LegalMasks, State, decode_action
from alignlab.assist._layout import AIR, BEDROCK, MOVES, PLACEABLE, EnvConfig

NpState = Any  # a State whose leaves are numpy arrays (see to_numpy)


def to_numpy(state: NpState) -> NpState:
    """A copy of ``state`` with numpy leaves."""
    return State(*[np.array(leaf) for leaf in state])  # type: ignore[arg-type]


def voxel_sim(block: int, goal: int, place_wrong: float) -> float:
    if block == goal:
        return 1.0
    if block != AIR and goal != AIR:
        return place_wrong
    return 0.0


def total_similarity(cfg: EnvConfig, blocks: np.ndarray, goal: np.ndarray) -> float:
    return float(
        sum(
            voxel_sim(int(b), int(g), cfg.place_wrong)
            for b, g in zip(blocks.ravel(), goal.ravel(), strict=True)
        )
    )


def _unflat(cfg: EnvConfig, v: int) -> tuple[int, int, int]:
    _, ny, nz = cfg.size
    return v // (ny * nz), (v // nz) % ny, v % nz


def _inside(cfg: EnvConfig, x: int, y: int, z: int) -> bool:
    return all(0 <= c < n for c, n in zip((x, y, z), cfg.size, strict=True))


def _player_cells(positions: np.ndarray, q: int) -> list[tuple[int, int, int]]:
    x, y, z = (int(c) for c in positions[q])
    return [(x, y, z), (x, y + 1, z)]


def _in_sight(blocks: np.ndarray, eye: tuple[int, int, int], cell: tuple[int, int, int]) -> bool:
    """Sample the segment between the voxel centres at k/n, k = 1..n-1 (exact fractions)."""
    n = LOS_SAMPLES
    for k in range(1, n):
        point = tuple(
            math.floor(e + 0.5 + (k * (c - e)) / n) for e, c in zip(eye, cell, strict=True)
        )
        if point != cell and blocks[point] != AIR:
            return False
    return True


def _in_reach(
    cfg: EnvConfig, positions: np.ndarray, p: int, cell: tuple[int, int, int], blocks: np.ndarray
) -> bool:
    eye = (int(positions[p][0]), int(positions[p][1]) + 1, int(positions[p][2]))
    dist = math.sqrt(sum((c - e) ** 2 for c, e in zip(cell, eye, strict=True)))
    if dist > cfg.reach:
        return False
    return cfg.los != "centre" or _in_sight(blocks, eye, cell)


def _face_seen(
    cfg: EnvConfig, blocks: np.ndarray, positions: np.ndarray, p: int, cell: tuple, k: int
) -> bool:
    """One of the 9 points on face ``k`` of ``cell`` is within reach of p's eye, and its ray
    enters no non-air voxel of the grid and no voxel of the other player (los="mbag")."""
    feet = tuple(int(c) for c in positions[p])
    other = _player_cells(positions, 1 - p)
    rel = tuple(c - f for c, f in zip(cell, feet, strict=True))
    for point in _los.face_points(rel, k):  # type: ignore[arg-type]
        if not _los.reaches(_los.EYE, point, cfg.reach):
            continue
        crossed = [
            tuple(c + f for c, f in zip(r, feet, strict=True))
            for r in _los.traverse(_los.EYE, point)
        ]
        if not any((_inside(cfg, *c) and blocks[c] != AIR) or c in other for c in crossed):
            return True
    return False


def _neighbour(cell: tuple[int, int, int], k: int) -> tuple[int, int, int]:
    return (cell[0] + MOVES[k][0], cell[1] + MOVES[k][1], cell[2] + MOVES[k][2])


def _mbag_place(
    cfg: EnvConfig, blocks: np.ndarray, positions: np.ndarray, p: int, cell: tuple
) -> bool:
    if blocks[cell] != AIR or cell in _player_cells(positions, 1 - p):
        return False  # the original lets a player build into its own voxels
    for k in range(len(MOVES)):
        against = _neighbour(cell, k)
        solid = _inside(cfg, *against) and blocks[against] != AIR
        if solid and _face_seen(cfg, blocks, positions, p, cell, k):
            return True
    return False


def _mbag_break(
    cfg: EnvConfig, blocks: np.ndarray, positions: np.ndarray, p: int, cell: tuple
) -> bool:
    if blocks[cell] in (AIR, BEDROCK) or cell in _player_cells(positions, 1 - p):
        return False
    for k in range(len(MOVES)):
        front = _neighbour(cell, k)  # the face of ``front`` that touches ``cell`` is k ^ 1
        if _inside(cfg, *front) and _face_seen(cfg, blocks, positions, p, front, k ^ 1):
            return True
    return False


def can_place(
    cfg: EnvConfig, blocks: np.ndarray, positions: np.ndarray, p: int, cell: tuple[int, int, int]
) -> bool:
    if cfg.los == "mbag":
        return _mbag_place(cfg, blocks, positions, p, cell)
    if blocks[cell] != AIR or not _in_reach(cfg, positions, p, cell, blocks):
        return False
    if any(cell in _player_cells(positions, q) for q in range(2)):
        return False
    for dx, dy, dz in MOVES:
        n = (cell[0] + dx, cell[1] + dy, cell[2] + dz)
        if _inside(cfg, *n) and blocks[n] != AIR:
            return True
    return False


def can_break(
    cfg: EnvConfig, blocks: np.ndarray, positions: np.ndarray, p: int, cell: tuple[int, int, int]
) -> bool:
    if cfg.los == "mbag":
        return _mbag_break(cfg, blocks, positions, p, cell)
    return blocks[cell] not in (AIR, BEDROCK) and _in_reach(cfg, positions, p, cell, blocks)


def can_move(cfg: EnvConfig, blocks: np.ndarray, positions: np.ndarray, p: int, m: int) -> bool:
    dx, dy, dz = MOVES[m]
    x, y, z = (int(c) for c in positions[p])
    new_cells = [(x + dx, y + dy, z + dz), (x + dx, y + dy + 1, z + dz)]
    other = _player_cells(positions, 1 - p)
    if cfg.los == "mbag" and y + dy + 1 == cfg.size[1]:  # the head may stand above the grid
        new_cells = new_cells[:1]
    return all(_inside(cfg, *c) and blocks[c] == AIR and c not in other for c in new_cells)


def other_in_reach(cfg: EnvConfig, positions: np.ndarray, p: int) -> bool:
    """One of the other player's voxels is within reach of p's eye (for GIVE)."""
    x, y, z = (int(c) for c in positions[p])
    eye = (x, y + 1, z)
    return any(math.dist(eye, cell) <= cfg.reach for cell in _player_cells(positions, 1 - p))


def can_give(cfg: EnvConfig, inventory: np.ndarray, positions: np.ndarray, p: int, b: int) -> bool:
    return (
        cfg.finite_inventory
        and inventory[p, b] >= 1
        and inventory[1 - p, b] < cfg.inventory_max
        and other_in_reach(cfg, positions, p)
    )


def holds(cfg: EnvConfig, inventory: np.ndarray, p: int, b: int) -> bool:
    return not cfg.finite_inventory or inventory[p, b] >= 1


def masks(cfg: EnvConfig, state: NpState, p: int) -> LegalMasks:
    """The factorised masks of ``_env.legal_masks``."""
    place = np.zeros(cfg.size, bool)
    brk = np.zeros(cfg.size, bool)
    for v in range(cfg.n_voxels):
        cell = _unflat(cfg, v)
        place[cell] = can_place(cfg, state.blocks, state.positions, p, cell)
        brk[cell] = can_break(cfg, state.blocks, state.positions, p, cell)
    moves = [can_move(cfg, state.blocks, state.positions, p, m) for m in range(len(MOVES))]
    inv, pos = state.inventory, state.positions
    fields: dict[str, Any] = {
        "place": place,
        "brk": brk,
        "globals": np.array([True, *moves]),
        "held": np.array([holds(cfg, inv, p, b) for b in PLACEABLE]),
        "give": np.array([can_give(cfg, inv, pos, p, b) for b in PLACEABLE]),
    }
    return LegalMasks(**fields)  # numpy leaves, like NpState


def flat_mask(cfg: EnvConfig, state: NpState, p: int) -> np.ndarray:
    """``[n_actions] bool``, one action at a time."""
    m = masks(cfg, state, p)
    out = [m.globals, m.brk.ravel()]
    for i in range(len(PLACEABLE)):
        out.append(m.place.ravel() & m.held[i])
    if cfg.finite_inventory:
        out.append(m.give)
    return np.concatenate(out)


def observe_inventory(state: NpState, p: int) -> np.ndarray:
    return np.stack([state.inventory[p], state.inventory[1 - p]]).astype(np.int32)


def observe(cfg: EnvConfig, state: NpState, p: int) -> np.ndarray:
    obs = np.zeros((6, *cfg.size), np.float32)
    obs[0] = state.blocks
    if p == 0:
        obs[2] = state.goal
    for q, value in ((1 - p, 2.0), (p, 1.0)):
        for cell in _player_cells(state.positions, q):
            if _inside(cfg, *cell):
                obs[4][cell] = value
    for cell in np.ndindex(*cfg.size):
        who = int(state.last_interacted[cell])
        if who < 0:
            continue
        if cfg.last_interacted_obs == "absolute":
            obs[5][cell] = who + 1
        else:
            obs[5][cell] = 1 if who == p else 2
    return obs


def _apply(
    cfg: EnvConfig,
    blocks: np.ndarray,
    last: np.ndarray,
    positions: np.ndarray,
    inventory: np.ndarray,
    goal: np.ndarray,
    p: int,
    action: int,
) -> tuple[str, bool, float]:
    """Apply one player's action in place; return its kind, whether it took effect, and the
    similarity change."""
    try:
        kind, v, block = decode_action(action, cfg.n_voxels, cfg.finite_inventory)
    except Exception:  # out-of-range ids are illegal, hence no-ops
        return "noop", False, 0.0
    if kind == "give":
        if can_give(cfg, inventory, positions, p, block):
            inventory[p, block] -= 1
            inventory[1 - p, block] += 1
            return kind, True, 0.0
        return kind, False, 0.0
    if kind == "move":
        if can_move(cfg, blocks, positions, p, v):
            positions[p] = positions[p] + np.array(MOVES[v])
            return kind, True, 0.0
        return kind, False, 0.0
    if kind == "noop":
        return kind, False, 0.0
    cell = _unflat(cfg, v)
    before = int(blocks[cell])
    if (
        kind == "place"
        and can_place(cfg, blocks, positions, p, cell)
        and holds(cfg, inventory, p, block)
    ):
        blocks[cell] = block
        if cfg.finite_inventory:
            inventory[p, block] -= 1
    elif kind == "break" and can_break(cfg, blocks, positions, p, cell):
        blocks[cell] = AIR
        if cfg.finite_inventory:  # a block broken into a full stack is lost
            inventory[p, before] = min(inventory[p, before] + 1, cfg.inventory_max)
    else:
        return kind, False, 0.0
    last[cell] = p
    g = int(goal[cell])
    after = voxel_sim(int(blocks[cell]), g, cfg.place_wrong)
    return kind, True, after - voxel_sim(before, g, cfg.place_wrong)


def own_reward(cfg: EnvConfig, p: int, kind: str, effect: bool, d_sim: float) -> float:
    """Player ``p``'s own reward: its similarity change, the incorrect-action term for a PLACE
    that did not raise similarity or a BREAK that lowered it (only if it took effect), and the
    noop term if the action had no effect, else the action term."""
    reward = d_sim
    if effect and kind in ("place", "break"):
        correct = d_sim > 0 if kind == "place" else d_sim >= 0
        if not correct:
            reward += cfg.incorrect_action_reward[p]
    return reward + (cfg.action_reward[p] if effect else cfg.noop_reward[p])


def step(cfg: EnvConfig, state: NpState, actions: tuple[int, int] | np.ndarray) -> NpState:
    """One joint step, the human's action applied before the assistant's."""
    if state.terminated or state.truncated:
        return state._replace(rewards=np.zeros(2, np.float32))
    blocks = state.blocks.copy()
    last = state.last_interacted.copy()
    positions = state.positions.copy()
    inventory = state.inventory.copy()
    own = []
    for p in (0, 1):
        kind, effect, d_sim = _apply(
            cfg, blocks, last, positions, inventory, state.goal, p, int(actions[p])
        )
        own.append(np.float32(own_reward(cfg, p, kind, effect, d_sim)))
    total = own[0] + own[1]
    prop = cfg.own_reward_prop
    rewards = [np.float32(prop[p]) * own[p] + (1 - np.float32(prop[p])) * total for p in (0, 1)]
    t = int(state.t) + 1
    best, stalled = state.best_sim, state.stalled
    limit = cfg.truncate_on_no_progress_timesteps
    if limit is not None:  # progress: similarity above its best since reset
        sim = np.float32(total_similarity(cfg, blocks, state.goal))
        best, stalled = (sim, np.int32(0)) if sim > best else (best, np.int32(stalled + 1))
    return state._replace(
        blocks=blocks,
        last_interacted=last,
        positions=positions,
        inventory=inventory,
        t=np.int32(t),
        rewards=np.array(rewards, np.float32),
        terminated=np.bool_(cfg.terminate_on_completion and bool((blocks == state.goal).all())),
        truncated=np.bool_(t >= cfg.horizon or (limit is not None and stalled >= limit)),
        best_sim=np.float32(best),
        stalled=np.int32(stalled),
    )
