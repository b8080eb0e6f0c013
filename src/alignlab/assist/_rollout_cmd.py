"""The ``alignlab assist rollout`` command: a run folder with per-episode records, metrics with
bootstrap CIs, a report, a picture of a final state and a replayable example episode."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alignlab.core import (
    AlignlabError,
    Run,
    bad_flag,
    bootstrap_mean,
    check_at_least,
    check_seed,
    flag,
)

GOAL_KINDS = ("house", "blob")
LOS_RULES = ("mbag", "off", "centre")


def check_grid(size: Sequence[int], goals: str, name: str = "size") -> None:
    """Three integers X Y Z that the environment can play, the ``goals`` generator can fill
    (houses need at least 5×6×5) and the replay viewer can show (at most 64 per side)."""
    from alignlab.assist._houses import MIN_HOUSE_SIZE
    from alignlab.assist._viewer import grid_too_big

    given = " ".join(map(str, size)) or "(nothing)"
    if len(size) != 3:
        bad_flag(name, f"{flag(name)} must be three integers X Y Z, not {given}")
    low = MIN_HOUSE_SIZE if goals == "house" else (3, 4, 3)  # the env needs Y >= 4
    if any(n < m for n, m in zip(size, low, strict=True)):
        need = " ".join(map(str, low))
        why = f" for --goals {goals}" if goals == "house" else ""
        bad_flag(name, f"{flag(name)} {given} is too small{why}: need >= {need}")
    too_big = grid_too_big(size)
    if too_big:
        bad_flag(name, f"{flag(name)} {given}: {too_big}")


@dataclass(frozen=True)
class RolloutConfig:
    human: str = field(
        default="heuristic",
        metadata={
            "help": "simulated human: heuristic (with --beta, --mistake-rate) or bc:PATH, a "
            "behaviour-cloned model from 'assist train-human' for this grid"
        },
    )
    assistant: str = field(default="noop", metadata={"help": "assistant: noop or random"})
    goals: str = field(
        default="house", metadata={"help": "goal generator: house, blob, or a goal bank .npz"}
    )
    size: tuple[int, ...] = field(
        default=(6, 6, 6),
        metadata={"help": "grid X Y Z (Y vertical, >= 4; houses need >= 5 6 5; <= 64 each)"},
    )
    horizon: int = field(default=100, metadata={"help": "steps per episode (>= 1)"})
    episodes: int = field(default=32, metadata={"help": "episodes, run in parallel (>= 1)"})
    beta: float = field(
        default=5.0, metadata={"help": "human Boltzmann rationality (>= 0; 0 = uniform)"}
    )
    mistake_rate: float = field(
        default=0.0, metadata={"help": "human random-action rate, in [0, 1]"}
    )
    finite_inventory: bool = field(
        default=False,
        metadata={"help": "finite inventories with GIVE (the paper's default is infinite)"},
    )
    inventory: tuple[int, ...] = field(
        default=(16, 16),
        metadata={
            "help": "with --finite-inventory: blocks of each type held by human, assistant "
            "(0..64 each)"
        },
    )
    los: str = field(
        default="mbag",
        metadata={
            "help": "reach and sight rule: mbag (the original MBAG's, default), off (reach "
            "only, the default until 2026-11) or centre"
        },
    )
    seed: int = field(default=0, metadata={"help": "seed for goals and play"})
    out: str = field(default="runs", metadata={"help": "folder that holds run folders"})

    def __post_init__(self) -> None:
        """Reject flag values that would crash mid-run, run a meaningless model, or be ignored.

        Raises:
            AlignlabError: naming the field (``field="mistake_rate"`` for ``--mistake-rate``).
        """
        from alignlab.assist._human_model import check_human_flag
        from alignlab.assist._layout import EnvConfig
        from alignlab.core import check_out_dir

        if self.goals not in GOAL_KINDS and not self.goals.endswith(".npz"):
            bad_flag("goals", f"unknown goals '{self.goals}'; use house, blob or FILE.npz")
        check_grid(self.size, self.goals)
        check_at_least(self.horizon, 1, "horizon", "steps per episode")
        check_at_least(self.episodes, 1, "episodes", "episodes to play")
        if not (math.isfinite(self.beta) and self.beta >= 0):
            bad_flag("beta", f"--beta must be a finite number >= 0 (0 = uniform), not {self.beta}")
        if not 0.0 <= self.mistake_rate <= 1.0:  # NaN fails too
            bad_flag(
                "mistake_rate",
                f"--mistake-rate is a probability and must be in [0, 1], not {self.mistake_rate}",
            )
        check_human_flag(self.human, self.beta, self.mistake_rate)
        self._check_inventory(EnvConfig.inventory_max)
        if self.los not in LOS_RULES:
            bad_flag("los", f"unknown --los '{self.los}'; use {', '.join(LOS_RULES)}")
        check_seed(self.seed)
        check_out_dir(self.out)

    def _check_inventory(self, most: int) -> None:
        default = RolloutConfig.__dataclass_fields__["inventory"].default
        if not self.finite_inventory:
            if tuple(self.inventory) != default:
                bad_flag(
                    "inventory",
                    "--inventory is only read with finite inventories; add --finite-inventory "
                    "(the default is the paper's infinite inventories)",
                )
            return
        if len(self.inventory) != 2 or not all(0 <= n <= most for n in self.inventory):
            given = " ".join(map(str, self.inventory)) or "(nothing)"
            bad_flag(
                "inventory",
                f"--inventory must be two counts in 0..{most} (human, assistant), not {given}",
            )


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
    bad_flag("goals", f"unknown goals '{cfg.goals}'; use house, blob or FILE.npz")


def run_rollout(cfg: RolloutConfig) -> Path:
    import jax

    from alignlab.assist import _env
    from alignlab.assist._human_model import load_human
    from alignlab.assist._layout import EnvConfig
    from alignlab.assist._render import save_png, text_slices
    from alignlab.assist._rollout import ASSISTANTS, episode_fn, episode_replay, summarise
    from alignlab.assist._viewer import save_episode_html

    if cfg.assistant not in ASSISTANTS:
        raise AlignlabError(
            f"unknown assistant '{cfg.assistant}'; known: {', '.join(ASSISTANTS)}",
            field="assistant",
        )
    env_cfg = EnvConfig(
        size=tuple(cfg.size),  # type: ignore[arg-type]
        horizon=cfg.horizon,
        los=cfg.los,
        finite_inventory=cfg.finite_inventory,
        inventory_start=tuple(cfg.inventory),  # type: ignore[arg-type]
    )
    _env.validate_config(env_cfg)
    human = load_human(cfg.human, env_cfg, cfg.beta, cfg.mistake_rate)
    goals = _goals(cfg, env_cfg)
    keys = jax.random.split(jax.random.PRNGKey(cfg.seed), cfg.episodes)
    final, recs = episode_fn(env_cfg, cfg.assistant, human.kind)(keys, goals, human.params)
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
        episode = episode_replay(
            env_cfg, cfg.assistant, keys[0], goals[0], human.params, human.kind
        )
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
    from alignlab.assist._human_model import describe_human

    r = run.report
    r.heading("What was run")
    r.text(
        f"{cfg.episodes} episodes on a {'×'.join(map(str, cfg.size))} grid, horizon {cfg.horizon}; "
        f"human: {describe_human(cfg.human, cfg.beta, cfg.mistake_rate)}; assistant: "
        f"{cfg.assistant}; goals: {cfg.goals}; reach rule: {cfg.los}; seed {cfg.seed}; "
        "inventories: "
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
