"""The ``alignlab assist evaluate`` command: assistants compared on one goal set, in a run folder
with one record per assistant × episode, metrics with bootstrap CIs, a report with one table
and two plots, and episode 0 of each assistant as a replay (``episodes/<name>_ep0.json`` and
``.html``)."""

from __future__ import annotations

import importlib
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from alignlab.assist._evaluate import DEFAULT_EVAL_SEED, HUMAN_KINDS, REFERENCE, Evaluation
from alignlab.core import Run, bad_flag, check_at_least, check_seed, flag


@dataclass(frozen=True)
class EvaluateConfig:
    assistants: tuple[str, ...] = field(
        default=("noop", "random"),
        metadata={
            "help": "assistants to compare, each NAME or NAME:CHECKPOINT (built in: noop, "
            "random; more through --plugins or registered loaders); noop, the human alone, "
            "always plays as the reference"
        },
    )
    plugins: tuple[str, ...] = field(
        default=(),
        metadata={"help": "Python modules to import first; they register assistants"},
    )
    goals: str = field(
        default="house",
        metadata={
            "help": "goal set: house or blob (generated from --seed), a goal bank .npz, a goal "
            "file .json (docs/assist.md § Evaluation) or a CraftAssist house folder"
        },
    )
    size: tuple[int, ...] = field(
        default=(6, 6, 6),
        metadata={"help": "grid X Y Z (Y vertical, >= 4; houses need >= 5 6 5; <= 64 each)"},
    )
    horizon: int = field(default=100, metadata={"help": "steps per episode (>= 1)"})
    episodes: int = field(
        default=32, metadata={"help": "episodes per assistant, the same for each (>= 1)"}
    )
    at_steps: tuple[int, ...] = field(
        default=(),
        metadata={
            "help": "steps at which to report the goal percentage (each in 1..horizon; "
            "none: 25, 50, 75 and 100%% of the horizon)"
        },
    )
    human: str = field(
        default="heuristic",
        metadata={
            "help": "simulated human every assistant plays with: heuristic (with --beta, "
            "--mistake-rate) or bc:PATH, a behaviour-cloned model from 'assist train-human' "
            "for this grid"
        },
    )
    beta: float = field(
        default=5.0, metadata={"help": "human Boltzmann rationality (>= 0; 0 = uniform)"}
    )
    mistake_rate: float = field(
        default=0.0, metadata={"help": "human random-action rate, in [0, 1]"}
    )
    los: str = field(
        default="mbag",
        metadata={"help": "reach and sight rule: mbag (the original MBAG's), off or centre"},
    )
    seed: int = field(
        default=DEFAULT_EVAL_SEED,
        metadata={
            "help": "seed for generated goals, the human and resets; evaluation seeds start "
            "at 1000000, training uses seeds below"
        },
    )
    n_boot: int = field(default=1000, metadata={"help": "bootstrap replicates for CIs (>= 100)"})
    out: str = field(default="runs", metadata={"help": "folder that holds run folders"})

    def __post_init__(self) -> None:
        """Reject bad flag values before any work (plugins are imported here, so unknown
        assistant names are caught too).

        Raises:
            AlignlabError: naming the field.
        """
        from alignlab.assist._human_model import check_human_flag
        from alignlab.assist._rollout_cmd import LOS_RULES, check_grid
        from alignlab.core import check_out_dir

        self._check_assistants()
        self._check_goals()
        check_grid(self.size, self.goals if self.goals in ("house", "blob") else "other")
        check_at_least(self.horizon, 1, "horizon", "steps per episode")
        check_at_least(self.episodes, 1, "episodes", "episodes per assistant")
        bad = [t for t in self.at_steps if not 1 <= t <= self.horizon]
        if bad:
            bad_flag(
                "at_steps", f"--at-steps must lie in 1..{self.horizon} (--horizon), not {bad[0]}"
            )
        if not (math.isfinite(self.beta) and self.beta >= 0):
            bad_flag("beta", f"--beta must be a finite number >= 0 (0 = uniform), not {self.beta}")
        if not 0.0 <= self.mistake_rate <= 1.0:
            bad_flag("mistake_rate", f"--mistake-rate must be in [0, 1], not {self.mistake_rate}")
        check_human_flag(self.human, self.beta, self.mistake_rate)
        if self.los not in LOS_RULES:
            bad_flag("los", f"unknown --los '{self.los}'; use {', '.join(LOS_RULES)}")
        check_seed(self.seed)
        check_at_least(self.n_boot, 100, "n_boot", "bootstrap replicates")
        check_out_dir(self.out)

    def _check_assistants(self) -> None:
        for module in self.plugins:
            try:
                importlib.import_module(module)
            except ImportError as err:
                bad_flag("plugins", f"cannot import --plugins module '{module}': {err}")
        from alignlab.assist._rollout import assistant_names, split_spec

        if not self.assistants:
            bad_flag("assistants", "--assistants needs at least one NAME or NAME:CHECKPOINT")
        known = assistant_names()
        for spec in self.assistants:
            name, _ = split_spec(spec)
            if name not in known:
                bad_flag("assistants", f"unknown assistant '{name}'; known: {', '.join(known)}")
            if self.assistants.count(spec) > 1:
                bad_flag("assistants", f"--assistants lists '{spec}' twice")

    def _check_goals(self) -> None:
        if self.goals in ("house", "blob"):
            return
        path = Path(self.goals)
        is_file = path.suffix in (".npz", ".json")
        if is_file and not path.is_file():
            bad_flag("goals", f"{flag('goals')} {self.goals}: file not found")
        if not is_file and not path.is_dir():
            bad_flag(
                "goals",
                f"unknown goals '{self.goals}': use house, blob, FILE.npz, FILE.json or a "
                "CraftAssist folder (not found)",
            )


def env_config(cfg: EvaluateConfig) -> Any:
    from alignlab.assist._layout import EnvConfig

    return EnvConfig(size=tuple(cfg.size), horizon=cfg.horizon, los=cfg.los)  # type: ignore[arg-type]


def run_evaluate(cfg: EvaluateConfig) -> Path:
    """Play, measure, and write the run folder (module doc); returns its path."""
    from alignlab.assist._evaluate import evaluate, goal_set
    from alignlab.assist._human_model import load_human
    from alignlab.assist._rollout import load_assistant

    env_cfg = env_config(cfg)
    human = load_human(cfg.human, env_cfg, cfg.beta, cfg.mistake_rate)
    goals = goal_set(cfg.goals, env_cfg.size, cfg.episodes, cfg.seed)
    assistants = [load_assistant(spec, env_cfg) for spec in cfg.assistants]
    ev = evaluate(
        env_cfg, assistants, goals.goals, seed=cfg.seed, human=human, at=cfg.at_steps,
        n_boot=cfg.n_boot,
    )  # fmt: skip
    with Run("assist", "evaluate", cfg, root=cfg.out) as run:
        run.write_records(_records(ev, goals))
        run.write_metrics(
            {"reference": REFERENCE, "at_steps": list(ev.at), "assistants": ev.metrics}
        )
        _report(run, cfg, ev)
        _episodes(run, env_cfg, ev, goals.goals)
    return run.final_dir


def _records(ev: Evaluation, goals: Any) -> list[dict[str, Any]]:
    from alignlab.assist._goals import goal_hash

    hashes = [goal_hash(g) for g in goals.goals]
    return [
        {
            "assistant": name,
            "episode": i,
            "goal": goals.sources[i],
            "goal_hash": hashes[i],
            "key": [int(k) for k in ev.keys[i]],
            **row,
        }
        for name in ev.names
        for i, row in enumerate(ev.rows[name])
    ]


def slug(name: str) -> str:
    """A file-name-safe form of an assistant name (``ppo:runs/a/b`` → ``ppo_runs_a_b``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "assistant"


def _fmt(est: dict[str, float] | None, digits: int = 3) -> str:
    if est is None:
        return "–"
    v, lo, hi = est["value"], est["low"], est["high"]
    return f"{v:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def _report(run: Run, cfg: EvaluateConfig, ev: Evaluation) -> None:
    from alignlab.assist._human_model import describe_human

    r = run.report
    r.heading("What was run")
    r.text(
        f"{cfg.episodes} episodes per assistant on a {'×'.join(map(str, cfg.size))} grid, horizon "
        f"{cfg.horizon}; goals: {cfg.goals}; human: "
        f"{describe_human(cfg.human, cfg.beta, cfg.mistake_rate)}; reach rule: {cfg.los}; "
        f"seed {cfg.seed}. Every assistant plays the "
        f"same goals with the same human and reset keys; {REFERENCE} (the human alone) is the "
        "reference. Means with 95% bootstrap CIs over episodes."
        + (
            f" Note: seed {cfg.seed} is below {DEFAULT_EVAL_SEED:,}, the range training draws "
            "its goals from, so generated goals here are not held out."
            if cfg.seed < DEFAULT_EVAL_SEED and cfg.goals in ("house", "blob")
            else ""
        )
    )
    late = [t for t in ev.at if t != cfg.horizon]
    r.table(
        ["assistant", "goal % (final)", *[f"goal % @{t}" for t in late], "completed",
         "steps to completion", "human place+break", "saved", "human non-NOOP", "saved"],
        [
            [name, _fmt(m["goal_percentage"]), *[_fmt(m[f"goal_percentage@{t}"]) for t in late],
             f"{m['completed']}/{m['episodes']}", _fmt(m.get("steps_to_completion"), 1),
             _fmt(m["human_actions"], 1), _fmt(m["human_actions_saved"]),
             _fmt(m["human_nonnoop"], 1), _fmt(m["human_nonnoop_saved"])]
            for name, m in ev.metrics.items()
        ],
        caption="goal percentage (fraction of the goal built, 1 = done); saved = 1 − mean human "
        f"actions / mean with {REFERENCE} (paired bootstrap CI)",
    )  # fmt: skip
    r.heading("Actions by type (means per episode)")
    who = ("human", "assistant")
    cols = [f"{w}/{k}" for w in who for k in HUMAN_KINDS]
    cols += [
        f"{w}/{c}_{a}" for w in who for c in ("correct", "incorrect") for a in ("place", "break")
    ]
    r.table(
        ["assistant", *cols],
        [[n, *[round(m[c]["value"], 2) for c in cols]] for n, m in ev.metrics.items()],
    )
    _plots(run, ev, cfg.n_boot)


def _plots(run: Run, ev: Evaluation, n_boot: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from alignlab.assist._evaluate import curve_bands

    fig, ax = plt.subplots(figsize=(7, 4))
    for name in ev.names:
        band = curve_bands(ev.curves[name], n_boot=min(n_boot, 500))
        ax.plot(band["step"], band["mean"], label=name)
        ax.fill_between(band["step"], band["low"], band["high"], alpha=0.2)
    ax.set(xlabel="step", ylabel="goal percentage", title="goal percentage over time (95% CI)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(run.plot_path("goal_percentage.png"), dpi=100)
    plt.close(fig)
    run.report.image("plots/goal_percentage.png", "goal percentage over time, 95% bootstrap bands")

    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / len(ev.names)
    for j, name in enumerate(ev.names):
        m = ev.metrics[name]
        ests = [m[f"human/{k}"] for k in HUMAN_KINDS]
        mean = np.array([e["value"] for e in ests])
        err = np.abs(np.array([[e["low"] for e in ests], [e["high"] for e in ests]]) - mean)
        ax.bar(np.arange(len(HUMAN_KINDS)) + j * width, mean, width, yerr=err, label=name)
    ax.set_xticks(np.arange(len(HUMAN_KINDS)) + 0.4 - width / 2, HUMAN_KINDS)
    ax.set(ylabel="human actions per episode", title="the human's actions by assistant")
    ax.legend()
    fig.tight_layout()
    fig.savefig(run.plot_path("human_actions.png"), dpi=100)
    plt.close(fig)
    run.report.image("plots/human_actions.png", "human actions by type, 95% bootstrap CIs")


def _episodes(run: Run, env_cfg: Any, ev: Evaluation, goals: Any) -> None:
    """Episode 0 of each assistant as ``episodes/<name>_ep0.json`` and a replay page."""
    import jax.numpy as jnp

    from alignlab.assist._rollout import replay_recorded
    from alignlab.assist._viewer import save_episode_html

    pages: list[str] = []
    for name in ev.names:
        episode = replay_recorded(env_cfg, name, jnp.asarray(ev.keys[0]), goals[0], ev.first[name])
        stem = f"episodes/{slug(name)}_ep0"
        if f"{stem}.html" in pages:  # two names with one slug
            stem = f"episodes/{slug(name)}-{len(pages)}_ep0"
        run.write_json(f"{stem}.json", episode)
        save_episode_html(run.dir / f"{stem}.html", episode, title=f"{name}, episode 0")
        pages.append(f"{stem}.html")
    run.report.text(
        "Episode 0 of each assistant (the same goal and human keys), replayable in a browser: "
        + ", ".join(pages)
        + " (the episodes are the .json files beside them; `alignlab assist view` reads them)."
    )
