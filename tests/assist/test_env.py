"""Rules of the JAX MBAG environment, one at a time, on a 6×6×6 grid (jitted once per module)."""

from __future__ import annotations

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import functools  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from alignlab.assist import _reference as ref  # noqa: E402
from alignlab.assist._env import (  # noqa: E402
    State,
    decode_action,
    encode_action,
    goal_percentage,
    init,
    legal_action_mask,
    legal_masks,
    observe,
    step,
    validate_goal,
)
from alignlab.assist._layout import BEDROCK, DIRT, LOG, PLANKS, EnvConfig  # noqa: E402
from alignlab.core import AlignlabError  # noqa: E402

CFG = EnvConfig(size=(6, 6, 6), horizon=5)
V = CFG.n_voxels
STEP = jax.jit(functools.partial(step, CFG))
MASKS = jax.jit(functools.partial(legal_masks, CFG), static_argnums=1)
CFG_OFF = EnvConfig(size=(6, 6, 6), horizon=5, los="off")  # the default until 2026-11
STEP_OFF = jax.jit(functools.partial(step, CFG_OFF))
MASKS_OFF = jax.jit(functools.partial(legal_masks, CFG_OFF), static_argnums=1)
FLAT = jax.jit(functools.partial(legal_action_mask, CFG), static_argnums=1)
OBS = jax.jit(functools.partial(observe, CFG), static_argnums=1)
NOOP = 0


def _vox(x: int, y: int, z: int) -> int:
    return (x * 6 + y) * 6 + z


def place(x: int, y: int, z: int, block: int) -> int:
    return encode_action("place", _vox(x, y, z), block, n_voxels=V)


def brk(x: int, y: int, z: int) -> int:
    return encode_action("break", _vox(x, y, z), n_voxels=V)


def move(i: int) -> int:
    return encode_action("move", i, n_voxels=V)


def _goal() -> np.ndarray:
    goal = np.zeros(CFG.size, np.uint8)
    goal[:, 0], goal[:, 1] = BEDROCK, DIRT
    goal[2, 2, 2] = LOG
    return goal


def _state(human=(0, 2, 0), assistant=(5, 2, 5), goal=None) -> State:  # type: ignore[no-untyped-def]
    s = init(CFG, jax.random.PRNGKey(0), _goal() if goal is None else goal)
    return s._replace(positions=jnp.array([human, assistant], jnp.int32))


def _act(s: State, a_h: int, a_a: int = NOOP) -> State:
    return STEP(s, jnp.array([a_h, a_a], jnp.int32), None)


def test_init_layers_positions_and_sim0() -> None:
    goal = np.zeros(CFG.size, np.uint8)
    goal[:, 0], goal[:, 1] = BEDROCK, DIRT
    goal[:4, 2:4, :] = PLANKS  # footprint covers columns x < 4
    for seed in range(5):
        s = init(CFG, jax.random.PRNGKey(seed), goal)
        assert (np.asarray(s.blocks[:, 0]) == BEDROCK).all()
        assert (np.asarray(s.blocks[:, 1]) == DIRT).all()
        assert (np.asarray(s.blocks[:, 2:]) == 0).all()
        pos = np.asarray(s.positions)
        assert (pos[:, 1] == 2).all() and (pos[:, 0] >= 4).all()  # outside the footprint
        assert tuple(pos[0, [0, 2]]) != tuple(pos[1, [0, 2]])
        assert float(s.sim0) == ref.total_similarity(CFG, np.asarray(s.blocks), goal)
        assert (np.asarray(s.last_interacted) == -1).all() and int(s.t) == 0
        assert float(goal_percentage(s, CFG)) == 0.0


def test_validation_errors() -> None:
    with pytest.raises(AlignlabError, match="shape"):
        validate_goal(CFG, np.zeros((6, 6, 5), np.uint8))
    with pytest.raises(AlignlabError, match="0..9"):
        validate_goal(CFG, np.full(CFG.size, 10))
    with pytest.raises(AlignlabError, match="integer"):
        validate_goal(CFG, np.zeros(CFG.size, np.float32))
    with pytest.raises(AlignlabError, match="inventory_start"):
        bad = EnvConfig(size=(6, 6, 6), finite_inventory=True, inventory_start=(5, 99))
        init(bad, jax.random.PRNGKey(0), _goal())
    with pytest.raises(AlignlabError, match="too small"):
        init(EnvConfig(size=(6, 3, 6)), jax.random.PRNGKey(0), np.zeros((6, 3, 6), int))


def test_encode_decode_roundtrip_and_range() -> None:
    for a in [0, 1, 6, 7, 7 + V - 1, 7 + V, CFG.n_actions - 1]:
        kind, v, b = decode_action(a, V)
        assert encode_action(kind, v, b, n_voxels=V) == a
    assert decode_action(7 + V + 3 * V + 5, V) == ("place", 5, 5)
    for bad in (-1, CFG.n_actions):
        with pytest.raises(AlignlabError):
            decode_action(bad, V)
    with pytest.raises(AlignlabError):
        encode_action("place", 0, 1, n_voxels=V)  # bedrock is not placeable
    with pytest.raises(AlignlabError):
        encode_action("break", V, n_voxels=V)


def test_reach_from_eye() -> None:
    """los="off": reach between the head voxel's centre and the target's centre."""
    s = _state(human=(0, 2, 0))  # eye at (0, 3, 0)

    def act(a: int) -> State:
        return STEP_OFF(s, jnp.array([a, NOOP], jnp.int32), None)

    near = act(place(4, 2, 0, PLANKS))  # d² = 16 + 1 = 17 <= 20.25
    assert int(near.blocks[4, 2, 0]) == PLANKS and int(near.last_interacted[4, 2, 0]) == 0
    far = act(place(4, 2, 2, PLANKS))  # d² = 16 + 1 + 4 = 21 > 20.25
    assert int(far.blocks[4, 2, 2]) == 0
    assert int(act(brk(4, 1, 2)).blocks[4, 1, 2]) == DIRT  # d² = 16 + 4 + 4
    assert int(act(brk(3, 1, 1)).blocks[3, 1, 1]) == 0  # d² = 9 + 4 + 1


def test_mbag_rule_eye_faces_and_players() -> None:
    """los="mbag" (default): the eye is 1.6 above the feet and rays go to points on faces, so
    a block under the far side of a wall is out of sight; the other player blocks rays; a
    player may build into its own voxels but not the other's; feet may stand in the top
    layer."""
    s = _state(human=(0, 2, 2), assistant=(2, 2, 2))  # the assistant stands in front
    place_m, brk_m, glob, *_ = (np.asarray(m) for m in MASKS(s, 0))
    assert not brk_m[3, 1, 2] and brk_m[1, 1, 2]  # dirt behind the assistant is hidden
    assert not place_m[2, 2, 2] and not place_m[2, 3, 2]  # the assistant's voxels
    assert place_m[0, 2, 2] or brk_m[0, 1, 2]  # its own feet voxel and the dirt below
    n = _act(s, place(0, 2, 2, PLANKS))  # building into its own feet voxel
    assert int(n.blocks[0, 2, 2]) == int(place_m[0, 2, 2]) * PLANKS
    top = _state(human=(0, 4, 0), assistant=(4, 2, 4))
    assert bool(MASKS(top, 0).globals[3])  # +y: the head goes above the 6-high grid
    up = _act(top, 3)
    assert up.positions[0].tolist() == [0, 5, 0]
    assert not bool(MASKS(up, 0).globals[3])


def test_human_first_on_same_voxel() -> None:
    s = _state(human=(2, 2, 0), assistant=(2, 2, 4))
    n = _act(s, place(2, 2, 2, LOG), place(2, 2, 2, PLANKS))
    assert int(n.blocks[2, 2, 2]) == LOG and int(n.last_interacted[2, 2, 2]) == 0
    assert float(n.rewards[0]) == float(n.rewards[1]) == 1.0
    # the human breaks, so the assistant's place into the freed voxel is legal
    s2 = _state(human=(2, 2, 0), assistant=(2, 2, 4))
    n2 = _act(s2, brk(2, 1, 2), place(2, 1, 2, PLANKS))
    assert int(n2.blocks[2, 1, 2]) == PLANKS and int(n2.last_interacted[2, 1, 2]) == 1


def test_moves_blocked_by_players_blocks_and_bounds() -> None:
    s = _state(human=(1, 2, 1), assistant=(3, 2, 1))
    # human moves +x into (2, 2, 1); assistant's -x into the same voxel is then blocked
    n = _act(s, move(0), move(1))
    assert np.asarray(n.positions).tolist() == [[2, 2, 1], [3, 2, 1]]
    # moving into the other player is blocked; flying up is allowed
    n = _act(n, move(0), move(2))
    assert np.asarray(n.positions).tolist() == [[2, 2, 1], [3, 3, 1]]
    # down into dirt and out of the grid are blocked
    edge = _state(human=(0, 2, 0))
    n = _act(edge, move(3), move(0))  # assistant at x=5 moves +x
    assert np.asarray(n.positions).tolist() == np.asarray(edge.positions).tolist()
    n = _act(edge, move(1))
    assert np.asarray(n.positions)[0].tolist() == [0, 2, 0]


def test_illegal_actions_are_noops() -> None:
    s = _state(human=(2, 2, 2), assistant=(4, 2, 4))
    illegal = [
        place(2, 4, 0, PLANKS),  # floating: no non-air neighbour
        place(2, 3, 2, PLANKS),  # inside the human's head
        place(4, 2, 4, PLANKS),  # inside the assistant
        place(2, 1, 2, PLANKS),  # not air
        brk(2, 0, 2),  # bedrock
        brk(2, 3, 3),  # air
        -3,
        CFG.n_actions + 7,
    ]
    for a in illegal:
        n = _act(s, a)
        assert np.array_equal(np.asarray(n.blocks), np.asarray(s.blocks)), a
        assert np.array_equal(np.asarray(n.positions), np.asarray(s.positions)), a
        assert float(n.rewards[0]) == 0.0 and int(n.t) == 1


def test_reward_values_including_place_wrong() -> None:
    s = _state(human=(2, 2, 0))
    assert float(_act(s, place(2, 2, 2, LOG)).rewards[0]) == 1.0  # air -> goal block
    assert float(_act(s, place(2, 2, 2, PLANKS)).rewards[0]) == -1.0  # 0 -> place_wrong
    assert float(_act(s, place(2, 2, 1, PLANKS)).rewards[0]) == -1.0  # goal air: 1 -> 0
    assert float(_act(s, brk(2, 1, 1)).rewards[0]) == -1.0  # goal dirt: 1 -> 0
    # both act: rewards add and are shared
    n = _act(s, place(2, 2, 2, LOG), brk(4, 1, 4))
    assert np.asarray(n.rewards).tolist() == [0.0, 0.0]
    # a custom place_wrong (eager, no jit)
    cfg = EnvConfig(size=(6, 6, 6), place_wrong=-0.25)
    n = step(cfg, s, jnp.array([place(2, 2, 2, PLANKS), NOOP]))
    assert float(n.rewards[0]) == -0.25


def test_termination_truncation_and_frozen_after_done() -> None:
    s = _state(human=(2, 2, 0))
    n = _act(s, place(2, 2, 2, LOG))
    assert bool(n.terminated) and float(goal_percentage(n, CFG)) == 1.0
    after = _act(n, brk(2, 2, 2), move(0))
    assert np.array_equal(np.asarray(after.blocks), np.asarray(n.blocks))
    assert int(after.t) == int(n.t) and float(after.rewards[0]) == 0.0
    s = _state()
    for _ in range(CFG.horizon):
        assert not bool(s.truncated)
        s = _act(s, NOOP)
    assert bool(s.truncated) and int(s.t) == CFG.horizon and not bool(s.terminated)
    assert int(_act(s, move(4)).positions[0, 2]) == 0  # frozen


def test_factorised_mask_matches_flat_and_reference() -> None:
    s = _state(human=(2, 2, 2), assistant=(4, 2, 4))
    s = _act(s, place(2, 2, 3, PLANKS), place(4, 2, 3, LOG))
    for p in (0, 1):
        place_m, brk_m, glob, held, give = (np.asarray(m) for m in MASKS(s, p))
        assert held.all() and not give.any()  # infinite inventories
        flat = np.asarray(FLAT(s, p))
        assert flat.shape == (CFG.n_actions,)
        for a in np.flatnonzero(flat):
            kind, v, _ = decode_action(int(a), V)
            cell = np.unravel_index(v, CFG.size)
            assert {
                "noop": glob[0],
                "move": glob[1 + v] if kind == "move" else False,
                "break": brk_m[cell],
                "place": place_m[cell],
            }[kind]
        assert flat.sum() == glob.sum() + brk_m.sum() + 8 * place_m.sum()
        assert np.array_equal(flat, ref.flat_mask(CFG, ref.to_numpy(s), p))
        assert place_m.any() and brk_m.any()


def test_assistant_observation_ignores_goal() -> None:
    rng = np.random.default_rng(0)
    s = _state()
    obs = []
    for _ in range(4):
        g = rng.integers(0, 10, CFG.size).astype(np.uint8)
        sg = s._replace(goal=jnp.asarray(g))
        obs.append(np.asarray(OBS(sg, 1)))
        assert np.array_equal(np.asarray(OBS(sg, 0))[2], g)  # the human sees it
        assert np.array_equal(np.asarray(observe(CFG, sg, jnp.int32(1))), obs[-1])  # traced id
    assert all(np.array_equal(o, obs[0]) for o in obs) and not obs[0][2:4].any()
    # the assistant's jaxpr never reads the goal leaf
    closed = jax.make_jaxpr(lambda st: observe(CFG, st, 1))(s)
    goal_var = closed.jaxpr.invars[State._fields.index("goal")]
    used = {id(v) for eqn in closed.jaxpr.eqns for v in eqn.invars}
    assert id(goal_var) not in used and goal_var not in closed.jaxpr.outvars
    o = np.asarray(OBS(s, 1))
    assert o[4, 5, 2, 5] == 1 and o[4, 5, 3, 5] == 1 and o[4, 0, 2, 0] == 2
    assert np.array_equal(o, ref.observe(CFG, ref.to_numpy(s), 1))


def test_vmap_batch_equals_loop() -> None:
    b = 4
    goals = np.stack([_goal()] * b)
    goals[1, 3, 3, 3] = PLANKS
    states = jax.vmap(functools.partial(init, CFG))(
        jax.random.split(jax.random.PRNGKey(1), b), jnp.asarray(goals)
    )
    rng = np.random.default_rng(0)
    actions = rng.integers(0, CFG.n_actions, (3, b, 2)).astype(np.int32)
    actions[:, :, 0] = [[move(2)] * b, [place(1, 2, 1, LOG)] * b, [brk(0, 1, 0)] * b]
    bstep = jax.jit(jax.vmap(functools.partial(step, CFG)))
    batched = states
    for a in actions:
        batched = bstep(batched, jnp.asarray(a), jax.random.split(jax.random.PRNGKey(2), b))
    for i in range(b):
        single = jax.tree.map(lambda x, i=i: x[i], states)
        for a in actions:
            single = _act(single, int(a[i, 0]), int(a[i, 1]))
        for name, leaf in zip(State._fields, single, strict=True):
            assert np.array_equal(np.asarray(getattr(batched, name)[i]), np.asarray(leaf)), name


def test_line_of_sight_blocks_through_walls() -> None:
    cfg = EnvConfig(size=(6, 6, 6), los="centre")
    s = _state(human=(0, 2, 2))  # eye (0, 3, 2)
    wall = s.blocks.at[1, 2:5, :].set(PLANKS)
    s = s._replace(blocks=wall)
    masks_fn = jax.jit(functools.partial(legal_masks, cfg), static_argnums=1)
    place_m, brk_m, *_ = (np.asarray(m) for m in masks_fn(s, 0))
    assert brk_m[1, 3, 2] and not brk_m[2, 1, 2]  # the wall is visible, dirt behind it is not
    assert not place_m[2, 2, 2] and not place_m[3, 2, 1]
    no_los_place, no_los_brk, *_ = (np.asarray(m) for m in MASKS_OFF(s, 0))
    assert no_los_brk[2, 1, 2] and no_los_place[2, 2, 2]
    n = step(cfg, s, jnp.array([brk(2, 1, 2), NOOP]))  # eager: the step agrees with the mask
    assert int(n.blocks[2, 1, 2]) == DIRT
    n = step(cfg, s, jnp.array([brk(1, 3, 2), NOOP]))
    assert int(n.blocks[1, 3, 2]) == 0
    assert np.array_equal(place_m, ref.masks(cfg, ref.to_numpy(s), 0)[0])


@pytest.mark.parametrize("finite", [False, True])
def test_packed_masks_round_trip(finite: bool) -> None:
    from alignlab.assist._env import packed_masks, unpack_masks

    cfg = EnvConfig(size=(6, 6, 6), finite_inventory=finite, inventory_start=(0, 3))
    s = init(cfg, jax.random.PRNGKey(3), _goal())
    s = s._replace(positions=jnp.array([[2, 2, 2], [3, 2, 3]], jnp.int32))
    packed = jax.jit(functools.partial(packed_masks, cfg))(s)
    assert packed.shape == (2, 2 * cfg.n_voxels + 23) and packed.dtype == jnp.bool_
    for p in (0, 1):
        want = legal_masks(cfg, s, p)
        for got_np in (unpack_masks(cfg, np.asarray(packed[p])), unpack_masks(cfg, packed[p])):
            for name in want._fields:
                assert np.array_equal(np.asarray(getattr(got_np, name)), getattr(want, name))
    if finite:  # the human holds nothing, the assistant can give to it
        assert not np.asarray(unpack_masks(cfg, packed[0]).held).any()
        assert np.asarray(unpack_masks(cfg, packed[1]).give).all()
