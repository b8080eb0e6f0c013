"""The ``assist train`` run's summary: ``metrics.json`` (the last iterations' means) and a
report with learning curves drawn from ``metrics.jsonl``."""

from __future__ import annotations

from typing import Any

import numpy as np

from alignlab.assist._train_cmd import TrainConfig
from alignlab.core import read_metrics_log

# learning-curve panels: (title, metrics.jsonl keys)
PANELS = (
    ("losses", ("loss/policy", "loss/goal", "loss/human", "loss/value")),
    ("goal percentage of finished episodes", ("episode/goal_percentage",)),
    ("goal head accuracy where the world differs from the goal", ("goal_acc_todo",)),
    ("actions per finished episode", ("episode/human_actions", "episode/assistant_actions")),
)


def summarise(rows: list[dict[str, Any]], tail: float = 0.1) -> dict[str, Any]:
    """Means of every numeric key over the last ``tail`` share of iterations (at least one)."""
    last = rows[-max(1, int(len(rows) * tail)) :]
    keys = sorted({k for r in last for k in r if k not in ("step", "time")})
    out: dict[str, Any] = {"env_steps": rows[-1]["step"], "iterations": len(rows)}
    for k in keys:
        vals = [r[k] for r in last if isinstance(r.get(k), (int, float))]
        if vals:
            out[k] = float(np.mean(vals))
    return out


def _smooth(y: np.ndarray, n: int) -> np.ndarray:
    if len(y) < n or n <= 1:
        return y
    return np.convolve(y, np.ones(n) / n, mode="valid")


def plot_curves(rows: list[dict[str, Any]], path: Any) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 7))
    win = max(1, len(rows) // 50)
    for ax, (title, keys) in zip(axes.flat, PANELS, strict=True):
        for k in keys:
            pts = [(r["step"], r[k]) for r in rows if isinstance(r.get(k), (int, float))]
            if not pts:
                continue
            x, y = (np.asarray(v, float) for v in zip(*pts, strict=True))
            ys = _smooth(y, win)
            ax.plot(x[len(x) - len(ys) :], ys, label=k)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("env steps")
        if ax.get_lines():
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "not logged by this trainer", ha="center", transform=ax.transAxes)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(run: Any, cfg: TrainConfig) -> None:
    rows = read_metrics_log(run.dir / "metrics.jsonl")
    if not rows:
        return
    summary = summarise(rows)
    run.write_metrics(summary)
    plot_curves(rows, run.plot_path("learning_curves.png"))
    r = run.report
    who = "goal-visible assistant (upper bound)" if cfg.goal_visible else "AssistanceZero"
    r.heading("What was run")
    r.text(
        f"Self-play training of the {who} against the heuristic human on a "
        f"{'×'.join(map(str, cfg.size))} grid ({cfg.goals} goals, horizon {cfg.horizon}): "
        f"{summary['env_steps']:,} env steps in {summary['iterations']} iterations of "
        f"{cfg.envs} games × {cfg.fragment} steps, {cfg.simulations} simulations per decision, "
        f"network {cfg.depth} × {cfg.width} with {cfg.kernel}³ kernels, Adam lr {cfg.lr}, "
        f"batch {cfg.batch_size}, {cfg.updates} updates per fragment, replay {cfg.replay:,}. "
        "Model: `model/`; training state: `checkpoints/`; per-iteration metrics: `metrics.jsonl`."
    )
    r.heading("Learning curves")
    r.image("plots/learning_curves.png", "moving averages over iterations")
    r.heading("Last 10% of iterations")
    r.table(
        ["metric", "mean"],
        [[k, f"{v:.4g}"] for k, v in summary.items() if isinstance(v, float)],
    )
