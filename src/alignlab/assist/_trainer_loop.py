"""What the trainers' runs share (``assist train``, ``train-ppo``, ``train-sft``): opening a
new resumable run folder or reopening the one ``--resume`` names, and — for the two that
train in iterations (``train``, ``train-ppo``) — the loop that logs a ``metrics.jsonl`` row
per iteration and checkpoints the whole training state every ``--checkpoint-every``
iterations, with the row's shared figures (``iteration_row``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import numpy as np

from alignlab.assist._model_files import CHECKPOINT_DIR
from alignlab.core import Run, track


class TrainingLoop(Protocol):
    """A trainer's state between iterations (``_train._Loop``, ``_ppo_cmd._Loop``)."""

    env_steps: int  # env steps played so far (the metrics' step)

    def iteration(self) -> dict[str, Any]:
        """Play and learn for one iteration; its ``metrics.jsonl`` row."""
        ...

    def tree(self, iteration: int) -> dict[str, Any]:
        """The whole training state after ``iteration`` iterations, as checkpointed."""
        ...


def open_run(verb: str, cfg: Any, resumable_changes: Iterable[str], *, extend: bool) -> Run:
    """A new resumable ``assist <verb>`` run under ``cfg.out``, or the run ``cfg.resume``
    names reopened, where ``cfg`` may differ from its config only at ``resumable_changes``
    (``extend``: a finished run may be trained further)."""
    if cfg.resume:
        return Run.resume(cfg.resume, cfg, allowed=resumable_changes, extend=extend)
    return Run("assist", verb, cfg, root=cfg.out, resumable=True)


def run_iterations(
    run: Run, loop: TrainingLoop, start: int, cfg: Any, meta: dict[str, Any], desc: str
) -> None:
    """Iterations ``start`` to ``cfg.iterations`` of ``loop``: a ``metrics.jsonl`` row after
    each, the training state (with ``meta``) checkpointed after every
    ``cfg.checkpoint_every``-th and after the last."""
    from alignlab.core import save_checkpoint

    iters = range(start, cfg.iterations)
    for it in track(iters, total=len(iters), desc=desc):
        row = loop.iteration()  # advances loop.env_steps
        run.log_metrics(loop.env_steps, row)
        if (it + 1) % cfg.checkpoint_every == 0 or it + 1 == cfg.iterations:
            save_checkpoint(run.dir / CHECKPOINT_DIR, it + 1, loop.tree(it + 1), meta)


def iteration_row(parts: Sequence[dict[str, Any]], eps: Any, steps_per_s: float) -> dict[str, Any]:
    """One ``metrics.jsonl`` line: the mean of each of ``parts``' (the updates') losses, the
    finished episodes' figures (``eps``: ``_selfplay.Episodes``) and ``env_steps_per_s``."""
    row: dict[str, Any] = {k: float(np.mean([float(p[k]) for p in parts])) for k in parts[0]}
    done = np.asarray(eps.done)
    row["episodes"] = int(done.sum())
    if done.any():
        for name in ("goal_percentage", "length", "human_actions", "assistant_actions"):
            row[f"episode/{name}"] = float(np.asarray(getattr(eps, name))[done].mean())
    row["env_steps_per_s"] = steps_per_s
    return row
