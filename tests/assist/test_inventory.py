"""Finite inventories with GIVE, rule by rule, on a 6×6×6 grid (the property test in
``test_reference_property.py`` covers random states; these pin each rule down by hand)."""

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
    init,
    legal_action_mask,
    legal_masks,
    observe_inventory,
    step,
)
from alignlab.assist._layout import BEDROCK, DIRT, LOG, PLANKS, STONE, EnvConfig  # noqa: E402
from alignlab.core import AlignlabError  # noqa: E402

CFG = EnvConfig(size=(6, 6, 6), horizon=50, finite_inventory=True, inventory_start=(2, 0))
V = CFG.n_voxels
STEP = jax.jit(functools.partial(step, CFG))
MASKS = jax.jit(functools.partial(legal_masks, CFG), static_argnums=1)
FLAT = jax.jit(functools.partial(legal_action_mask, CFG), static_argnums=1)
NOOP = 0


def _v(x: int, y: int, z: int) -> int:
    return (x * 6 + y) * 6 + z


def place(cell: tuple[int, int, int], block: int) -> int:
    return encode_action("place", _v(*cell), block, n_voxels=V, finite_inventory=True)


def brk(cell: tuple[int, int, int]) -> int:
    return encode_action("break", _v(*cell), n_voxels=V, finite_inventory=True)


def give(block: int) -> int:
    return encode_action("give", block=block, n_voxels=V, finite_inventory=True)


def _state(human=(0, 2, 0), assistant=(2, 2, 0), inventory=None) -> State:  # type: ignore[no-untyped-def]
    goal = np.zeros(CFG.size, np.uint8)
    goal[:, 0], goal[:, 1] = BEDROCK, DIRT
    s = init(CFG, jax.random.PRNGKey(0), goal)
    s = s._replace(positions=jnp.array([human, assistant], jnp.int32))
    return s if inventory is None else s._replace(inventory=jnp.asarray(inventory, jnp.int32))


def _act(s: State, a_h: int, a_a: int = NOOP) -> State:
    nxt = STEP(s, jnp.array([a_h, a_a], jnp.int32), None)
    want = ref.step(CFG, ref.to_numpy(s), (a_h, a_a))  # the oracle agrees on every hand case
    for name in State._fields:
        assert np.array_equal(np.asarray(getattr(nxt, name)), getattr(want, name)), name
    return nxt


def _inv(s: State) -> np.ndarray:
    return np.asarray(s.inventory)


def test_action_space_grows_by_eight_gives_only_when_finite() -> None:
    assert CFG.n_actions == EnvConfig(size=(6, 6, 6)).n_actions + 8
    assert give(2) == 7 + 9 * V and give(9) == CFG.n_actions - 1
    for b in range(2, 10):
        assert decode_action(give(b), V, finite_inventory=True) == ("give", 0, b)
    with pytest.raises(AlignlabError, match="finite"):
        encode_action("give", block=PLANKS, n_voxels=V)
    with pytest.raises(AlignlabError, match="not in"):
        decode_action(give(2), V)  # past the end of the infinite-inventory space
    with pytest.raises(AlignlabError, match="placeable"):
        encode_action("give", block=BEDROCK, n_voxels=V, finite_inventory=True)


def test_start_counts_and_observation_rows() -> None:
    s = _state()
    inv = _inv(s)
    assert (inv[0, 2:] == 2).all() and (inv[1, 2:] == 0).all() and not inv[:, :2].any()
    assert np.array_equal(np.asarray(observe_inventory(CFG, s, 0)), inv)
    assert np.array_equal(np.asarray(observe_inventory(CFG, s, 1)), inv[::-1])
    infinite = init(EnvConfig(size=(6, 6, 6)), jax.random.PRNGKey(0), np.asarray(s.goal))
    assert not np.asarray(infinite.inventory).any()


def test_place_uses_a_held_block_and_needs_one() -> None:
    s = _state()
    s = _act(s, place((1, 2, 0), PLANKS), place((2, 2, 1), PLANKS))  # the assistant holds none
    assert int(s.blocks[1, 2, 0]) == PLANKS and int(s.blocks[2, 2, 1]) == 0
    assert _inv(s)[0, PLANKS] == 1
    s = _act(s, place((0, 2, 1), PLANKS))
    s = _act(s, place((1, 2, 1), PLANKS))  # none left
    assert int(s.blocks[1, 2, 1]) == 0 and _inv(s)[0, PLANKS] == 0
    m = MASKS(s, 0)
    assert not bool(m.held[PLANKS - 2]) and bool(m.held[LOG - 2])
    flat = np.asarray(FLAT(s, 0))
    assert bool(m.place[1, 2, 1]) and not flat[place((1, 2, 1), PLANKS)]
    assert flat[place((1, 2, 1), LOG)]


def test_break_collects_the_block_and_full_stacks_lose_it() -> None:
    s = _state()
    s = _act(s, brk((0, 1, 1)), brk((2, 1, 1)))  # both dig dirt
    assert _inv(s)[0, DIRT] == 3 and _inv(s)[1, DIRT] == 1
    full = np.asarray(s.inventory).copy()
    full[0, DIRT] = CFG.inventory_max
    s = _act(s._replace(inventory=jnp.asarray(full)), brk((1, 1, 0)))
    assert int(s.blocks[1, 1, 0]) == 0 and _inv(s)[0, DIRT] == CFG.inventory_max


def test_give_moves_one_block_within_reach() -> None:
    s = _state()  # human eye (0,3,0), assistant at (2,2,0): in reach
    m = MASKS(s, 0)
    assert np.asarray(m.give).all() and not np.asarray(MASKS(s, 1).give).any()  # it holds none
    s = _act(s, give(STONE))
    assert _inv(s)[0, STONE] == 1 and _inv(s)[1, STONE] == 1
    far = _act(_state(assistant=(5, 2, 5)), give(STONE))  # d² = 25 + 1 + 25 > 20.25
    assert _inv(far)[0, STONE] == 2 and _inv(far)[1, STONE] == 0
    assert not np.asarray(MASKS(_state(assistant=(5, 2, 5)), 0).give).any()
    full = np.asarray(_state().inventory).copy()
    full[1, STONE] = CFG.inventory_max
    s = _state(inventory=full)
    assert not bool(MASKS(s, 0).give[STONE - 2]) and bool(MASKS(s, 0).give[LOG - 2])
    s = _act(s, give(STONE))
    assert _inv(s)[0, STONE] == 2  # a GIVE to a full stack is a no-op


def test_assistant_places_what_the_human_hands_it_in_the_same_step() -> None:
    s = _act(_state(), give(LOG), place((3, 2, 0), LOG))
    assert int(s.blocks[3, 2, 0]) == LOG
    assert _inv(s)[0, LOG] == 1 and _inv(s)[1, LOG] == 0
    # the other way round it fails: the assistant's GIVE comes after the human's PLACE
    inv = np.zeros((2, 10), np.int32)
    inv[1, LOG] = 1
    s = _act(_state(inventory=inv), place((1, 2, 0), LOG), give(LOG))
    assert int(s.blocks[1, 2, 0]) == 0 and _inv(s)[0, LOG] == 1


def test_bad_inventory_config_is_one_clear_error() -> None:
    goal = np.asarray(_state().goal)
    for bad, field in (
        (EnvConfig(size=(6, 6, 6), finite_inventory=True, inventory_max=0), "inventory_max"),
        (EnvConfig(size=(6, 6, 6), finite_inventory=True, inventory_start=(1,)), "inventory_start"),
        (
            EnvConfig(size=(6, 6, 6), finite_inventory=True, inventory_start=(-1, 2)),
            "inventory_start",
        ),
    ):
        with pytest.raises(AlignlabError, match=field):
            init(bad, jax.random.PRNGKey(0), goal)
