"""``alignlab assist rollout``: episodes of a simulated human with a fixed assistant.

One episode is a ``lax.scan`` over the horizon; episodes run in parallel under ``jax.vmap``.
Per step and player the scan records the action kind and whether a place/break took effect and
was correct (a place that matches the goal, a break of a block the goal does not want there).
When both players touch the same voxel in one step, the effect is credited to the player who
acted last on it (the assistant), a rare edge case.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from alignlab.assist import _env
from alignlab.assist._humans import HeuristicParams, heuristic_logits
from alignlab.assist._layout import AIR, ASSISTANT, HUMAN, EnvConfig

ASSISTANTS = ("noop", "random")


def _assistant_action(kind: str, cfg: EnvConfig, state: _env.State, key: jax.Array) -> jax.Array:
    if kind == "noop":
        return jnp.int32(0)
    mask = _env.legal_action_mask(cfg, state, ASSISTANT)
    return jax.random.categorical(key, jnp.where(mask, 0.0, -jnp.inf)).astype(jnp.int32)


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


def _play(cfg: EnvConfig, assistant: str, frames: bool) -> Callable[..., Any]:
    """``(key, goal, human params) -> (final state, per-step records)`` for one episode; with
    ``frames`` the records also hold the state after every step (for replays)."""

    def one(key: jax.Array, goal: jax.Array, params: HeuristicParams) -> Any:
        k0, k_run = jax.random.split(key)
        state = _env._init(cfg, k0, goal)

        def body(s: _env.State, k: jax.Array) -> Any:
            k_h, k_a = jax.random.split(k)
            obs, inv = _env.observe(cfg, s, HUMAN), _env.observe_inventory(cfg, s, HUMAN)
            logits = heuristic_logits(params, k_h, obs, cfg, inv)
            a_h = jax.random.categorical(k_h, logits).astype(jnp.int32)
            a_a = _assistant_action(assistant, cfg, s, k_a)
            nxt = _env.step(cfg, s, jnp.stack([a_h, a_a]))
            live = ~(s.terminated | s.truncated)
            eff = [_effects(cfg, s, nxt, a, p) for p, a in ((HUMAN, a_h), (ASSISTANT, a_a))]
            rec = {
                "kind": jnp.stack([e[0] for e in eff]),
                "effective": jnp.stack([e[1] for e in eff]),
                "correct": jnp.stack([e[2] for e in eff]),
                "live": live,
                "reward": nxt.rewards,  # [2]: human, assistant (differ with reward terms)
            }
            if frames:
                rec |= {
                    "actions": jnp.stack([a_h, a_a]),
                    "blocks": nxt.blocks,
                    "positions": nxt.positions,
                    "inventory": nxt.inventory,
                }
            return nxt, rec

        final, recs = jax.lax.scan(body, state, jax.random.split(k_run, cfg.horizon))
        return (final, recs, state) if frames else (final, recs)

    return one


@functools.lru_cache(maxsize=8)
def episode_fn(cfg: EnvConfig, assistant: str) -> Callable[..., Any]:
    """Jitted ``(keys [B], goals [B,X,Y,Z], human params) -> per-step records`` (see module)."""
    return jax.jit(jax.vmap(_play(cfg, assistant, False), in_axes=(0, 0, None)))


def episode_replay(
    cfg: EnvConfig, assistant: str, key: jax.Array, goal: Any, params: HeuristicParams
) -> dict[str, Any]:
    """One episode, the same as ``episode_fn`` plays it with the same key, as a replayable
    ``_render.episode_json`` dict: the reset state, then every live step."""
    from alignlab.assist._render import episode_json

    _, recs, start = jax.jit(_play(cfg, assistant, True))(key, goal, params)
    recs = {k: np.asarray(v) for k, v in recs.items()}
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
        "assistant": assistant,
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
