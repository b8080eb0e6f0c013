"""The one LoRA training loop: seeded shuffled batches, AdamW, a warmup + decay learning-rate
schedule, and atomic checkpoints (adapter + optimizer + LR schedule + RNG state) that a killed
run resumes from without losing more than ``checkpoint_every`` steps.

Used by the monitors' LoRA guard (MOOD) and by the LoRA SFT trainer that finetunes models on
narrow chat datasets (weird generalisation, arXiv 2512.09742). Model-agnostic: the caller gives
a PEFT model and a ``batch_loss(rows) -> loss`` function; the loop owns the order of rows, the
optimizer and the checkpoints. A resumed run follows the same LR curve, sees the same batches
and the same dropout masks, and so ends with the same weights as an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from alignlab.core import (
    AlignlabError,
    atomic_folder,
    atomic_write_json,
    read_json,
    sha256_text,
    track,
)

StepCallback = Callable[[int, float], None]
"""Called after every optimizer step with ``(steps_done, loss)``; raising stops the run (the
checkpoint of that step, if one was due, is already written)."""

SCHEDULES = ("linear", "cosine", "constant")


@dataclass(frozen=True)
class TrainSchedule:
    """Which rows each optimizer step trains on and at which learning rate.

    Args:
        n: training rows; batch_size: rows per optimizer step (the last batch of an epoch may
            be smaller); epochs: passes over the rows, each a fresh seeded shuffle.
        lr: peak learning rate (AdamW).
        seed: shuffle seed.
        schedule: after warmup, ``"linear"`` decay to 0, half-``"cosine"`` decay to 0, or
            ``"constant"``.
        warmup_ratio: warmup steps as a fraction of all steps (rounded up), used unless
            ``warmup_steps`` is given. During warmup the LR rises linearly from 0.

    The curve is the one ``transformers.get_scheduler`` draws (0-based step ``s``, ``W`` warmup
    steps, ``T`` steps in all): ``s / W`` during warmup, then ``(T - s) / (T - W)`` (linear) or
    ``0.5 (1 + cos(pi (s - W) / (T - W)))`` (cosine), times ``lr``.
    """

    n: int
    batch_size: int
    epochs: int
    lr: float
    seed: int = 0
    schedule: str = "constant"
    warmup_ratio: float = 0.0
    warmup_steps: int | None = None

    def __post_init__(self) -> None:
        for name in ("n", "batch_size", "epochs"):
            if getattr(self, name) < 1:
                raise AlignlabError(f"{name} must be >= 1, got {getattr(self, name)}", field=name)
        if not self.lr > 0:
            raise AlignlabError(f"lr must be > 0, got {self.lr}", field="lr")
        if self.schedule not in SCHEDULES:
            raise AlignlabError(f"unknown schedule '{self.schedule}'; use "
                                f"{', '.join(SCHEDULES)}", field="schedule")
        if not 0 <= self.warmup_ratio <= 1:
            raise AlignlabError(f"warmup_ratio must be in [0, 1], got {self.warmup_ratio}",
                                field="warmup_ratio")
        if self.warmup_steps is not None and self.warmup_steps < 0:
            raise AlignlabError(f"warmup_steps must be >= 0, got {self.warmup_steps}",
                                field="warmup_steps")

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.n / self.batch_size)

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.epochs

    @property
    def n_warmup(self) -> int:
        if self.warmup_steps is not None:
            return min(self.warmup_steps, self.total_steps)
        return math.ceil(self.warmup_ratio * self.total_steps)

    def rows(self, step: int) -> np.ndarray:
        """``[<= batch_size] int64`` row indices of optimizer step ``step`` (0-based); each epoch
        is a seeded shuffle, recomputable from the step alone, so resuming needs no sampler
        state."""
        epoch, k = divmod(step, self.steps_per_epoch)
        order = np.random.default_rng([self.seed, epoch]).permutation(self.n)
        return order[k * self.batch_size : (k + 1) * self.batch_size]

    def lr_factor(self, step: int) -> float:
        """Multiplier of ``lr`` at 0-based optimizer step ``step`` (see the class docstring)."""
        warm, total = self.n_warmup, self.total_steps
        if step < warm:
            return step / max(1, warm)
        if self.schedule == "constant":
            return 1.0
        frac = (step - warm) / max(1, total - warm)
        if self.schedule == "linear":
            return max(0.0, 1.0 - frac)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * frac)))

    def lr_at(self, step: int) -> float:
        """The learning rate of 0-based optimizer step ``step``."""
        return self.lr * self.lr_factor(step)


@dataclass(frozen=True)
class StepInfo:
    """One finished optimizer step: ``step`` (steps done, 1-based), ``epoch`` (fractional epochs
    done), mean ``loss`` of the batch, the ``lr`` it was taken with, and its ``rows``."""

    step: int
    epoch: float
    loss: float
    lr: float
    rows: np.ndarray


@dataclass(frozen=True)
class TrainResult:
    """``n_steps`` of the whole run, the step this call ``resumed_from`` (0 when fresh) and the
    ``losses`` of the steps this call took."""

    n_steps: int
    resumed_from: int
    losses: list[float]


def train_lora_loop(model: Any, schedule: TrainSchedule,
                    batch_loss: Callable[[np.ndarray], torch.Tensor], *,
                    checkpoint_dir: str | Path | None = None, checkpoint_every: int = 50,
                    fingerprint: str = "", callback: StepCallback | None = None,
                    on_start: Callable[[int], None] | None = None,
                    on_step: Callable[[StepInfo], None] | None = None,
                    desc: str = "LoRA train") -> TrainResult:
    """Train the parameters of ``model`` (a PEFT model) that require grad; leaves it in eval mode.

    ``batch_loss(rows)`` returns the scalar loss of the rows ``[b] int64``. With
    ``checkpoint_dir``, resumes from the newest checkpoint there (it must carry the same
    ``fingerprint`` and schedule, else :class:`AlignlabError`) and writes one every
    ``checkpoint_every`` steps and at the end, keeping only the newest. ``on_start(step)`` runs
    once before training with the step resumed from; per step, ``on_step`` (e.g. a metrics log)
    runs before the checkpoint is written and ``callback`` after it, so a kill never leaves a
    checkpoint ahead of the log.
    """
    if checkpoint_every < 1:
        raise AlignlabError(f"checkpoint_every must be >= 1, got {checkpoint_every}",
                            field="checkpoint_every")
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=schedule.lr)
    # a plain function, so the scheduler's state_dict holds numbers only (no pickled objects)
    lr_sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: schedule.lr_factor(s))
    total = schedule.total_steps
    # The schedule is part of what a checkpoint must match: resuming under another LR curve
    # would silently give weights that neither run describes.
    stamp = sha256_text(json.dumps([fingerprint, asdict(schedule)], sort_keys=True))
    ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
    start = _restore(ckpt, model, opt, lr_sched, stamp) if ckpt is not None else 0
    if on_start is not None:
        on_start(start)
    losses: list[float] = []
    model.train()
    try:
        for step in track(range(start, total), total=total - start, desc=desc):
            rows = schedule.rows(step)
            lr = float(opt.param_groups[0]["lr"])
            loss = batch_loss(rows)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            lr_sched.step()
            losses.append(float(loss.detach()))
            done = step + 1
            if on_step is not None:
                on_step(StepInfo(done, round(done / schedule.steps_per_epoch, 6), losses[-1],
                                 lr, rows))
            if ckpt is not None and (done % checkpoint_every == 0 or done == total):
                _save(ckpt, done, model, opt, lr_sched, stamp)
            if callback is not None:
                callback(done, losses[-1])
    finally:
        model.eval()
    return TrainResult(total, start, losses)


def _save(root: Path, step: int, model: Any, opt: Any, lr_sched: Any, fingerprint: str) -> None:
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    final = root / f"step-{step:08d}"
    with atomic_folder(final) as tmp:
        state = {k: v.detach().cpu().contiguous() for k, v in
                 get_peft_model_state_dict(model).items()}
        save_file(state, str(tmp / "adapter.safetensors"))
        rng = {"cpu": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state()
        torch.save({"optimizer": opt.state_dict(), "lr_schedule": lr_sched.state_dict(),
                    "rng": rng}, tmp / "trainer.pt")
        atomic_write_json(tmp / "state.json", {"step": step, "fingerprint": fingerprint})
    for old in root.glob("step-*"):  # only after the new one is in place
        if old != final:
            shutil.rmtree(old, ignore_errors=True)


def _restore(root: Path, model: Any, opt: Any, lr_sched: Any, fingerprint: str) -> int:
    """Load the newest checkpoint under ``root`` into model, optimizer, LR schedule and the
    torch RNG; returns its step (0 when there is none)."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    for stale in root.glob(".step-*"):  # temp folders of a killed save
        shutil.rmtree(stale, ignore_errors=True)
    found = sorted(root.glob("step-*"))
    if not found:
        return 0
    latest = found[-1]
    state = read_json(latest / "state.json")
    if state.get("fingerprint") != fingerprint:
        raise AlignlabError("checkpoint was written for other data or settings; delete it or "
                            "train into another folder", file=latest / "state.json",
                            field="fingerprint")
    device = next(model.parameters()).device
    set_peft_model_state_dict(model, load_file(str(latest / "adapter.safetensors"),
                                               device=str(device)))
    trainer = torch.load(latest / "trainer.pt", map_location="cpu", weights_only=True)
    opt.load_state_dict(trainer["optimizer"])
    lr_sched.load_state_dict(trainer["lr_schedule"])
    torch.set_rng_state(trainer["rng"]["cpu"])
    if "cuda" in trainer["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state(trainer["rng"]["cuda"])
    return int(state["step"])
