"""Episodes of a simulated human with an assistant (``alignlab assist rollout`` and
``evaluate``).

One episode is a ``lax.scan`` over the horizon; episodes run in parallel under ``jax.vmap``.
Per step and player the scan records the action kind and whether a place/break took effect and
was correct (a place that matches the goal, a break of a block the goal does not want there),
and the goal percentage after the step. When both players touch the same voxel in one step, the
effect is credited to the player who acted last on it (the assistant), a rare edge case.

Assistants plug in as an :class:`Assistant`: a jittable ``act(cfg, params, carry, state, key)
-> (action, carry)`` with its params and starting carry. ``noop`` and ``random`` are built
in; other kinds (a trained checkpoint) are added with ``register_assistant(name, loader)``
or an ``alignlab.assistants`` entry point, and named on the command line as ``name`` or
``name:CHECKPOINT``::

    def _act(cfg, params, carry, state, key):
        mask = _env.legal_action_mask(cfg, state, ASSISTANT)
        logits = my_net(params, _env.observe(cfg, state, ASSISTANT))
        return jnp.argmax(jnp.where(mask, logits, -jnp.inf)).astype(jnp.int32), carry

    def _load(cfg, checkpoint):
        return Assistant("mine", _act, params=read_weights(checkpoint))

    register_assistant("mine", _load)
    final, recs = episode_fn(cfg, "mine:runs/x/model")(keys, goals, HeuristicParams())

The human is the heuristic by default; another ``_human_model.HumanModel`` plays when its kind
is passed and its params take the heuristic's place::

    human = load_human("bc:bc_human.npz", cfg)
    final, recs = episode_fn(cfg, "noop", human.kind)(keys, goals, human.params)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from alignlab.assist import _env
from alignlab.assist._human_model import HEURISTIC_KIND, HumanKind, state_logits
from alignlab.assist._layout import AIR, ASSISTANT, HUMAN, EnvConfig
from alignlab.core import AlignlabError

ASSISTANTS = ("noop", "random")  # the built-in assistants (``register_assistant`` adds more)

Params = Any  # an assistant's parameters: any pytree (network weights, a temperature, ``None``)
Carry = Any  # an assistant's memory between steps: any pytree of fixed shape (``None``: none)
AssistantFn = Callable[[EnvConfig, Params, Carry, _env.State, jax.Array], "tuple[jax.Array, Carry]"]


class Assistant(NamedTuple):
    """A playable assistant: ``act(cfg, params, carry, state, key) -> (action, carry)``.

    ``act`` is a pure, jittable function called once per step inside the episode's
    ``lax.scan`` with ``cfg`` static, ``state`` the current ``_env.State`` (one game, no batch
    axis) and a fresh ``key``; it returns the assistant's flat action (``int32 []``, the
    ``_layout`` action space) and its next carry (same tree, shapes and dtypes as
    ``carry``). ``params`` and ``carry`` (the carry each episode starts from) are passed to
    the compiled program as arguments, not baked into it: compilations are cached per
    ``(cfg, act)`` (``act`` compared by identity), so assistants that share one ``act`` object
    (two checkpoints of one network: a module-level function, static settings as a cached
    ``functools.partial``) share one compilation, and weights never become constants.

    A fair assistant reads only what the game shows it: ``_env.observe(cfg, state,
    ASSISTANT)`` (goal channels zero), ``_env.observe_inventory`` and
    ``_env.legal_action_mask(cfg, state, ASSISTANT)``; ``state.goal`` is there for oracles
    and tests, and reading it is cheating.
    """

    name: str
    act: AssistantFn
    params: Params = None
    carry: Carry = None


Loader = Callable[[EnvConfig, "str | None"], Assistant]
_LOADERS: dict[str, Loader] = {}
ENTRY_POINT_GROUP = "alignlab.assistants"


def register_assistant(name: str, loader: Loader, *, replace: bool = False) -> None:
    """Make ``name`` playable by ``alignlab assist evaluate --assistants name[:CHECKPOINT]``.

    ``loader(cfg, checkpoint) -> Assistant`` builds the assistant for the env config ``cfg``
    it will play (the evaluation's grid, horizon and rules); ``checkpoint`` is the text after
    the first ``:`` of the spec, or ``None`` without one. A loader raises
    :class:`AlignlabError` (``field="assistants"``) for a missing checkpoint or one trained for
    another grid or action space. Installed packages can register without being imported
    first, through the ``alignlab.assistants`` entry-point group (``name = "module:loader"``).

    Raises:
        AlignlabError: ``name`` is empty, holds a ``:``, or is taken (unless ``replace``).
    """
    if not name or ":" in name or name != name.strip():
        raise AlignlabError(f"bad assistant name {name!r}: non-empty, no ':'", field="name")
    if name in _LOADERS and not replace:
        raise AlignlabError(f"assistant '{name}' is already registered", field="name")
    _LOADERS[name] = loader


def assistant_names() -> tuple[str, ...]:
    """Registered names (built-ins first) and those offered through entry points."""
    extra = sorted({ep.name for ep in _entry_points()} - set(_LOADERS))
    return (*_LOADERS, *extra)


def _entry_points() -> list[Any]:
    from importlib.metadata import entry_points

    return list(entry_points(group=ENTRY_POINT_GROUP))


def split_spec(spec: str) -> tuple[str, str | None]:
    """``"name"`` → ``("name", None)``; ``"name:CHECKPOINT"`` → ``("name", "CHECKPOINT")``."""
    name, sep, checkpoint = spec.partition(":")
    return name, (checkpoint if sep else None)


def _loader(name: str) -> Loader:
    if name not in _LOADERS:
        for ep in _entry_points():
            if ep.name == name:
                _LOADERS[name] = ep.load()
                break
        else:
            known = ", ".join(assistant_names())
            raise AlignlabError(f"unknown assistant '{name}'; known: {known}", field="assistants")
    return _LOADERS[name]


def load_assistant(spec: str, cfg: EnvConfig) -> Assistant:
    """The assistant a spec names (``name`` or ``name:CHECKPOINT``), built for ``cfg``; its
    ``name`` is the spec, so two checkpoints of one kind stay apart in records."""
    name, checkpoint = split_spec(spec)
    assistant = _loader(name)(cfg, checkpoint)
    return assistant._replace(name=spec)


def check_assistant(assistant: Assistant, cfg: EnvConfig) -> None:
    """Trace ``assistant.act`` once without running it (``jax.eval_shape``) and check that it
    returns an ``int32 []`` action and a carry of the starting carry's structure.

    Raises:
        AlignlabError: (``field="assistants"``) naming the assistant and what is wrong.
    """
    key = jax.random.PRNGKey(0)
    state = jax.eval_shape(lambda k: _env._init(cfg, k, jnp.zeros(cfg.size, jnp.uint8)), key)
    act = functools.partial(assistant.act, cfg)
    action, carry = jax.eval_shape(act, assistant.params, assistant.carry, state, key)

    def fail(what: str) -> None:
        raise AlignlabError(f"assistant '{assistant.name}': {what}", field="assistants")

    if action.shape != () or action.dtype != jnp.int32:
        fail(f"act must return an int32 [] action, not {action.dtype} {list(action.shape)}")
    start = jax.eval_shape(lambda c: c, assistant.carry)

    def layout(tree: Any) -> tuple[str, list[Any]]:
        leaves = [(x.shape, x.dtype) for x in jax.tree.leaves(tree)]
        return str(jax.tree.structure(tree)), leaves

    if layout(carry) != layout(start):
        fail("act must return a carry of the same structure, shapes and dtypes as it got")


def _noop_act(
    cfg: EnvConfig, params: Params, carry: Carry, state: _env.State, key: jax.Array
) -> Any:
    del cfg, params, state, key
    return jnp.int32(0), carry


def _random_act(
    cfg: EnvConfig, params: Params, carry: Carry, state: _env.State, key: jax.Array
) -> Any:
    """Uniform over the assistant's legal actions."""
    del params
    mask = _env.legal_action_mask(cfg, state, ASSISTANT)
    action = jax.random.categorical(key, jnp.where(mask, 0.0, -jnp.inf)).astype(jnp.int32)
    return action, carry


def _builtin(act: AssistantFn) -> Loader:
    def load(cfg: EnvConfig, checkpoint: str | None) -> Assistant:
        del cfg
        if checkpoint is not None:
            raise AlignlabError(
                f"the built-in assistant takes no checkpoint, not '{checkpoint}'",
                field="assistants",
            )
        return Assistant(act.__name__.strip("_").removesuffix("_act"), act)

    return load


register_assistant("noop", _builtin(_noop_act))
register_assistant("random", _builtin(_random_act))


def _resolve(assistant: str | Assistant, cfg: EnvConfig) -> Assistant:
    return load_assistant(assistant, cfg) if isinstance(assistant, str) else assistant


def _effects(cfg: EnvConfig, before: _env.State, after: _env.State, a: jax.Array, p: int) -> Any:
    """(kind, effective, correct) of player ``p``'s action ``a``; a GIVE is effective when the
    receiver holds one more of its block afterwards (and always "correct")."""
    kind, v, b = _env.decode_action_jax(a, cfg.n_voxels, cfg.finite_inventory)
    old = before.blocks.reshape(-1)[v]
    new = after.blocks.reshape(-1)[v]
    mine = after.last_interacted.reshape(-1)[v] == p
    goal = before.goal.reshape(-1)[v]
    placed = (kind == _env.KIND_PLACE) & (old == AIR) & (new == b) & mine
    broke = (kind == _env.KIND_BREAK) & (old != AIR) & (new == AIR) & mine
    correct = (placed & (b == goal)) | (broke & (old != goal))
    gave = (kind == _env.KIND_GIVE) & (after.inventory[1 - p, b] > before.inventory[1 - p, b])
    return kind, placed | broke | gave, correct | gave


def _play(cfg: EnvConfig, act: AssistantFn, frames: bool, human: HumanKind) -> Callable[..., Any]:
    """``(assistant params, start carry, key, goal, human params) -> (final state, per-step
    records)`` for one episode with a human of kind ``human``; with ``frames`` the records also
    hold the state after every step (for replays), and the reset state comes back too."""

    def one(a_params: Params, carry0: Carry, key: jax.Array, goal: jax.Array, h: Any) -> Any:
        k0, k_run = jax.random.split(key)
        state = _env._init(cfg, k0, goal)

        def body(sc: tuple[_env.State, Carry], k: jax.Array) -> Any:
            s, carry = sc
            k_h, k_a = jax.random.split(k)
            logits = state_logits(human, cfg, h, k_h, s)
            a_h = jax.random.categorical(k_h, logits).astype(jnp.int32)
            a_a, carry = act(cfg, a_params, carry, s, k_a)
            nxt = _env.step(cfg, s, jnp.stack([a_h, a_a]))
            live = ~(s.terminated | s.truncated)
            eff = [_effects(cfg, s, nxt, a, p) for p, a in ((HUMAN, a_h), (ASSISTANT, a_a))]
            rec = {
                "kind": jnp.stack([e[0] for e in eff]),
                "effective": jnp.stack([e[1] for e in eff]),
                "correct": jnp.stack([e[2] for e in eff]),
                "live": live,
                "reward": nxt.rewards,  # [2]: human, assistant (differ with reward terms)
                "goal_percentage": _env.goal_percentage(nxt, cfg),  # after this step
                "actions": jnp.stack([a_h, a_a]),  # enough to replay: the game is deterministic
            }
            if frames:
                rec |= {
                    "blocks": nxt.blocks,
                    "positions": nxt.positions,
                    "inventory": nxt.inventory,
                }
            return (nxt, carry), rec

        (final, _), recs = jax.lax.scan(body, (state, carry0), jax.random.split(k_run, cfg.horizon))
        return (final, recs, state) if frames else (final, recs)

    return one


@functools.lru_cache(maxsize=16)
def play_fn(
    cfg: EnvConfig, act: AssistantFn, human: HumanKind = HEURISTIC_KIND
) -> Callable[..., Any]:
    """Jitted ``(assistant params, start carry, keys [B], goals [B,X,Y,Z], human params) ->
    (final states, per-step records [B, T, ...])``; one compilation per ``(cfg, act, human)``."""
    return jax.jit(jax.vmap(_play(cfg, act, False, human), in_axes=(None, None, 0, 0, None)))


def episode_fn(
    cfg: EnvConfig, assistant: str | Assistant, human: HumanKind = HEURISTIC_KIND
) -> Callable[..., Any]:
    """``(keys [B], goals [B,X,Y,Z], human params) -> (final states, per-step records)`` for
    an assistant or a spec ``load_assistant`` reads (see module) with a human of kind ``human``
    (default: the heuristic; human params are then ``HeuristicParams``); jitted, the params
    passed in as arguments."""
    a = _resolve(assistant, cfg)
    return functools.partial(play_fn(cfg, a.act, human), a.params, a.carry)


def episode_replay(
    cfg: EnvConfig,
    assistant: str | Assistant,
    key: jax.Array,
    goal: Any,
    params: Any,
    human: HumanKind = HEURISTIC_KIND,
) -> dict[str, Any]:
    """One episode, the same as ``episode_fn`` plays it with the same key and human (kind
    ``human``, ``params`` its params), as a replayable ``_render.episode_json`` dict: the reset
    state, then every live step."""
    a = _resolve(assistant, cfg)
    play = jax.jit(_play(cfg, a.act, True, human))
    _, recs, start = play(a.params, a.carry, key, goal, params)
    return _episode_json(cfg, a.name, goal, start, {k: np.asarray(v) for k, v in recs.items()})


@functools.lru_cache(maxsize=8)
def _restep_fn(cfg: EnvConfig) -> Callable[..., Any]:
    def run(key: jax.Array, goal: jax.Array, actions: jax.Array) -> Any:
        start = _env._init(cfg, jax.random.split(key)[0], goal)  # the reset ``_play`` makes

        def body(s: _env.State, a: jax.Array) -> Any:
            nxt = _env.step(cfg, s, a)
            return nxt, {
                "blocks": nxt.blocks,
                "positions": nxt.positions,
                "inventory": nxt.inventory,
            }

        return start, jax.lax.scan(body, start, actions)[1]

    return jax.jit(run)


def replay_recorded(
    cfg: EnvConfig, name: str, key: jax.Array, goal: Any, recs: dict[str, Any]
) -> dict[str, Any]:
    """The ``episode_json`` dict of an episode ``episode_fn`` played, rebuilt from its records
    (``recs``: one episode's ``actions [T, 2]``, ``live [T]``, ``reward [T, 2]``) by stepping
    the deterministic game again: no assistant or human runs, so one compilation per ``cfg``
    serves every assistant."""
    start, frames = _restep_fn(cfg)(key, jnp.asarray(goal), jnp.asarray(recs["actions"]))
    full = {k: np.asarray(v) for k, v in (recs | frames).items()}
    return _episode_json(cfg, name, goal, start, full)


def _episode_json(
    cfg: EnvConfig, name: str, goal: Any, start: _env.State, recs: dict[str, np.ndarray]
) -> dict[str, Any]:
    from alignlab.assist._render import episode_json

    frames: list[dict[str, Any]] = [
        {
            "blocks": np.asarray(start.blocks),
            "positions": np.asarray(start.positions),
            "inventory": np.asarray(start.inventory),
        }
    ]
    for t in np.flatnonzero(recs["live"]):
        frames.append({k: recs[k][t] for k in ("blocks", "positions", "inventory", "actions")})
        frames[-1]["reward"] = float(recs["reward"][t, HUMAN])
    meta = {
        "assistant": name,
        "finite_inventory": cfg.finite_inventory,
        "place_wrong": cfg.place_wrong,
        "horizon": cfg.horizon,
    }
    return episode_json(frames, goal, meta=meta, inventory=cfg.finite_inventory)


def summarise(final: _env.State, recs: dict[str, Any], cfg: EnvConfig) -> list[dict[str, Any]]:
    """One record per episode: goal percentage, steps, actions by type, correct/incorrect (and
    effective GIVEs with finite inventories)."""
    pct = np.asarray(jax.vmap(lambda s: _env.goal_percentage(s, cfg))(final))
    kind, eff, cor = (np.asarray(recs[k]) for k in ("kind", "effective", "correct"))
    live = np.asarray(recs["live"])  # [B, T]
    rewards = np.asarray(recs["reward"])  # [B, T, 2]
    rows = []
    for i in range(pct.size):
        row: dict[str, Any] = {
            "goal_percentage": float(pct[i]),
            "steps": int(live[i].sum()),
            "completed": bool(np.asarray(final.terminated)[i]),
            "return": float(rewards[i, :, HUMAN][live[i]].sum()),
            "assistant_return": float(rewards[i, :, ASSISTANT][live[i]].sum()),
        }
        for p, who in ((HUMAN, "human"), (ASSISTANT, "assistant")):
            k, e, c = kind[i, :, p][live[i]], eff[i, :, p][live[i]], cor[i, :, p][live[i]]
            for kid, name in enumerate(_env.KINDS[: 5 if cfg.finite_inventory else 4]):
                row[f"{who}/{name}"] = int((k == kid).sum())
            if cfg.finite_inventory:
                row[f"{who}/effective_give"] = int(((k == _env.KIND_GIVE) & e).sum())
            for kid, name in ((_env.KIND_PLACE, "place"), (_env.KIND_BREAK, "break")):
                sel = (k == kid) & e
                row[f"{who}/correct_{name}"] = int((sel & c).sum())
                row[f"{who}/incorrect_{name}"] = int((sel & ~c).sum())
        rows.append(row)
    return rows
