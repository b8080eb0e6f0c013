"""What ``judge sft`` and ``judge train`` share: the model to start from, LoRA, the trainer's
log into the run's ``metrics.jsonl``, checkpoints for ``--resume``, the final model folder and
the curves in the report."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from alignlab.core import Run, bad_flag, check_at_least, check_seed, resumed_config
from alignlab.core.report import Cell

MODEL_DIR = "model"  # the trained model in a run folder, loadable as hf-vlm:RUN/model


def check_model_spec(spec: str) -> None:
    """``tiny-vlm``, ``tiny-vlm:SEED``, ``hf-vlm:ID_OR_PATH`` or a model folder (an
    ``init-model`` output, or ``RUN/model`` of ``judge sft`` / ``judge train``)."""
    kind, _, rest = spec.partition(":")
    if kind == "tiny-vlm" and (not rest or rest.isdigit()):
        return
    if kind == "hf-vlm" and rest:
        return
    if Path(spec).is_dir():
        if not (Path(spec) / "config.json").is_file():
            bad_flag("model", f"--model {spec}: no config.json there (not a model folder)")
        return
    bad_flag(
        "model",
        f"unknown --model '{spec}': use tiny-vlm[:SEED], hf-vlm:<hub id or path>, or a model "
        "folder (judge init-model, or RUN/model of judge sft / judge train)",
    )


def load_vlm(spec: str) -> tuple[Any, Any]:
    """``(model, processor)`` for a spec :func:`check_model_spec` accepts, in train mode."""
    kind, _, rest = spec.partition(":")
    if kind == "tiny-vlm":
        from alignlab.models import tiny_qwen2_5_vl

        model, proc = tiny_qwen2_5_vl(int(rest or 0))
    else:
        from alignlab.models import load_hf_vlm

        chat = load_hf_vlm(rest if kind == "hf-vlm" else spec)
        model, proc = chat.model, chat.processor
    return model.train(), proc


def check_trainer_flags(cfg: Any) -> None:
    """The flags ``judge sft`` and ``judge train`` share: model, steps, lr, LoRA, limit,
    checkpoints, seed, resume.

    Raises:
        AlignlabError: naming the field.
    """
    check_model_spec(cfg.model)
    check_at_least(cfg.steps, 1, "steps", "optimizer steps")
    if not (math.isfinite(cfg.lr) and cfg.lr > 0):
        bad_flag("lr", f"--lr must be > 0, not {cfg.lr}")
    check_at_least(cfg.lora_rank, 0, "lora_rank", "LoRA rank; 0 trains every weight")
    if not (math.isfinite(cfg.lora_alpha) and cfg.lora_alpha > 0):
        bad_flag("lora_alpha", f"--lora-alpha must be > 0, not {cfg.lora_alpha}")
    check_at_least(cfg.limit, 0, "limit", "pairs; 0 = all")
    check_at_least(cfg.save_every, 1, "save_every", "steps")
    check_seed(cfg.seed)
    if cfg.resume and not Path(cfg.resume).is_dir():
        bad_flag("resume", f"--resume {cfg.resume}: run folder not found")


def peft_config(rank: int, alpha: float, rslora: bool) -> Any:
    """A PEFT ``LoraConfig`` on the language model's attention and MLP projections (the
    vision tower stays frozen), or None for ``rank == 0`` (every weight trains)."""
    if rank == 0:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=rank,
        lora_alpha=alpha,  # type: ignore[arg-type]  # PEFT annotates int, takes any number
        use_rslora=rslora,
        lora_dropout=0.0,
        # language-model layers only: Qwen-VL vision blocks name theirs qkv / proj / fc*
        target_modules=r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)",
        task_type="CAUSAL_LM",
    )


def log_callback(run: Run) -> Any:
    """A ``TrainerCallback`` appending each of the trainer's logs (numbers only) to the run's
    ``metrics.jsonl`` at its global step."""
    from transformers import TrainerCallback

    class _ToRun(TrainerCallback):  # type: ignore[misc]
        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            values = {k: float(v) for k, v in (logs or {}).items()
                      if isinstance(v, int | float) and math.isfinite(float(v))}  # fmt: skip
            if values:
                run.log_metrics(int(state.global_step), values)

    return _ToRun()


def last_checkpoint(run: Run) -> str | None:
    """The newest complete ``checkpoint-N`` of the run (None: start afresh); the metrics
    logged after it are dropped, as the resumed trainer logs them again."""
    from transformers.trainer_utils import get_last_checkpoint

    folder = run.checkpoint_dir
    found = get_last_checkpoint(str(folder)) if folder.is_dir() else None
    step = int(Path(found).name.rsplit("-", 1)[1]) if found else None
    run.truncate_metrics(step)
    return found


def save_model(trainer: Any, processor: Any, run: Run) -> Path:
    """The trained model (LoRA merged in) and its processor in ``RUN/model``, written as one
    folder (a kill mid-save leaves the previous folder, or none, never half a model)."""
    from alignlab.core import atomic_folder

    model = trainer.model
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    out = run.dir / MODEL_DIR
    with atomic_folder(out) as tmp:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
    return out


def plot_curves(
    run: Run, history: Sequence[dict[str, Any]], keys: Sequence[str], name: str, title: str
) -> bool:
    """One panel per metric of ``keys`` present in ``history`` (the trainer's log), against the
    step, with a running mean over a tenth of the points; returns whether a plot was written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    present = [k for k in keys if any(k in h for h in history)]
    if not present:
        return False
    fig, axes = plt.subplots(1, len(present), figsize=(3.6 * len(present), 3.2), squeeze=False)
    for ax, key in zip(axes[0], present, strict=True):
        pts = [(h["step"], h[key]) for h in history if key in h and "step" in h]
        x, y = np.array(pts, dtype=float).T
        ax.plot(x, y, ".", alpha=0.35, ms=3)
        w = max(1, len(y) // 10)
        if len(y) >= 2 * w > 1:
            ax.plot(x[w - 1 :], np.convolve(y, np.ones(w) / w, mode="valid"), "-")
        ax.set(title=key.replace("rewards/", "").replace("/mean", ""), xlabel="step")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(run.plot_path(name), dpi=100)
    plt.close(fig)
    run.report.image(f"plots/{name}", title)
    return True


def window_means(history: Sequence[dict[str, Any]], keys: Sequence[str]) -> list[list[Cell]]:
    """Per key: the mean over the first and the last tenth of its logged values."""
    rows: list[list[Cell]] = []
    for key in keys:
        ys = [float(h[key]) for h in history if key in h]
        if not ys:
            continue
        w = max(1, len(ys) // 10)
        rows.append([key, len(ys), round(sum(ys[:w]) / w, 4), round(sum(ys[-w:]) / w, 4)])
    return rows


def train_in_run(
    cfg: Any,
    verb: str,
    rows_for: Callable[[Any, list[Any]], list[dict[str, Any]]],
    build: Callable[[Any, Any, Any, Any, Run], Any],
    report: Callable[[Run, Any, int, list[dict[str, Any]]], None],
    extra_metrics: Callable[[Any], dict[str, Any]] = lambda cfg: {},
) -> Path:
    """The body of ``judge sft`` / ``judge train``: the config (``--resume``: the run's own
    with the flags given laid over it), the pairs and their rows (``rows_for(cfg, pairs)``),
    the resumable run, the trainer (``build(cfg, model, processor, dataset, run)``), training from
    the newest checkpoint, ``RUN/model``, ``metrics.json`` and the report
    (``report(run, cfg, n_pairs, history)``); ``extra_metrics(cfg)`` joins ``metrics.json``.
    Returns the run folder."""
    from datasets import Dataset

    from alignlab.core import read_metrics_log
    from alignlab.judge._loaders import load_pairs

    if cfg.resume:
        cfg = resumed_config(cfg, cfg.resume)
    pairs = load_pairs(cfg.pairs)
    pairs = pairs[: cfg.limit] if cfg.limit else pairs
    rows = rows_for(cfg, pairs)
    run = (
        Run.resume(cfg.resume, cfg, allowed=("resume", "out"))
        if cfg.resume
        else Run("judge", verb, cfg, root=cfg.out, resumable=True)
    )
    with run:
        model, proc = load_vlm(cfg.model)
        trainer = build(cfg, model, proc, Dataset.from_list(rows), run)
        trainer.train(resume_from_checkpoint=last_checkpoint(run))
        save_model(trainer, proc, run)
        history = read_metrics_log(run.dir / "metrics.jsonl")
        sizes = {"steps": cfg.steps, "pairs": len(pairs), "rows": len(rows)}
        final = history[-1] if history else {}
        run.write_metrics({**sizes, **extra_metrics(cfg), "final": final})
        report(run, cfg, len(pairs), history)
    return run.final_dir


def use_cpu() -> bool:
    """Whether to train on the CPU (no CUDA device visible)."""
    import torch

    return not torch.cuda.is_available()
