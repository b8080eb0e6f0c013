"""The ``assist train-ppo`` run's summary: ``metrics.json`` (the last iterations' means) and a
report with learning curves drawn from ``metrics.jsonl`` (``assist train``'s helpers: the
metric names they plot are shared)."""

from __future__ import annotations

from typing import Any

from alignlab.assist._ppo_cmd import PPOConfig
from alignlab.assist._train_report import plot_curves, summarise
from alignlab.core import read_metrics_log


def write_report(run: Any, cfg: PPOConfig) -> None:
    """``metrics.json``, ``plots/learning_curves.png`` and the report's sections."""
    rows = read_metrics_log(run.dir / "metrics.jsonl")
    if not rows:
        return
    summary = summarise(rows)
    run.write_metrics(summary)
    plot_curves(rows, run.plot_path("learning_curves.png"))
    r = run.report
    r.heading("What was run")
    r.text(
        "PPO training of the goal-masked assistant baseline (goal-prediction auxiliary loss) "
        f"against the heuristic human on a {'×'.join(map(str, cfg.size))} grid ({cfg.goals} "
        f"goals, horizon {cfg.horizon}): {summary['env_steps']:,} env steps in "
        f"{summary['iterations']} iterations of {cfg.envs} games × {cfg.rollout} steps, "
        f"{cfg.epochs} epochs × {cfg.minibatches} minibatches, network {cfg.depth} × "
        f"{cfg.width} with {cfg.kernel}³ kernels, Adam lr {cfg.lr} (gradients clipped to "
        f"{cfg.max_grad_norm}), γ {cfg.gamma}, GAE λ {cfg.gae_lambda}, clip {cfg.clip}, "
        f"coefficients: entropy {cfg.ent_coef}, value {cfg.vf_coef}, goal {cfg.goal_coef}. "
        "Model: `model/`; training state: `checkpoints/`; per-iteration metrics: `metrics.jsonl`."
    )
    r.heading("Learning curves")
    r.image("plots/learning_curves.png", "moving averages over iterations")
    r.heading("Last 10% of iterations")
    r.table(
        ["metric", "mean"],
        [[k, f"{v:.4g}"] for k, v in summary.items() if isinstance(v, float)],
    )
