"""Pytree checkpoints: ``<ckpt_dir>/step_<n>.npz``, one file per saved step, newest few kept.

A checkpoint is a ``save_arrays`` file: leaf ``i`` of the flattened tree is the array
``leaf_<i>`` and the metadata holds ``format``, ``version``, ``step``, the caller's ``meta`` and
one entry per leaf (``path`` like ``params/conv_0/kernel``, ``shape``, ``dtype``, and
``key_impl`` for typed PRNG keys, which are stored as their ``jax.random.key_data``). No pickle:
loading never runs code. ``bfloat16`` leaves keep their bits (see ``core.arrays``).

Guarantees: a save is atomic and durable (temp file, ``fsync``, rename), so ``kill -9`` or a
failure mid-save leaves the previous checkpoints intact; loading checks the leaf paths, shapes
and dtypes against a ``like`` tree and the metadata against the expected one, and names the
first mismatch. jax is imported inside the functions, so ``alignlab.core`` does not need it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from alignlab.core.arrays import load_arrays, read_arrays_meta, save_arrays
from alignlab.core.errors import AlignlabError
from alignlab.core.io import json_difference, normalize_json

FORMAT = "alignlab-checkpoint"
VERSION = 1
_NAME = re.compile(r"^step_(\d+)\.npz$")
_TEMP = re.compile(r"^\.step_\d+\.npz\..*\.tmp$")


class Checkpoint(NamedTuple):
    """A loaded checkpoint: the restored ``tree``, its ``step`` and the caller's ``meta``."""

    tree: Any
    step: int
    meta: dict[str, Any]


def checkpoint_path(ckpt_dir: str | Path, step: int) -> Path:
    """Where the checkpoint of ``step`` lives (``step_00000042.npz``)."""
    return Path(ckpt_dir) / f"step_{step:08d}.npz"


def list_checkpoints(ckpt_dir: str | Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of every checkpoint in ``ckpt_dir``, oldest step first; ``[]`` if none."""
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in ckpt_dir.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


def latest_checkpoint(ckpt_dir: str | Path) -> Path | None:
    """The checkpoint with the highest step in ``ckpt_dir``, or None."""
    found = list_checkpoints(ckpt_dir)
    return found[-1][1] if found else None


def save_checkpoint(
    ckpt_dir: str | Path,
    step: int,
    tree: Any,
    meta: Mapping[str, Any] | None = None,
    *,
    keep: int | None = 3,
) -> Path:
    """Write ``tree`` (any pytree of arrays, scalars and typed keys) as the checkpoint of
    ``step``; keep the ``keep`` highest steps (None keeps all) and delete temp files that an
    earlier killed save left. Returns the new file's path.

    Raises:
        AlignlabError: negative step, ``keep < 1``, two leaves with the same path, or ``meta``
        not JSON-able.
    """
    if step < 0:
        raise AlignlabError(f"step must be >= 0, got {step}", field="step")
    if keep is not None and keep < 1:
        raise AlignlabError(f"keep must be >= 1 or None, got {keep}", field="keep")
    ckpt_dir = Path(ckpt_dir)
    arrays, leaves = _flatten(tree)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    for stale in ckpt_dir.iterdir():
        if _TEMP.match(stale.name):
            stale.unlink(missing_ok=True)
    path = checkpoint_path(ckpt_dir, step)
    info = {"format": FORMAT, "version": VERSION, "step": step, "leaves": leaves}
    save_arrays(path, arrays, {**info, "meta": dict(meta or {})})
    if keep is not None:
        for _, old in list_checkpoints(ckpt_dir)[:-keep]:
            old.unlink(missing_ok=True)
    return path


def load_checkpoint(
    path: str | Path, like: Any = None, meta: Mapping[str, Any] | None = None
) -> Checkpoint:
    """Read a checkpoint. With ``like`` the tree comes back in ``like``'s structure (leaves of
    ``like`` may be arrays or ``jax.ShapeDtypeStruct``; jax leaves come back as jax arrays,
    numpy leaves as numpy, Python scalars as scalars, typed keys as typed keys); without it, as a
    flat ``{path: array}`` dict. With ``meta`` the stored metadata must equal it.

    Raises:
        AlignlabError: missing, corrupt or truncated file, not a checkpoint, metadata that
        differs (``field="meta.<key>"``), or a leaf missing, extra, or of another shape or dtype
        (``field`` is the leaf path).
    """
    path = Path(path)
    arrays, info = load_arrays(path)
    if info.get("format") != FORMAT or info.get("version") != VERSION:
        raise AlignlabError(f"not an {FORMAT} version {VERSION} file", file=path, field="format")
    leaves, step, stored_meta = info.get("leaves"), info.get("step"), info.get("meta")
    if (
        not isinstance(leaves, list)
        or not isinstance(step, int)
        or not isinstance(stored_meta, dict)
    ):
        raise AlignlabError("corrupt checkpoint metadata", file=path, field="leaves")
    if meta is not None:
        diff = json_difference(stored_meta, normalize_json(dict(meta)), prefix="meta")
        if diff is not None:
            where, old, new = diff
            raise AlignlabError(
                f"checkpoint has {old!r}, expected {new!r} (another config?)",
                file=path,
                field=where,
            )
    stored = _stored_leaves(leaves, arrays, path)
    tree = _flat_tree(stored) if like is None else _restore(like, stored, path)
    return Checkpoint(tree=tree, step=step, meta=stored_meta)


def read_checkpoint_meta(path: str | Path) -> dict[str, Any]:
    """The caller's ``meta`` saved with a checkpoint, read without loading its arrays (to
    rebuild the ``like`` tree before ``load_checkpoint``).

    Raises:
        AlignlabError: missing, unreadable or corrupt file, or not a checkpoint.
    """
    path = Path(path)
    info = read_arrays_meta(path)
    if info.get("format") != FORMAT or not isinstance(info.get("meta"), dict):
        raise AlignlabError(f"not an {FORMAT} file", file=path, field="format")
    return dict(info["meta"])


# ------------------------------------------------------------------------------ internals


def _is_key(dtype: Any) -> bool:
    import jax

    return dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)


def _spec(leaf: Any) -> tuple[tuple[int, ...], str]:
    if hasattr(leaf, "shape") and hasattr(leaf, "dtype"):
        return tuple(int(d) for d in leaf.shape), str(leaf.dtype)
    arr = np.asarray(leaf)
    return tuple(arr.shape), str(arr.dtype)


def _flatten(tree: Any) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    import jax

    flat, _ = jax.tree_util.tree_flatten_with_path(tree)
    arrays: dict[str, np.ndarray] = {}
    leaves: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, (keypath, leaf) in enumerate(flat):
        name = jax.tree_util.keystr(keypath, simple=True, separator="/")
        if name in seen:
            raise AlignlabError("two leaves have this path; rename a key", field=name)
        seen.add(name)
        shape, dtype = _spec(leaf)
        entry: dict[str, Any] = {"path": name, "shape": list(shape), "dtype": dtype}
        if _is_key(getattr(leaf, "dtype", None)):
            entry["key_impl"] = str(jax.random.key_impl(leaf))
            leaf = jax.random.key_data(leaf)
        arrays[f"leaf_{i}"] = np.asarray(jax.device_get(leaf))
        leaves.append(entry)
    return arrays, leaves


class _Stored(NamedTuple):
    shape: tuple[int, ...]
    dtype: str
    key_impl: str | None
    array: np.ndarray


def _stored_leaves(
    leaves: list[Any], arrays: dict[str, np.ndarray], path: Path
) -> dict[str, _Stored]:
    out: dict[str, _Stored] = {}
    for i, entry in enumerate(leaves):
        arr = arrays.get(f"leaf_{i}")
        try:
            name, shape, dtype = entry["path"], tuple(entry["shape"]), entry["dtype"]
        except (TypeError, KeyError):
            raise AlignlabError(f"corrupt entry for leaf {i}", file=path, field="leaves") from None
        key_impl = entry.get("key_impl")
        if arr is None or (key_impl is None and (arr.shape != shape or str(arr.dtype) != dtype)):
            raise AlignlabError(
                "corrupt checkpoint: the stored array does not match its metadata",
                file=path,
                field=name,
            )
        out[name] = _Stored(shape, dtype, key_impl, arr)
    return out


def _wrap(stored: _Stored) -> Any:
    if stored.key_impl is None:
        return stored.array
    import jax
    import jax.numpy as jnp

    return jax.random.wrap_key_data(jnp.asarray(stored.array), impl=stored.key_impl)


def _flat_tree(stored: dict[str, _Stored]) -> dict[str, Any]:
    return {name: _wrap(s) for name, s in stored.items()}


def _restore(like: Any, stored: dict[str, _Stored], path: Path) -> Any:
    import jax

    flat, treedef = jax.tree_util.tree_flatten_with_path(like)
    names = [jax.tree_util.keystr(kp, simple=True, separator="/") for kp, _ in flat]
    for name in names:
        if name not in stored:
            raise AlignlabError("leaf missing from the checkpoint", file=path, field=name)
    extra = sorted(set(stored) - set(names))
    if extra:
        raise AlignlabError("leaf in the checkpoint but not expected", file=path, field=extra[0])
    out = []
    for name, (_, leaf) in zip(names, flat, strict=True):
        s = stored[name]
        shape, dtype = _spec(leaf)
        if dtype != s.dtype:
            raise AlignlabError(
                f"dtype {s.dtype} in the checkpoint, {dtype} expected", file=path, field=name
            )
        if shape != s.shape:
            raise AlignlabError(
                f"shape {s.shape} in the checkpoint, {shape} expected", file=path, field=name
            )
        out.append(_as_like(leaf, _wrap(s)))
    return jax.tree_util.tree_unflatten(treedef, out)


def _as_like(leaf: Any, value: Any) -> Any:
    import jax
    import jax.numpy as jnp

    if isinstance(leaf, np.generic):  # before the Python types: np.float64 is a float
        return value[()]
    if isinstance(leaf, (bool, int, float, complex)):
        return type(leaf)(value.item())
    if isinstance(leaf, (jax.Array, jax.ShapeDtypeStruct)) and not _is_key(value.dtype):
        return jnp.asarray(value)
    return value
