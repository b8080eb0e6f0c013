"""The ``alignlab assist train-human`` command: behaviour-clone the heuristic human (or recorded
trajectories) into a small 3D-conv policy; a run folder with per-epoch records, final metrics,
the model file ``bc_human.npz`` and a report."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alignlab.assist._rollout_cmd import check_grid
from alignlab.core import AlignlabError, Run, bad_flag, check_at_least, check_seed, flag

MODEL_FILE = "bc_human.npz"
_RECORDING_ONLY = ("episodes", "goals", "horizon")  # flags that only shape recorded play


@dataclass(frozen=True)
class TrainHumanConfig:
    data: str = field(
        default="", metadata={"help": "trajectories .npz, or empty to record heuristic play"}
    )
    episodes: int = field(default=64, metadata={"help": "heuristic episodes to record (>= 1)"})
    goals: str = field(default="house", metadata={"help": "goals when recording: house or blob"})
    size: tuple[int, ...] = field(
        default=(6, 6, 6),
        metadata={"help": "grid X Y Z (Y vertical, >= 4; houses need >= 5 6 5; <= 64 each)"},
    )
    horizon: int = field(default=100, metadata={"help": "steps per recorded episode (>= 1)"})
    epochs: int = field(default=5, metadata={"help": "training epochs (>= 1)"})
    batch_size: int = field(default=64, metadata={"help": "steps per Adam update (>= 1)"})
    lr: float = field(default=1e-3, metadata={"help": "Adam learning rate (> 0)"})
    val_fraction: float = field(
        default=0.1,
        metadata={"help": "share of steps held out for the reported accuracy, in (0, 1)"},
    )
    seed: int = field(default=0, metadata={"help": "seed for recording, split and init"})
    out: str = field(default="runs", metadata={"help": "folder that holds run folders"})

    def __post_init__(self) -> None:
        """Reject flag values that would crash, train nothing, report NaN, or be ignored.

        The held-out split is what the run reports, so ``val_fraction`` must leave steps on both
        sides: it is in (0, 1) here, and :func:`run_train_human` checks the rounded split once
        the number of steps is known.

        Raises:
            AlignlabError: naming the field (``field="val_fraction"`` for ``--val-fraction``).
        """
        from alignlab.core import check_out_dir

        if self.data:
            defaults = TrainHumanConfig.__dataclass_fields__
            for name in _RECORDING_ONLY:
                if getattr(self, name) != defaults[name].default:
                    bad_flag(name, f"{flag(name)} is only read when recording (no --data)")
        elif self.goals not in ("house", "blob"):
            bad_flag("goals", f"unknown goals '{self.goals}'; use house or blob")
        check_grid(self.size, "" if self.data else self.goals)
        check_at_least(self.episodes, 1, "episodes", "episodes to record")
        check_at_least(self.horizon, 1, "horizon", "steps per episode")
        check_at_least(self.epochs, 1, "epochs", "passes over the training steps")
        check_at_least(self.batch_size, 1, "batch_size", "steps per update")
        if not (math.isfinite(self.lr) and self.lr > 0):
            bad_flag("lr", f"--lr must be a finite number > 0, not {self.lr}")
        if not 0.0 < self.val_fraction < 1.0:  # NaN fails too
            bad_flag(
                "val_fraction",
                f"--val-fraction must be in (0, 1), not {self.val_fraction}: the run reports "
                "accuracy on the held-out steps",
            )
        check_seed(self.seed)
        check_out_dir(self.out)


def _data(cfg: TrainHumanConfig, env_cfg: Any) -> dict[str, np.ndarray]:
    from alignlab.assist._bc import load_trajectories, record_heuristic

    if not cfg.data:
        return record_heuristic(env_cfg, cfg.episodes, cfg.seed, goals=cfg.goals)
    data = load_trajectories(cfg.data)
    if tuple(data["obs"].shape[2:]) != tuple(env_cfg.size):
        raise AlignlabError(
            f"trajectories are for grid {data['obs'].shape[2:]}, not --size {env_cfg.size}",
            file=cfg.data,
            field="size",
        )
    return data


def _check_split(n: int, val_fraction: float, file: str | None) -> None:
    """Both sides of the split need a step, else the report would compare NaN with NaN."""
    n_val = int(round(val_fraction * n))  # as in ``_bc.split_data``
    if n_val < 1 or n_val >= n:
        raise AlignlabError(
            f"--val-fraction {val_fraction} of {n} steps holds out {n_val}: both the training "
            "and the held-out split need at least one step",
            file=file,
            field="val_fraction",
        )


def run_train_human(cfg: TrainHumanConfig) -> Path:
    """Record (or load) trajectories, train, and write the run folder; returns its path."""
    from alignlab.assist._bc import heuristic_ce, save_bc, split_data, train_bc
    from alignlab.assist._layout import EnvConfig

    env_cfg = EnvConfig(size=tuple(cfg.size), horizon=cfg.horizon)  # type: ignore[arg-type]
    data = _data(cfg, env_cfg)
    _check_split(len(data["actions"]), cfg.val_fraction, cfg.data or None)
    params, history = train_bc(
        data,
        env_cfg,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        seed=cfg.seed,
        val_fraction=cfg.val_fraction,
    )
    last = history[-1]
    metrics = {
        "steps": len(data["actions"]),
        "val_ce": last["val_ce"],
        "val_accuracy": last["val_accuracy"],
        "baseline_accuracy": last["baseline_accuracy"],
        "chance_accuracy": float(np.mean(1.0 / np.maximum(data["masks"].sum(1), 1))),
        "final_train_loss": last["train_loss"],
        # The heuristic generated recorded data, so its CE is the floor a perfect clone reaches.
        "heuristic_val_ce": heuristic_ce(split_data(data, cfg.val_fraction, cfg.seed)[1], env_cfg),
    }
    with Run("assist", "train-human", cfg, root=cfg.out) as run:
        run.write_records(history)
        run.write_metrics(metrics)
        save_bc(run.dir / MODEL_FILE, params, env_cfg)
        _report(run, cfg, history, metrics)
    return run.final_dir


def _report(
    run: Run, cfg: TrainHumanConfig, history: list[dict[str, float]], metrics: dict[str, Any]
) -> None:
    r = run.report
    r.heading("What was run")
    source = cfg.data or f"{cfg.episodes} heuristic episodes ({cfg.goals} goals)"
    r.text(
        f"Behaviour cloning of the simulated human on a {'×'.join(map(str, cfg.size))} grid "
        f"from {source}: {metrics['steps']} steps, {cfg.val_fraction:.0%} held out; "
        f"{cfg.epochs} epochs of Adam (lr {cfg.lr}, batch {cfg.batch_size}), seed {cfg.seed}. "
        f"Model: `{MODEL_FILE}`."
    )
    r.heading("Training history")
    r.table(
        ["epoch", "train loss", "val CE (nats)", "val accuracy"],
        [
            [h["epoch"], f"{h['train_loss']:.3f}", f"{h['val_ce']:.3f}", f"{h['val_accuracy']:.3f}"]
            for h in history
        ],
    )
    r.text(
        f"Final val accuracy {metrics['val_accuracy']:.3f} vs {metrics['baseline_accuracy']:.3f} "
        f"for always predicting the most common action and {metrics['chance_accuracy']:.4f} for "
        "a uniform pick among legal actions. The heuristic human's own val CE is "
        f"{metrics['heuristic_val_ce']:.3f} nats (the floor when it recorded the data)."
    )
