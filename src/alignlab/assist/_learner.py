"""The AssistanceZero losses and one optimiser step (arXiv 2504.07091, optax).

Per replay item (``_selfplay.Item``), the network sees the assistant's observation of the
stored state (goal channels zero unless the goal-visible baseline) and is trained on:

* **policy**: cross-entropy to the search policy, the logits masked by the assistant's legal
  actions in that state;
* **value**: squared error to the discounted return;
* **goal**: per-voxel cross-entropy of the goal head to the true goal, averaged over voxels
  (the only place the goal is read);
* **human**: KL from the human model's real action distribution to the human-action head,
  masked by the human's legal actions.

``total = w_policy·policy + w_value·value + w_goal·goal + w_human·human``; the paper's weights
are 1, 0.01, 3 and 1. Its extra KL to the goal logits at sampling time (weight ramped 0 → 30)
is not used here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from alignlab.assist import _env
from alignlab.assist._layout import ASSISTANT, HUMAN, EnvConfig
from alignlab.assist._net import NetConfig, apply, assistant_input
from alignlab.assist._selfplay import Item

_NEG = -1e9


@dataclasses.dataclass(frozen=True)
class LossWeights:
    policy: float = 1.0
    value: float = 0.01
    goal: float = 3.0
    human: float = 1.0


def _masked_log_softmax(logits: jax.Array, mask: jax.Array) -> jax.Array:
    return jax.nn.log_softmax(jnp.where(mask, logits, _NEG), axis=-1)


def _normalise(p: jax.Array, mask: jax.Array) -> jax.Array:
    p = jnp.where(mask, p.astype(jnp.float32), 0.0)
    return p / jnp.maximum(p.sum(-1, keepdims=True), 1e-12)


def losses(
    cfg: EnvConfig, net: NetConfig, w: LossWeights, params: Any, batch: Item
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """``(total, parts)`` averaged over the batch; ``parts`` also holds diagnostics."""
    states = batch.state
    obs = jax.vmap(lambda s: assistant_input(cfg, s, net.goal_visible))(states)
    out = apply(net, cfg, params, obs)
    mask_a = jax.vmap(_env.legal_action_mask, in_axes=(None, 0, None))(cfg, states, ASSISTANT)
    mask_h = jax.vmap(_env.legal_action_mask, in_axes=(None, 0, None))(cfg, states, HUMAN)

    target = _normalise(batch.policy, mask_a)
    logp = _masked_log_softmax(out.policy_logits, mask_a)
    policy = -jnp.sum(jnp.where(target > 0, target * logp, 0.0), axis=-1).mean()

    value = jnp.mean((out.value - batch.value) ** 2)

    goal = states.goal.astype(jnp.int32)
    logg = jax.nn.log_softmax(out.goal_logits, axis=-1)
    goal_ce = -jnp.take_along_axis(logg, goal[..., None], axis=-1)[..., 0]
    goal_loss = goal_ce.mean()
    # how well the goal head reads the goal where the world does not already show it
    todo = states.blocks != states.goal
    hit = jnp.argmax(out.goal_logits, axis=-1) == goal
    goal_acc_todo = jnp.sum(hit & todo) / jnp.maximum(jnp.sum(todo), 1)

    p_h = _normalise(batch.human, mask_h)
    logq = _masked_log_softmax(out.human_logits, mask_h)
    logp_h = jnp.log(jnp.maximum(p_h, 1e-30))
    human = jnp.sum(jnp.where(p_h > 0, p_h * (logp_h - logq), 0.0), axis=-1).mean()

    total = w.policy * policy + w.value * value + w.goal * goal_loss + w.human * human
    parts = {
        "loss": total,
        "loss/policy": policy,
        "loss/value": value,
        "loss/goal": goal_loss,
        "loss/human": human,
        "goal_acc_todo": goal_acc_todo,
        "value_mean": out.value.mean(),
    }
    return total, parts


def make_update(
    cfg: EnvConfig, net: NetConfig, w: LossWeights, optimizer: optax.GradientTransformation
) -> Callable[[Any, Any, Item], tuple[Any, Any, dict[str, jax.Array]]]:
    """Jitted ``(params, opt_state, batch) -> (params, opt_state, metrics)``."""

    def update(params: Any, opt_state: Any, batch: Item) -> Any:
        grad_fn = jax.grad(lambda p: losses(cfg, net, w, p, batch), has_aux=True)
        grads, parts = grad_fn(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        parts["grad_norm"] = optax.tree.norm(grads)
        return params, opt_state, parts

    return jax.jit(update)


def make_optimizer(lr: float, clip: float = 1.0) -> optax.GradientTransformation:
    """Adam with global-norm clipping (the paper trains with lr 1e-3)."""
    return optax.chain(optax.clip_by_global_norm(clip), optax.adam(lr))
