"""Env steps/s of the whole AssistanceZero training loop, against self-play alone, same process.

Prints JSON. On the CPU recipe's setting (6×6×6 procedural houses, horizon 100, the default
network, 16 simulations, 16 games × 16-step fragments, 8 updates of batch 128 per fragment):

* ``selfplay_env_steps_per_s``: the jitted self-play fragment alone (search, human, env step,
  auto-reset) — the baseline;
* ``loop_env_steps_per_s``: whole iterations of ``assist train``'s loop (self-play, replay
  add, learner updates);
* ``loop_over_selfplay``: their ratio (1 would mean the learner costs nothing).

Compilation excluded (one warm-up iteration), medians over ``--iterations``.

Run: ``.venv/bin/python benchmarks/bench_assist_train.py [--iterations 6]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import jax
import jax.numpy as jnp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=6)
    args = parser.parse_args()

    from alignlab.assist._train import _Loop, fresh_state, setup, training_goals
    from alignlab.assist._train_cmd import TrainConfig

    cfg = TrainConfig(bank_size=64)
    s = setup(cfg)
    bank = jnp.asarray(training_goals(cfg, s.env))
    loop = _Loop(cfg, s, bank, fresh_state(cfg, s, bank))
    per_iter = cfg.envs * cfg.fragment

    def selfplay() -> None:
        loop.key, k = jax.random.split(loop.key)
        loop.actors, items, _ = loop.collect(loop.params, loop.actors, loop.bank, k)
        jax.block_until_ready(items)

    def iteration() -> None:
        jax.block_until_ready(loop.iteration())

    rates: dict[str, list[float]] = {"selfplay": [], "loop": []}
    iteration()  # compiles both
    for _ in range(args.iterations):  # alternate, so load from other processes hits both
        for name, fn in (("selfplay", selfplay), ("loop", iteration)):
            t0 = time.perf_counter()
            fn()
            rates[name].append(per_iter / (time.perf_counter() - t0))
    sp, lp = (statistics.median(rates[k]) for k in ("selfplay", "loop"))
    print(
        json.dumps(
            {
                "setting": {
                    "size": list(cfg.size),
                    "envs": cfg.envs,
                    "fragment": cfg.fragment,
                    "simulations": cfg.simulations,
                    "updates": cfg.updates,
                    "batch_size": cfg.batch_size,
                    "width": cfg.width,
                    "depth": cfg.depth,
                },
                "platform": platform.platform(),
                "jax": jax.__version__,
                "loadavg": list(os.getloadavg()),
                "selfplay_env_steps_per_s": round(sp, 1),
                "loop_env_steps_per_s": round(lp, 1),
                "loop_over_selfplay": round(lp / sp, 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
