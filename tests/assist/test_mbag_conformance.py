"""Conformance with the original MBAG (cassidylaidlaw/minecraft-building-assistance-game
@8560b5f) on 83 real game states: what alignlab says is legal against what the original's
``MbagEnv.step`` accepts (``env_ok``, the rule of the game) and against its line-of-sight
action mask (``mask_los``, what the paper trains with).

The fixture's 9,907-id layout is written out here from its README (0 NOOP; 1-6 moves;
``7 + v`` BREAK; ``7 + V + (b - 2)·V + v`` PLACE; ``v = (x·10 + y)·10 + z``), independently
of ``_layout``. The counts are printed per action kind (run with ``-s``); the assertions are
regression floors at the agreement reached, so a rule change that loses agreement fails.
"""

from __future__ import annotations

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import functools  # noqa: E402
from pathlib import Path  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from alignlab.assist._env import State, legal_masks, start_inventory  # noqa: E402
from alignlab.assist._layout import N_PLAYERS, EnvConfig  # noqa: E402

FIXTURE = (
    Path(__file__).resolve().parents[2].parent / "shared/data/raw/mbag-conformance/mbag_states.npz"
)
SIZE = (11, 10, 10)  # the fixture's grid, [x, y, z] with y vertical (as alignlab's)
V = SIZE[0] * SIZE[1] * SIZE[2]
KINDS = ("move", "break", "place")

pytestmark = pytest.mark.skipif(not FIXTURE.exists(), reason="MBAG fixture not present")


def _fixture() -> dict[str, np.ndarray]:
    with np.load(FIXTURE) as data:
        return {k: data[k] for k in data.files}


def _states(cfg: EnvConfig, fx: dict[str, np.ndarray]) -> State:
    """A batch of alignlab States ``[83]`` from the fixture's blocks, goals and feet."""
    n = len(fx["blocks"])
    return State(
        blocks=jnp.asarray(fx["blocks"], jnp.uint8),
        goal=jnp.asarray(fx["goal"], jnp.uint8),
        positions=jnp.asarray(fx["positions"], jnp.int32),
        last_interacted=jnp.full((n, *SIZE), -1, jnp.int8),
        t=jnp.asarray(fx["t"], jnp.int32),
        rewards=jnp.zeros((n, N_PLAYERS), jnp.float32),
        terminated=jnp.zeros((n,), bool),
        truncated=jnp.zeros((n,), bool),
        sim0=jnp.zeros((n,), jnp.float32),
        inventory=jnp.broadcast_to(start_inventory(cfg), (n, N_PLAYERS, 10)),
        best_sim=jnp.zeros((n,), jnp.float32),
        stalled=jnp.zeros((n,), jnp.int32),
    )


def _to_fixture(place: np.ndarray, brk: np.ndarray, glob: np.ndarray) -> np.ndarray:
    """``[..., 9907] bool`` in the fixture's layout from factorised masks (``place``/``brk``
    ``[..., X, Y, Z]`` indexed [x, y, z]; ``glob`` ``[..., 7]``)."""
    lead = place.shape[:-3]
    out = np.zeros((*lead, 7 + 9 * V), bool)
    out[..., :7] = glob
    for x in range(SIZE[0]):
        for y in range(SIZE[1]):
            v = (x * 10 + y) * 10 + np.arange(SIZE[2])
            out[..., 7 + v] = brk[..., x, y, :]
            for b in range(2, 10):
                out[..., 7 + V + (b - 2) * V + v] = place[..., x, y, :]
    return out


def alignlab_masks(cfg: EnvConfig, fx: dict[str, np.ndarray]) -> np.ndarray:
    """``[83, 2, 9907] bool``: alignlab's legal actions of both players, fixture layout."""
    states = _states(cfg, fx)

    def both(state: State) -> list:  # type: ignore[type-arg]
        return [legal_masks(cfg, state, p) for p in (0, 1)]

    m = jax.jit(jax.vmap(functools.partial(both)))(states)
    place = np.stack([np.asarray(m[p].place) for p in (0, 1)], 1)
    brk = np.stack([np.asarray(m[p].brk) for p in (0, 1)], 1)
    glob = np.stack([np.asarray(m[p].globals) for p in (0, 1)], 1)
    return _to_fixture(place, brk, glob)


def _slices() -> dict[str, slice]:
    return {"move": slice(1, 7), "break": slice(7, 7 + V), "place": slice(7 + V, 7 + 9 * V)}


def agreement(ours: np.ndarray, theirs: np.ndarray) -> dict[str, tuple[int, int, int, int]]:
    """Per kind ``(both legal, ours only, theirs only, ids)``; PLACE counted per voxel (every
    block type is alike with infinite blocks, so the first tile stands for all)."""
    out = {}
    for kind, sl in _slices().items():
        a, b = ours[..., sl], theirs[..., sl]
        if kind == "place":
            a, b = a[..., :V], b[..., :V]
        out[kind] = (int((a & b).sum()), int((a & ~b).sum()), int((~a & b).sum()), a.size)
    return out


def report(name: str, counts: dict[str, tuple[int, int, int, int]]) -> str:
    rows = [f"{name}:"]
    for kind, (both, ours, theirs, n) in counts.items():
        agree = n - ours - theirs
        rows.append(
            f"  {kind:6s} agree {agree}/{n} ({agree / n:.4%})  both legal {both}"
            f"  ours-only {ours}  theirs-only {theirs}"
        )
    return "\n".join(rows)


# (config, reference array) -> per kind the most (ours-only, theirs-only) differences allowed
FLOORS: dict[tuple[str, str], dict[str, tuple[int, int]]] = {
    # the default, los="mbag": the original's rule, exact on these states; its mask_los also
    # asks for the target's centre within reach of the head voxel's centre (MBAG's mask only)
    ("mbag", "env_ok"): {"move": (0, 0), "break": (0, 0), "place": (0, 0)},
    ("mbag", "mask_los"): {"move": (0, 0), "break": (695, 0), "place": (281, 0)},
    # los="off", the default until 2026-11: centre-to-centre reach, no line of sight
    ("off", "env_ok"): {"move": (0, 34), "break": (1149, 695), "place": (4603, 281)},
    ("off", "mask_los"): {"move": (0, 34), "break": (1149, 0), "place": (4603, 0)},
    # los="centre": a sampled ray between voxel centres
    ("centre", "env_ok"): {"move": (0, 34), "break": (65, 1431), "place": (1499, 870)},
    ("centre", "mask_los"): {"move": (0, 34), "break": (65, 736), "place": (1499, 589)},
}
CONFIGS = {
    "mbag": EnvConfig(size=SIZE),
    "off": EnvConfig(size=SIZE, los="off"),
    "centre": EnvConfig(size=SIZE, los="centre"),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_agreement_with_the_original(name: str) -> None:
    fx = _fixture()
    ours = alignlab_masks(CONFIGS[name], fx)
    assert ours[..., 0].all() and fx["env_ok"][..., 0].all()  # NOOP always legal
    for ref in ("env_ok", "mask_los"):
        counts = agreement(ours, fx[ref])
        print(report(f"{name} vs {ref}", counts))
        for kind, (most_ours, most_theirs) in FLOORS[(name, ref)].items():
            _, o, t, _ = counts[kind]
            assert o <= most_ours and t <= most_theirs, f"{name} vs {ref}, {kind}: {o}, {t}"


def test_converter_matches_the_fixture_layout() -> None:
    """The local converter puts BREAK(x, y, z) and PLACE(x, y, z, b) where the README says."""
    place = np.zeros(SIZE, bool)
    brk = np.zeros(SIZE, bool)
    place[3, 4, 5] = True
    brk[10, 9, 9] = True
    flat = _to_fixture(place, brk, np.zeros(7, bool))
    v = (3 * 10 + 4) * 10 + 5
    assert set(np.flatnonzero(flat)) == {7 + V - 1} | {
        7 + V + (b - 2) * V + v for b in range(2, 10)
    }


def test_step_accepts_what_the_original_accepts() -> None:
    """The step (not only the mask) applies a PLACE or BREAK iff the original's env accepts
    it: 30 ids per state and player, half accepted by the original where it has that many."""
    from alignlab.assist._env import step

    cfg = CONFIGS["mbag"]
    fx = _fixture()
    rng = np.random.default_rng(0)
    idx, acts, want = [], [], []
    for i in range(len(fx["blocks"])):
        for p in (0, 1):
            ok = fx["env_ok"][i, p, 7 : 7 + 2 * V]  # BREAK, then PLACE of dirt
            good, bad = np.flatnonzero(ok), np.flatnonzero(~ok)
            pick = np.concatenate(
                [rng.choice(good, min(15, len(good)), False), rng.choice(bad, 15, False)]
            )
            for a in pick + 7:
                pair = [0, 0]
                pair[p] = int(a)
                idx.append(i)
                acts.append(pair)
                want.append(bool(fx["env_ok"][i, p, a]))
    states = jax.tree.map(lambda leaf: leaf[np.asarray(idx)], _states(cfg, fx))
    out = jax.jit(jax.vmap(functools.partial(step, cfg)))(states, jnp.asarray(acts), None)
    changed = np.any(np.asarray(out.blocks) != np.asarray(states.blocks), axis=(1, 2, 3))
    assert np.array_equal(changed, np.asarray(want))
