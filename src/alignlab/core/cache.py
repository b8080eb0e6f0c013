"""A small on-disk key → array store (sqlite), so re-running a command costs nothing.

sqlite gives atomic, crash-safe commits and concurrent readers for free; a folder of .npy files
would need its own locking and fsync discipline. One connection per cache, shared by threads
behind a lock: sqlite serialises writers anyway, and Python's ``with db:`` transactions on a
shared connection would otherwise interleave (one thread committing or rolling back another's).
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from alignlab.core.errors import AlignlabError

_HINT = "delete it to start a fresh cache, or run without the cache"


@contextlib.contextmanager
def _sqlite_errors(path: Path) -> Iterator[None]:
    """Turn sqlite failures (not a database, corrupt pages, unwritable) into one clear error."""
    try:
        yield
    except sqlite3.Error as err:
        raise AlignlabError(f"unusable cache file ({err}); {_HINT}", file=path) from None


def _connect(path: Path, table: str, value_type: str) -> sqlite3.Connection:
    if path.is_dir():
        raise AlignlabError("cache path is a folder; expected a sqlite file", file=path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise AlignlabError(f"cannot create the cache folder ({err.strerror})", file=path) from None
    with _sqlite_errors(path):
        db = sqlite3.connect(path, check_same_thread=False)
        try:
            # sqlite opens lazily: a file that is not a database fails only at its first query
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, value {value_type})"
            )
            db.commit()
        except sqlite3.Error:
            db.close()
            raise
    return db


class ArrayCache:
    """Maps string keys to numpy arrays inside one sqlite file.

    Raises:
        AlignlabError: the file is not a sqlite database, is corrupt, or cannot be opened.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = _connect(self.path, "arrays", "BLOB")
        self._lock = threading.Lock()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        with self._lock, _sqlite_errors(self.path):
            for start in range(0, len(keys), 500):  # sqlite caps bound parameters per statement
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, value FROM arrays WHERE key IN ({marks})", chunk
                ).fetchall()
                for key, blob in rows:
                    out[key] = self._load(key, blob)
        return out

    def _load(self, key: str, blob: object) -> np.ndarray:
        try:
            return np.load(io.BytesIO(blob), allow_pickle=False)  # type: ignore[arg-type]
        except (ValueError, TypeError, OSError, EOFError):
            raise AlignlabError(
                f"cache entry {key!r} is not a stored array; {_HINT}", file=self.path
            ) from None

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        def blobs() -> Iterator[tuple[str, bytes]]:
            for key, arr in items.items():
                buf = io.BytesIO()
                np.save(buf, np.asarray(arr), allow_pickle=False)
                yield key, buf.getvalue()

        with self._lock, _sqlite_errors(self.path), self._db:
            self._db.executemany("INSERT OR REPLACE INTO arrays VALUES (?, ?)", blobs())

    def __len__(self) -> int:
        with self._lock, _sqlite_errors(self.path):
            return int(self._db.execute("SELECT COUNT(*) FROM arrays").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


def default_cache_dir() -> Path:
    """``$ALIGNLAB_CACHE`` or ``~/.cache/alignlab``."""
    import os

    root = os.environ.get("ALIGNLAB_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "alignlab"


class JsonCache:
    """Maps string keys to JSON values inside one sqlite file (e.g. HTTP response caches).

    Safe to share between threads (one lock around the connection).

    Raises:
        AlignlabError: the file is not a sqlite database, is corrupt, or cannot be opened.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db = _connect(self.path, "entries", "TEXT")
        self._lock = threading.Lock()

    def get(self, key: str) -> object | None:
        with self._lock, _sqlite_errors(self.path):
            row = self._db.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return json.loads(row[0])
        except (TypeError, json.JSONDecodeError):
            raise AlignlabError(
                f"cache entry {key!r} is not valid JSON; {_HINT}", file=self.path
            ) from None

    def put(self, key: str, value: object) -> None:
        blob = json.dumps(value)  # outside the lock: encoding can be slow for big values
        with self._lock, _sqlite_errors(self.path), self._db:
            self._db.execute("INSERT OR REPLACE INTO entries VALUES (?, ?)", (key, blob))

    def __len__(self) -> int:
        with self._lock, _sqlite_errors(self.path):
            return int(self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
