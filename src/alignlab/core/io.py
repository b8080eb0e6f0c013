"""Atomic file writes and strict jsonl reading.

Every file a command writes goes through a temp file in the same folder and ``os.replace``,
so a kill leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import hashlib
import json
import math
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from alignlab.core.errors import AlignlabError

_UMASK = os.umask(0o022)  # reading the umask means setting it: put it straight back
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | Path, *, durable: bool = False) -> Iterator[Path]:
    """Yield a temp path beside ``path``; rename it onto ``path`` only if the block succeeds.

    With ``durable=True`` the temp file is flushed to disk (``fsync``) before the rename and the
    folder after it, so a power loss cannot leave ``path`` naming an empty file (checkpoints).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; give what open() would

    try:
        yield tmp_path
        if durable:
            _fsync(tmp_path)
        os.replace(tmp_path, path)
        if durable:
            _fsync(path.parent)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """Yield a fresh temp folder beside ``path``; if the block succeeds it becomes ``path``,
    replacing a folder already there (moved aside first, deleted after the swap); if the block
    raises, the temp folder is deleted and the previous folder, if any, stays in place.
    Callers decide beforehand whether replacing ``path`` is allowed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkdir (not mkdtemp) so the folder gets the usual umask permissions, not 0700
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    tmp.mkdir()
    old: Path | None = None
    try:
        yield tmp
        if path.is_dir():
            old = path.with_name(f"{tmp.name}.old")
            os.rename(path, old)
        os.rename(tmp, path)
    except BaseException:
        if old is not None and not path.exists():
            os.rename(old, path)  # put the previous folder back
            old = None
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on folders; the rename itself still holds
        if not path.is_dir():
            raise
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Strict JSON (see ``dumps_strict``), written atomically."""
    atomic_write_text(path, dumps_strict(obj, indent=2) + "\n")


def dumps_strict(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` that any JSON reader can load: NaN and infinities become null, numpy
    scalars and arrays and paths become plain JSON; ``kwargs`` go to ``json.dumps``."""
    return json.dumps(_finite(obj), default=_json_default, allow_nan=False, **kwargs)


def normalize_json(obj: Any) -> Any:
    """``obj`` as it reads back after ``dumps_strict`` (tuples become lists, NaN null)."""
    return json.loads(dumps_strict(obj))


_ABSENT = "(absent)"


def json_difference(
    stored: Any, given: Any, *, ignore: Iterable[str] = (), prefix: str = ""
) -> tuple[str, Any, Any] | None:
    """The first differing field between two JSON values as ``(dotted path, stored, given)``,
    or None when equal. Objects are compared key by key (sorted); a path in ``ignore`` (or under
    it) is skipped; lists and scalars compare whole. A key on one side only shows ``"(absent)"``.
    """
    skip = tuple(ignore)
    if isinstance(stored, dict) and isinstance(given, dict):
        for key in sorted(set(stored) | set(given)):
            path = f"{prefix}.{key}" if prefix else str(key)
            if any(path == s or path.startswith(s + ".") for s in skip):
                continue
            if key not in stored or key not in given:
                return path, stored.get(key, _ABSENT), given.get(key, _ABSENT)
            diff = json_difference(stored[key], given[key], ignore=skip, prefix=path)
            if diff is not None:
                return diff
        return None
    return None if stored == given else (prefix, stored, given)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    if hasattr(obj, "tolist"):  # numpy arrays and scalars, whose NaNs json.dumps would keep
        return _finite(obj.tolist())
    return obj


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows atomically as jsonl; returns the number of rows."""
    n = 0
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, default=_json_default, ensure_ascii=False) + "\n")
            n += 1
    return n


def _open_binary(path: Path) -> Any:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    return path.open("rb")


def _decode_line(raw: bytes, path: Path, line: int) -> str:
    # a BOM (some editors write one) would make the first line invalid JSON
    skip = len(codecs.BOM_UTF8) if line == 1 and raw.startswith(codecs.BOM_UTF8) else 0
    try:
        return raw[skip:].decode("utf-8")
    except UnicodeDecodeError as err:
        at = skip + err.start
        raise AlignlabError(
            f"not UTF-8 text (byte {at + 1} of the line is {raw[at]:#04x})", file=path, line=line
        ) from None


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)`` for each non-blank line; ``.gz`` is read transparently.

    Line numbers count the file's lines (``\\n``-separated, blank ones included), as an editor
    shows them.

    Raises:
        AlignlabError: missing or unreadable file, bytes that are not UTF-8, invalid JSON, or a
        line that is not a JSON object.
    """
    path = Path(path)
    if not path.is_file():
        raise AlignlabError("file not found", file=path)
    i = 0
    try:
        with _open_binary(path) as fh:
            # bytes, split on b"\n" only: text mode would also split on a lone "\r" and so
            # disagree with an editor's line numbers, and could not say which line is not UTF-8
            for i, raw in enumerate(fh, start=1):
                text = _decode_line(raw, path, i)
                if not text.strip():
                    continue
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as err:
                    raise AlignlabError(f"invalid JSON ({err.msg})", file=path, line=i) from None
                if not isinstance(obj, dict):
                    raise AlignlabError("expected a JSON object per line", file=path, line=i)
                yield i, obj
    except (OSError, EOFError) as err:  # unreadable, or a truncated / corrupt .gz
        raise AlignlabError(
            f"cannot read file ({type(err).__name__}: {err})", file=path, line=i or None
        ) from None


def read_appended_jsonl(path: str | Path) -> tuple[list[dict[str, Any]], bool]:
    """``(rows, torn)`` of a jsonl file that a process appends to line by line.

    ``torn`` is True when the file does not end with a newline, as a kill mid-write leaves it:
    the unterminated last line is dropped if it is not valid JSON, kept if it is (rewrite the
    file before appending to it again). A missing file reads as no rows.

    Raises:
        AlignlabError: an invalid line anywhere else (with its line number), or an unreadable file.
    """
    path = Path(path)
    if not path.exists():
        return [], False
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError as err:
        raise AlignlabError(f"cannot read file ({err.strerror or err})", file=path) from None
    tail = lines.pop()  # b"" when the file ends with a newline
    rows = [obj for _, obj in _parse_lines(lines, path)]
    if tail.strip():
        with contextlib.suppress(AlignlabError):  # the half-written row of a killed process
            rows.extend(obj for _, obj in _parse_lines([tail], path, first=len(lines) + 1))
    return rows, bool(tail)


def _parse_lines(
    lines: list[bytes], path: Path, first: int = 1
) -> Iterator[tuple[int, dict[str, Any]]]:
    for i, raw in enumerate(lines, start=first):
        text = _decode_line(raw, path, i)
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as err:
            raise AlignlabError(f"invalid JSON ({err.msg})", file=path, line=i) from None
        if not isinstance(obj, dict):
            raise AlignlabError("expected a JSON object per line", file=path, line=i)
        yield i, obj


def read_json(path: str | Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise AlignlabError("file not found", file=path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise AlignlabError(f"cannot read file ({err.strerror or err})", file=path) from None
    except UnicodeDecodeError:
        raise AlignlabError("not a UTF-8 text file", file=path) from None
    except json.JSONDecodeError as err:
        raise AlignlabError(f"invalid JSON ({err.msg})", file=path, line=err.lineno) from None


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays show up in records and metrics; make them plain JSON.
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
