"""The ``assist train-ppo`` run's summary: ``metrics.json`` (the last iterations' means) and a
report with learning curves drawn from ``metrics.jsonl`` (``assist train``'s report, whose
plotted metric names PPO shares)."""

from __future__ import annotations

from typing import Any

from alignlab.assist._ppo_cmd import PPOConfig
from alignlab.assist._train_report import write_iterations_report


def write_report(run: Any, cfg: PPOConfig) -> None:
    """``metrics.json``, ``plots/learning_curves.png`` and the report's sections."""

    def describe(summary: dict[str, Any]) -> str:
        return (
            "PPO training of the goal-masked assistant baseline (goal-prediction auxiliary "
            f"loss) against the simulated human on a {'×'.join(map(str, cfg.size))} grid "
            f"({cfg.goals} goals, horizon {cfg.horizon}): {summary['env_steps']:,} env steps "
            f"in {summary['iterations']} iterations of {cfg.envs} games × {cfg.rollout} steps, "
            f"{cfg.epochs} epochs × {cfg.minibatches} minibatches, network {cfg.depth} × "
            f"{cfg.width} with {cfg.kernel}³ kernels, Adam lr {cfg.lr} (gradients clipped to "
            f"{cfg.max_grad_norm}), γ {cfg.gamma}, GAE λ {cfg.gae_lambda}, clip {cfg.clip}, "
            f"coefficients: entropy {cfg.ent_coef}, value {cfg.vf_coef}, goal {cfg.goal_coef}."
        )

    write_iterations_report(run, describe, cfg.human)
