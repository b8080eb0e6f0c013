"""The ``alignlab assist train-sft`` command's flags: the "pretraining + SFT" imitation
baseline (arXiv 2504.07091) — clone the simulated human, then a goal-visible expert assistant;
the loop is ``_sft_run.run_sft``."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignlab.assist._train_flags import (
    check_positive,
    check_run_flags,
    check_trainer_flags,
    human_option,
    option,
    shared,
)
from alignlab.core import AlignlabError, bad_flag, flag

# flags that may change when a run is resumed (the rest must match the run's config)
RESUMABLE_CHANGES = ("resume", "out")


@dataclass(frozen=True)
class SFTConfig:
    size: tuple[int, ...] = shared("size")
    goals: str = shared("goals")
    bank_size: int = shared(
        "bank_size",
        text="goals in the generated bank (>= 2; an eighth, >= 1, held out)",
        at_least=(2, "goals in the bank: one in eight is held out"),
    )
    horizon: int = shared("horizon")
    pretrain_steps: int = option(
        50_000, "env steps of the human building alone, cloned first (>= 1)", (1, "env steps")
    )
    sft_steps: int = option(
        50_000, "env steps of the expert with the human, cloned second (>= 1)", (1, "env steps")
    )
    expert: str = option(
        "",
        "a goal-visible 'assist train' run to clone in the SFT stage (empty: pretraining only)",
    )
    human: str = human_option("cloned first and playing with the expert", fixed=False)
    envs: int = shared(
        "envs",
        text="games played at once for the data (>= 2; an eighth, >= 1, held out)",
        at_least=(2, "parallel games: one in eight is held out"),
    )
    epochs: int = option(3, "passes over each stage's data (>= 1)", (1, "passes over the data"))
    goal_weight: float = option(1.0, "weight of the goal head's cross-entropy (>= 0)")
    width: int = shared("width")
    depth: int = shared("depth")
    kernel: int = shared("kernel")
    lr: float = shared("lr")
    batch_size: int = option(128, "steps per Adam update (>= 1)", (1, "steps per update"))
    resume: str = shared("resume")
    seed: int = shared("seed", text="seed for goals, init, play and shuffling")
    out: str = shared("out")

    def __post_init__(self) -> None:
        """Reject values that would crash, train nothing or be ignored; each error names its
        flag. (Whether ``--expert`` is a goal-visible run on this grid is checked by
        ``check_expert`` before any work.)"""
        check_trainer_flags(self)
        check_positive(self, "lr")
        if not (math.isfinite(self.goal_weight) and self.goal_weight >= 0):
            bad_flag("goal_weight", f"--goal-weight must be finite, >= 0, not {self.goal_weight}")
        if not self.expert and self.sft_steps != _default("sft_steps"):
            bad_flag("sft_steps", f"{flag('sft_steps')} needs --expert (no SFT stage without one)")
        check_run_flags(self)

    @property
    def stages(self) -> tuple[str, ...]:
        """``("pretrain", "sft")``, or ``("pretrain",)`` without an expert."""
        return ("pretrain", "sft") if self.expert else ("pretrain",)


def _default(name: str) -> Any:
    return SFTConfig.__dataclass_fields__[name].default


def check_expert(cfg: SFTConfig) -> Any:
    """The expert (``_sft.Expert``, searching as at evaluation: ``gumbel_scale = 0``), or None
    without ``--expert``. Refuses another trainer's run, and one that is not goal-visible or
    plays another grid."""
    if not cfg.expert:
        return None
    from alignlab.assist._sft import Expert
    from alignlab.assist._train import load_assistant

    try:
        setup, params = load_assistant(cfg.expert, ("train",))
    except AlignlabError as err:
        raise AlignlabError(f"--expert: {err}", field="expert") from None
    if not setup.net.goal_visible:
        bad_flag(
            "expert",
            f"--expert {cfg.expert} is not goal-visible: the SFT stage clones the upper-bound "
            "assistant of 'alignlab assist train --goal-visible'",
        )
    if tuple(setup.env.size) != tuple(cfg.size) or setup.env.finite_inventory:
        bad_flag(
            "expert",
            f"--expert {cfg.expert} plays a {'x'.join(map(str, setup.env.size))} grid"
            f"{' with finite inventories' if setup.env.finite_inventory else ''}; this run "
            f"trains on {'x'.join(map(str, cfg.size))} with infinite inventories",
        )
    search = dataclasses.replace(setup.search, gumbel_scale=0.0)
    return Expert(setup.net, search, params)


def run_sft(cfg: SFTConfig) -> Path:
    """Pretrain, then finetune (see ``_sft_run``); returns the run folder."""
    from alignlab.assist._sft_run import run_sft as train

    return train(cfg)
