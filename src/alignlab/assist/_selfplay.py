"""Self-play of the AssistanceZero assistant against a simulated human (arXiv 2504.07091).

``make_collect`` returns one jitted function that plays ``fragment`` joint steps in a batch
of envs: each step the assistant searches (``_search.search``: the true goal never enters the
tree or the network), the simulated human (``_human_model``: the heuristic or the
behaviour-cloned one) acts from its own observation (it sees the goal), the env steps, and
finished envs restart on a goal drawn from the training bank. The function returns the envs
where they stopped and the fragment's training items:

* ``state``: the state the assistant decided in (its ``goal`` is read only by the goal loss);
* ``policy``: the search's improved policy (the policy target);
* ``human``: the human model's real action distribution in that state (the human-action
  head's target);
* ``value``: the discounted return from that state, ``gamma`` per step, cut at the end of an
  episode and bootstrapped at the end of the fragment with the network's value.

Targets over the flat layout are stored as float16 (halving the replay's size; the loss
renormalises them).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from alignlab.assist import _env
from alignlab.assist._human_model import HumanModel, heuristic_human, state_logits
from alignlab.assist._layout import ASSISTANT, EnvConfig
from alignlab.assist._net import NetConfig, apply, assistant_input
from alignlab.assist._search import SearchConfig, search


class Item(NamedTuple):
    """One replay item (leaves without a batch axis here; ``[n, ...]`` in fragments)."""

    state: _env.State
    policy: jax.Array  # [A] float16
    human: jax.Array  # [A] float16
    value: jax.Array  # [] float32


class Episodes(NamedTuple):
    """Per step and env of a fragment: whether an episode ended, and its end figures."""

    done: jax.Array  # [T, E] bool
    goal_percentage: jax.Array  # [T, E] float32 (at the end of the episode)
    length: jax.Array  # [T, E] int32
    human_actions: jax.Array  # [T, E] int32: the human's non-NOOP actions in the episode
    assistant_actions: jax.Array  # [T, E] int32


class Actors(NamedTuple):
    """What self-play carries between fragments: the envs and per-episode counters."""

    states: _env.State  # [E]
    human_actions: jax.Array  # [E] int32
    assistant_actions: jax.Array  # [E] int32


def start_actors(cfg: EnvConfig, key: jax.Array, bank: jax.Array, n_envs: int) -> Actors:
    """``n_envs`` fresh games on goals drawn from ``bank [N, X, Y, Z]``."""
    k_goal, k_init = jax.random.split(key)
    goals = jnp.take(bank, jax.random.randint(k_goal, (n_envs,), 0, bank.shape[0]), axis=0)
    states = jax.vmap(functools.partial(_env._init, cfg))(jax.random.split(k_init, n_envs), goals)
    zeros = jnp.zeros((n_envs,), jnp.int32)
    return Actors(states, zeros, zeros)


def value_targets(rewards: jax.Array, dones: jax.Array, last: jax.Array, gamma: float) -> jax.Array:
    """Discounted returns ``[T, E]`` of ``rewards [T, E]``, cut where ``dones`` and
    bootstrapped with ``last [E]`` (the value of the state after the fragment)."""

    def back(g: jax.Array, x: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        r, d = x
        g = r + gamma * jnp.where(d, 0.0, g)
        return g, g

    _, out = jax.lax.scan(back, last, (rewards, dones), reverse=True)
    return out


def make_collect(
    cfg: EnvConfig,
    net: NetConfig,
    search_cfg: SearchConfig,
    fragment: int,
    human: HumanModel | None = None,
) -> Callable[..., tuple[Actors, Item, Episodes]]:
    """``(params, actors, bank, key) -> (actors, items [T*E], episodes)``: a jitted function
    with ``human``'s params bound as its first argument (traced, not baked in); ``human``: the
    simulated human (default: the heuristic, ``HeuristicParams()``)."""
    human = human if human is not None else heuristic_human()
    human_logits = jax.vmap(
        functools.partial(state_logits, human.kind, cfg), in_axes=(None, None, 0)
    )
    step = jax.vmap(_env.step, in_axes=(None, 0, 0))
    init = jax.vmap(_env._init, in_axes=(None, 0, 0))
    pct = jax.vmap(lambda s: _env.goal_percentage(s, cfg))

    def one_step(h_params: Any, params: Any, bank: jax.Array, carry: Actors, key: jax.Array) -> Any:
        k_search, k_human, k_goal, k_init = jax.random.split(key, 4)
        states = carry.states
        n = states.t.shape[0]
        out = search(cfg, net, search_cfg, params, states, k_search)
        logits_h = human_logits(h_params, k_human, states)
        a_h = jax.random.categorical(k_human, logits_h).astype(jnp.int32)
        a_a = out.action.astype(jnp.int32)
        nxt = step(cfg, states, jnp.stack([a_h, a_a], axis=-1))
        live = ~(states.terminated | states.truncated)
        h_acts = carry.human_actions + (live & (a_h != 0))
        a_acts = carry.assistant_actions + (live & (a_a != 0))
        done = nxt.terminated | nxt.truncated
        reward = nxt.rewards[:, ASSISTANT]  # shared: the change in similarity (default terms)
        ep = (done, pct(nxt), nxt.t, h_acts, a_acts)
        goals = jnp.take(bank, jax.random.randint(k_goal, (n,), 0, bank.shape[0]), axis=0)
        fresh = init(cfg, jax.random.split(k_init, n), goals)
        pick = functools.partial(_where_rows, done)
        nxt = jax.tree.map(pick, fresh, nxt)
        carry = Actors(nxt, jnp.where(done, 0, h_acts), jnp.where(done, 0, a_acts))
        rec = (
            states,
            out.action_weights.astype(jnp.float16),
            jnp.exp(logits_h).astype(jnp.float16),
            reward,
            done,
        )
        return carry, (rec, ep)

    def collect(h_params: Any, params: Any, actors: Actors, bank: Any, key: jax.Array) -> Any:
        keys = jax.random.split(key, fragment)
        actors, ((states, policy, hum, rewards, dones), ep) = jax.lax.scan(
            functools.partial(one_step, h_params, params, bank), actors, keys
        )
        last = apply(net, cfg, params, _inputs(cfg, net, actors.states)).value
        values = value_targets(rewards, dones, last, search_cfg.gamma)
        flat = _merge_axes
        items = Item(jax.tree.map(flat, states), flat(policy), flat(hum), flat(values))
        return actors, items, Episodes(*ep)

    return functools.partial(jax.jit(collect), human.params)


def _inputs(cfg: EnvConfig, net: NetConfig, states: _env.State) -> jax.Array:
    return jax.vmap(lambda s: assistant_input(cfg, s, net.goal_visible))(states)


def _where_rows(cond: jax.Array, a: jax.Array, b: jax.Array) -> jax.Array:
    return jnp.where(cond.reshape(cond.shape + (1,) * (a.ndim - 1)), a, b)


def _merge_axes(x: jax.Array) -> jax.Array:
    return x.reshape((-1, *x.shape[2:]))
