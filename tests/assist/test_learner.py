"""AssistanceZero's losses: the true goal enters only the goal loss (bit for bit), and each
loss is what its formula says on a hand-checkable case."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import scipy.special

from alignlab.assist import _env
from alignlab.assist._goals import random_blob
from alignlab.assist._layout import ASSISTANT, HUMAN, EnvConfig
from alignlab.assist._learner import LossWeights, losses
from alignlab.assist._net import NetConfig, init_params
from alignlab.assist._selfplay import Item

CFG = EnvConfig(size=(4, 4, 4), los="off")
NET = NetConfig(width=4, depth=1, block_embed=2, aux_embed=2)
B = 6


@functools.cache
def _batch() -> Item:
    """``B`` games after a few random legal steps, with random policy/human targets over
    the legal actions and random value targets."""
    rng = np.random.default_rng(0)
    goals = jnp.stack([jnp.asarray(random_blob(CFG.size, rng)) for _ in range(B)])
    keys = jax.random.split(jax.random.key(0), B)

    def play(key: jax.Array, goal: jax.Array) -> _env.State:
        def body(i: jax.Array, s: _env.State) -> _env.State:
            k = jax.random.split(jax.random.fold_in(key, i))
            acts = [
                jax.random.categorical(
                    k[p], jnp.where(_env.legal_action_mask(CFG, s, p), 0.0, -jnp.inf)
                )
                for p in (HUMAN, ASSISTANT)
            ]
            return _env.step(CFG, s, jnp.stack(acts).astype(jnp.int32))

        return jax.lax.fori_loop(0, 5, body, _env.init(CFG, key, goal))

    states = jax.jit(jax.vmap(play))(keys, goals)
    mask = jax.vmap(lambda s: _env.legal_action_mask(CFG, s, ASSISTANT))(states)
    mask_h = jax.vmap(lambda s: _env.legal_action_mask(CFG, s, HUMAN))(states)
    u = jnp.asarray(rng.random((2, B, CFG.n_actions)), jnp.float32)
    policy = jnp.where(mask, u[0], 0.0).astype(jnp.float16)
    human = jnp.where(mask_h, u[1], 0.0).astype(jnp.float16)
    value = jnp.asarray(rng.normal(size=B), jnp.float32)
    return Item(states, policy, human, value)


def _params() -> dict:
    return init_params(NET, CFG, jax.random.key(1))


def test_only_the_goal_loss_reads_the_goal() -> None:
    batch = _batch()
    other = batch._replace(state=batch.state._replace(goal=jnp.flip(batch.state.goal, 0)))
    assert not bool(jnp.all(other.state.goal == batch.state.goal))
    params, w = _params(), LossWeights()
    _, a = losses(CFG, NET, w, params, batch)
    _, b = losses(CFG, NET, w, params, other)
    for name in ("loss/policy", "loss/value", "loss/human", "value_mean"):
        np.testing.assert_array_equal(np.asarray(a[name]), np.asarray(b[name]), err_msg=name)
    assert float(a["loss/goal"]) != float(b["loss/goal"])

    # and the gradient of everything but the goal loss, bit for bit
    no_goal = LossWeights(goal=0.0)
    grad = jax.jit(jax.grad(lambda p, x: losses(CFG, NET, no_goal, p, x)[0]))
    for x, y in zip(
        jax.tree.leaves(grad(params, batch)), jax.tree.leaves(grad(params, other)), strict=True
    ):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_each_loss_matches_its_formula() -> None:
    """Policy CE and human KL against numpy on the masked, renormalised targets; value MSE;
    the goal CE of a uniform head is log 10."""
    from alignlab.assist._net import apply, assistant_input

    batch, params = _batch(), _params()
    _, parts = losses(CFG, NET, LossWeights(), params, batch)
    obs = jax.vmap(lambda s: assistant_input(CFG, s, False))(batch.state)
    out = apply(NET, CFG, params, obs)
    mask_a = np.asarray(jax.vmap(lambda s: _env.legal_action_mask(CFG, s, ASSISTANT))(batch.state))
    mask_h = np.asarray(jax.vmap(lambda s: _env.legal_action_mask(CFG, s, HUMAN))(batch.state))

    def log_softmax(x: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Over the legal actions; 0 (never weighted: the targets are 0 there) elsewhere."""
        out = scipy.special.log_softmax(np.where(m, x.astype(np.float64), -np.inf), axis=-1)
        return np.where(m, out, 0.0)

    t = np.asarray(batch.policy, np.float64)
    t /= t.sum(-1, keepdims=True)
    lp = log_softmax(np.asarray(out.policy_logits), mask_a)
    ce = -np.sum(np.where(t > 0, t * lp, 0.0), -1).mean()
    np.testing.assert_allclose(float(parts["loss/policy"]), ce, rtol=1e-4)

    h = np.asarray(batch.human, np.float64)
    h /= h.sum(-1, keepdims=True)
    lq = log_softmax(np.asarray(out.human_logits), mask_h)
    kl = np.sum(np.where(h > 0, h * (np.log(np.where(h > 0, h, 1.0)) - lq), 0.0), -1).mean()
    np.testing.assert_allclose(float(parts["loss/human"]), kl, rtol=1e-4)

    mse = np.mean((np.asarray(out.value) - np.asarray(batch.value)) ** 2)
    np.testing.assert_allclose(float(parts["loss/value"]), mse, rtol=1e-5)

    flat = jax.tree.map(jnp.zeros_like, params)  # every logit 0: a uniform goal belief
    _, zero = losses(CFG, NET, LossWeights(), flat, batch)
    np.testing.assert_allclose(float(zero["loss/goal"]), np.log(10.0), rtol=1e-6)
