"""Property: on random 6×6×6 states and random (legal or illegal) actions, the JAX step, masks
and observations equal the plain-Python reference's — infinite inventories under each reach
rule (los "mbag", the default, "off" and "centre"), and finite inventories with GIVE (a small
stack limit, so full stacks are common), and the original MBAG's reward terms, no-progress
truncation and absolute last-interacted channel turned on (dyadic values: float32 and the
oracle's float64 agree exactly)."""

from __future__ import annotations

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import functools  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from alignlab.assist import _reference as ref  # noqa: E402
from alignlab.assist._env import (  # noqa: E402
    State,
    legal_action_mask,
    legal_masks,
    observe,
    observe_inventory,
    step,
)
from alignlab.assist._layout import BEDROCK, EnvConfig  # noqa: E402

CFG = EnvConfig(size=(6, 6, 6), horizon=8)  # los="mbag", the original MBAG's rule
CFG_OFF = EnvConfig(size=(6, 6, 6), horizon=8, los="off")
CFG_LOS = EnvConfig(size=(6, 6, 6), horizon=8, los="centre")
CFG_INV = EnvConfig(
    size=(6, 6, 6), horizon=8, finite_inventory=True, inventory_start=(2, 2), inventory_max=3
)
# every reward term non-zero and different per player, a no-progress limit that random states
# (stalled 0..3) reach, the original's place_wrong of 0, and the old observation encoding
CFG_RW = EnvConfig(
    size=(6, 6, 6),
    horizon=8,
    place_wrong=0.0,
    noop_reward=(-0.25, -0.5),
    action_reward=(0.125, -0.0625),
    incorrect_action_reward=(-0.75, -1.5),
    own_reward_prop=(0.25, 1.0),
    truncate_on_no_progress_timesteps=3,
    last_interacted_obs="absolute",
)
CFG_RW_INV = EnvConfig(
    size=(6, 6, 6),
    horizon=8,
    finite_inventory=True,
    inventory_start=(2, 2),
    inventory_max=3,
    noop_reward=-0.5,
    action_reward=(0.0, 0.25),
    incorrect_action_reward=-1.0,
    own_reward_prop=(1.0, 0.5),
    truncate_on_no_progress_timesteps=1,
)


def _views(cfg: EnvConfig, state: State):  # type: ignore[no-untyped-def]
    """Both players' masks and observations in one compiled call."""
    return [
        (
            legal_masks(cfg, state, p),
            legal_action_mask(cfg, state, p),
            observe(cfg, state, p),
            observe_inventory(cfg, state, p),
        )
        for p in (0, 1)
    ]


COMPILED = {
    c: (jax.jit(functools.partial(step, c)), jax.jit(functools.partial(_views, c)))
    for c in (CFG, CFG_OFF, CFG_LOS, CFG_INV, CFG_RW, CFG_RW_INV)
}


def _random_state(cfg: EnvConfig, seed: int, air_share: float, t: int, done: bool) -> State:
    rng = np.random.default_rng(seed)
    nx, ny, nz = CFG.size
    blocks = np.where(rng.random(CFG.size) < air_share, 0, rng.integers(2, 10, CFG.size))
    blocks[:, 0] = BEDROCK
    goal = np.where(rng.random(CFG.size) < 0.5, 0, rng.integers(1, 10, CFG.size))
    # two non-overlapping players; their voxels are air; under los="mbag" the feet may stand
    # in the top layer (head above the grid)
    top = ny if cfg.los == "mbag" else ny - 1
    while True:
        pos = np.stack([rng.integers(0, nx, 2), rng.integers(1, top, 2), rng.integers(0, nz, 2)], 1)
        same_col = pos[0, 0] == pos[1, 0] and pos[0, 2] == pos[1, 2]
        if not (same_col and abs(pos[0, 1] - pos[1, 1]) <= 1):
            break
    for x, y, z in pos:
        blocks[x, y : y + 2, z] = 0
    inventory = np.zeros((2, 10), np.int32)
    if cfg.finite_inventory:  # 0 (cannot place or give) .. max (cannot receive) of each block
        inventory[:, 2:] = rng.integers(0, cfg.inventory_max + 1, (2, 8))
    return State(
        blocks=blocks.astype(np.uint8),
        goal=goal.astype(np.uint8),
        positions=pos.astype(np.int32),
        last_interacted=rng.integers(-1, 2, CFG.size).astype(np.int8),
        t=np.int32(t),
        rewards=np.zeros(2, np.float32),
        terminated=np.bool_(done),
        truncated=np.bool_(False),
        sim0=np.float32(rng.integers(0, 100)),
        inventory=inventory,
        # near the state's similarity, so a step's change (at most 2 per player) often ties it
        best_sim=np.float32(ref.total_similarity(cfg, blocks, goal) + rng.integers(-2, 3)),
        stalled=np.int32(rng.integers(0, 4)),
    )


def _pick(cfg: EnvConfig, rng: np.random.Generator, mask: np.ndarray, mode: int) -> int:
    """mode 0: a legal action (mostly PLACE); 1: any id in range; 2: NOOP or a move; 3: a
    BREAK; 4: out of range; 5: a GIVE (with finite inventories; else the first GIVE id, out of
    range there)."""
    give0 = 7 + 9 * cfg.n_voxels
    if mode == 0:
        return int(rng.choice(np.flatnonzero(mask)))
    if mode == 1:
        return int(rng.integers(0, cfg.n_actions))
    if mode == 2:
        return int(rng.integers(0, 7))
    if mode == 3:
        return int(rng.integers(7, 7 + cfg.n_voxels))
    if mode == 5:
        return give0 + int(rng.integers(0, 8)) if cfg.finite_inventory else give0
    return int(rng.choice([-2, -1, cfg.n_actions, cfg.n_actions + 5]))


CASES = dict(
    seed=st.integers(0, 2**31 - 1),
    air_share=st.sampled_from([0.3, 0.7, 0.95]),
    modes=st.tuples(st.integers(0, 5), st.integers(0, 5)),
    t=st.sampled_from([0, 3, CFG.horizon - 1]),
    done=st.booleans(),
    conflict=st.booleans(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**CASES)
def test_jax_equals_reference(**case: object) -> None:
    _check(CFG, **case)  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**CASES)
def test_jax_equals_reference_los_off(**case: object) -> None:
    _check(CFG_OFF, **case)  # type: ignore[arg-type]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**CASES)
def test_jax_equals_reference_line_of_sight(**case: object) -> None:
    _check(CFG_LOS, **case)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**CASES)
def test_jax_equals_reference_finite_inventory(**case: object) -> None:
    _check(CFG_INV, **case)  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**CASES)
def test_jax_equals_reference_reward_terms(**case: object) -> None:
    _check(CFG_RW, **case)  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**CASES)
def test_jax_equals_reference_reward_terms_finite_inventory(**case: object) -> None:
    _check(CFG_RW_INV, **case)  # type: ignore[arg-type]


def _check(
    cfg: EnvConfig,
    seed: int,
    air_share: float,
    modes: tuple[int, int],
    t: int,
    done: bool,
    conflict: bool,
) -> None:
    step_fn, views_fn = COMPILED[cfg]
    state = _random_state(cfg, seed, air_share, t, done and seed % 4 == 0)
    rng = np.random.default_rng(seed + 1)
    views = views_fn(jax.tree.map(jnp.asarray, state))
    for p, (masks, flat, obs, inv) in enumerate(views):
        want = ref.masks(cfg, state, p)
        for name, got in masks._asdict().items():
            assert np.array_equal(np.asarray(got), getattr(want, name)), f"{name} of player {p}"
        assert np.array_equal(np.asarray(obs), ref.observe(cfg, state, p))
        assert np.array_equal(np.asarray(inv), ref.observe_inventory(state, p))
        assert np.array_equal(np.asarray(flat), ref.flat_mask(cfg, state, p))
    actions = [_pick(cfg, rng, ref.flat_mask(cfg, state, p), modes[p]) for p in (0, 1)]

    if conflict:  # the assistant targets the human's voxel (another block if a PLACE)
        place0 = 7 + CFG.n_voxels
        a = actions[0]
        actions[1] = a if a < place0 else place0 + (a - place0 + CFG.n_voxels) % (8 * CFG.n_voxels)
    got = step_fn(jax.tree.map(jnp.asarray, state), jnp.asarray(actions, jnp.int32), None)
    want = ref.step(cfg, state, actions)
    for name in State._fields:
        np.testing.assert_array_equal(
            np.asarray(getattr(got, name)), getattr(want, name), err_msg=f"{name} after {actions}"
        )
