"""The PPO assistant baseline of AssistanceZero (arXiv 2504.07091): a goal-masked policy with a
goal-prediction auxiliary loss, trained against the simulated human by PPO (Schulman et al.
2017, arXiv 1707.06347; GAE, arXiv 1506.02438). Pure, jitted pieces; the loop is
``_ppo_cmd.run_ppo``.

* ``make_collect``: ``rollout`` joint steps in a batch of envs. The assistant samples from
  its policy logits masked by ``_env.legal_action_mask(cfg, state, ASSISTANT)``; its input is
  ``_net.assistant_input(..., goal_visible=False)`` (goal channels zero), so the goal never
  reaches the policy or the value. The simulated human (``_human_model``: the heuristic or
  the behaviour-cloned one) acts from its own observation and finished games restart on a
  goal from the training bank (``_selfplay.joint_step``, as in self-play); GAE turns the
  shared rewards into advantages and returns.
* ``make_update``: ``epochs`` passes of ``minibatches`` Adam steps on the clipped surrogate,
  the value loss, an entropy bonus and the goal cross-entropy of the goal head against the
  true goal (the only place the goal is read).
* ``load_ppo``: ``ppo:RUN`` for ``alignlab assist evaluate``: greedy (argmax of the masked
  logits), no search.

The network is ``_net``'s (shared with AssistanceZero; the human-action head is unused
here). The paper's PPO assistant has LSTMs; this one sees each state alone, like the search's
network. Time-limit truncation is treated as an episode end (no bootstrap), as in
``_selfplay.value_targets``: the observation does not show the step count.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from alignlab.assist import _env
from alignlab.assist._human_model import HumanKind, HumanModel, heuristic_human
from alignlab.assist._layout import ASSISTANT, OBS_BLOCKS, EnvConfig
from alignlab.assist._learner import _masked_log_softmax, make_optimizer
from alignlab.assist._net import NetConfig, apply, assistant_input
from alignlab.assist._rollout import Assistant
from alignlab.assist._selfplay import Actors, Episodes, joint_step, merge_axes


@dataclass(frozen=True)
class PPOHyper:
    """PPO's static settings (hashable: the jitted pieces are cached per value); the
    defaults live in ``_ppo_cmd.PPOConfig``, which builds this (``PPOConfig.hyper``)."""

    rollout: int  # steps per game between updates
    epochs: int  # passes over each rollout
    minibatches: int  # per pass; must divide rollout × envs
    gamma: float  # discount per step
    gae_lambda: float
    clip: float  # ratio clip epsilon
    ent_coef: float
    vf_coef: float
    goal_coef: float
    lr: float  # Adam
    max_grad_norm: float  # global-norm gradient clipping


class Batch(NamedTuple):
    """A rollout flattened over (step, env): ``N = rollout × envs`` decisions."""

    obs: jax.Array  # [N, 6, X, Y, Z] float32, the assistant's (goal channels zero)
    mask: jax.Array  # [N, A] bool, the assistant's legal actions
    action: jax.Array  # [N] int32
    logp: jax.Array  # [N] float32, log-probability of the action when sampled
    value: jax.Array  # [N] float32, the value estimate when sampled
    advantage: jax.Array  # [N] float32, GAE
    ret: jax.Array  # [N] float32, advantage + value (the value target)
    goal: jax.Array  # [N, X, Y, Z] uint8, the true goal (the goal loss's target only)


def policy(
    cfg: EnvConfig, net: NetConfig, params: Any, states: _env.State
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """``(obs [..., 6, X, Y, Z], mask [..., A], masked log-probs [..., A], value [...])`` of
    the assistant in ``states`` (any leading batch dims); reads no goal."""
    obs = assistant_input(cfg, states, False)
    out = apply(net, cfg, params, obs)

    def mask_of(s: _env.State) -> jax.Array:
        return _env.legal_action_mask(cfg, s, ASSISTANT)

    mask_fn = mask_of
    for _ in states.t.shape:
        mask_fn = jax.vmap(mask_fn)
    mask = mask_fn(states)
    return obs, mask, _masked_log_softmax(out.policy_logits, mask), out.value


def gae(
    rewards: jax.Array,
    values: jax.Array,
    dones: jax.Array,
    last_value: jax.Array,
    gamma: float,
    lam: float,
) -> tuple[jax.Array, jax.Array]:
    """Generalised advantage estimates and returns, both ``[T, E]``.

    ``rewards``, ``values``, ``dones [T, E]``: the reward after step ``t``, the value of the
    state step ``t`` was taken in, and whether the episode ended with step ``t`` (then nothing
    after it counts); ``last_value [E]``: the value of the state after the last step.
    ``δ_t = r_t + γ·V_{t+1}·(1 − d_t) − V_t``, ``A_t = δ_t + γλ·(1 − d_t)·A_{t+1}``,
    returns ``A + V``."""
    next_values = jnp.concatenate([values[1:], last_value[None]], axis=0)
    keep = 1.0 - dones.astype(jnp.float32)
    deltas = rewards + gamma * next_values * keep - values

    def back(acc: jax.Array, x: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        delta, k = x
        acc = delta + gamma * lam * k * acc
        return acc, acc

    _, adv = jax.lax.scan(back, jnp.zeros_like(last_value), (deltas, keep), reverse=True)
    return adv, adv + values


def make_collect(
    cfg: EnvConfig, net: NetConfig, ppo: PPOHyper, human: HumanModel | None = None
) -> Callable[..., tuple[Actors, Batch, Episodes]]:
    """Jitted ``(params, actors, bank, key) -> (actors, batch, episodes)``: ``ppo.rollout``
    steps in every game of ``actors``, against ``human`` (default: the heuristic, as ``assist
    train``), its params bound as the compiled function's first argument. Compilations are
    cached per static argument and the human's kind, so a second run in one process compiles
    nothing."""
    human = human if human is not None else heuristic_human()
    return functools.partial(_collect_fn(cfg, net, ppo, human.kind), human.params)


@functools.lru_cache(maxsize=8)
def _collect_fn(
    cfg: EnvConfig, net: NetConfig, ppo: PPOHyper, kind: HumanKind
) -> Callable[..., tuple[Actors, Batch, Episodes]]:
    """Jitted ``(human_params, params, actors, bank, key) -> (actors, batch, episodes)``."""

    def one_step(h_params: Any, params: Any, bank: jax.Array, carry: Actors, key: jax.Array) -> Any:
        k_act, *keys = jax.random.split(key, 4)
        states = carry.states
        obs, mask, logp_all, value = policy(cfg, net, params, states)
        a_a = jax.random.categorical(k_act, logp_all).astype(jnp.int32)
        logp = jnp.take_along_axis(logp_all, a_a[:, None], axis=-1)[:, 0]
        carry, played = joint_step(cfg, kind, h_params, bank, carry, a_a, keys)
        rec = (obs, mask, a_a, logp, value, played.reward, played.done, states.goal)
        return carry, (rec, played.episode)

    def collect(h_params: Any, params: Any, actors: Actors, bank: Any, key: jax.Array) -> Any:
        keys = jax.random.split(key, ppo.rollout)
        step_fn = functools.partial(one_step, h_params, params, bank)
        actors, (rec, ep) = jax.lax.scan(step_fn, actors, keys)
        obs, mask, action, logp, value, reward, done, goal = rec
        last = policy(cfg, net, params, actors.states)[3]
        adv, ret = gae(reward, value, done, last, ppo.gamma, ppo.gae_lambda)
        flat = merge_axes
        batch = Batch(*(flat(x) for x in (obs, mask, action, logp, value, adv, ret, goal)))
        return actors, batch, Episodes(*ep)

    return jax.jit(collect)


def losses(
    cfg: EnvConfig, net: NetConfig, ppo: PPOHyper, params: Any, mb: Batch
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """``(total, parts)`` on a minibatch: ``total = clipped surrogate + vf_coef · value −
    ent_coef · entropy + goal_coef · goal``, advantages normalised within the minibatch;
    ``parts`` also holds diagnostics (approximate KL, clip fraction, goal accuracy)."""
    out = apply(net, cfg, params, mb.obs)
    logp_all = _masked_log_softmax(out.policy_logits, mb.mask)
    logp = jnp.take_along_axis(logp_all, mb.action[:, None], axis=-1)[:, 0]
    log_ratio = logp - mb.logp
    ratio = jnp.exp(log_ratio)
    adv = (mb.advantage - mb.advantage.mean()) / (mb.advantage.std() + 1e-8)
    clipped = jnp.clip(ratio, 1.0 - ppo.clip, 1.0 + ppo.clip)
    pg = jnp.maximum(-adv * ratio, -adv * clipped).mean()
    value = 0.5 * jnp.mean((out.value - mb.ret) ** 2)
    probs = jnp.exp(logp_all)
    entropy = -jnp.sum(jnp.where(mb.mask, probs * logp_all, 0.0), axis=-1).mean()

    goal = mb.goal.astype(jnp.int32)
    logg = jax.nn.log_softmax(out.goal_logits, axis=-1)
    goal_loss = -jnp.take_along_axis(logg, goal[..., None], axis=-1).mean()
    todo = mb.obs[:, OBS_BLOCKS].astype(jnp.int32) != goal
    hit = jnp.argmax(out.goal_logits, axis=-1) == goal
    goal_acc_todo = jnp.sum(hit & todo) / jnp.maximum(jnp.sum(todo), 1)

    total = pg + ppo.vf_coef * value - ppo.ent_coef * entropy + ppo.goal_coef * goal_loss
    parts = {
        "loss": total,
        "loss/policy": pg,
        "loss/value": value,
        "loss/entropy": entropy,
        "loss/goal": goal_loss,
        "goal_acc_todo": goal_acc_todo,
        "approx_kl": jnp.mean(ratio - 1.0 - log_ratio),
        "clipfrac": jnp.mean(jnp.abs(ratio - 1.0) > ppo.clip),
        "value_mean": out.value.mean(),
    }
    return total, parts


def make_ppo_optimizer(ppo: PPOHyper) -> optax.GradientTransformation:
    """Adam at ``ppo.lr`` after clipping gradients to global norm ``ppo.max_grad_norm``."""
    return make_optimizer(ppo.lr, ppo.max_grad_norm)


@functools.lru_cache(maxsize=8)
def make_update(
    cfg: EnvConfig, net: NetConfig, ppo: PPOHyper
) -> Callable[[Any, Any, Batch, jax.Array], tuple[Any, Any, dict[str, jax.Array]]]:
    """``(params, opt_state, batch, key) -> (params, opt_state, metrics)`` with
    ``make_ppo_optimizer(ppo)``'s state: ``epochs`` passes over ``batch`` in ``minibatches``
    shuffled minibatches, one jitted optimiser step each; ``metrics`` are means over all
    steps, plus the rollout's explained variance. Cached per arguments.

    The minibatch loop runs in Python, not in ``lax.scan``: XLA:CPU runs the convolutions'
    gradients ~40× slower inside a loop (0.034 s per step alone, 1.3 s in a scan; 6×6×6,
    width 32, minibatch 32)."""
    optimizer = make_ppo_optimizer(ppo)

    @jax.jit
    def minibatch(params: Any, opt_state: Any, batch: Batch, idx: jax.Array) -> Any:
        mb = jax.tree.map(lambda x: x[idx], batch)
        grad_fn = jax.grad(lambda p: losses(cfg, net, ppo, p, mb), has_aux=True)
        grads, parts = grad_fn(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        parts["grad_norm"] = optax.tree.norm(grads)
        return optax.apply_updates(params, updates), opt_state, parts

    @jax.jit
    def shuffle(key: jax.Array, batch: Batch) -> tuple[jax.Array, jax.Array]:
        n = batch.action.shape[0]
        resid = jnp.var(batch.ret - batch.value)
        explained = 1.0 - resid / jnp.maximum(jnp.var(batch.ret), 1e-8)
        keys = jax.random.split(key, ppo.epochs)
        perms = jax.vmap(lambda k: jax.random.permutation(k, n))(keys)
        return perms.reshape(ppo.epochs * ppo.minibatches, -1), explained

    def update(params: Any, opt_state: Any, batch: Batch, key: jax.Array) -> Any:
        order, explained = shuffle(key, batch)
        parts = []
        for idx in order:
            params, opt_state, m = minibatch(params, opt_state, batch, idx)
            parts.append(m)
        metrics = {k: jnp.mean(jnp.stack([m[k] for m in parts])) for k in parts[0]}
        metrics["explained_variance"] = explained
        return params, opt_state, metrics

    return update


# ------------------------------------------------------------------ the trained assistant


@functools.lru_cache(maxsize=16)
def _greedy_act(net: NetConfig) -> Any:
    """One ``act`` per network config, so checkpoints that share it share a compilation."""

    def act(cfg: EnvConfig, params: Any, carry: Any, state: _env.State, key: jax.Array) -> Any:
        del key
        logp = policy(cfg, net, params, state)[2]
        return jnp.argmax(logp).astype(jnp.int32), carry

    return act


def read_model(path: str | Path) -> tuple[EnvConfig, NetConfig, Any]:
    """``(env, net, params)`` of a trained PPO assistant: a ``train-ppo`` run folder, its
    ``model/`` folder, or a checkpoint file in it.

    Raises:
        AlignlabError: nothing trained there, or not a ``train-ppo`` model (naming the
            trainer that wrote it).
    """
    from alignlab.assist._model_files import load_params
    from alignlab.assist._model_files import read_model as read

    model = read(path, ("train-ppo",))
    return model.env, model.net, load_params(model)


def load_ppo(cfg: EnvConfig, checkpoint: str | None) -> Assistant:
    """``ppo:RUN``: the PPO assistant of an ``assist train-ppo`` run, playing greedily."""
    from alignlab.assist._assistants import trained_model
    from alignlab.assist._model_files import load_params

    model = trained_model(cfg, checkpoint, "train-ppo")
    return Assistant("ppo", _greedy_act(model.net), params=load_params(model))
