"""The ``assist train`` run's summary: ``metrics.json`` (the last iterations' means) and a
report with learning curves drawn from ``metrics.jsonl`` — and the pieces the baselines'
reports share: the figure set-up (``figure``), the curves (``plot_curves``, panels by metric
name) and the whole report of a trainer that logs iterations (``write_iterations_report``,
also ``assist train-ppo``'s)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from alignlab.assist._human_model import describe_human
from alignlab.assist._train_cmd import TrainConfig
from alignlab.core import read_metrics_log

Panels = Sequence[tuple[str, Sequence[str]]]  # (title, metrics.jsonl keys) per panel

# learning-curve panels: (title, metrics.jsonl keys)
PANELS: Panels = (
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


@contextmanager
def figure(path: Any, rows: int, cols: int, size: tuple[float, float]) -> Iterator[Any]:
    """A ``rows × cols`` grid of axes (headless matplotlib) saved to ``path`` on exit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(rows, cols, figsize=size)
    try:
        yield axes
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)


def plot_curves(rows: list[dict[str, Any]], path: Any, panels: Panels = PANELS) -> None:
    """Moving averages (over ~2% of the rows) of each panel's metrics against env steps, in
    a 2-column grid; a panel none of whose metrics is logged says so."""
    win = max(1, len(rows) // 50)
    n_rows = -(-len(panels) // 2)
    with figure(path, n_rows, 2, (11, 3.5 * n_rows)) as axes:
        for ax in axes.flat[len(panels) :]:
            ax.axis("off")
        for ax, (title, keys) in zip(axes.flat, panels, strict=False):
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


def what_was_run(report: Any, text: str, human: str) -> None:
    """The report's opening section: ``text``, then the simulated human (``--human``)."""
    report.heading("What was run")
    report.text(f"{text} Simulated human: {describe_human(human)}.")


def write_iterations_report(run: Any, describe: Any, human: str) -> None:
    """``metrics.json`` (``summarise``), ``plots/learning_curves.png`` and the report of a
    trainer that logs one ``metrics.jsonl`` row per iteration; ``describe(summary)``: what
    was run, in a sentence or two."""
    rows = read_metrics_log(run.dir / "metrics.jsonl")
    if not rows:
        return
    summary = summarise(rows)
    run.write_metrics(summary)
    plot_curves(rows, run.plot_path("learning_curves.png"))
    r = run.report
    what_was_run(
        r,
        f"{describe(summary)} Model: `model/`; training state: `checkpoints/`; "
        "per-iteration metrics: `metrics.jsonl`.",
        human,
    )
    r.heading("Learning curves")
    r.image("plots/learning_curves.png", "moving averages over iterations")
    r.heading("Last 10% of iterations")
    r.table(
        ["metric", "mean"],
        [[k, f"{v:.4g}"] for k, v in summary.items() if isinstance(v, float)],
    )


def write_report(run: Any, cfg: TrainConfig) -> None:
    who = "goal-visible assistant (upper bound)" if cfg.goal_visible else "AssistanceZero"

    def describe(summary: dict[str, Any]) -> str:
        return (
            f"Self-play training of the {who} against the simulated human on a "
            f"{'×'.join(map(str, cfg.size))} grid ({cfg.goals} goals, horizon {cfg.horizon}): "
            f"{summary['env_steps']:,} env steps in {summary['iterations']} iterations of "
            f"{cfg.envs} games × {cfg.fragment} steps, {cfg.simulations} simulations per "
            f"decision, network {cfg.depth} × {cfg.width} with {cfg.kernel}³ kernels, Adam lr "
            f"{cfg.lr}, batch {cfg.batch_size}, {cfg.updates} updates per fragment, replay "
            f"{cfg.replay:,}."
        )

    write_iterations_report(run, describe, cfg.human)
