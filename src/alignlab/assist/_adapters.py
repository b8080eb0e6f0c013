"""Standard-API wrappers around the functional environment.

- :class:`MbagParallelEnv`: PettingZoo ``ParallelEnv`` with agents ``human`` and ``assistant``;
  each observation is ``{"observation": [6, X, Y, Z] float32, "action_mask": [n_actions] int8,
  "inventory": [2, 10] int32}`` (own counts, then the other player's; zeros when infinite).
- :class:`MbagAssistantEnv`: Gymnasium env for the assistant with a simulated human folded in.
- :class:`MbagVectorAssistantEnv`: ``B`` of those stepped at once with one ``jax.vmap``.

The jitted pure functions do the work; these classes only hold state and convert to numpy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from alignlab.assist import _env
from alignlab.assist._goals import random_blob
from alignlab.assist._humans import HeuristicParams, heuristic_logits
from alignlab.assist._layout import ASSISTANT, HUMAN, N_BLOCKS, N_OBS_CHANNELS, EnvConfig
from alignlab.assist._render import text_slices

AGENTS = ("human", "assistant")
GoalFn = Callable[[np.random.Generator], np.ndarray]
SMALL = EnvConfig(size=(6, 6, 6), horizon=100)


def _spaces(cfg: EnvConfig) -> tuple[spaces.Dict, spaces.Discrete]:
    obs = spaces.Dict(
        {
            "observation": spaces.Box(
                0.0, float(N_BLOCKS), (N_OBS_CHANNELS, *cfg.size), np.float32
            ),
            "action_mask": spaces.Box(0, 1, (cfg.n_actions,), np.int8),
            "inventory": spaces.Box(0, max(cfg.inventory_max, 1), (2, N_BLOCKS), np.int32),
        }
    )
    return obs, spaces.Discrete(cfg.n_actions)


@functools.lru_cache(maxsize=8)
def _compiled(cfg: EnvConfig) -> dict[str, Callable[..., Any]]:
    """Jitted per config (cached: envs built with the same config share compilations)."""

    def views(state: _env.State) -> tuple[jax.Array, ...]:
        return tuple(
            x
            for p in (HUMAN, ASSISTANT)
            for x in (
                _env.observe(cfg, state, p),
                _env.legal_action_mask(cfg, state, p),
                _env.observe_inventory(cfg, state, p),
            )
        )

    def human_step(state: _env.State, a_assist: jax.Array, key: jax.Array, params: Any) -> Any:
        k_h, k_s = jax.random.split(key)
        obs, inv = _env.observe(cfg, state, HUMAN), _env.observe_inventory(cfg, state, HUMAN)
        logits = heuristic_logits(params, k_h, obs, cfg, inv)
        a_human = jax.random.categorical(k_h, logits).astype(jnp.int32)
        nxt = _env.step(cfg, state, jnp.stack([a_human, a_assist]), k_s)
        return nxt, a_human

    return {
        "init": jax.jit(functools.partial(_env._init, cfg)),
        "step": jax.jit(functools.partial(_env.step, cfg)),
        "views": jax.jit(views),
        "human_step": jax.jit(human_step),
        "v_init": jax.jit(jax.vmap(functools.partial(_env._init, cfg))),
        "v_human_step": jax.jit(jax.vmap(human_step, in_axes=(0, 0, 0, None))),
        "v_assistant_view": jax.jit(
            jax.vmap(
                lambda s: (
                    _env.observe(cfg, s, ASSISTANT),
                    _env.legal_action_mask(cfg, s, ASSISTANT),
                    _env.observe_inventory(cfg, s, ASSISTANT),
                )
            )
        ),
        "v_pct": jax.jit(jax.vmap(lambda s: _env.goal_percentage(s, cfg))),
    }


def _default_goal_fn(cfg: EnvConfig) -> GoalFn:
    return lambda rng: random_blob(cfg.size, rng)


class MbagParallelEnv(ParallelEnv):  # type: ignore[misc]
    """Both players act each step (human first on conflicts); shared reward."""

    metadata = {"name": "alignlab_mbag_v0", "render_modes": ["ansi"], "is_parallelizable": True}

    def __init__(
        self, cfg: EnvConfig = SMALL, goal_fn: GoalFn | None = None, render_mode: str | None = None
    ) -> None:
        _env.validate_config(cfg)
        self.cfg = cfg
        self.goal_fn = goal_fn or _default_goal_fn(cfg)
        self.render_mode = render_mode
        self.possible_agents = list(AGENTS)
        self.agents: list[str] = []
        self._fns = _compiled(cfg)
        self._obs_space, self._act_space = _spaces(cfg)
        self._rng = np.random.default_rng()
        self._key = jax.random.PRNGKey(0)
        self.state: _env.State | None = None

    def observation_space(self, agent: str) -> spaces.Space:  # noqa: ARG002 - same for both
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Space:  # noqa: ARG002
        return self._act_space

    def _observations(self) -> dict[str, dict[str, np.ndarray]]:
        oh, mh, ih, oa, ma, ia = (np.asarray(x) for x in self._fns["views"](self.state))
        return {
            "human": {"observation": oh, "action_mask": mh.astype(np.int8), "inventory": ih},
            "assistant": {"observation": oa, "action_mask": ma.astype(np.int8), "inventory": ia},
        }

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
            self._key = jax.random.PRNGKey(seed)
        goal = _env.validate_goal(self.cfg, self.goal_fn(self._rng))
        self._key, k = jax.random.split(self._key)
        self.state = self._fns["init"](k, goal)
        self.agents = list(AGENTS)
        return self._observations(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, int]) -> Any:
        if self.state is None or not self.agents:
            raise RuntimeError("call reset() before step()")
        acts = jnp.array(
            [int(actions.get("human", 0)), int(actions.get("assistant", 0))], jnp.int32
        )
        self._key, k = jax.random.split(self._key)
        self.state = self._fns["step"](self.state, acts, k)
        r = float(self.state.rewards[0])
        term, trunc = bool(self.state.terminated), bool(self.state.truncated)
        pct = float(_env.goal_percentage(self.state, self.cfg))
        obs = self._observations()
        agents = list(self.agents)
        if term or trunc:
            self.agents = []
        return (
            obs,
            {a: r for a in agents},
            {a: term for a in agents},
            {a: trunc for a in agents},
            {a: {"goal_percentage": pct} for a in agents},
        )

    def render(self) -> str | None:
        if self.state is None:
            return None
        return text_slices(self.state.blocks, goal=self.state.goal, players=self.state.positions)

    def close(self) -> None:
        pass


class MbagAssistantEnv(gymnasium.Env):  # type: ignore[misc]
    """The assistant's view: the simulated human acts inside ``step`` (heuristic, β, mistakes)."""

    metadata = {"render_modes": ["ansi"]}

    def __init__(
        self,
        cfg: EnvConfig = SMALL,
        goal_fn: GoalFn | None = None,
        human: HeuristicParams | None = None,
        render_mode: str | None = None,
    ) -> None:
        self._pz = MbagParallelEnv(cfg, goal_fn, render_mode)
        self.human = human or HeuristicParams()
        self.observation_space, self.action_space = _spaces(cfg)
        self.render_mode = render_mode

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        super().reset(seed=seed)
        obs, _ = self._pz.reset(seed=seed)
        return obs["assistant"], {}

    def step(self, action: int) -> Any:
        pz = self._pz
        if pz.state is None:
            raise RuntimeError("call reset() before step()")
        pz._key, k = jax.random.split(pz._key)
        pz.state, a_h = pz._fns["human_step"](pz.state, jnp.int32(action), k, self.human)
        s = pz.state
        info = {"human_action": int(a_h), "goal_percentage": float(_env.goal_percentage(s, pz.cfg))}
        obs = pz._observations()["assistant"]
        return obs, float(s.rewards[1]), bool(s.terminated), bool(s.truncated), info

    def render(self) -> str | None:
        return self._pz.render()


class MbagVectorAssistantEnv:
    """``n_envs`` assistant envs stepped together (one vmapped, jitted call per step).

    ``step(actions [B])`` returns numpy ``obs [B, 6, X, Y, Z]``, ``masks [B, n_actions]``,
    ``rewards [B]``, ``dones [B]``, ``info`` (goal percentage, human actions, and the
    assistant's ``inventory [B, 2, 10]``); finished envs are reset automatically with a fresh
    goal (their ``done`` is reported once). ``inventories`` holds the latest inventory view.
    """

    def __init__(
        self,
        n_envs: int,
        cfg: EnvConfig = SMALL,
        goal_fn: GoalFn | None = None,
        human: HeuristicParams | None = None,
        seed: int = 0,
    ) -> None:
        _env.validate_config(cfg)
        self.cfg, self.n_envs = cfg, n_envs
        self.goal_fn = goal_fn or _default_goal_fn(cfg)
        self.human = human or HeuristicParams()
        self._fns = _compiled(cfg)
        self._rng = np.random.default_rng(seed)
        self._key = jax.random.PRNGKey(seed)
        self.state: _env.State | None = None
        self.inventories: np.ndarray | None = None

    def _goals(self, n: int) -> jax.Array:
        return jnp.stack([_env.validate_goal(self.cfg, self.goal_fn(self._rng)) for _ in range(n)])

    def reset(self) -> tuple[np.ndarray, np.ndarray]:
        self._key, k = jax.random.split(self._key)
        self.state = self._fns["v_init"](jax.random.split(k, self.n_envs), self._goals(self.n_envs))
        obs, mask, inv = self._fns["v_assistant_view"](self.state)
        self.inventories = np.asarray(inv)
        return np.asarray(obs), np.asarray(mask)

    def step(self, actions: np.ndarray) -> tuple[Any, ...]:
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        self._key, k = jax.random.split(self._key)
        keys = jax.random.split(k, self.n_envs)
        acts = jnp.asarray(actions, jnp.int32)
        self.state, a_h = self._fns["v_human_step"](self.state, acts, keys, self.human)
        rewards = np.asarray(self.state.rewards[:, 1])
        dones = np.asarray(self.state.terminated | self.state.truncated)
        info = {
            "goal_percentage": np.asarray(self._fns["v_pct"](self.state)),
            "human_actions": np.asarray(a_h),
        }
        if dones.any():
            self._reset_done(np.flatnonzero(dones))
        obs, mask, inv = self._fns["v_assistant_view"](self.state)
        self.inventories = info["inventory"] = np.asarray(inv)
        return np.asarray(obs), np.asarray(mask), rewards, dones, info

    def _reset_done(self, idx: np.ndarray) -> None:
        self._key, k = jax.random.split(self._key)
        fresh = self._fns["v_init"](jax.random.split(k, idx.size), self._goals(idx.size))
        self.state = jax.tree_util.tree_map(
            lambda old, new: old.at[idx].set(new), self.state, fresh
        )
