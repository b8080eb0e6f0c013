"""A fixed-size replay buffer as a pytree of device arrays (pure JAX, jit-able).

Every leaf of ``data`` has a leading ``[capacity]`` axis; ``cursor`` is the next slot written
and ``size`` how many slots hold data. Adding wraps around (oldest first out); sampling is
uniform over the filled slots. Being a plain pytree, the buffer is checkpointed with the rest
of the training state (``core.save_checkpoint``) and resumes where it stopped.

Written here rather than taken from a library: the JAX replay libraries (flashbax, dejax)
would add a dependency for ~40 lines, and the buffer must be an ordinary pytree to go into
the project's checkpoints.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp


class Replay(NamedTuple):
    data: Any  # pytree, leaves [capacity, ...]
    cursor: jax.Array  # [] int32
    size: jax.Array  # [] int32


def replay_init(example: Any, capacity: int) -> Replay:
    """An empty buffer for items shaped like ``example`` (one item, no leading axis)."""
    data = jax.tree.map(
        lambda x: jnp.zeros((capacity, *jnp.shape(x)), jnp.asarray(x).dtype), example
    )
    return Replay(data, jnp.int32(0), jnp.int32(0))


def capacity(buf: Replay) -> int:
    return int(jax.tree.leaves(buf.data)[0].shape[0])


def replay_add(buf: Replay, items: Any) -> Replay:
    """Append ``items`` (leaves ``[n, ...]``, ``n <= capacity``); the oldest are overwritten."""
    cap = jax.tree.leaves(buf.data)[0].shape[0]
    n = jax.tree.leaves(items)[0].shape[0]
    idx = (buf.cursor + jnp.arange(n, dtype=jnp.int32)) % cap
    data = jax.tree.map(lambda d, x: d.at[idx].set(x.astype(d.dtype)), buf.data, items)
    return Replay(data, (buf.cursor + n) % cap, jnp.minimum(buf.size + n, cap).astype(jnp.int32))


def replay_sample(buf: Replay, key: jax.Array, batch: int) -> Any:
    """``batch`` items drawn uniformly with replacement from the filled slots (``size > 0``)."""
    idx = jax.random.randint(key, (batch,), 0, jnp.maximum(buf.size, 1))
    return jax.tree.map(lambda d: jnp.take(d, idx, axis=0), buf.data)
