"""The ``alignlab assist rollout`` command: a run folder with per-episode records, metrics with
bootstrap CIs, a report, a picture of a final state and a replayable example episode."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alignlab.core import AlignlabError, Run, bootstrap_mean


@dataclass(frozen=True)
class RolloutConfig:
    human: str = field(default="heuristic", metadata={"help": "simulated human: heuristic"})
    assistant: str = field(default="noop", metadata={"help": "assistant: noop or random"})
    goals: str = field(
        default="house", metadata={"help": "goal generator: house, blob, or a goal bank .npz"}
    )
    size: tuple[int, ...] = field(default=(6, 6, 6), metadata={"help": "grid X Y Z"})
    horizon: int = field(default=100, metadata={"help": "steps per episode"})
    episodes: int = field(default=32, metadata={"help": "episodes, run in parallel"})
    beta: float = field(default=5.0, metadata={"help": "human Boltzmann rationality"})
    mistake_rate: float = field(default=0.0, metadata={"help": "human random-action rate"})
    finite_inventory: bool = field(
        default=False,
        metadata={"help": "finite inventories with GIVE (the paper's default is infinite)"},
    )
    inventory: tuple[int, ...] = field(
        default=(16, 16),
        metadata={"help": "with --finite-inventory: blocks of each type held by human, assistant"},
    )
    seed: int = field(default=0, metadata={"help": "seed for goals and play"})
    out: str = field(default="runs", metadata={"help": "folder that holds run folders"})


def _goals(cfg: RolloutConfig, env_cfg: Any) -> np.ndarray:
    rng = np.random.default_rng(cfg.seed)
    if cfg.goals == "blob":
        from alignlab.assist._goals import random_blob

        return np.stack([random_blob(env_cfg.size, rng) for _ in range(cfg.episodes)])
    if cfg.goals == "house":
        from alignlab.assist._houses import house

        return np.stack([house(env_cfg.size, rng) for _ in range(cfg.episodes)])
    if cfg.goals.endswith(".npz"):
        from alignlab.assist._goal_bank import load_goal_bank

        bank = np.asarray(load_goal_bank(cfg.goals, size=env_cfg.size).goals)
        return bank[rng.integers(0, len(bank), cfg.episodes)]
    raise AlignlabError(f"unknown goals '{cfg.goals}'; use house, blob or FILE.npz", field="goals")


def run_rollout(cfg: RolloutConfig) -> Path:
    import jax

    from alignlab.assist import _env
    from alignlab.assist._humans import HeuristicParams
    from alignlab.assist._layout import EnvConfig
    from alignlab.assist._render import save_png, text_slices
    from alignlab.assist._rollout import ASSISTANTS, episode_fn, episode_replay, summarise
    from alignlab.assist._viewer import save_episode_html

    if cfg.human != "heuristic":
        raise AlignlabError(f"unknown human '{cfg.human}'; known: heuristic", field="human")
    if cfg.assistant not in ASSISTANTS:
        raise AlignlabError(
            f"unknown assistant '{cfg.assistant}'; known: {', '.join(ASSISTANTS)}",
            field="assistant",
        )
    if len(cfg.size) != 3 or min(cfg.size) < 3:
        raise AlignlabError("size must be three integers ≥ 3 (X Y Z)", field="size")
    if cfg.finite_inventory and len(cfg.inventory) != 2:
        raise AlignlabError("inventory must be two counts: human, assistant", field="inventory")
    env_cfg = EnvConfig(
        size=tuple(cfg.size),  # type: ignore[arg-type]
        horizon=cfg.horizon,
        finite_inventory=cfg.finite_inventory,
        inventory_start=tuple(cfg.inventory),  # type: ignore[arg-type]
    )
    _env.validate_config(env_cfg)
    goals = _goals(cfg, env_cfg)
    params = HeuristicParams(beta=cfg.beta, mistake_rate=cfg.mistake_rate)
    keys = jax.random.split(jax.random.PRNGKey(cfg.seed), cfg.episodes)
    final, recs = episode_fn(env_cfg, cfg.assistant)(keys, goals, params)
    rows = summarise(final, recs, env_cfg)
    with Run("assist", "rollout", cfg, root=cfg.out) as run:
        run.write_records([{"episode": i, **r} for i, r in enumerate(rows)])
        metrics = {
            k: bootstrap_mean(np.array([r[k] for r in rows], dtype=float), seed=cfg.seed).as_dict()
            for k in rows[0]
        }
        run.write_metrics(metrics)
        _report(run, cfg, metrics)
        blocks0 = np.asarray(final.blocks[0])
        save_png(blocks0, run.plot_path("final_episode0.png"), title="episode 0, final")
        run.report.image("plots/final_episode0.png", "episode 0: final blocks")
        episode = episode_replay(env_cfg, cfg.assistant, keys[0], goals[0], params)
        run.write_json("episode0.json", episode)
        save_episode_html(run.dir / "episode0.html", episode, title="assist rollout, episode 0")
        run.report.text(
            "Replay episode 0 in a browser: episode0.html (one self-contained page; the episode "
            "itself is episode0.json, viewable again with `alignlab assist view`)."
        )
        run.report.text(
            "Episode 0, final state (top layer first):\n"
            + text_slices(
                blocks0, goal=np.asarray(goals[0]), players=np.asarray(final.positions[0])
            )
        )
    return run.final_dir


def _report(run: Run, cfg: RolloutConfig, metrics: dict[str, dict[str, float]]) -> None:
    r = run.report
    r.heading("What was run")
    r.text(
        f"{cfg.episodes} episodes on a {'×'.join(map(str, cfg.size))} grid, horizon {cfg.horizon}; "
        f"human: {cfg.human} (β = {cfg.beta}, mistake rate {cfg.mistake_rate}); assistant: "
        f"{cfg.assistant}; goals: {cfg.goals}; seed {cfg.seed}; inventories: "
        + (
            f"finite, {cfg.inventory[0]} (human) and {cfg.inventory[1]} (assistant) of each block"
            if cfg.finite_inventory
            else "infinite"
        )
        + ". Means with 95% bootstrap CIs."
    )
    r.table(
        ["metric", "mean", "95% CI"],
        [
            [k, f"{v['value']:.3f}", f"[{v['low']:.3f}, {v['high']:.3f}]"]
            for k, v in metrics.items()
        ],
    )
