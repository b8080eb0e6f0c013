"""Compare assistants on one goal set (``alignlab assist evaluate``; AssistanceZero,
arXiv 2504.07091, and its metrics).

Every assistant plays the same episodes: episode ``i`` has the same goal and the same key for
the human and the reset (``jax.random.split(PRNGKey(seed), N)[i]``), so differences between
assistants are paired episode by episode. The ``noop`` assistant (the human alone) always
plays too, as the reference.

Per episode (one record per assistant × episode, ``_rollout.summarise``'s fields plus):

* ``goal_percentage@T``: the goal percentage after ``T`` steps (the final one once the
  episode has ended);
* ``human_actions``: the human's PLACE and BREAK actions (attempted, whether or not they took
  effect) until completion or the horizon: the building work an assistant can take over.
  ``human_nonnoop`` also counts its moves (and GIVEs): every action that is not a NOOP.

Per assistant: means with percentile bootstrap 95% CIs over episodes (``core.bootstrap_mean``);
``steps_to_completion`` over the episodes that completed (absent when none did); and the share
of human actions saved, ``1 - mean(human_actions) / mean(human_actions of the reference)``,
with a paired bootstrap CI (the same episodes resampled for both), 0 for the reference itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alignlab.core import AlignlabError, Estimate, bootstrap_mean

REFERENCE = "noop"
HUMAN_KINDS = ("noop", "move", "place", "break")
DEFAULT_EVAL_SEED = 1_000_000  # training and rollouts use seeds below this; see docs/assist.md


@dataclass(frozen=True)
class GoalSet:
    """``goals [N, X, Y, Z] uint8``, one per episode, and where each came from."""

    goals: np.ndarray
    sources: tuple[str, ...]


def goal_set(source: str, size: tuple[int, int, int], episodes: int, seed: int) -> GoalSet:
    """The goals of ``episodes`` episodes from ``source``.

    ``house`` / ``blob``: goal ``i`` from ``default_rng([seed, i])`` (as in a goal bank built
    with that seed). A goal bank ``.npz``, a goal file ``.json`` or a CraftAssist house folder:
    their goals in order, episode ``i`` playing goal ``i mod n`` (so with more episodes than
    goals each goal is played again with other human keys).
    """
    from alignlab.assist._goal_bank import build_goal_bank

    if source in ("house", "blob"):
        from alignlab.assist._goals import random_blob
        from alignlab.assist._houses import house

        goals = build_goal_bank(house if source == "house" else random_blob, episodes, size, seed)
        return GoalSet(goals, tuple(f"{source}[{seed}, {i}]" for i in range(episodes)))
    path = Path(source)
    if source.endswith(".npz"):
        from alignlab.assist._goal_bank import load_goal_bank

        pool = np.asarray(load_goal_bank(path, size=size).goals)
        names = [f"{path.name}[{i}]" for i in range(len(pool))]
    elif source.endswith(".json"):
        from alignlab.assist._goal_file import load_goal_file

        found = load_goal_file(path, size=size)
        pool, names = found.goals, [f"{path.name}:{n}" for n in found.names]
    elif path.is_dir():
        from alignlab.assist._craftassist import load_house_folder

        pool = np.stack(load_house_folder(path, size, seed))
        names = [f"{path.name}[{i}]" for i in range(len(pool))]
    else:
        raise AlignlabError(
            "goals: house, blob, a goal bank .npz, a goal file .json or a CraftAssist folder",
            file=source,
            field="goals",
        )
    pick = np.arange(episodes) % len(pool)
    return GoalSet(pool[pick], tuple(names[i] for i in pick))


def episode_rows(
    env_cfg: Any, final: Any, recs: dict[str, Any], at: Sequence[int]
) -> list[dict[str, Any]]:
    """``_rollout.summarise``'s rows plus the goal percentage at steps ``at`` and the human's
    action counts (module doc)."""
    from alignlab.assist._rollout import summarise

    rows = summarise(final, recs, env_cfg)
    curve = np.asarray(recs["goal_percentage"])  # [B, T]
    for i, row in enumerate(rows):
        for t in at:
            row[f"goal_percentage@{t}"] = float(curve[i, t - 1])
        row["human_actions"] = row["human/place"] + row["human/break"]
        row["human_nonnoop"] = row["steps"] - row["human/noop"]
    return rows


def saved_share(
    helped: np.ndarray, alone: np.ndarray, *, n_boot: int = 1000, seed: int = 0
) -> Estimate | None:
    """``1 - mean(helped) / mean(alone)`` with a paired percentile bootstrap 95% CI (episode
    ``i`` of both arrays resampled together); None when the human alone took no actions."""
    helped, alone = (np.asarray(a, dtype=np.float64) for a in (helped, alone))
    if alone.shape != helped.shape or alone.size == 0:
        raise ValueError("paired arrays of one non-empty shape are needed")
    if alone.mean() <= 0:
        return None
    idx = np.random.default_rng(seed).integers(0, alone.size, (n_boot, alone.size))
    num, den = helped[idx].mean(axis=1), alone[idx].mean(axis=1)
    reps = 1.0 - num / np.where(den > 0, den, np.nan)
    lo, hi = np.nanquantile(reps, [0.025, 0.975])
    return Estimate(float(1.0 - helped.mean() / alone.mean()), float(lo), float(hi))


def assistant_metrics(
    rows: list[dict[str, Any]], reference: list[dict[str, Any]], *, n_boot: int, seed: int
) -> dict[str, Any]:
    """Metrics of one assistant's rows (module doc): ``{name: {value, low, high}}`` plus
    ``episodes`` and ``completed`` counts."""

    def col(rs: list[dict[str, Any]], key: str) -> np.ndarray:
        return np.array([r[key] for r in rs], dtype=float)

    out: dict[str, Any] = {"episodes": len(rows), "completed": sum(r["completed"] for r in rows)}
    for key in rows[0]:
        if key == "completed":
            out["completion_rate"] = bootstrap_mean(
                col(rows, key), n_boot=n_boot, seed=seed
            ).as_dict()
        elif isinstance(rows[0][key], (int, float)):
            out[key] = bootstrap_mean(col(rows, key), n_boot=n_boot, seed=seed).as_dict()
    done = [r for r in rows if r["completed"]]
    if done:
        out["steps_to_completion"] = bootstrap_mean(
            col(done, "steps"), n_boot=n_boot, seed=seed
        ).as_dict()
    for key in ("human_actions", "human_nonnoop"):
        est = saved_share(col(rows, key), col(reference, key), n_boot=n_boot, seed=seed)
        out[f"{key}_saved"] = est.as_dict() if est is not None else None
    return out


def curve_bands(
    curve: np.ndarray, *, points: int = 100, n_boot: int = 1000, seed: int = 0
) -> dict[str, np.ndarray]:
    """Mean goal percentage over time with 95% bootstrap bands, at up to ``points`` steps:
    ``{"step", "mean", "low", "high"}`` (``curve [B, T]``, the value after each step)."""
    steps = np.unique(
        np.linspace(0, curve.shape[1], min(points, curve.shape[1]) + 1).round().astype(int)
    )
    cols = [np.zeros(curve.shape[0]) if t == 0 else curve[:, t - 1] for t in steps]
    est = [bootstrap_mean(c, n_boot=n_boot, seed=seed) for c in cols]
    return {
        "step": steps,
        "mean": np.array([e.value for e in est]),
        "low": np.array([e.low for e in est]),
        "high": np.array([e.high for e in est]),
    }


def default_steps(horizon: int) -> tuple[int, ...]:
    """25, 50, 75 and 100% of the horizon (at least step 1; repeats dropped)."""
    return tuple(sorted({max(1, round(horizon * f)) for f in (0.25, 0.5, 0.75, 1.0)}))


@dataclass(frozen=True)
class Evaluation:
    """What ``evaluate`` measured; every dict is keyed by assistant name, reference first.

    ``rows``: one record per episode; ``curves``: goal percentage after each step ``[B, T]``;
    ``metrics``: ``assistant_metrics``; ``keys``: the episodes' keys ``[B, 2] uint32`` (human
    and reset), the same for every assistant; ``at``: the steps of ``goal_percentage@T``;
    ``assistants``: the ``_rollout.Assistant``s played; ``first``: episode 0's records
    (``actions [T, 2]``, ``live [T]``, ``reward [T, 2]``), which ``_rollout.replay_recorded``
    turns into a replay.
    """

    names: tuple[str, ...]
    rows: dict[str, list[dict[str, Any]]]
    curves: dict[str, np.ndarray]
    metrics: dict[str, dict[str, Any]]
    keys: np.ndarray
    at: tuple[int, ...]
    assistants: tuple[Any, ...]  # the ``_rollout.Assistant``s played, in ``names`` order
    first: dict[str, dict[str, np.ndarray]]  # episode 0's actions, live, reward (for replays)


def evaluate(
    env_cfg: Any,
    assistants: Sequence[Any],
    goals: np.ndarray,
    *,
    seed: int,
    human: Any = None,
    at: Sequence[int] = (),
    n_boot: int = 1000,
) -> Evaluation:
    """Play every assistant (an ``_rollout.Assistant`` or a spec ``load_assistant`` reads) and
    the ``noop`` reference on ``goals [B, X, Y, Z]`` with the same keys, and measure them.

    ``human``: the simulated human, a ``_human_model.HumanModel`` (default: the heuristic, β 5,
    no mistakes); ``at``: steps for ``goal_percentage@T`` (default ``default_steps(horizon)``).

    Raises:
        AlignlabError: an assistant spec is unknown, an assistant's ``act`` returns the wrong
            shapes, or two assistants share a name.
    """
    import jax

    from alignlab.assist._human_model import heuristic_human
    from alignlab.assist._rollout import check_assistant, episode_fn, load_assistant

    played = [load_assistant(a, env_cfg) if isinstance(a, str) else a for a in assistants]
    names = [a.name for a in played]
    twins = sorted({n for n in names if names.count(n) > 1})
    if twins:
        raise AlignlabError(f"assistant '{twins[0]}' is listed twice", field="assistants")
    if REFERENCE not in names:
        played.insert(0, load_assistant(REFERENCE, env_cfg))
    played.sort(key=lambda a: a.name != REFERENCE)  # stable: the reference first
    for a in played:
        check_assistant(a, env_cfg)
    steps = tuple(at) or default_steps(env_cfg.horizon)
    keys = jax.random.split(jax.random.PRNGKey(seed), len(goals))
    human = human if human is not None else heuristic_human()
    rows, curves, first = {}, {}, {}
    for a in played:
        final, recs = episode_fn(env_cfg, a, human.kind)(keys, goals, human.params)
        rows[a.name] = episode_rows(env_cfg, final, recs, steps)
        curves[a.name] = np.asarray(recs["goal_percentage"])
        first[a.name] = {k: np.asarray(recs[k][0]) for k in ("actions", "live", "reward")}
    metrics = {
        name: assistant_metrics(r, rows[REFERENCE], n_boot=n_boot, seed=seed)
        for name, r in rows.items()
    }
    return Evaluation(
        tuple(rows), rows, curves, metrics, np.asarray(keys), steps, tuple(played), first
    )
