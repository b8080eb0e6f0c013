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
from alignlab.assist._human_model import HumanKind, HumanModel, heuristic_human, state_logits
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


class Played(NamedTuple):
    """What one joint step (``joint_step``) of every game recorded (leaves ``[E, ...]``)."""

    human_logits: jax.Array  # [E, A] the human's action log-probabilities it sampled from
    reward: jax.Array  # [E] float32, shared: the change in similarity (default terms)
    done: jax.Array  # [E] bool: the step ended the game (it restarted on a new goal)
    episode: tuple[jax.Array, ...]  # one row of ``Episodes``' fields


def joint_step(
    cfg: EnvConfig,
    human: HumanKind,
    human_params: Any,
    bank: jax.Array,
    actors: Actors,
    assistant_action: jax.Array,
    keys: Any,
) -> tuple[Actors, Played]:
    """One joint step of every game in ``actors`` (traced inside a jitted collector): the
    human of kind ``human`` samples its action from its own view, both players act (the
    assistant plays ``assistant_action [E] int32``), the episode counters move on, and
    finished games restart on a goal drawn from ``bank [N, X, Y, Z]``. ``keys``: three keys
    (the human's, the new goals', the new games'). Returns the games after the step and what
    it recorded; self-play and PPO's rollouts share it."""
    k_human, k_goal, k_init = keys
    states = actors.states
    n = states.t.shape[0]
    logits_fn = functools.partial(state_logits, human, cfg)
    logits_h = jax.vmap(logits_fn, in_axes=(None, None, 0))(human_params, k_human, states)
    a_h = jax.random.categorical(k_human, logits_h).astype(jnp.int32)
    a_a = assistant_action
    nxt = jax.vmap(_env.step, in_axes=(None, 0, 0))(cfg, states, jnp.stack([a_h, a_a], axis=-1))
    live = ~(states.terminated | states.truncated)
    h_acts = actors.human_actions + (live & (a_h != 0))
    a_acts = actors.assistant_actions + (live & (a_a != 0))
    done = nxt.terminated | nxt.truncated
    reward = nxt.rewards[:, ASSISTANT]
    pct = jax.vmap(lambda s: _env.goal_percentage(s, cfg))(nxt)
    episode = (done, pct, nxt.t, h_acts, a_acts)
    goals = jnp.take(bank, jax.random.randint(k_goal, (n,), 0, bank.shape[0]), axis=0)
    fresh = jax.vmap(_env._init, in_axes=(None, 0, 0))(cfg, jax.random.split(k_init, n), goals)
    nxt = jax.tree.map(functools.partial(where_rows, done), fresh, nxt)
    after = Actors(nxt, jnp.where(done, 0, h_acts), jnp.where(done, 0, a_acts))
    return after, Played(logits_h, reward, done, episode)


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

    def one_step(h_params: Any, params: Any, bank: jax.Array, carry: Actors, key: jax.Array) -> Any:
        k_search, *keys = jax.random.split(key, 4)
        states = carry.states
        out = search(cfg, net, search_cfg, params, states, k_search)
        a_a = out.action.astype(jnp.int32)
        carry, played = joint_step(cfg, human.kind, h_params, bank, carry, a_a, keys)
        rec = (
            states,
            out.action_weights.astype(jnp.float16),
            jnp.exp(played.human_logits).astype(jnp.float16),
            played.reward,
            played.done,
        )
        return carry, (rec, played.episode)

    def collect(h_params: Any, params: Any, actors: Actors, bank: Any, key: jax.Array) -> Any:
        keys = jax.random.split(key, fragment)
        actors, ((states, policy, hum, rewards, dones), ep) = jax.lax.scan(
            functools.partial(one_step, h_params, params, bank), actors, keys
        )
        last = apply(net, cfg, params, _inputs(cfg, net, actors.states)).value
        values = value_targets(rewards, dones, last, search_cfg.gamma)
        flat = merge_axes
        items = Item(jax.tree.map(flat, states), flat(policy), flat(hum), flat(values))
        return actors, items, Episodes(*ep)

    return functools.partial(jax.jit(collect), human.params)


def _inputs(cfg: EnvConfig, net: NetConfig, states: _env.State) -> jax.Array:
    return jax.vmap(lambda s: assistant_input(cfg, s, net.goal_visible))(states)


def where_rows(cond: jax.Array, a: jax.Array, b: jax.Array) -> jax.Array:
    """``a`` where ``cond [E]``, else ``b`` (``[E, ...]`` both): row by row."""
    return jnp.where(cond.reshape(cond.shape + (1,) * (a.ndim - 1)), a, b)


def merge_axes(x: jax.Array) -> jax.Array:
    """``[T, E, ...] -> [T*E, ...]``."""
    return x.reshape((-1, *x.shape[2:]))
