"""Throughput of AssistanceZero's search (``alignlab.assist._search``) against its own network
forward pass, same process.

Prints JSON. On the small recipe's setting (6×6×6 grid, the default rules, the default
``NetConfig``: width 32, depth 2, kernel 3) at batch 64:

* ``forward_ms``: one jitted network call on 64 observations;
* ``search_ms_{S}`` and ``decisions_per_s_{S}`` for S = 16 and 64 simulations (a decision is
  one game's searched action), and ``ratio_{S} = search_ms / ((S + 1) · forward_ms)``: the
  search's cost over the network calls it must make (target ≤ 1.1);
* ``overhead_ms``: what else a simulation does at batch 64, timed alone — both players' legal
  masks, the env step, the assistant's observation;
* ``mctx_search_ms_{S}``: the same search with ``mctx.gumbel_muzero_policy``'s own loop in
  place of ``_gumbel.gumbel_muzero`` (``--no-mctx`` skips it), and ``loop_speedup_{S}``.

The matched setting of the original implementation's measurement (10 simulations, a 16-channel
3³ network with one residual block — here ``NetConfig(width=16, depth=2)``, two 3³
convolutions — 6×6×6, batch 4): ``matched_decisions_per_s`` against the original's ~80
decisions/s on this machine kind (``reference_decisions_per_s``, not re-measured here; target
≥ 10×).

Timing: warm-up and compilation excluded, ``jax.block_until_ready``, medians of repeats; the
forward pass and each search alternate so that load from other processes hits both alike
(``loadavg`` records it). States: random goals (``random_blob``) and 0..15 random legal joint
steps from reset, so the worlds are partly built.

Run: ``.venv/bin/python benchmarks/bench_assist_search.py [--repeats 5] [--no-mctx]``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from importlib.metadata import version
from typing import Any
from unittest import mock

import jax
import jax.numpy as jnp
import mctx
import numpy as np

from alignlab.assist import _env, _search
from alignlab.assist._goals import random_blob
from alignlab.assist._layout import ASSISTANT, HUMAN, EnvConfig
from alignlab.assist._net import NetConfig, apply, assistant_input, init_params, param_count
from alignlab.assist._search import SearchConfig, make_search

ENV = EnvConfig(size=(6, 6, 6))
REFERENCE_DECISIONS_PER_S = 80.0  # the original implementation, matched setting, this machine kind


def _states(n: int, seed: int) -> _env.State:
    rng = np.random.default_rng(seed)
    goals = jnp.stack([jnp.asarray(random_blob(ENV.size, rng)) for _ in range(n)])

    @jax.jit
    def play(keys: jax.Array, goals: jax.Array, steps: jax.Array) -> _env.State:
        def one(key: jax.Array, goal: jax.Array, n_steps: jax.Array) -> _env.State:
            def body(i: jax.Array, s: _env.State) -> _env.State:
                k = jax.random.split(jax.random.fold_in(key, i))
                acts = [
                    jax.random.categorical(
                        k[p], jnp.where(_env.legal_action_mask(ENV, s, p), 0.0, -jnp.inf)
                    )
                    for p in (HUMAN, ASSISTANT)
                ]
                nxt = _env.step(ENV, s, jnp.stack(acts).astype(jnp.int32))
                return jax.tree.map(lambda a, b: jnp.where(i < n_steps, a, b), nxt, s)

            return jax.lax.fori_loop(0, 16, body, _env.init(ENV, key, goal))

        return jax.vmap(one)(keys, goals, steps)

    keys = jax.random.split(jax.random.key(seed), n)
    return play(keys, goals, jnp.asarray(rng.integers(0, 16, n)))


def _time(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - t


def _median_ms(fn: Callable[[], Any], n: int) -> float:
    jax.block_until_ready(fn())
    return 1e3 * statistics.median(_time(fn) for _ in range(n))


def _mctx_loop(params, key, root, recurrent_fn, num_simulations, invalid_actions, **kw):  # type: ignore[no-untyped-def]
    return mctx.gumbel_muzero_policy(
        params, key, root, recurrent_fn, num_simulations, invalid_actions=invalid_actions, **kw
    )


def _searcher(net: NetConfig, sims: int, use_mctx: bool) -> Callable[..., Any]:
    cfg = SearchConfig(num_simulations=sims)
    if not use_mctx:
        return make_search(ENV, net, cfg)
    fn = jax.jit(functools.partial(_search.search, ENV, net, cfg))

    def traced_with_mctx(*args: Any) -> Any:
        with mock.patch.object(_search, "gumbel_muzero", _mctx_loop):
            return fn(*args)

    return traced_with_mctx


def _search_vs_forward(
    net: NetConfig, params: Any, states: _env.State, sims: int, repeats: int, use_mctx: bool
) -> tuple[float, float]:
    """Median search ms and the median forward ms timed between its repeats."""
    search = _searcher(net, sims, use_mctx)
    obs = jax.jit(jax.vmap(lambda s: assistant_input(ENV, s, False)))(states)
    forward = jax.jit(functools.partial(apply, net, ENV))
    keys = iter(jax.random.split(jax.random.key(sims), repeats + 1))
    jax.block_until_ready(search(params, states, next(keys)))
    jax.block_until_ready(forward(params, obs))
    s_ms, f_ms = [], []
    for _ in range(repeats):
        f_ms.append(_median_ms(lambda: forward(params, obs), 5))
        key = next(keys)
        s_ms.append(1e3 * _time(lambda key=key: search(params, states, key)))
    return statistics.median(s_ms), statistics.median(f_ms)


def _overheads(states: _env.State, repeats: int) -> dict[str, float]:
    masks = jax.jit(jax.vmap(lambda s: [_env.legal_masks(ENV, s, p) for p in (HUMAN, ASSISTANT)]))
    acts = jnp.zeros((states.t.shape[0], 2), jnp.int32)
    step = jax.jit(jax.vmap(functools.partial(_env.step, ENV)))
    obs = jax.jit(jax.vmap(lambda s: assistant_input(ENV, s, False)))
    return {
        "both_players_masks": round(_median_ms(lambda: masks(states), repeats * 3), 3),
        "env_step": round(_median_ms(lambda: step(states, acts), repeats * 3), 3),
        "observe": round(_median_ms(lambda: obs(states), repeats * 3), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-mctx", action="store_true", help="skip the mctx-loop baseline")
    args = parser.parse_args()
    out: dict[str, Any] = {
        "grid": list(ENV.size),
        "los": ENV.los,
        "device": str(jax.devices()[0]),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "jax": jax.__version__,
        "flax": version("flax"),
        "mctx": version("mctx"),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }
    net = NetConfig()
    params = init_params(net, ENV, jax.random.key(0))
    states = _states(64, 0)
    out |= {"batch": 64, "net": vars(net), "param_count": param_count(params)}
    for sims in (16, 64):
        s_ms, f_ms = _search_vs_forward(net, params, states, sims, args.repeats, False)
        out[f"forward_ms_{sims}"] = round(f_ms, 3)
        out[f"search_ms_{sims}"] = round(s_ms, 2)
        out[f"decisions_per_s_{sims}"] = round(64e3 / s_ms, 1)
        out[f"ratio_{sims}"] = round(s_ms / ((sims + 1) * f_ms), 3)
        if not args.no_mctx:
            m_ms, _ = _search_vs_forward(net, params, states, sims, max(2, args.repeats // 2), True)
            out[f"mctx_search_ms_{sims}"] = round(m_ms, 2)
            out[f"loop_speedup_{sims}"] = round(m_ms / s_ms, 2)
    out["forward_ms"] = round(statistics.median([out["forward_ms_16"], out["forward_ms_64"]]), 3)
    out["overhead_ms"] = _overheads(states, args.repeats)
    small = NetConfig(width=16, depth=2)
    small_params = init_params(small, ENV, jax.random.key(0))
    four = jax.tree.map(lambda x: x[:4], states)
    cfg = SearchConfig(num_simulations=10)
    search = make_search(ENV, small, cfg)
    keys = iter(jax.random.split(jax.random.key(10), 4 * args.repeats + 1))
    ms = _median_ms(lambda: search(small_params, four, next(keys)), 4 * args.repeats)
    out["matched"] = {"simulations": 10, "batch": 4, "net": vars(small), "grid": list(ENV.size)}
    out["matched_decisions_per_s"] = round(4e3 / ms, 1)
    out["reference_decisions_per_s"] = REFERENCE_DECISIONS_PER_S
    out["matched_ratio_vs_reference"] = round(4e3 / ms / REFERENCE_DECISIONS_PER_S, 1)
    out["targets"] = {"ratio": 1.1, "matched_ratio_vs_reference": 10}
    out["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
