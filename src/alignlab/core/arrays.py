"""Named numpy arrays plus JSON metadata in one ``.npz`` file, without pickle.

The file is a plain ``.npz`` (``np.load`` opens it): one ``<name>.npy`` member per array and a
reserved member ``__meta__``, a 0-d string array holding the metadata as JSON. Arrays whose dtype
numpy does not know natively (``bfloat16`` and the other ``ml_dtypes`` types) are stored as an
unsigned-integer view of the same width; ``__dtypes__`` (JSON) names their real dtype, and
``load_arrays`` views them back. Writes go through a temp file, ``fsync`` and a rename, so a crash
leaves the old file or the new one.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from alignlab.core.errors import AlignlabError
from alignlab.core.io import atomic_path, dumps_strict

META_KEY = "__meta__"
_DTYPES_KEY = "__dtypes__"
_RESERVED = (META_KEY, _DTYPES_KEY)


def save_arrays(
    path: str | Path,
    arrays: Mapping[str, Any],
    meta: Mapping[str, Any] | None = None,
    *,
    compress: bool = False,
) -> None:
    """Write ``arrays`` (name → array-like) and ``meta`` (JSON-able) to ``path`` atomically.

    ``compress`` deflates the members (smaller, slower); ``np.load`` reads either way.

    Raises:
        AlignlabError: a reserved or empty name, an object array (it would need pickle), or
        metadata that is not JSON-able.
    """
    path = Path(path)
    members: dict[str, np.ndarray] = {}
    extended: dict[str, str] = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name or name in _RESERVED:
            raise AlignlabError("reserved or empty array name", file=path, field=str(name))
        arr = np.asarray(value)
        if arr.dtype.hasobject:
            raise AlignlabError(
                "object arrays cannot be stored without pickle", file=path, field=name
            )
        if arr.dtype.isbuiltin != 1 and arr.dtype.kind == "V" and arr.dtype.names is None:
            extended[name] = arr.dtype.name  # e.g. bfloat16: keep the bits, name the dtype
            arr = arr.view(f"u{arr.dtype.itemsize}")
        members[name] = arr
    try:
        members[META_KEY] = np.asarray(dumps_strict(dict(meta or {}), sort_keys=True))
    except (TypeError, ValueError) as err:
        raise AlignlabError(
            f"metadata is not JSON-able ({err})", file=path, field=META_KEY
        ) from None
    if extended:
        members[_DTYPES_KEY] = np.asarray(json.dumps(extended, sort_keys=True))
    mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with (
        atomic_path(path, durable=True) as tmp,
        zipfile.ZipFile(tmp, "w", compression=mode, allowZip64=True) as zf,
    ):
        for name, arr in members.items():
            with zf.open(f"{name}.npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, arr, allow_pickle=False)


def load_arrays(
    path: str | Path, required: Sequence[str] = ()
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """``(arrays, meta)`` from a file written by ``save_arrays``, read fully into memory.

    A plain ``.npz`` without ``__meta__`` (e.g. from ``np.savez``) loads with ``meta == {}``.

    Raises:
        AlignlabError: missing file, not a readable ``.npz`` (corrupt or truncated), an array
        listed in ``required`` is absent (``field`` names the first), or metadata that is not a
        JSON object (``field="__meta__"``).
    """
    path = Path(path)
    if not path.is_file():
        raise AlignlabError("cannot read: file not found", file=path)
    arrays = _read_members(path)
    meta = _json_member(arrays.pop(META_KEY, None), path, META_KEY)
    extended = _json_member(arrays.pop(_DTYPES_KEY, None), path, _DTYPES_KEY)
    for name, dtype_name in extended.items():
        if name in arrays:
            arrays[name] = arrays[name].view(_extended_dtype(dtype_name, path, name))
    missing = [name for name in required if name not in arrays]
    if missing:
        raise AlignlabError(f"missing array(s): {', '.join(missing)}", file=path, field=missing[0])
    return arrays, meta


def read_arrays_meta(path: str | Path) -> dict[str, Any]:
    """Only the metadata of a ``save_arrays`` file (the arrays are not read).

    Raises:
        AlignlabError: as ``load_arrays``.
    """
    path = Path(path)
    if not path.is_file():
        raise AlignlabError("cannot read: file not found", file=path)
    member = _read_members(path, only=META_KEY).get(META_KEY)
    return _json_member(member, path, META_KEY)


def _read_members(path: Path, only: str | None = None) -> dict[str, np.ndarray]:
    hint = "not a readable .npz file (corrupt or truncated?)"
    if not zipfile.is_zipfile(path):
        raise AlignlabError(f"{hint}: not a zip archive", file=path)
    try:
        with np.load(path, allow_pickle=False) as z:
            names = [n for n in z.files if only is None or n == only]
            return {name: z[name] for name in names}
    except Exception as err:  # zip, zlib and .npy header errors come in many types
        raise AlignlabError(f"{hint}: {type(err).__name__}: {err}", file=path) from None


def _json_member(member: np.ndarray | None, path: Path, name: str) -> dict[str, Any]:
    if member is None:
        return {}
    if member.ndim != 0 or member.dtype.kind != "U":
        raise AlignlabError("metadata must be a JSON string", file=path, field=name)
    try:
        value = json.loads(str(member))
    except json.JSONDecodeError as err:
        raise AlignlabError(
            f"metadata is not valid JSON ({err.msg})", file=path, field=name
        ) from None
    if not isinstance(value, dict):
        raise AlignlabError("metadata must be a JSON object", file=path, field=name)
    return value


def _extended_dtype(name: str, path: Path, field: str) -> np.dtype[Any]:
    import ml_dtypes  # registers bfloat16 & co. with numpy; installed with jax

    try:
        return np.dtype(getattr(ml_dtypes, name))
    except (AttributeError, TypeError):
        raise AlignlabError(f"unknown stored dtype {name!r}", file=path, field=field) from None
