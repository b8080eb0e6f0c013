"""``alignlab judge train``: MJ1's RL stage, GRPO through TRL's ``GRPOTrainer``.

Rewards (``_rewards``): format (structure and grounding of the chain), accuracy (verdict vs
gold) and counterfactual consistency (agreement of a rollout's underlying preference with the
rollouts of the same pair in the other order), each its own reward function so TRL logs each,
combined by ``reward_weights``. Rows are interleaved (pair, swapped pair), the sampler keeps
their order and every generation batch holds whole pairs, so both orders of a pair are always
scored in the same reward call. LoRA via PEFT, or every weight (``--lora-rank 0``).

The run folder holds ``metrics.jsonl`` (the trainer's log per step), ``model/`` (LoRA merged
in; evaluate it with ``judge evaluate --model hf-vlm:RUN/model``), ``checkpoints/`` and a
report with reward curves per reward function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignlab.core import Run, bad_flag, check_at_least, config_field
from alignlab.judge._rewards import (
    RewardConfig,
    make_accuracy_reward,
    make_consistency_reward,
    make_format_reward,
)
from alignlab.judge._train_common import check_trainer_flags
from alignlab.judge._train_rows import PROMPTS

REWARD_NAMES = ("judge_format", "judge_accuracy", "judge_consistency")
CURVES = (
    *(f"rewards/{n}/mean" for n in REWARD_NAMES),
    "reward",
    "completions/mean_length",
    "completions/clipped_ratio",
    "kl",
)


@dataclass(frozen=True)
class TrainConfig:
    pairs: str = config_field("data/judge/synth-bench", "training pairs (every pair needs gold)")
    model: str = config_field(
        "tiny-vlm",
        "start from: tiny-vlm[:SEED] (random, built in code), hf-vlm:<hub id or path>, or a "
        "model folder (judge init-model, or RUN/model of judge sft / judge train)",
    )
    prompt: str = config_field("chain", "prompt: chain (grounded verification chain) or baseline")
    no_system: bool = config_field(
        False, "leave out the instructions (the system message): for models trained from scratch"
    )
    steps: int = config_field(100, "optimizer steps (one generation batch each)")
    pairs_per_step: int = config_field(2, "pairs per step, each judged in both orders")
    generations: int = config_field(4, "rollouts per prompt (the GRPO group, >= 2)")
    max_completion: int = config_field(512, "tokens per rollout")
    temperature: float = config_field(1.0, "sampling temperature of the rollouts (> 0)")
    lr: float = config_field(1e-5, "learning rate (constant after a 5% warm-up)")
    beta: float = config_field(0.0, "KL penalty to the starting model (0: none, TRL's default)")
    format_weight: float = config_field(0.2, "weight of the format reward")
    accuracy_weight: float = config_field(0.5, "weight of the accuracy reward")
    consistency_weight: float = config_field(0.3, "weight of the consistency reward (0: off)")
    strict_consistency: bool = config_field(
        False, "J1's rule instead: reward only verdicts correct in both orders"
    )
    grounding_share: float = config_field(0.5, "share of the format reward paid for grounding")
    lora_rank: int = config_field(16, "LoRA rank on the language model; 0 trains every weight")
    lora_alpha: float = config_field(32.0, "LoRA alpha")
    rslora: bool = config_field(False, "rank-stabilised LoRA scaling (alpha / sqrt(rank))")
    limit: int = config_field(0, "use only the first N pairs (0: all)")
    save_every: int = config_field(50, "checkpoint every N steps (for --resume)")
    seed: int = config_field(0, "seed (sampling, data order is fixed)")
    out: str = config_field("runs", "folder that holds run folders")
    resume: str = config_field("", "a run folder of this command to continue from its last "
                               "checkpoint")  # fmt: skip

    def __post_init__(self) -> None:
        """Reject bad flag values before any work.

        Raises:
            AlignlabError: naming the field.
        """
        check_trainer_flags(self)
        if self.prompt not in PROMPTS:
            bad_flag("prompt", f"unknown --prompt '{self.prompt}'; use {', '.join(PROMPTS)}")
        check_at_least(self.pairs_per_step, 1, "pairs_per_step", "pairs per step")
        check_at_least(self.generations, 2, "generations", "rollouts per prompt (GRPO compares "
                       "rollouts of one prompt)")  # fmt: skip
        check_at_least(self.max_completion, 1, "max_completion", "tokens per rollout")
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            bad_flag("temperature", f"--temperature must be > 0, not {self.temperature}")
        if not (math.isfinite(self.beta) and self.beta >= 0):
            bad_flag("beta", f"--beta must be >= 0, not {self.beta}")
        self.rewards()  # weights finite, grounding share in [0, 1]
        if not any((self.format_weight, self.accuracy_weight, self.consistency_weight)):
            bad_flag("accuracy_weight", "every reward weight is 0: nothing to learn from")

    def rewards(self) -> RewardConfig:
        return RewardConfig(
            format_weight=self.format_weight,
            accuracy_weight=self.accuracy_weight,
            consistency_weight=self.consistency_weight,
            grounding_share=self.grounding_share,
            strict_consistency=self.strict_consistency,
        )


def reward_functions(cfg: TrainConfig) -> tuple[list[Any], list[float]]:
    """The three reward functions and their weights (TRL's ``reward_weights``). A function
    with weight 0 is still called, so its curve is logged beside the others (a run without the
    consistency reward still shows how consistent its rollouts are)."""
    rc = cfg.rewards()
    funcs = [make_format_reward(rc), make_accuracy_reward(rc), make_consistency_reward(rc)]
    weights = [rc.format_weight, rc.accuracy_weight, rc.consistency_weight]
    return funcs, [float(w) for w in weights]


def grpo_args(cfg: TrainConfig, output_dir: str, weights: list[float]) -> Any:
    """TRL's ``GRPOConfig``: one generation batch per optimizer step holding
    ``pairs_per_step`` whole pairs (both orders, ``generations`` rollouts each), in dataset
    order (``shuffle_dataset=False``), so each reward call sees both orders of its pairs."""
    from trl import GRPOConfig

    from alignlab.judge._train_common import use_cpu

    rows_per_step = 2 * cfg.pairs_per_step * cfg.generations
    return GRPOConfig(
        output_dir=output_dir,
        per_device_train_batch_size=rows_per_step,
        gradient_accumulation_steps=1,
        steps_per_generation=1,
        num_generations=cfg.generations,
        shuffle_dataset=False,
        max_completion_length=cfg.max_completion,
        temperature=cfg.temperature,
        learning_rate=cfg.lr,
        lr_scheduler_type="constant_with_warmup",
        warmup_steps=max(1, cfg.steps // 20),
        beta=cfg.beta,
        reward_weights=weights,
        max_steps=cfg.steps,
        logging_steps=1,
        save_steps=cfg.save_every,
        save_total_limit=1,
        report_to=[],
        seed=cfg.seed,
        use_cpu=use_cpu(),
        bf16=not use_cpu(),
    )


def _report(run: Run, cfg: TrainConfig, n_pairs: int, history: list[dict[str, Any]]) -> None:
    from alignlab.judge._train_common import plot_curves, window_means

    names, weights = reward_functions(cfg)
    r = run.report
    r.heading("What was run")
    r.text(
        f"GRPO on {cfg.model}: {cfg.steps} steps, each on {cfg.pairs_per_step} pair(s) from "
        f"{cfg.pairs} ({n_pairs} pairs, cycled in order) judged in both orders with "
        f"{cfg.generations} rollouts per order, up to {cfg.max_completion} tokens, "
        f"temperature {cfg.temperature:g}, lr {cfg.lr:g}, KL beta {cfg.beta:g}, "
        + (f"LoRA rank {cfg.lora_rank}. " if cfg.lora_rank else "every weight trained. ")
        + "Reward = "
        + " + ".join(f"{w:g} × {fn.__name__}" for fn, w in zip(names, weights, strict=True))
        + (" (J1 strict consistency)." if cfg.strict_consistency else ".")
    )
    r.heading("Reward curves")
    r.table(["metric", "logged", "first tenth", "last tenth"], window_means(history, CURVES))
    plot_curves(run, history, CURVES[:4], "reward_curves.png", "GRPO rewards per function")
    plot_curves(run, history, CURVES[4:], "rollout_curves.png", "rollouts: length, clipping, KL")


def _rows(cfg: TrainConfig, pairs: list[Any]) -> list[dict[str, Any]]:
    from alignlab.judge._train_rows import training_rows

    return training_rows(pairs, prompt=cfg.prompt, system=not cfg.no_system)


def _trainer(cfg: TrainConfig, model: Any, proc: Any, data: Any, run: Run) -> Any:
    from trl import GRPOTrainer

    from alignlab.judge._train_common import log_callback, peft_config

    funcs, weights = reward_functions(cfg)
    return GRPOTrainer(
        model=model,
        processing_class=proc,
        reward_funcs=funcs,
        args=grpo_args(cfg, str(run.checkpoint_dir), weights),
        train_dataset=data,
        peft_config=peft_config(cfg.lora_rank, cfg.lora_alpha, cfg.rslora),
        callbacks=[log_callback(run)],
    )


def run_train(cfg: TrainConfig) -> Path:
    """Train (module doc); returns the run folder."""
    from alignlab.judge._train_common import train_in_run

    def weights(cfg: TrainConfig) -> dict[str, Any]:
        funcs, ws = reward_functions(cfg)
        return {"reward_weights": {f.__name__: w for f, w in zip(funcs, ws, strict=True)}}

    return train_in_run(cfg, "train", _rows, _trainer, _report, weights)
