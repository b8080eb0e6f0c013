"""Goal banks: many goals generated once, saved as ``.npz``, sampled on device at reset.

File layout (``FORMAT_VERSION`` 1, written with ``core.save_arrays``): ``goals [N, X, Y, Z]
uint8``, ``size [3] int64``, ``seeds [N] int64`` (with ``build_goal_bank``, goal ``i`` came from
``default_rng([meta["seed"], seeds[i]])``) and the file's JSON metadata: ``format_version``,
``generator``, ``size`` and whatever else the caller passed (e.g. ``seed``). Banks whose metadata
sits in a ``meta`` string array (the first layout) still load. Sampling is a gather
(``bank[idx]``), so a reset costs microseconds once the bank sits on the device.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import jax
import jax.numpy as jnp
import numpy as np

from alignlab.core import AlignlabError, load_arrays, save_arrays

from ._goals import GoalGenerator, Size, check_size, validate_goal_array

FORMAT_VERSION = 1


@dataclass(frozen=True)
class GoalBank:
    """A loaded bank: ``goals [N, X, Y, Z] uint8`` plus its metadata."""

    goals: np.ndarray
    size: Size
    generator: str
    seeds: np.ndarray  # [N] int64
    format_version: int = FORMAT_VERSION
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.goals.shape[0])


def build_goal_bank(generator: GoalGenerator, n: int, size: Size, seed: int) -> np.ndarray:
    """``[n, X, Y, Z] uint8``: goal ``i`` = ``generator(size, default_rng([seed, i]))``."""
    size = check_size(size)
    if n < 1:
        raise AlignlabError(f"a goal bank needs n >= 1 goals, got {n}", field="n")
    goals = np.empty((n, *size), dtype=np.uint8)
    for i in range(n):
        goals[i] = validate_goal_array(generator(size, np.random.default_rng([seed, i])), size)
    return goals


def save_goal_bank(path: str | Path, goals: np.ndarray, meta: dict[str, Any]) -> None:
    """Write ``goals [N, X, Y, Z]`` and ``meta`` (needs ``generator``; ``seed``/``seeds``
    optional, ``seeds`` defaults to ``0..N-1``) atomically to ``path`` (``.npz``)."""
    goals = np.asarray(goals)
    if goals.ndim != 4:
        raise AlignlabError(f"goals must be [N, X, Y, Z], got shape {goals.shape}", file=path)
    for i in range(goals.shape[0]):
        validate_goal_array(goals[i], None, file=f"{path}[goal {i}]")
    seeds = np.asarray(meta.get("seeds", np.arange(goals.shape[0])), dtype=np.int64)
    if seeds.shape != (goals.shape[0],):
        raise AlignlabError(f"meta seeds must have {goals.shape[0]} entries", field="seeds")
    info = {k: v for k, v in meta.items() if k != "seeds"}
    info.setdefault("generator", "unknown")
    info["format_version"] = FORMAT_VERSION
    info["size"] = list(goals.shape[1:])
    arrays = {
        "goals": goals.astype(np.uint8),
        "size": np.asarray(goals.shape[1:], dtype=np.int64),
        "seeds": seeds,
    }
    save_arrays(path, arrays, info, compress=True)


def load_goal_bank(path: str | Path, size: Size | None = None) -> GoalBank:
    """Read and validate a bank; ``AlignlabError`` naming the file and the problem otherwise."""
    arrays, meta = load_arrays(path, required=("goals", "size", "seeds"))
    if "meta" in arrays:  # the first layout kept the metadata in a string array
        try:
            meta = json.loads(str(arrays["meta"]))
        except ValueError as err:
            raise AlignlabError(f"bad metadata JSON: {err}", file=path, field="meta") from err
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        raise AlignlabError(
            f"unsupported format version {version!r}", file=path, field="format_version"
        )
    goals = arrays["goals"]
    if goals.ndim != 4 or goals.shape[0] == 0:
        raise AlignlabError(
            f"goals must be [N>0, X, Y, Z], got {goals.shape}", file=path, field="goals"
        )
    stored_size = cast(Size, tuple(int(s) for s in arrays["size"]))
    if stored_size != tuple(goals.shape[1:]):
        raise AlignlabError(f"size {stored_size} != goal shape {goals.shape[1:]}", file=path)
    if size is not None and tuple(size) != stored_size:
        raise AlignlabError(
            f"bank size {stored_size} != env size {tuple(size)}", file=path, field="size"
        )
    for i in range(goals.shape[0]):
        validate_goal_array(goals[i], stored_size, file=f"{path}[goal {i}]")
    return GoalBank(
        goals=goals.astype(np.uint8),
        size=stored_size,
        generator=str(meta.get("generator")),
        seeds=arrays["seeds"].astype(np.int64),
        format_version=int(version),
        meta=meta,
    )


def sample_goals(bank: jax.Array, key: jax.Array, batch: int) -> jax.Array:
    """``[batch, X, Y, Z]`` goals drawn uniformly with replacement from ``bank [N, X, Y, Z]``.

    Pure and jit-able (``batch`` static): ``jax.jit(sample_goals, static_argnums=2)``.
    """
    idx = jax.random.randint(key, (batch,), 0, bank.shape[0])
    return jnp.take(bank, idx, axis=0)


_sample_jit = jax.jit(sample_goals, static_argnums=2)


def goal_bank_resets_per_s(
    n_goals: int = 1000, batch: int = 1024, size: Size = (11, 10, 10), repeats: int = 50
) -> float:
    """Goals sampled per second by the jitted sampler from a bank of ``n_goals`` houses
    (one reset = one goal; compile time excluded)."""
    from ._houses import house

    bank = jnp.asarray(build_goal_bank(house, n_goals, size, seed=0))
    key = jax.random.PRNGKey(0)
    _sample_jit(bank, key, batch).block_until_ready()
    keys = jax.random.split(key, repeats)
    start = time.perf_counter()
    for k in keys:
        out = _sample_jit(bank, k, batch)
    out.block_until_ready()
    return batch * repeats / (time.perf_counter() - start)
