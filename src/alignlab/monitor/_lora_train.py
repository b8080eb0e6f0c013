"""The training loop shared by the LoRA monitors: seeded shuffled batches, AdamW, and atomic
checkpoints (adapter + optimizer + RNG state, temp folder + rename) that a killed fit resumes
from without losing more than ``checkpoint_every`` steps.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from alignlab.core import AlignlabError, atomic_write_json, read_json, sha256_text, track

StepCallback = Callable[[int, float], None]
"""Called after every optimizer step with ``(steps_done, loss)``; raising stops the fit."""


@dataclass(frozen=True)
class _Schedule:
    n: int
    batch_size: int
    epochs: int
    lr: float
    seed: int

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.n / self.batch_size)

    def rows(self, step: int) -> np.ndarray:
        """Row indices of optimizer step ``step`` (0-based); each epoch is a seeded shuffle,
        recomputable from the step alone, so resuming needs no sampler state."""
        epoch, k = divmod(step, self.steps_per_epoch)
        order = np.random.default_rng([self.seed, epoch]).permutation(self.n)
        return order[k * self.batch_size : (k + 1) * self.batch_size]


def _train(model: Any, sched: _Schedule, batch_loss: Callable[[np.ndarray], torch.Tensor], *,
           checkpoint_dir: str | Path | None, checkpoint_every: int, fingerprint: str,
           callback: StepCallback | None, desc: str) -> tuple[int, int, list[float]]:
    """Run the remaining steps; returns ``(total steps, step resumed from, losses of this run)``."""
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=sched.lr)
    total = sched.steps_per_epoch * sched.epochs
    ckpt = Path(checkpoint_dir) if checkpoint_dir is not None else None
    start = _restore_checkpoint(ckpt, model, opt, fingerprint) if ckpt is not None else 0
    losses: list[float] = []
    model.train()
    try:
        for step in track(range(start, total), total=total - start, desc=desc):
            loss = batch_loss(sched.rows(step))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            done = step + 1
            if ckpt is not None and (done % checkpoint_every == 0 or done == total):
                _save_checkpoint(ckpt, done, model, opt, fingerprint)
            if callback is not None:
                callback(done, losses[-1])
    finally:
        model.eval()
    return total, start, losses


@contextmanager
def _atomic_dir(path: Path) -> Iterator[Path]:
    """Yield a temp folder beside ``path``; on success it replaces ``path`` by renames."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        yield tmp
        old = None
        if path.exists():  # a folder cannot be renamed onto a non-empty one: move it aside
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _save_checkpoint(root: Path, step: int, model: Any, opt: Any, fingerprint: str) -> None:
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    final = root / f"step-{step:08d}"
    with _atomic_dir(final) as tmp:
        state = {k: v.detach().cpu().contiguous() for k, v in
                 get_peft_model_state_dict(model).items()}
        save_file(state, str(tmp / "adapter.safetensors"))
        rng = {"cpu": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state()
        torch.save({"optimizer": opt.state_dict(), "rng": rng}, tmp / "trainer.pt")
        atomic_write_json(tmp / "state.json", {"step": step, "fingerprint": fingerprint})
    for old in root.glob("step-*"):  # only after the new one is in place
        if old != final:
            shutil.rmtree(old, ignore_errors=True)


def _restore_checkpoint(root: Path, model: Any, opt: Any, fingerprint: str) -> int:
    """Load the newest checkpoint under ``root`` into ``model``/``opt``; returns its step."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    for stale in root.glob(".step-*"):  # half-written by a killed save
        shutil.rmtree(stale, ignore_errors=True)
    found = sorted(root.glob("step-*"))
    if not found:
        return 0
    latest = found[-1]
    state = read_json(latest / "state.json")
    if state.get("fingerprint") != fingerprint:
        raise AlignlabError("checkpoint was written for other data or settings; delete it or "
                            "pass another checkpoint_dir", file=latest / "state.json",
                            field="fingerprint")
    device = next(model.parameters()).device
    set_peft_model_state_dict(model, load_file(str(latest / "adapter.safetensors"),
                                               device=str(device)))
    trainer = torch.load(latest / "trainer.pt", map_location="cpu", weights_only=True)
    opt.load_state_dict(trainer["optimizer"])
    torch.set_rng_state(trainer["rng"]["cpu"])
    if "cuda" in trainer["rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state(trainer["rng"]["cuda"])
    return int(state["step"])


def _fingerprint(texts: Sequence[str], y: Sequence[int] | np.ndarray | None,
                 params: dict[str, Any]) -> str:
    payload = json.dumps({"texts": list(texts), "y": None if y is None else [int(v) for v in y],
                          "params": params}, sort_keys=True, default=str)
    return sha256_text(payload)


def _length_batches(texts: Sequence[str], batch_size: int) -> list[np.ndarray]:
    # Similar lengths share a batch, so little compute goes to padding.
    order = np.argsort([len(t) for t in texts], kind="stable")
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
