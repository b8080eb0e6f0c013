"""The AssistanceZero network: shapes, the flat action layout of its heads, goal blindness,
its 3D convolution against XLA's, and the assistant's input."""

from __future__ import annotations

import itertools
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from alignlab.assist import _env  # noqa: E402
from alignlab.assist._goals import random_blob  # noqa: E402
from alignlab.assist._layout import (  # noqa: E402
    ASSISTANT,
    N_OBS_CHANNELS,
    OBS_GOAL_BLOCKS,
    EnvConfig,
    place_offset,
)
from alignlab.assist._net import (  # noqa: E402
    NetConfig,
    assistant_input,
    conv3d,
    init_params,
    param_count,
)
from alignlab.assist._net import apply as _apply  # noqa: E402

ENV = EnvConfig(size=(6, 6, 6))
TINY = NetConfig(width=8, depth=1, block_embed=4, aux_embed=2)
apply = jax.jit(_apply, static_argnums=(0, 1))


def _obs(key: jax.Array, lead: tuple[int, ...], size: tuple[int, int, int]) -> jax.Array:
    """Random observations with valid codes in every channel."""
    k1, k2, k3, k4 = jax.random.split(key, 4)
    shape = (*lead, *size)
    channels = [
        jax.random.randint(k1, shape, 0, 10),
        jnp.zeros(shape, jnp.int32),
        jax.random.randint(k2, shape, 0, 10),
        jnp.zeros(shape, jnp.int32),
        jax.random.randint(k3, shape, 0, 3),
        jax.random.randint(k4, shape, 0, 3),
    ]
    return jnp.stack(channels, axis=len(lead)).astype(jnp.float32)


@pytest.fixture(scope="module")
def params() -> dict:
    return jax.jit(init_params, static_argnums=(0, 1))(TINY, ENV, jax.random.key(0))


def _numpy_params(net_cfg: NetConfig) -> dict:
    """Random parameters of ``init_params``'s shapes without compiling its initialisers."""
    shapes = jax.eval_shape(lambda k: init_params(net_cfg, ENV, k), jax.random.key(0))
    rng = np.random.default_rng(0)
    return jax.tree.map(lambda s: jnp.asarray(rng.normal(0, 0.3, s.shape), s.dtype), shapes)


@pytest.mark.parametrize("finite", [False, True])
def test_output_shapes_with_any_leading_dims(finite: bool) -> None:
    env = EnvConfig(size=(6, 6, 6), finite_inventory=finite)
    n_act = env.n_actions
    assert n_act == 7 + 9 * 216 + (8 if finite else 0)
    shapes = jax.eval_shape(lambda k: init_params(TINY, env, k), jax.random.key(0))
    for lead in [(), (2, 3)]:
        obs = jax.ShapeDtypeStruct((*lead, N_OBS_CHANNELS, *env.size), jnp.float32)
        out = jax.eval_shape(lambda p, o, env=env: _apply(TINY, env, p, o), shapes, obs)
        assert out.policy_logits.shape == (*lead, n_act)
        assert out.human_logits.shape == (*lead, n_act)
        assert out.value.shape == lead
        assert out.goal_logits.shape == (*lead, 6, 6, 6, 10)


def test_batched_apply_equals_one_by_one(params: dict) -> None:
    obs = _obs(jax.random.key(2), (3,), ENV.size)
    batch = apply(TINY, ENV, params, obs)
    for i in range(3):
        single = apply(TINY, ENV, params, obs[i])
        for a, b in zip(single, batch, strict=True):
            assert bool(jnp.all(jnp.isfinite(a)))
            np.testing.assert_allclose(np.asarray(a), np.asarray(b[i]), rtol=1e-5, atol=1e-5)


def test_heads_follow_the_flat_action_layout(params: dict) -> None:
    """With the per-voxel head's weights zero and bias (0, 1, ..., 8) and the pooled head's
    bias (100, ..., 106), BREAK(v) reads 0 and PLACE(v, b) reads b - 1 for every voxel v:
    the block-major layout ``7 + V + (b - 2) V + v``."""
    n = ENV.n_voxels

    def fix(tree: dict) -> dict:
        tree = dict(tree)
        tree["voxel"] = {"kernel": jnp.zeros_like(tree["voxel"]["kernel"]), "bias": jnp.arange(9.0)}
        tree["global"] = {
            "kernel": jnp.zeros_like(tree["global"]["kernel"]),
            "bias": 100.0 + jnp.arange(7.0),
        }
        return tree

    p = dict(params["params"])
    p["policy"], p["human"] = fix(p["policy"]), fix(p["human"])
    out = apply(TINY, ENV, {"params": p}, _obs(jax.random.key(3), (), ENV.size))
    want = np.concatenate([100 + np.arange(7), np.zeros(n), np.repeat(np.arange(1, 9), n)])
    np.testing.assert_array_equal(np.asarray(out.policy_logits), want)
    np.testing.assert_array_equal(np.asarray(out.human_logits), want)
    assert want[place_offset(n) + 3 * n + 5] == 4  # PLACE(v=5, b=5): b - 1


def test_goal_channel_is_never_read_unless_visible(params: dict) -> None:
    obs = _obs(jax.random.key(4), (3,), ENV.size)
    other = obs.at[:, OBS_GOAL_BLOCKS].set(jnp.flip(obs[:, OBS_GOAL_BLOCKS], axis=1))
    blind = params
    a, b = apply(TINY, ENV, blind, obs), apply(TINY, ENV, blind, other)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    seeing = NetConfig(width=8, depth=1, block_embed=4, aux_embed=2, goal_visible=True)
    shown = _numpy_params(seeing)
    assert "goal" in shown["params"] and "goal" not in blind["params"]
    a, b = apply(seeing, ENV, shown, obs), apply(seeing, ENV, shown, other)
    assert not np.array_equal(np.asarray(a.policy_logits), np.asarray(b.policy_logits))


def test_conv3d_equals_a_direct_convolution() -> None:
    """Against the definition: ``out[x, y, z] = Σ in[x + i - k//2, ...] · w[i, j, l]`` with
    zeros outside the grid (numpy loops)."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 4, 3, 5, 2)).astype(np.float32)
    for k in (3, 5):
        w = rng.normal(size=(k, k, k, 2, 3)).astype(np.float32)
        h = k // 2
        pad = np.pad(x, ((0, 0), (h, h), (h, h), (h, h), (0, 0)))
        want = np.zeros((2, 4, 3, 5, 3), np.float32)
        for i, j, m in itertools.product(range(k), repeat=3):
            want += np.einsum(
                "nxyzc,cd->nxyzd", pad[:, i : i + 4, j : j + 3, m : m + 5], w[i, j, m]
            )
        got = np.asarray(conv3d(jnp.asarray(x), jnp.asarray(w)))
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_assistant_input_hides_the_goal_unless_visible() -> None:
    rng = np.random.default_rng(0)
    goals = jnp.stack([jnp.asarray(random_blob(ENV.size, rng)) for _ in range(3)])
    states = jax.jit(jax.vmap(lambda k, g: _env.init(ENV, k, g)))(
        jax.random.split(jax.random.key(7), 3), goals
    )
    inputs = jax.jit(assistant_input, static_argnums=(0, 2))
    hidden = inputs(ENV, states, False)
    assert hidden.shape == (3, N_OBS_CHANNELS, *ENV.size)
    assert float(jnp.abs(hidden[:, OBS_GOAL_BLOCKS]).max()) == 0.0
    one = jax.tree.map(lambda x: x[1], states)
    np.testing.assert_array_equal(
        np.asarray(hidden[1]), np.asarray(_env.observe(ENV, one, ASSISTANT))
    )
    shown = inputs(ENV, states, True)
    np.testing.assert_array_equal(np.asarray(shown[:, OBS_GOAL_BLOCKS]), np.asarray(goals))
    np.testing.assert_array_equal(
        np.delete(np.asarray(shown), OBS_GOAL_BLOCKS, axis=1),
        np.delete(np.asarray(hidden), OBS_GOAL_BLOCKS, axis=1),
    )


def test_param_count_and_the_papers_shape(params: dict) -> None:
    assert param_count(params) == sum(x.size for x in jax.tree.leaves(params)) > 0
    paper = NetConfig(width=64, depth=8, kernel=5)
    shapes = jax.eval_shape(lambda k: init_params(paper, EnvConfig(), k), jax.random.key(0))
    conv = shapes["params"]["conv7"]["kernel"]
    assert conv.shape == (5, 5, 5, 64, 64)
    assert param_count(shapes) > 8 * 5**3 * 64 * 64
