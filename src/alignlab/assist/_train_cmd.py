"""The ``alignlab assist train`` command's flags: AssistanceZero self-play training (or its
goal-visible upper bound) against a simulated human; the loop is ``_train.run_train``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from alignlab.assist._train_flags import (
    check_positive,
    check_run_flags,
    check_trainer_flags,
    human_option,
    option,
    shared,
)


@dataclass(frozen=True)
class TrainConfig:
    size: tuple[int, ...] = shared("size")
    goals: str = shared("goals")
    bank_size: int = shared("bank_size")
    horizon: int = shared("horizon")
    env_steps: int = option(
        100_000, "joint env steps of self-play to train for (>= 1)", (1, "env steps")
    )
    pretrain_steps: int = option(
        0,
        "env steps of the human building alone on which the goal and human-action heads are "
        "trained before self-play (0: none); they count in the run's env steps (metrics' "
        "step) but not in --env-steps",
        (0, "pretraining env steps"),
    )
    pretrain_epochs: float = option(2.0, "times each pretraining step is sampled, on average (> 0)")
    envs: int = shared("envs")
    fragment: int = option(
        16, "steps each game plays between learner updates (>= 1)", (1, "steps per fragment")
    )
    simulations: int = option(16, "search simulations per decision", (1, "simulations"))
    considered: int = option(
        16, "actions Gumbel MuZero considers at the root (>= 2)", (2, "considered actions")
    )
    width: int = shared("width")
    depth: int = shared("depth")
    kernel: int = shared("kernel")
    lr: float = shared("lr")
    batch_size: int = option(128, "replay items per update (>= 1)", (1, "items per update"))
    updates: int = option(
        8,
        "learner updates after each fragment (>= 1; each fragment's items are sampled "
        "updates x batch-size / (envs x fragment) times on average)",
        (1, "updates per fragment"),
    )
    replay: int = option(8192, "replay capacity in steps (>= 1)", (1, "replay steps"))
    goal_visible: bool = option(
        False, "the upper-bound baseline: the network and search are given the goal"
    )
    human: str = human_option("in self-play and pretraining")
    checkpoint_every: int = option(
        20, "learner iterations between checkpoints (>= 1)", (1, "iterations")
    )
    workers: int = option(
        0, "self-play on N Ray actors feeding this learner (0: in process)", (0, "workers")
    )
    resume: str = shared("resume")
    seed: int = shared("seed")
    out: str = shared("out")

    def __post_init__(self) -> None:
        """Reject values that would crash or train nothing; each error names its flag."""
        check_trainer_flags(self)
        check_positive(self, "pretrain_epochs", "lr")
        check_run_flags(self)

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
