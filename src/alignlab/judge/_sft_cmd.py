"""``alignlab judge sft``: supervised warm start of a vision-language judge on gold answers.

MJ1 warm-starts RL from a model that already writes the chain; on the synthetic benchmark
every pair's gold chain is known, so ``--target chain`` teaches it. ``--target verdict``
teaches the verdict tag alone (the verdict-only judge the chain is compared against);
``--target observations`` the chain's observations alone, a perception stage for a model built
from scratch (every target token is read off the images). Both orders of every pair are
trained. TRL's ``SFTTrainer``, loss on the assistant's tokens only,
LoRA via PEFT or every weight (``--lora-rank 0``, for models built from scratch)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignlab.core import Run, bad_flag, check_at_least, config_field
from alignlab.judge._train_common import check_trainer_flags
from alignlab.judge._train_rows import PROMPTS, TARGETS

CURVES = ("loss", "mean_token_accuracy", "grad_norm", "learning_rate")


@dataclass(frozen=True)
class SFTConfig:
    pairs: str = config_field(
        "data/judge/synth-bench", "training pairs (a make-bench folder for --target chain)"
    )
    model: str = config_field(
        "tiny-vlm",
        "start from: tiny-vlm[:SEED] (random, built in code), hf-vlm:<hub id or path>, or a "
        "model folder (judge init-model, or RUN/model of a judge sft / judge train run)",
    )
    target: str = config_field(
        "chain",
        "what the judge learns to write: chain (the gold chain), verdict (the verdict tag "
        "alone), observations (the chain's observations alone: a perception stage)",
    )
    prompt: str = config_field(
        "auto", "prompt: chain, baseline, or auto (baseline for --target verdict, else chain)"
    )
    no_system: bool = config_field(
        False, "leave out the instructions (the system message): for models trained from scratch"
    )
    steps: int = config_field(200, "optimizer steps")
    batch_pairs: int = config_field(4, "pairs per step (each in both orders)")
    lr: float = config_field(1e-4, "peak learning rate (linear warm-up 5%, then linear decay)")
    lora_rank: int = config_field(16, "LoRA rank on the language model; 0 trains every weight")
    lora_alpha: float = config_field(32.0, "LoRA alpha")
    rslora: bool = config_field(False, "rank-stabilised LoRA scaling (alpha / sqrt(rank))")
    limit: int = config_field(0, "use only the first N pairs (0: all)")
    save_every: int = config_field(100, "checkpoint every N steps (for --resume)")
    seed: int = config_field(0, "seed (data order, initialisation of LoRA)")
    out: str = config_field("runs", "folder that holds run folders")
    resume: str = config_field("", "a run folder of this command to continue from its last "
                               "checkpoint")  # fmt: skip

    def __post_init__(self) -> None:
        """Reject bad flag values before any work.

        Raises:
            AlignlabError: naming the field.
        """
        check_trainer_flags(self)
        if self.target not in TARGETS:
            bad_flag("target", f"unknown --target '{self.target}'; use {', '.join(TARGETS)}")
        if self.prompt != "auto" and self.prompt not in PROMPTS:
            bad_flag("prompt", f"unknown --prompt '{self.prompt}'; use auto, {', '.join(PROMPTS)}")
        check_at_least(self.batch_pairs, 1, "batch_pairs", "pairs per step")

    @property
    def prompt_kind(self) -> str:
        if self.prompt != "auto":
            return self.prompt
        return "baseline" if self.target == "verdict" else "chain"


def _report(run: Run, cfg: SFTConfig, n_pairs: int, history: list[dict[str, Any]]) -> None:
    from alignlab.judge._train_common import plot_curves, window_means

    r = run.report
    r.heading("What was run")
    r.text(
        f"Supervised fine-tuning of {cfg.model} on {n_pairs} pairs from {cfg.pairs}, each in "
        f"both orders, to write the {cfg.target} target after the {cfg.prompt_kind} prompt"
        f"{' (no system message)' if cfg.no_system else ''}: {cfg.steps} steps of "
        f"{2 * cfg.batch_pairs} rows, lr {cfg.lr:g}, "
        + (f"LoRA rank {cfg.lora_rank}." if cfg.lora_rank else "every weight trained.")
        + f" Loss on the assistant's tokens only. Model: {run.dir.name}/model."
    )
    r.heading("Training curves")
    r.table(["metric", "logged", "first tenth", "last tenth"], window_means(history, CURVES))
    plot_curves(run, history, CURVES, "sft_curves.png", "SFT: loss and token accuracy")


def _rows(cfg: SFTConfig, pairs: list[Any]) -> list[dict[str, Any]]:
    from alignlab.judge._train_rows import training_rows

    return training_rows(
        pairs,
        prompt=cfg.prompt_kind,
        system=not cfg.no_system,
        target=cfg.target,  # type: ignore[arg-type]
    )


def _trainer(cfg: SFTConfig, model: Any, proc: Any, data: Any, run: Run) -> Any:
    from trl import SFTConfig as TRLSFTConfig
    from trl import SFTTrainer

    from alignlab.judge._train_common import log_callback, peft_config, use_cpu

    args = TRLSFTConfig(
        output_dir=str(run.checkpoint_dir),
        per_device_train_batch_size=2 * cfg.batch_pairs,
        max_steps=cfg.steps,
        learning_rate=cfg.lr,
        lr_scheduler_type="linear",
        warmup_steps=max(1, cfg.steps // 20),
        logging_steps=1,
        save_steps=cfg.save_every,
        save_total_limit=1,
        report_to=[],
        seed=cfg.seed,
        max_length=None,  # truncating would cut images' tokens apart
        completion_only_loss=True,
        use_cpu=use_cpu(),
    )
    return SFTTrainer(
        model=model,
        processing_class=proc,
        args=args,
        train_dataset=data,
        peft_config=peft_config(cfg.lora_rank, cfg.lora_alpha, cfg.rslora),
        callbacks=[log_callback(run)],
    )


def run_sft(cfg: SFTConfig) -> Path:
    """Train (module doc); returns the run folder, whose ``model/`` is the trained judge."""
    from alignlab.judge._train_common import train_in_run

    return train_in_run(cfg, "sft", _rows, _trainer, _report)
