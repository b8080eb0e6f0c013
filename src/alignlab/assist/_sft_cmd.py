"""The ``alignlab assist train-sft`` command's flags: the "pretraining + SFT" imitation
baseline (arXiv 2504.07091) — clone the simulated human, then a goal-visible expert assistant;
the loop is ``_sft_run.run_sft``."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignlab.assist._rollout_cmd import check_grid
from alignlab.assist._train_cmd import EVAL_SEED_START
from alignlab.core import AlignlabError, bad_flag, check_at_least, check_seed, flag

# flags that may change when a run is resumed (the rest must match the run's config)
RESUMABLE_CHANGES = ("resume", "out")


@dataclass(frozen=True)
class SFTConfig:
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
        default=1000,
        metadata={"help": "goals in the generated bank (>= 2; an eighth, >= 1, held out)"},
    )
    horizon: int = field(default=100, metadata={"help": "steps per episode (>= 1)"})
    pretrain_steps: int = field(
        default=50_000,
        metadata={"help": "env steps of the human building alone, cloned first (>= 1)"},
    )
    sft_steps: int = field(
        default=50_000,
        metadata={"help": "env steps of the expert with the human, cloned second (>= 1)"},
    )
    expert: str = field(
        default="",
        metadata={
            "help": "a goal-visible 'assist train' run to clone in the SFT stage "
            "(empty: pretraining only)"
        },
    )
    human: str = field(
        default="heuristic",
        metadata={
            "help": "simulated human cloned first and playing with the expert: heuristic (β 5, "
            "no mistakes) or bc:PATH, a behaviour-cloned model from 'assist train-human' for "
            "this grid"
        },
    )
    envs: int = field(
        default=16,
        metadata={"help": "games played at once for the data (>= 2; an eighth, >= 1, held out)"},
    )
    epochs: int = field(default=3, metadata={"help": "passes over each stage's data (>= 1)"})
    goal_weight: float = field(
        default=1.0, metadata={"help": "weight of the goal head's cross-entropy (>= 0)"}
    )
    width: int = field(default=32, metadata={"help": "backbone channels (paper: 64)"})
    depth: int = field(default=2, metadata={"help": "residual blocks (paper: 8)"})
    kernel: int = field(default=3, metadata={"help": "3D-conv kernel size, odd (paper: 5)"})
    lr: float = field(default=1e-3, metadata={"help": "Adam learning rate (> 0)"})
    batch_size: int = field(default=128, metadata={"help": "steps per Adam update (>= 1)"})
    resume: str = field(default="", metadata={"help": "a run folder of this command to continue"})
    seed: int = field(default=0, metadata={"help": "seed for goals, init, play and shuffling"})
    out: str = field(default="runs", metadata={"help": "folder that holds run folders"})

    def __post_init__(self) -> None:
        """Reject values that would crash, train nothing or be ignored; each error names its
        flag. (Whether ``--expert`` is a goal-visible run on this grid is checked by
        ``check_expert`` before any work.)"""
        from alignlab.assist._human_model import check_human_flag
        from alignlab.core import check_out_dir

        check_human_flag(self.human)
        if self.goals not in ("house", "blob") and not self.goals.endswith(".npz"):
            bad_flag("goals", f"unknown goals '{self.goals}'; use house, blob or FILE.npz")
        check_grid(self.size, self.goals if self.goals in ("house", "blob") else "")
        for name, low, what in (
            ("bank_size", 2, "goals in the bank: one in eight is held out"),
            ("horizon", 1, "steps per episode"),
            ("pretrain_steps", 1, "env steps"),
            ("sft_steps", 1, "env steps"),
            ("envs", 2, "parallel games: one in eight is held out"),
            ("epochs", 1, "passes over the data"),
            ("width", 1, "channels"),
            ("depth", 1, "residual blocks"),
            ("kernel", 1, "kernel size"),
            ("batch_size", 1, "steps per update"),
        ):
            check_at_least(getattr(self, name), low, name, what)
        if self.kernel % 2 == 0:
            bad_flag("kernel", f"--kernel must be odd (same padding), not {self.kernel}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            bad_flag("lr", f"--lr must be a finite number > 0, not {self.lr}")
        if not (math.isfinite(self.goal_weight) and self.goal_weight >= 0):
            bad_flag("goal_weight", f"--goal-weight must be finite, >= 0, not {self.goal_weight}")
        if not self.expert and self.sft_steps != _default("sft_steps"):
            bad_flag("sft_steps", f"{flag('sft_steps')} needs --expert (no SFT stage without one)")
        if self.seed >= EVAL_SEED_START:
            bad_flag(
                "seed",
                f"--seed must be below {EVAL_SEED_START:,}: seeds from there on generate the "
                "held-out evaluation goals",
            )
        check_seed(self.seed)
        check_out_dir(self.out)

    @property
    def stages(self) -> tuple[str, ...]:
        """``("pretrain", "sft")``, or ``("pretrain",)`` without an expert."""
        return ("pretrain", "sft") if self.expert else ("pretrain",)


def _default(name: str) -> Any:
    return SFTConfig.__dataclass_fields__[name].default


def check_expert(cfg: SFTConfig) -> Any:
    """The expert (``_sft.Expert``, searching as at evaluation: ``gumbel_scale = 0``), or None
    without ``--expert``. Refuses a run that is not goal-visible or plays another grid."""
    if not cfg.expert:
        return None
    from alignlab.assist._sft import Expert
    from alignlab.assist._train import load_assistant

    try:
        setup, params = load_assistant(cfg.expert)
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
