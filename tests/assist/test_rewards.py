"""The original MBAG's reward terms, no-progress truncation and relative last-interacted
channel, one rule at a time with hand-checked numbers (6×6×6 grid, eager steps)."""

from __future__ import annotations

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from alignlab.assist import _reference as ref  # noqa: E402
from alignlab.assist._env import State, encode_action, init, observe, step  # noqa: E402
from alignlab.assist._layout import (  # noqa: E402
    BEDROCK,
    DIRT,
    LOG,
    OBS_LAST_INTERACTED,
    PLANKS,
    EnvConfig,
)
from alignlab.core import AlignlabError  # noqa: E402

BASE = dict(size=(6, 6, 6), horizon=50, terminate_on_completion=False)
V = 216
NOOP = 0


def place(x: int, y: int, z: int, block: int) -> int:
    return encode_action("place", (x * 6 + y) * 6 + z, block, n_voxels=V)


def brk(x: int, y: int, z: int) -> int:
    return encode_action("break", (x * 6 + y) * 6 + z, n_voxels=V)


def _state(cfg: EnvConfig, human=(2, 2, 0), assistant=(5, 2, 5)) -> State:  # type: ignore[no-untyped-def]
    goal = np.zeros(cfg.size, np.uint8)
    goal[:, 0], goal[:, 1] = BEDROCK, DIRT
    goal[2, 2, 2] = LOG
    s = init(cfg, jax.random.PRNGKey(0), goal)
    return s._replace(positions=jnp.array([human, assistant], jnp.int32))


def _step(cfg: EnvConfig, s: State, a_h: int, a_a: int = NOOP) -> State:
    out = step(cfg, s, jnp.array([a_h, a_a], jnp.int32))
    want = ref.step(cfg, ref.to_numpy(s), (a_h, a_a))  # the oracle agrees on every case here
    for name in State._fields:  # float32 sums vs the oracle's float64 ones: one ulp apart
        np.testing.assert_allclose(np.asarray(getattr(out, name)), getattr(want, name), 1e-6)
    return out


def _rewards(cfg: EnvConfig, a_h: int, a_a: int = NOOP, s: State | None = None) -> list[float]:
    out = _step(cfg, _state(cfg) if s is None else s, a_h, a_a)
    return [round(float(r), 6) for r in out.rewards]


def test_noop_reward_goes_to_both_unless_own_reward_prop() -> None:
    # the human model's config: noop -0.2 for every player; both noop: own = (-0.2, -0.2)
    cfg = EnvConfig(**BASE, noop_reward=-0.2)  # type: ignore[arg-type]
    assert cfg.noop_reward == (-0.2, -0.2)
    assert _rewards(cfg, NOOP) == [-0.4, -0.4]  # own_reward_prop 0: the sum, to each player
    # the human places the goal block (+1, an action: no noop term); the assistant idles
    assert _rewards(cfg, place(2, 2, 2, LOG)) == [0.8, 0.8]
    own = EnvConfig(**BASE, noop_reward=-0.2, own_reward_prop=1.0)  # type: ignore[arg-type]
    assert _rewards(own, place(2, 2, 2, LOG)) == [1.0, -0.2]
    half = EnvConfig(**BASE, noop_reward=-0.2, own_reward_prop=(0.5, 0.0))  # type: ignore[arg-type]
    assert _rewards(half, place(2, 2, 2, LOG)) == [0.9, 0.8]  # .5 * 1 + .5 * .8


def test_action_reward_per_player() -> None:
    # the PPO assistant's config: action reward (-0.2, 0), own_reward_prop 1
    cfg = EnvConfig(**BASE, action_reward=(-0.2, 0.0), own_reward_prop=1.0)  # type: ignore[arg-type]
    assert _rewards(cfg, place(2, 2, 2, LOG), brk(5, 1, 4)) == [0.8, -1.0]
    assert _rewards(cfg, encode_action("move", 0, n_voxels=V)) == [-0.2, 0.0]  # a move acts
    blocked = encode_action("move", 3, n_voxels=V)  # down into dirt: no effect, no action term
    assert _rewards(cfg, blocked) == [0.0, 0.0]


def test_incorrect_action_only_for_effective_place_break_not_toward_goal() -> None:
    cfg = EnvConfig(**BASE, incorrect_action_reward=-0.5, own_reward_prop=1.0)  # type: ignore[arg-type]
    assert _rewards(cfg, place(2, 2, 2, LOG)) == [1.0, 0.0]  # correct place: d = +1
    assert _rewards(cfg, place(2, 2, 2, PLANKS)) == [-1.5, 0.0]  # wrong block: d = -1
    assert _rewards(cfg, place(2, 2, 1, PLANKS)) == [-1.5, 0.0]  # goal air: d = -1
    assert _rewards(cfg, brk(2, 1, 1)) == [-1.5, 0.0]  # breaks goal dirt: d = -1
    assert _rewards(cfg, place(2, 4, 4, PLANKS)) == [0.0, 0.0]  # illegal (floating): no term
    assert _rewards(cfg, -3) == [0.0, 0.0]  # out of range: a no-op
    wrong = _step(cfg, _state(cfg), place(2, 2, 2, PLANKS))
    assert _rewards(cfg, brk(2, 2, 2), s=wrong) == [1.0, 0.0]  # breaking a wrong block: d = +1
    # place_wrong 0 (the original's default): a wrong block at a goal voxel has d = 0, which is
    # incorrect for a PLACE (needs d > 0); breaking it again (d = 0) is correct (needs d >= 0)
    pw0 = EnvConfig(**BASE, place_wrong=0.0, incorrect_action_reward=-0.5, own_reward_prop=1.0)  # type: ignore[arg-type]
    assert _rewards(pw0, place(2, 2, 2, PLANKS)) == [-0.5, 0.0]
    wrong0 = _step(pw0, _state(pw0), place(2, 2, 2, PLANKS))
    assert _rewards(pw0, brk(2, 2, 2), s=wrong0) == [0.0, 0.0]


def test_all_terms_add_up() -> None:
    cfg = EnvConfig(
        **BASE,  # type: ignore[arg-type]
        noop_reward=(-0.2, -0.1),
        action_reward=(0.05, -0.3),
        incorrect_action_reward=(-1.0, -2.0),
        own_reward_prop=(0.0, 0.5),
    )
    # human: correct place 1 + 0.05 = 1.05; assistant: breaks goal dirt -1 - 2 - 0.3 = -3.3
    # sum -2.25; human gets it; assistant .5 * -3.3 + .5 * -2.25 = -2.775
    assert _rewards(cfg, place(2, 2, 2, LOG), brk(5, 1, 4)) == [-2.25, -2.775]


def test_default_rewards_unchanged_and_progress_untracked() -> None:
    cfg = EnvConfig(**BASE)  # type: ignore[arg-type]
    assert not cfg.reward_terms and cfg.truncate_on_no_progress_timesteps is None
    s = _state(cfg)
    n = _step(cfg, s, place(2, 2, 2, LOG), brk(5, 1, 4))
    assert np.asarray(n.rewards).tolist() == [0.0, 0.0]
    n = _step(cfg, n, NOOP)
    assert float(n.best_sim) == float(s.sim0) and int(n.stalled) == 0


def test_no_progress_truncates_after_the_limit() -> None:
    cfg = EnvConfig(**BASE, truncate_on_no_progress_timesteps=3)  # type: ignore[arg-type]
    s = _state(cfg)
    sim0 = float(s.sim0)
    assert float(s.best_sim) == sim0 and int(s.stalled) == 0
    s = _step(cfg, s, place(2, 2, 1, PLANKS))  # similarity falls: sim0 - 1
    assert int(s.stalled) == 1 and float(s.best_sim) == sim0
    s = _step(cfg, s, brk(2, 2, 1))  # back to sim0: equal to the best is not progress
    assert int(s.stalled) == 2 and not bool(s.truncated)
    s = _step(cfg, s, place(2, 2, 2, LOG))  # sim0 + 1: progress resets the count
    assert int(s.stalled) == 0 and float(s.best_sim) == sim0 + 1
    for k in (1, 2):
        s = _step(cfg, s, NOOP)
        assert int(s.stalled) == k and not bool(s.truncated)
    s = _step(cfg, s, NOOP)  # the third step in a row without progress ends the episode
    assert bool(s.truncated) and not bool(s.terminated) and int(s.t) == 6
    after = _step(cfg, s, brk(2, 2, 2))  # frozen, like any finished episode
    assert int(after.stalled) == 3 and float(after.rewards[0]) == 0.0


def test_last_interacted_is_relative_to_the_observer() -> None:
    cfg = EnvConfig(**BASE)  # type: ignore[arg-type]
    s = _step(cfg, _state(cfg), place(2, 2, 2, LOG), brk(5, 1, 4))
    for p, mine, theirs in ((0, (2, 2, 2), (5, 1, 4)), (1, (5, 1, 4), (2, 2, 2))):
        ch = np.asarray(observe(cfg, s, p))[OBS_LAST_INTERACTED]
        assert ch[mine] == 1.0 and ch[theirs] == 2.0 and ch.sum() == 3.0
        np.testing.assert_array_equal(observe(cfg, s, jnp.int32(p)), observe(cfg, s, p))
    old = EnvConfig(**BASE, last_interacted_obs="absolute")  # type: ignore[arg-type]
    for p in (0, 1):  # 1 + player id for both observers
        ch = np.asarray(observe(old, s, p))[OBS_LAST_INTERACTED]
        assert ch[2, 2, 2] == 1.0 and ch[5, 1, 4] == 2.0
        np.testing.assert_array_equal(ch, ref.observe(old, ref.to_numpy(s), p)[5])


@pytest.mark.parametrize(
    "kw, field",
    [
        ({"noop_reward": (0.0, 0.0, 0.0)}, "noop_reward"),
        ({"truncate_on_no_progress_timesteps": 0}, "truncate_on_no_progress_timesteps"),
        ({"last_interacted_obs": "mine"}, "last_interacted_obs"),
    ],
)
def test_bad_settings_name_their_field(kw: dict, field: str) -> None:
    cfg = EnvConfig(**BASE, **kw)  # type: ignore[arg-type]
    with pytest.raises(AlignlabError) as err:
        init(cfg, jax.random.PRNGKey(0), np.zeros(cfg.size, np.uint8))
    assert field in str(err.value)


def test_json_lists_become_hashable_pairs() -> None:
    cfg = EnvConfig(**BASE, noop_reward=[-0.2, 0], own_reward_prop=1)  # type: ignore[arg-type]
    assert cfg.noop_reward == (-0.2, 0.0) and cfg.own_reward_prop == (1.0, 1.0)
    assert hash(cfg) == hash(EnvConfig(**BASE, noop_reward=(-0.2, 0.0), own_reward_prop=1.0))  # type: ignore[arg-type]
