"""Throughput of the JAX MBAG environment against the plain-Python reference, same process.

Prints JSON: joint steps/s (both players act; each step also computes the reward and both
players' factorised legality masks on the new state) of ``jit(vmap(step + masks))`` at batch
1, 64 and 1024 on the 11×10×10 paper grid, warm-up and compilation excluded
(``block_until_ready``), the reference implementation's steps/s with the same work, and the
ratios. ``scan_*`` figures run 64 steps per compiled call (``lax.scan``), without Python
dispatch per step; the plain figures make one jitted call per step and return the masks as
``LegalMasks`` (five arrays per player); ``packed_*`` figures return them as one array
(``_env.packed_masks``), the fast path for stepping one game per call, where dispatch per
output array dominates. ``dispatch_floor_*`` is a jitted identity on the state (its ten arrays
in and out, no work): the most any one-call-per-step loop could reach here.
``finite_*`` repeats batch 1024 with finite inventories and GIVE. These use the cheap mask
(``los="off"``); ``mbag_*`` times the paper's rules (``los="mbag"``, the default: the original's
reach and line of sight) at each batch size, with its own reference figure. Targets: ≥ 200,000
steps/s at batch 1024, ≥ 10,000 at batch 1, ≥ 100× reference (cheap mask); under the paper's
rules ≥ 8,630 at batch 1024 (10× the original MBAG's 863, line of sight on).

With ``--original-python PATH --original-src DIR`` the original MBAG (AssistanceZero's own
environment, commit 8560b5f, built apart under its Python 3.10 with its C extension) is timed in
the same run, as a subprocess running ``_mbag_original_timer.py`` (whose docstring says how to
build it): ``original_mbag_steps_per_s`` (its joint env step plus both players' line-of-sight
masks, random legal play in the paper's configuration), ``original_mbag_no_masks_steps_per_s``
(its step alone), ``original_mbag_uniform_flat_steps_per_s`` (play drawn uniformly from the legal
ids: mostly building, so a fuller world and slower masks) and ``mbag_ratio_vs_original_batch*``
(our ``mbag_*`` figures over the first, the faster of its two). The original steps one game per
call, so each ratio sets our batch against its single game.
Without them the JSON says ``"original_mbag": "not timed ..."``.

Run: ``.venv/bin/python benchmarks/bench_assist_env.py [--seconds 2]
[--original-python /tmp/mbag-venv/bin/python --original-src /tmp/mbag-src]``.
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from alignlab.assist import _reference as ref
from alignlab.assist._env import init, legal_masks, packed_masks, step
from alignlab.assist._layout import EnvConfig


def _goal(cfg: EnvConfig, rng: np.random.Generator) -> np.ndarray:
    goal = np.zeros(cfg.size, np.uint8)
    goal[:, 0] = 1
    goal[:, 1] = 2
    goal[1:, 1:, 1:] = np.where(rng.random((10, 9, 9)) < 0.3, rng.integers(2, 10, (10, 9, 9)), 0)
    return goal


def _actions(cfg: EnvConfig, rng: np.random.Generator, n: int, batch: int) -> np.ndarray:
    """``[n, batch, 2] int32``: a mix of moves, breaks and places near the players (so a share
    is legal) and uniform ids."""
    kinds = rng.integers(0, 4, (n, batch, 2))
    uniform = rng.integers(0, cfg.n_actions, (n, batch, 2))
    moves = rng.integers(1, 7, (n, batch, 2))
    v = rng.integers(0, cfg.n_voxels, (n, batch, 2))
    place = 7 + cfg.n_voxels + rng.integers(0, 8, (n, batch, 2)) * cfg.n_voxels + v
    brk = 7 + v
    return np.choose(kinds, [uniform, moves, brk, place]).astype(np.int32)


def _joint(cfg: EnvConfig, state, actions):  # type: ignore[no-untyped-def]
    nxt = step(cfg, state, actions)
    return nxt, (legal_masks(cfg, nxt, 0), legal_masks(cfg, nxt, 1), nxt.rewards)


def _joint_packed(cfg: EnvConfig, state, actions):  # type: ignore[no-untyped-def]
    nxt = step(cfg, state, actions)  # rewards are a leaf of the returned state
    return nxt, packed_masks(cfg, nxt)


def _identity(cfg: EnvConfig, state, actions):  # type: ignore[no-untyped-def]
    return state._replace(t=state.t + actions[..., 0]), state.rewards


def _states(cfg: EnvConfig, batch: int, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    keys = jax.random.split(jax.random.PRNGKey(0), batch)
    goals = jnp.asarray(np.stack([_goal(cfg, rng) for _ in range(batch)]))
    states = jax.vmap(functools.partial(init, cfg))(keys, goals)
    # init returns sim0 and best_sim as one buffer (equal values); a donating step needs each
    # field in a buffer of its own
    return jax.tree.map(lambda x: x.copy(), states)


def _rate(run, batch: int, n_steps: int, seconds: float) -> float:  # type: ignore[no-untyped-def]
    """Median joint steps/s over repeated ``n_steps``-step rollouts (the machine is shared,
    so the median is steadier than a mean); the first rollout (compilation) is dropped."""
    run()
    rates: list[float] = []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(rates) < 3:
        t0 = time.perf_counter()
        run()
        rates.append(n_steps * batch / (time.perf_counter() - t0))
    return float(np.median(rates))


def bench_jax(
    cfg: EnvConfig,
    batch: int,
    seconds: float,
    n_steps: int = 64,
    joint=_joint,  # type: ignore[no-untyped-def]
) -> float:
    """One ``jit(vmap(joint))`` call per step, the state buffers donated (as in a rollout
    loop); masks and rewards are outputs, so they are computed."""
    rng = np.random.default_rng(batch)
    acts = list(jnp.asarray(_actions(cfg, rng, n_steps, batch)))  # sliced before timing
    fn = jax.jit(jax.vmap(functools.partial(joint, cfg)), donate_argnums=0)
    box = [_states(cfg, batch, rng)]

    def run() -> None:
        s = box[0]
        for i in range(n_steps):
            s, extra = fn(s, acts[i])
        jax.block_until_ready((s, extra))
        box[0] = s

    return _rate(run, batch, n_steps, seconds)


def bench_jax_scan(cfg: EnvConfig, batch: int, seconds: float, n_steps: int = 64) -> float:
    """``n_steps`` steps inside one ``jit`` (``lax.scan``), as a compiled rollout runs; the mask
    counts are summed into the carry so the masks cannot be optimised away."""
    rng = np.random.default_rng(batch)
    acts = jnp.asarray(_actions(cfg, rng, n_steps, batch))
    joint = jax.vmap(functools.partial(_joint, cfg))

    def body(carry, a):  # type: ignore[no-untyped-def]
        s, acc = carry
        s, (m0, m1, r) = joint(s, a)
        acc = acc + sum(x.sum(dtype=jnp.int32) for x in (*m0, *m1)) + r.sum().astype(jnp.int32)
        return (s, acc), None

    fn = jax.jit(lambda s: jax.lax.scan(body, (s, jnp.int32(0)), acts)[0])
    states = _states(cfg, batch, rng)
    return _rate(lambda: jax.block_until_ready(fn(states)), batch, n_steps, seconds)


def bench_reference(cfg: EnvConfig, seconds: float, with_masks: bool = True) -> float:
    rng = np.random.default_rng(0)
    state = ref.to_numpy(init(cfg, jax.random.PRNGKey(0), _goal(cfg, rng)))
    acts = _actions(cfg, rng, 256, 1)[:, 0]
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        state = ref.step(cfg, state, acts[done % len(acts)])
        if with_masks:
            ref.masks(cfg, state, 0)
            ref.masks(cfg, state, 1)
        done += 1
    return done / (time.perf_counter() - start)


def bench_original(python: str, src: str, seconds: float) -> dict[str, Any]:
    """The original MBAG's figures from ``_mbag_original_timer.py`` run by its own Python."""
    timer = Path(__file__).with_name("_mbag_original_timer.py")
    cmd = [python, str(timer), "--mbag-src", src, "--seconds", str(seconds)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"timing the original MBAG failed ({' '.join(cmd)}):\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64, 1024])
    parser.add_argument("--original-python", help="the original MBAG's Python (3.10)")
    parser.add_argument("--original-src", help="the original MBAG's source, _mbag built in it")
    args = parser.parse_args()
    if (args.original_python is None) != (args.original_src is None):
        parser.error("--original-python and --original-src go together")
    # the cheap centre-to-centre mask without line of sight (the figures measured before the
    # paper's rules became the default); the paper's rules are timed below as mbag_*
    cfg = EnvConfig(horizon=10**9, los="off")  # never truncate during the timing
    reference = bench_reference(cfg, args.seconds)
    result: dict[str, object] = {
        "grid": list(cfg.size),
        "device": str(jax.devices()[0]),
        "platform": platform.platform(),
        "jax": jax.__version__,
        "reference_steps_per_s": round(reference, 1),
        # for context only: the reference's step without masks (the ratios use the line above)
        "reference_step_only_steps_per_s": round(bench_reference(cfg, args.seconds, False), 1),
    }
    packed = functools.partial(bench_jax, joint=_joint_packed)
    floor = functools.partial(bench_jax, joint=_identity)
    for b in args.batches:
        cases = [("", bench_jax), ("scan_", bench_jax_scan)]
        if b == 1:
            cases += [("packed_", packed), ("dispatch_floor_", floor)]
        for name, fn in cases:
            sps = fn(cfg, b, args.seconds)
            result[f"{name}steps_per_s_batch{b}"] = round(sps, 1)
            result[f"{name}ratio_vs_reference_batch{b}"] = round(sps / reference, 1)
    paper = EnvConfig(horizon=10**9)  # los="mbag": the original's reach and line of sight
    result["mbag_reference_steps_per_s"] = round(bench_reference(paper, args.seconds), 1)
    mbag = {b: round(bench_jax(paper, b, args.seconds), 1) for b in args.batches}
    for b, sps in mbag.items():
        result[f"mbag_steps_per_s_batch{b}"] = sps
    if args.original_python is None:
        result["original_mbag"] = "not timed (pass --original-python and --original-src)"
    else:
        original = bench_original(args.original_python, args.original_src, args.seconds)
        result["original_mbag"] = {
            "commit": "8560b5f",
            **{k: v for k, v in original.items() if not k.startswith("steps_per_s")},
        }
        result["original_mbag_steps_per_s"] = original["steps_per_s"]
        result["original_mbag_no_masks_steps_per_s"] = original["steps_per_s_no_masks"]
        # for context only: uniform over legal ids fills the world and slows its masks
        result["original_mbag_uniform_flat_steps_per_s"] = original["steps_per_s_uniform_flat"]
        for b, sps in mbag.items():
            ratio = sps / float(original["steps_per_s"])
            result[f"mbag_ratio_vs_original_batch{b}"] = round(ratio, 2)
    finite = EnvConfig(horizon=10**9, finite_inventory=True, los="off")
    result["finite_steps_per_s_batch1024"] = round(bench_jax(finite, 1024, args.seconds), 1)
    from alignlab.assist._goal_bank import goal_bank_resets_per_s

    result["goal_bank_resets_per_s_batch1024"] = round(goal_bank_resets_per_s(), 1)
    result["targets"] = {
        "batch1024": 200_000,
        "batch1": 10_000,
        "ratio": 100,
        "goal_bank_resets": 100_000,
        "mbag_batch1024": 8_630,
        "mbag_ratio_vs_original_batch1024": 10,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
