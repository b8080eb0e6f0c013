"""The flags the trainers share (``assist train``, ``train-ppo``, ``train-sft``): one
definition of each shared flag (default and ``--help`` text), minimums kept next to their
flags, the checks every trainer's config runs in ``__post_init__`` (each error names its flag)
and the training goal bank the goal flags name.

Light on imports: ``alignlab <verb> --help`` reads the configs without JAX.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from alignlab.assist._rollout_cmd import check_grid
from alignlab.core import bad_flag, check_at_least, check_seed, flag

# goals for training are generated from seeds below this; evaluation seeds start here
EVAL_SEED_START = 1_000_000
AT_LEAST = "at_least"  # field metadata: (minimum, what the flag counts), see check_trainer_flags
_KEEP: Any = object()

# the shared flags: name -> (default, help, (minimum, what it counts) or None)
_SHARED: dict[str, tuple[Any, str, tuple[int, str] | None]] = {
    "size": ((6, 6, 6), "grid X Y Z (Y vertical; houses need >= 5 6 5)", None),
    "goals": (
        "house",
        "training goals: house, blob (a bank generated from --seed) or a bank .npz",
        None,
    ),
    "bank_size": (1000, "goals in the generated training bank (>= 1)", (1, "goals in the bank")),
    "horizon": (100, "steps per episode (>= 1)", (1, "steps per episode")),
    "envs": (16, "games played in parallel (>= 1)", (1, "parallel games")),
    "width": (32, "backbone channels (paper: 64)", (1, "channels")),
    "depth": (2, "residual blocks (paper: 8)", (1, "residual blocks")),
    "kernel": (3, "3D-conv kernel size, odd (paper: 5)", (1, "kernel size")),
    "lr": (1e-3, "Adam learning rate (> 0)", None),
    "resume": ("", "a run folder of this command to continue", None),
    "seed": (0, "seed for goals, init and play", None),
    "out": ("runs", "folder that holds run folders", None),
}


def option(default: Any, text: str, at_least: tuple[int, str] | None = None) -> Any:
    """A config field: ``default`` and its ``--help`` ``text``; with ``at_least=(low,
    what)``, :func:`check_trainer_flags` refuses values below ``low`` (``what``: what the
    flag counts, for the error)."""
    meta: dict[str, Any] = {"help": text}
    if at_least is not None:
        meta[AT_LEAST] = at_least
    return dataclasses.field(default=default, metadata=meta)


def shared(name: str, *, default: Any = _KEEP, text: str = "", at_least: Any = _KEEP) -> Any:
    """The field of the shared flag ``name``, with its ``default``, help ``text`` or
    ``at_least`` replaced where given."""
    base_default, base_text, base_at_least = _SHARED[name]
    return option(
        base_default if default is _KEEP else default,
        text or base_text,
        base_at_least if at_least is _KEEP else at_least,
    )


def human_option(role: str, *, fixed: bool = True) -> Any:
    """The ``--human`` field; ``role``: what the simulated human does in this trainer;
    ``fixed``: the help says it cannot change on ``--resume``."""
    text = (
        f"simulated human {role}: heuristic (β 5, no mistakes) or bc:PATH, a behaviour-cloned "
        "model from 'assist train-human' for this grid"
    )
    if fixed:
        text += "; fixed for the run (not changed on --resume)"
    return option("heuristic", text)


def check_trainer_flags(cfg: Any) -> None:
    """The checks a trainer's flags start with: ``--human``, ``--goals``, a ``--size`` the
    goals fit, every field's ``at_least`` minimum (in field order) and an odd ``--kernel``.

    Raises:
        AlignlabError: naming the first bad flag.
    """
    from alignlab.assist._human_model import check_human_flag

    check_human_flag(cfg.human)
    if cfg.goals not in ("house", "blob") and not cfg.goals.endswith(".npz"):
        bad_flag("goals", f"unknown goals '{cfg.goals}'; use house, blob or FILE.npz")
    check_grid(cfg.size, cfg.goals if cfg.goals in ("house", "blob") else "")
    for f in dataclasses.fields(cfg):
        if AT_LEAST in f.metadata:
            low, what = f.metadata[AT_LEAST]
            check_at_least(getattr(cfg, f.name), low, f.name, what)
    if cfg.kernel % 2 == 0:
        bad_flag("kernel", f"--kernel must be odd (same padding), not {cfg.kernel}")


def check_numbers(cfg: Any, bounds: Iterable[tuple[str, float, float, bool]]) -> None:
    """Each ``(name, low, high, open_low)`` of ``bounds``: the flag is a finite number above
    ``low`` (``open_low``) or at least ``low``, and at most ``high``."""
    for name, low, high, open_low in bounds:
        v = getattr(cfg, name)
        ok = math.isfinite(v) and (v > low if open_low else v >= low) and v <= high
        if not ok:
            where = f"> {low:g}" if open_low else f">= {low:g}"
            where = f"in [{low:g}, {high:g}]" if math.isfinite(high) else where
            bad_flag(name, f"{flag(name)} must be a finite number {where}, not {v}")


def check_positive(cfg: Any, *names: str) -> None:
    """Each flag of ``names`` is a finite number > 0."""
    check_numbers(cfg, ((name, 0.0, math.inf, True) for name in names))


def check_run_flags(cfg: Any) -> None:
    """The checks a trainer's flags end with: a ``--seed`` below the evaluation seeds that
    numpy and JAX take, and an ``--out`` that can hold run folders."""
    from alignlab.core import check_out_dir

    if cfg.seed >= EVAL_SEED_START:
        bad_flag(
            "seed",
            f"--seed must be below {EVAL_SEED_START:,}: seeds from there on generate the "
            "held-out evaluation goals",
        )
    check_seed(cfg.seed)
    check_out_dir(cfg.out)


def env_and_net(cfg: Any, goal_visible: bool = False) -> tuple[Any, Any]:
    """The ``EnvConfig`` (``--size``, ``--horizon``) and ``NetConfig`` (``--width``,
    ``--depth``, ``--kernel``; ``goal_visible``) that a trainer's flags name."""
    from alignlab.assist._layout import EnvConfig
    from alignlab.assist._net import NetConfig

    env = EnvConfig(size=tuple(cfg.size), horizon=cfg.horizon)
    net = NetConfig(width=cfg.width, depth=cfg.depth, kernel=cfg.kernel, goal_visible=goal_visible)
    return env, net


def training_bank(goals: str, bank_size: int, size: tuple[int, int, int], seed: int) -> np.ndarray:
    """The training goals ``[N, X, Y, Z] uint8`` that ``--goals`` names: ``bank_size``
    houses or blobs generated from ``seed`` (below the evaluation seeds), or a bank ``.npz``
    read for grid ``size``."""
    if goals.endswith(".npz"):
        from alignlab.assist._goal_bank import load_goal_bank

        return np.asarray(load_goal_bank(goals, size=size).goals)
    from alignlab.assist._goal_bank import build_goal_bank
    from alignlab.assist._goals import random_blob
    from alignlab.assist._houses import house

    gen = house if goals == "house" else random_blob
    return build_goal_bank(gen, bank_size, size, seed)
