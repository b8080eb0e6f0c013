"""The "pretraining + SFT" imitation baseline of AssistanceZero (arXiv 2504.07091): the
assistant's network (``_net``, goal hidden) first clones what the simulated human does, then
what an expert assistant does, and plays greedily from its policy head.

**Data** (``make_collect``; one jitted ``lax.scan`` over ``chunk`` joint steps in ``E`` games,
finished games restart on a goal from their own slice of the goal bank):

* ``stage="pretrain"``: the simulated human (``_human_model``: the heuristic, or the
  behaviour-cloned one) builds alone (the assistant NOOPs). Each step records the state and
  the human's *sampled* action (from its logits restricted to its legal mask, so every
  target is legal).
* ``stage="sft"``: the expert — a goal-visible ``assist train`` run, searching with its own
  network and ``gumbel_scale = 0`` (the action it plays at evaluation) — plays with the
  simulated human. Each step records the state and the expert's action.

**Input view** (``actor_view``): the network reads the observation *of the player whose action
is the target*, ``_env.observe(cfg, state, player)``, with both goal channels set to zero. For
the human's steps that is the builder's own view: player channel 1 = the human (the actor,
"self"), 2 = the idle assistant, last-interacted 1 = by the human, 2 = by the assistant — the
assistant's observation of the same game with the two players' roles swapped (with the env's
default ``last_interacted_obs="relative"``). For the expert's steps it is exactly the
assistant's own goal-masked observation (``_net.assistant_input(..., goal_visible=False)``).
The goal never enters the input.

**Loss**: cross-entropy of the policy head on the target action, the logits masked by the
actor's legal actions (``legal_action_mask(cfg, state, player)``), plus ``goal_weight`` × the
goal head's per-voxel cross-entropy to the true goal (the auxiliary that makes the trunk infer
the goal, as AssistanceZero's goal loss does; ``state.goal`` is read there only). The value
and human-action heads are not trained. Adam (``_learner.make_optimizer``: global-norm
clipping 1.0); a new stage starts with a fresh Adam state.

``load_sft`` plays a trained network: argmax of the masked policy logits, no search.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from alignlab.assist import _env
from alignlab.assist._human_model import HumanKind, HumanModel, heuristic_human, state_logits
from alignlab.assist._layout import (
    ASSISTANT,
    HUMAN,
    OBS_GOAL_BLOCKS,
    OBS_GOAL_STATES,
    EnvConfig,
)
from alignlab.assist._net import NetConfig, apply
from alignlab.assist._rollout import Assistant
from alignlab.core import AlignlabError

STAGES = ("pretrain", "sft")
ACTOR = {"pretrain": HUMAN, "sft": ASSISTANT}  # whose actions each stage clones
_NEG = -1e9  # logit of illegal actions in the loss (finite: no NaN from 0 · -inf)


class Steps(NamedTuple):
    """Recorded steps (leaves ``[T, E]`` from ``make_collect``, ``[N]`` once flattened)."""

    state: _env.State  # the state the actor decided in (a live game)
    action: jax.Array  # int32: the actor's action, the target


class Games(NamedTuple):
    """The games in progress and each game's slice of the goal bank."""

    states: _env.State  # [E]
    lo: jax.Array  # [E] int32: first bank index this game draws goals from
    n: jax.Array  # [E] int32: how many (>= 1)


class Expert(NamedTuple):
    """A goal-visible searcher: its configs (static) and weights."""

    net: NetConfig
    search: Any  # _search.SearchConfig, goal_visible
    params: Any


def actor_view(cfg: EnvConfig, state: _env.State, player: int | jax.Array) -> jax.Array:
    """``[6, X, Y, Z] float32``: ``player``'s observation of one game with the goal channels
    zero — the network's input for that player's steps (module doc). ``player`` may be traced
    (one compilation serves both stages); the output never depends on ``state.goal``."""
    obs = _env.observe(cfg, state, player)
    return obs.at[OBS_GOAL_BLOCKS].set(0.0).at[OBS_GOAL_STATES].set(0.0)


def start_games(
    cfg: EnvConfig, key: jax.Array, lo: jax.Array, n: jax.Array, bank: jax.Array
) -> Games:
    """Fresh games, game ``e`` on a goal drawn from ``bank[lo[e] : lo[e] + n[e]]``."""
    k_goal, k_init = jax.random.split(key)
    goals = _draw(bank, lo, n, k_goal)
    init = jax.vmap(functools.partial(_env._init, cfg))
    return Games(init(jax.random.split(k_init, lo.shape[0]), goals), lo, n)


def _draw(bank: jax.Array, lo: jax.Array, n: jax.Array, key: jax.Array) -> jax.Array:
    u = jax.random.uniform(key, lo.shape)
    idx = lo + jnp.minimum((u * n).astype(jnp.int32), n - 1)
    return jnp.take(bank, idx, axis=0)


def make_collect(
    cfg: EnvConfig,
    stage: str,
    chunk: int,
    expert_net: NetConfig | None = None,
    expert_search: Any = None,
    human: HumanModel | None = None,
) -> Callable[[Games, jax.Array, jax.Array, Any], tuple[Games, Steps]]:
    """Jitted ``(games, bank, key, expert_params) -> (games, steps [chunk, E])`` for
    ``stage`` (``"pretrain"``: the human alone, ``expert_params`` unused; ``"sft"``: the
    expert — ``expert_net`` and ``expert_search`` (a goal-visible ``SearchConfig``) — with the
    human). ``human``: the simulated human (default: the heuristic), its params bound as the
    compiled function's first argument. Compilations are cached by the static arguments and
    the human's kind, so runs in one process share them."""
    human = human if human is not None else heuristic_human()
    fn = _collect_fn(cfg, stage, chunk, expert_net, expert_search, human.kind)
    return functools.partial(fn, human.params)


@functools.lru_cache(maxsize=8)
def _collect_fn(
    cfg: EnvConfig,
    stage: str,
    chunk: int,
    expert_net: NetConfig | None,
    expert_search: Any,
    kind: HumanKind,
) -> Callable[..., tuple[Games, Steps]]:
    """Jitted ``(human_params, games, bank, key, expert_params)`` (``make_collect``)."""
    from alignlab.assist._selfplay import where_rows

    if stage not in STAGES:
        raise AlignlabError(f"unknown stage {stage!r}", field="stage")
    if (stage == "sft") != (expert_net is not None and expert_search is not None):
        raise AlignlabError("the SFT stage, and only it, needs an expert", field="expert")
    mask_h = jax.vmap(_env.legal_action_mask, in_axes=(None, 0, None))
    logits_h = jax.vmap(functools.partial(state_logits, kind, cfg), in_axes=(None, None, 0))
    step = jax.vmap(_env.step, in_axes=(None, 0, 0))
    init = jax.vmap(_env._init, in_axes=(None, 0, 0))

    def assistant_action(params: Any, states: _env.State, key: jax.Array) -> jax.Array:
        if expert_net is None:  # pretraining: the assistant NOOPs, the human builds alone
            return jnp.zeros(states.t.shape, jnp.int32)
        from alignlab.assist._search import search

        return search(cfg, expert_net, expert_search, params, states, key).action

    def one_step(h_params: Any, bank: jax.Array, params: Any, g: Games, key: jax.Array) -> Any:
        k_h, k_a, k_goal, k_init = jax.random.split(key, 4)
        s = g.states
        logits = logits_h(h_params, k_h, s)
        logits = jnp.where(mask_h(cfg, s, HUMAN), logits, -jnp.inf)
        a_h = jax.random.categorical(k_h, logits).astype(jnp.int32)
        a_a = assistant_action(params, s, k_a).astype(jnp.int32)
        nxt = step(cfg, s, jnp.stack([a_h, a_a], axis=-1))
        done = nxt.terminated | nxt.truncated
        fresh = init(cfg, jax.random.split(k_init, done.shape[0]), _draw(bank, g.lo, g.n, k_goal))
        nxt = jax.tree.map(functools.partial(where_rows, done), fresh, nxt)
        target = a_h if stage == "pretrain" else a_a
        return g._replace(states=nxt), Steps(s, target)

    def collect(h_params: Any, games: Games, bank: jax.Array, key: jax.Array, params: Any) -> Any:
        return jax.lax.scan(
            functools.partial(one_step, h_params, bank, params), games, jax.random.split(key, chunk)
        )

    return jax.jit(collect)


# ---------------------------------------------------------------- training


def sft_losses(
    cfg: EnvConfig,
    net: NetConfig,
    goal_weight: float,
    params: Any,
    batch: Steps,
    player: int | jax.Array,
) -> tuple[jax.Array, dict[str, jax.Array]]:
    """``(total, parts)`` averaged over ``batch`` (``[B]`` steps of ``player``)."""
    obs = jax.vmap(lambda s: actor_view(cfg, s, player))(batch.state)
    out = apply(net, cfg, params, obs)
    mask = jax.vmap(_env.legal_action_mask, in_axes=(None, 0, None))(cfg, batch.state, player)
    logp = jax.nn.log_softmax(jnp.where(mask, out.policy_logits, _NEG), axis=-1)
    policy = -jnp.take_along_axis(logp, batch.action[:, None], axis=-1).mean()
    logg = jax.nn.log_softmax(out.goal_logits, axis=-1)
    goal = batch.state.goal.astype(jnp.int32)
    goal_ce = -jnp.take_along_axis(logg, goal[..., None], axis=-1).mean()
    total = policy + goal_weight * goal_ce
    return total, {"loss": total, "loss/policy": policy, "loss/goal": goal_ce}


@functools.lru_cache(maxsize=8)
def make_update(
    cfg: EnvConfig, net: NetConfig, goal_weight: float, lr: float
) -> Callable[[Any, Any, Steps, jax.Array], tuple[Any, Any, dict[str, jax.Array]]]:
    """Jitted ``(params, opt_state, batch, player) -> (params, opt_state, parts)``: one step
    of ``make_optimizer(lr)`` on ``player``'s steps (cached by its arguments)."""
    import optax

    from alignlab.assist._learner import make_optimizer

    optimizer = make_optimizer(lr)

    def update(params: Any, opt_state: Any, batch: Steps, player: jax.Array) -> Any:
        fn = jax.grad(lambda p: sft_losses(cfg, net, goal_weight, p, batch, player), has_aux=True)
        grads, parts = fn(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, parts

    return jax.jit(update)


@functools.lru_cache(maxsize=8)
def make_eval(
    cfg: EnvConfig, net: NetConfig
) -> Callable[[Any, Steps, jax.Array, jax.Array], dict[str, jax.Array]]:
    """Jitted ``(params, batch, weight [B], player) -> sums`` over ``player``'s steps, the
    rows with ``weight`` 1 (padding
    has 0): ``n``, ``nll`` (masked policy cross-entropy), ``hits`` (masked argmax = target),
    ``chance`` (1 / legal actions: a uniform legal guess's expected hits), ``goal_hits`` and
    ``todo`` (goal head argmax = goal, over voxels where the world differs from the goal)."""

    def ev(params: Any, batch: Steps, w: jax.Array, player: jax.Array) -> dict[str, jax.Array]:
        obs = jax.vmap(lambda s: actor_view(cfg, s, player))(batch.state)
        out = apply(net, cfg, params, obs)
        mask = jax.vmap(_env.legal_action_mask, in_axes=(None, 0, None))(cfg, batch.state, player)
        logits = jnp.where(mask, out.policy_logits, _NEG)
        logp = jax.nn.log_softmax(logits, axis=-1)
        nll = -jnp.take_along_axis(logp, batch.action[:, None], axis=-1)[:, 0]
        hit = jnp.argmax(logits, axis=-1) == batch.action
        todo = (batch.state.blocks != batch.state.goal) & (w[:, None, None, None] > 0)
        ghit = (jnp.argmax(out.goal_logits, axis=-1) == batch.state.goal) & todo
        return {
            "n": w.sum(),
            "nll": (nll * w).sum(),
            "hits": (hit * w).sum(),
            "chance": (w / jnp.maximum(mask.sum(-1), 1)).sum(),
            "goal_hits": ghit.sum(),
            "todo": todo.sum(),
        }

    return jax.jit(ev)


# ---------------------------------------------------------------- playing


@functools.lru_cache(maxsize=16)
def _greedy_act(net: NetConfig) -> Any:
    """One ``act`` per network config (``_rollout`` caches compilations by ``act`` identity)."""

    def act(cfg: EnvConfig, params: Any, carry: Any, state: _env.State, key: jax.Array) -> Any:
        del key
        logits = apply(net, cfg, params, actor_view(cfg, state, ASSISTANT)).policy_logits
        mask = _env.legal_action_mask(cfg, state, ASSISTANT)
        return jnp.argmax(jnp.where(mask, logits, -jnp.inf)).astype(jnp.int32), carry

    return act


def load_sft(cfg: EnvConfig, checkpoint: str | None) -> Assistant:
    """``sft:RUN``: an ``assist train-sft`` run (its ``model/``; or ``RUN/pretrained`` for the
    network after pretraining alone; or a checkpoint file), playing the argmax of its masked
    policy logits from the goal-masked observation, without search."""
    from alignlab.assist._assistants import trained_model
    from alignlab.assist._model_files import load_params

    model = trained_model(cfg, checkpoint, "train-sft")
    if model.net.goal_visible:
        raise AlignlabError(
            "a goal-visible network reads the goal; sft plays goal-masked networks only",
            file=checkpoint,
            field="assistants",
        )
    return Assistant("sft", _greedy_act(model.net), params=load_params(model))
