"""A training loop killed with SIGKILL resumes from its newest checkpoint: at most one
checkpoint interval of work is redone, metrics have no duplicates, and the final state equals
an uninterrupted run's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

from alignlab.core import latest_checkpoint, list_checkpoints, read_metrics_log

STEPS, EVERY = 200, 5

# The loop: x <- x + normal(key_t); a typed key carried in the checkpointed state.
LOOP = textwrap.dedent(
    """
    import sys, time
    import jax, jax.numpy as jnp
    from alignlab.core import Run, latest_checkpoint, load_checkpoint, save_checkpoint

    root, steps, every, delay = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    resume = sys.argv[5] if len(sys.argv) > 5 else None
    cfg = {"steps": steps, "every": every}
    run = Run.resume(resume, cfg) if resume else Run("core", "demo", cfg, root, resumable=True)
    with run:
        print(run.dir, flush=True)
        state = {"x": jnp.zeros(3), "key": jax.random.key(0), "step": 0}
        last = latest_checkpoint(run.checkpoint_dir)
        if last is not None:
            state = load_checkpoint(last, like=state, meta=cfg).tree
        run.truncate_metrics(state["step"])
        for step in range(state["step"] + 1, steps + 1):
            key, sub = jax.random.split(state["key"])
            state = {"x": state["x"] + jax.random.normal(sub, (3,)), "key": key, "step": step}
            run.log_metrics(step, {"x0": float(state["x"][0])})
            if step % every == 0:
                save_checkpoint(run.checkpoint_dir, step, state, cfg)
            time.sleep(delay)
        run.write_json("final.json", {"x": state["x"].tolist()})
    """
)


def _reference() -> list[float]:
    import jax
    import jax.numpy as jnp

    x, key = jnp.zeros(3), jax.random.key(0)
    for _ in range(STEPS):
        key, sub = jax.random.split(key)
        x = x + jax.random.normal(sub, (3,))
    return [float(v) for v in x]


def test_sigkill_mid_loop_then_resume(tmp_path: Path) -> None:
    script = tmp_path / "loop.py"
    script.write_text(LOOP)
    args = [sys.executable, str(script), str(tmp_path / "runs"), str(STEPS), str(EVERY)]
    child = subprocess.Popen([*args, "0.03"], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    run_dir = Path(child.stdout.readline().strip())
    deadline = time.monotonic() + 60
    while len(list_checkpoints(run_dir / "checkpoints")) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.07)  # land somewhere between two checkpoints
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL

    logged = [r["step"] for r in read_metrics_log(run_dir)]
    last = latest_checkpoint(run_dir / "checkpoints")
    assert last is not None and logged, "the child was killed before doing any work"
    saved = int(last.stem.split("_")[1])
    assert 0 <= max(logged) - saved <= EVERY  # at most one interval is lost
    assert max(logged) < STEPS  # it really was killed mid-way
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running"

    done = subprocess.run([*args, "0", str(run_dir)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [r["step"] for r in read_metrics_log(run_dir)] == list(range(1, STEPS + 1))
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "done" and meta["resumes"] == 1
    final = json.loads((run_dir / "final.json").read_text())["x"]
    np.testing.assert_allclose(final, _reference(), rtol=1e-6)
    assert not [p for p in (run_dir / "checkpoints").iterdir() if p.name.startswith(".")]
