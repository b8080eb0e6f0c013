"""The ``alignlab assist train`` command's flags: AssistanceZero self-play training (or its
goal-visible upper bound) against a simulated human; the loop is ``_train.run_train``."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from alignlab.assist._rollout_cmd import check_grid
from alignlab.core import bad_flag, check_at_least, check_seed

# goals for training are generated from seeds below this; evaluation seeds start here
EVAL_SEED_START = 1_000_000


@dataclass(frozen=True)
class TrainConfig:
    size: tuple[int, ...] = field(
        default=(6, 6, 6), metadata={"help": "grid X Y Z (Y vertical; houses need >= 5 6 5)"}
    )
    goals: str = field(
        default="house",
        metadata={
            "help": "training goals: house, blob (a bank generated from --seed) or a bank .npz"
        },
    )
    bank_size: int = field(
        default=1000, metadata={"help": "goals in the generated training bank (>= 1)"}
    )
    horizon: int = field(default=100, metadata={"help": "steps per episode (>= 1)"})
    env_steps: int = field(
        default=100_000, metadata={"help": "joint env steps of self-play to train for (>= 1)"}
    )
    pretrain_steps: int = field(
        default=0,
        metadata={
            "help": "env steps of the human building alone on which the goal and human-action "
            "heads are trained before self-play (0: none); they count in the run's env steps "
            "(metrics' step) but not in --env-steps"
        },
    )
    pretrain_epochs: float = field(
        default=2.0,
        metadata={"help": "times each pretraining step is sampled, on average (> 0)"},
    )
    envs: int = field(default=16, metadata={"help": "games played in parallel (>= 1)"})
    fragment: int = field(
        default=16, metadata={"help": "steps each game plays between learner updates (>= 1)"}
    )
    simulations: int = field(default=16, metadata={"help": "search simulations per decision"})
    considered: int = field(
        default=16, metadata={"help": "actions Gumbel MuZero considers at the root (>= 2)"}
    )
    width: int = field(default=32, metadata={"help": "backbone channels (paper: 64)"})
    depth: int = field(default=2, metadata={"help": "residual blocks (paper: 8)"})
    kernel: int = field(default=3, metadata={"help": "3D-conv kernel size, odd (paper: 5)"})
    lr: float = field(default=1e-3, metadata={"help": "Adam learning rate (> 0)"})
    batch_size: int = field(default=128, metadata={"help": "replay items per update (>= 1)"})
    updates: int = field(
        default=8,
        metadata={
            "help": "learner updates after each fragment (>= 1; each fragment's items are "
            "sampled updates x batch-size / (envs x fragment) times on average)"
        },
    )
    replay: int = field(default=8192, metadata={"help": "replay capacity in steps (>= 1)"})
    goal_visible: bool = field(
        default=False,
        metadata={"help": "the upper-bound baseline: the network and search are given the goal"},
    )
    human: str = field(
        default="heuristic",
        metadata={
            "help": "simulated human in self-play and pretraining: heuristic (β 5, no "
            "mistakes) or bc:PATH, a behaviour-cloned model from 'assist train-human' for "
            "this grid; fixed for the run (not changed on --resume)"
        },
    )
    checkpoint_every: int = field(
        default=20, metadata={"help": "learner iterations between checkpoints (>= 1)"}
    )
    workers: int = field(
        default=0,
        metadata={"help": "self-play on N Ray actors feeding this learner (0: in process)"},
    )
    resume: str = field(default="", metadata={"help": "a run folder of this command to continue"})
    seed: int = field(default=0, metadata={"help": "seed for goals, init and play"})
    out: str = field(default="runs", metadata={"help": "folder that holds run folders"})

    def __post_init__(self) -> None:
        """Reject values that would crash or train nothing; each error names its flag."""
        from alignlab.assist._human_model import check_human_flag
        from alignlab.core import check_out_dir

        check_human_flag(self.human)
        if self.goals not in ("house", "blob") and not self.goals.endswith(".npz"):
            bad_flag("goals", f"unknown goals '{self.goals}'; use house, blob or FILE.npz")
        check_grid(self.size, self.goals if self.goals in ("house", "blob") else "")
        for name, low, what in (
            ("bank_size", 1, "goals in the bank"),
            ("horizon", 1, "steps per episode"),
            ("env_steps", 1, "env steps"),
            ("envs", 1, "parallel games"),
            ("fragment", 1, "steps per fragment"),
            ("simulations", 1, "simulations"),
            ("considered", 2, "considered actions"),
            ("width", 1, "channels"),
            ("depth", 1, "residual blocks"),
            ("kernel", 1, "kernel size"),
            ("batch_size", 1, "items per update"),
            ("updates", 1, "updates per fragment"),
            ("replay", 1, "replay steps"),
            ("checkpoint_every", 1, "iterations"),
            ("workers", 0, "workers"),
            ("pretrain_steps", 0, "pretraining env steps"),
        ):
            check_at_least(getattr(self, name), low, name, what)
        if self.kernel % 2 == 0:
            bad_flag("kernel", f"--kernel must be odd (same padding), not {self.kernel}")
        if not (math.isfinite(self.pretrain_epochs) and self.pretrain_epochs > 0):
            bad_flag(
                "pretrain_epochs",
                f"--pretrain-epochs must be a finite number > 0, not {self.pretrain_epochs}",
            )
        if not (math.isfinite(self.lr) and self.lr > 0):
            bad_flag("lr", f"--lr must be a finite number > 0, not {self.lr}")
        if self.seed >= EVAL_SEED_START:
            bad_flag(
                "seed",
                f"--seed must be below {EVAL_SEED_START:,}: seeds from there on generate the "
                "held-out evaluation goals",
            )
        check_seed(self.seed)
        check_out_dir(self.out)

    @property
    def iterations(self) -> int:
        """Learner iterations: each plays ``envs × fragment`` env steps in process, or that
        many on each of ``workers`` Ray workers."""
        per_iteration = self.envs * self.fragment * max(1, self.workers)
        return max(1, math.ceil(self.env_steps / per_iteration))


# flags that may change when a run is resumed (the rest must match the run's config)
RESUMABLE_CHANGES = ("resume", "env_steps", "workers", "checkpoint_every", "out")


def run_train(cfg: TrainConfig) -> Path:
    """Train (see ``_train``); returns the run folder."""
    from alignlab.assist._train import run_train as train

    return train(cfg)
