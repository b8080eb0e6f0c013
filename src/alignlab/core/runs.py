"""Run folders: ``runs/<system>-<verb>/<utc-time>-<short-id>/``, in two modes.

- **All-or-nothing** (the default, for short commands): the run is written into a hidden
  staging folder and renamed into place only when the command finishes, so a failed or killed
  command leaves no half-written run behind.
- **Resumable** (``resumable=True``, for training): the run writes straight into its visible
  folder, ``run.json`` carries a ``status`` (``running`` → ``done``, or ``failed`` with the error,
  or ``interrupted`` on Ctrl-C), the folder is kept whatever happens, and ``Run.resume`` reopens
  it. A run killed outright (``kill -9``) still says ``running``; its lock is gone, so it resumes.

Both modes write ``config.json``, ``run.json``, ``provenance.json`` (``collect_provenance``) and,
when asked, a streamed ``metrics.jsonl`` (``Run.log_metrics``, ``read_metrics_log``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from alignlab.core.errors import AlignlabError
from alignlab.core.io import (
    atomic_write_json,
    dumps_strict,
    json_difference,
    normalize_json,
    read_appended_jsonl,
    read_json,
    write_jsonl,
)
from alignlab.core.report import Report

RUN_META = "run.json"
METRICS_LOG = "metrics.jsonl"
PROVENANCE = "provenance.json"
_LOCK = ".lock"
PACKAGES = ("alignlab", "numpy", "jax", "jaxlib", "flax", "optax", "mctx", "torch", "transformers")


def _jsonable(config: Any) -> Any:
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return {k: _jsonable(v) for k, v in dataclasses.asdict(config).items()}
    if isinstance(config, dict):
        return {str(k): _jsonable(v) for k, v in config.items()}
    if isinstance(config, (list, tuple)):
        return [_jsonable(v) for v in config]
    if isinstance(config, Path):
        return str(config)
    return config


def _with_new_defaults(stored: Any, config: Any) -> tuple[Any, set[str]]:
    """``stored`` (a run's ``config.json``) with every field of the dataclass ``config`` that
    it lacks — one added to the command after the run was written — set to the field's
    default, which is how the run behaved; and the names filled in. Resuming with such a field
    at its default is then the same run; with another value, a differing field. A ``config``
    that is not a dataclass has no defaults: nothing is filled in."""
    if not (
        isinstance(stored, dict)
        and dataclasses.is_dataclass(config)
        and not isinstance(config, type)
    ):
        return stored, set()
    added: dict[str, Any] = {}
    for f in dataclasses.fields(config):
        if f.name in stored:
            continue
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            continue
        added[f.name] = normalize_json(_jsonable(default))
    return {**stored, **added}, set(added)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class Run:
    """A run being written. Use as a context manager.

    Besides ``config.json`` the folder holds ``run.json`` (``{"system", "verb", "name"}``; a
    resumable run adds ``resumable``, ``status``, ``error``, ``started``, ``updated``,
    ``resumes``), so ``alignlab report`` can tell which command wrote it, and
    ``provenance.json``. The default run's folder appears on clean exit only; a resumable run's
    (``resumable=True``) exists from ``__enter__`` on and is never deleted.

    Raises:
        AlignlabError: ``root`` (``--out``) is an existing file, or the folder cannot be made.
    """

    dir: Path  # where files go now (the staging folder until a default run finishes)
    final_dir: Path

    def __init__(
        self,
        system: str,
        verb: str,
        config: Any,
        root: str | Path = "runs",
        *,
        resumable: bool = False,
    ) -> None:
        check_out_dir(root)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        name = f"{stamp}-{uuid.uuid4().hex[:6]}"
        self._setup(system, verb, config, Path(root) / f"{system}-{verb}" / name, resumable)
        if not resumable:
            self.dir = self.final_dir.parent / f".{self.name}.partial"

    def _setup(self, system: str, verb: str, config: Any, folder: Path, resumable: bool) -> None:
        self.system, self.verb, self.name = system, verb, folder.name
        self.final_dir = self.dir = folder
        self.resumable = resumable
        self.config = _jsonable(config)
        self.report = Report(title=f"alignlab {system} {verb} — {self.name}")
        self.provenance: dict[str, Any] = {}
        self._meta: dict[str, Any] = {}
        self._resumed = self._extend = False
        self._metrics: Any = None  # the open metrics.jsonl, once log_metrics is called
        self._lock: int | None = None

    @classmethod
    def resume(
        cls, run_dir: str | Path, config: Any, *, allowed: Iterable[str] = (), extend: bool = False
    ) -> Run:
        """Reopen a resumable run that did not finish; enter it with ``with``.

        ``config`` must equal the run's ``config.json`` except at the (dotted) keys in
        ``allowed`` (e.g. ``("steps", "resume")``); it replaces ``config.json``. A field of a
        dataclass ``config`` that the run's ``config.json`` lacks (a field newer than the run)
        counts as its default there: it may stay at the default, not change. The caller
        restores its checkpoint and calls ``truncate_metrics`` with the restored step.
        ``extend=True`` also reopens a ``done`` run, to train it further (e.g. more steps).

        Raises:
            AlignlabError: the folder or its ``run.json`` is missing, it is not a resumable run,
            it is ``done`` (without ``extend``), or the configs differ (``field`` = the first
            differing key).
        """
        folder = Path(run_dir)
        if not folder.is_dir():
            raise AlignlabError("run folder not found", file=folder)
        meta_path = folder / RUN_META
        meta = read_json(meta_path)
        if not isinstance(meta, dict) or meta.get("resumable") is not True:
            raise AlignlabError("not a resumable run", file=meta_path, field="resumable")
        if meta.get("status") == "done" and not extend:
            raise AlignlabError("the run already finished", file=meta_path, field="status")
        run = cls.__new__(cls)
        run._setup(str(meta.get("system")), str(meta.get("verb")), config, folder, True)
        allowed = tuple(allowed)
        stored, added = _with_new_defaults(read_json(folder / "config.json"), config)
        diff = json_difference(stored, normalize_json(run.config), ignore=allowed)
        if diff is not None:
            where, old, new = diff
            has = (
                f"no {where!r} (it predates that field; it ran as the default {old!r})"
                if where in added
                else repr(old)
            )
            raise AlignlabError(
                f"the run has {has}, the new config {new!r}; only "
                f"{', '.join(allowed) or 'nothing'} may change on resume",
                file=folder / "config.json",
                field=where,
            )
        run._meta, run._resumed, run._extend = meta, True, extend
        return run

    def __enter__(self) -> Run:
        if self._resumed:
            self._take_lock()
            done = read_json(self.dir / RUN_META).get("status") == "done"
            if done and not self._extend:  # finished meanwhile
                self._release_lock()
                raise AlignlabError("the run already finished", file=self.dir / RUN_META)
            self._meta.update(status="running", updated=_now(), error=None)
            self._meta["resumes"] = int(self._meta.get("resumes", 0)) + 1
            history = read_json(self.dir / PROVENANCE) if (self.dir / PROVENANCE).is_file() else {}
            earlier = history.pop("history", []) if isinstance(history, dict) else []
            self.provenance = {**collect_provenance(), "history": [*earlier, history]}
            self._repair_metrics()
        else:
            try:
                (self.dir / "plots").mkdir(parents=True, exist_ok=False)
            except OSError as err:
                raise AlignlabError(
                    f"cannot create the run folder ({err.strerror or err})",
                    file=self.final_dir.parent.parent,
                    field="out",
                ) from None
            self._meta = {"system": self.system, "verb": self.verb, "name": self.name}
            if self.resumable:
                self._take_lock()
                now = _now()
                self._meta.update(resumable=True, status="running", error=None, resumes=0)
                self._meta.update(started=now, updated=now)
            self.provenance = collect_provenance()
        atomic_write_json(self.dir / "config.json", self.config)
        atomic_write_json(self.dir / RUN_META, self._meta)
        atomic_write_json(self.dir / PROVENANCE, self.provenance)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self._close_metrics()
        if not self.resumable:
            if exc_type is not None:
                shutil.rmtree(self.dir, ignore_errors=True)
                return
            self.report.save(self.dir)
            self.dir.rename(self.final_dir)
            self.dir = self.final_dir
            return
        try:
            if exc_type is None:
                self.report.save(self.dir)
                self._set_status("done")
            elif issubclass(exc_type, KeyboardInterrupt):
                self._set_status("interrupted", "KeyboardInterrupt")
            else:
                self._set_status("failed", f"{exc_type.__name__}: {exc}")
        except BaseException as err:
            self._set_status("failed", f"{type(err).__name__}: {err}")
            raise
        finally:
            self._release_lock()

    def _set_status(self, status: str, error: str | None = None) -> None:
        self._meta.update(status=status, error=error, updated=_now())
        atomic_write_json(self.dir / RUN_META, self._meta)

    @property
    def status(self) -> str | None:
        """``running``, ``done``, ``failed`` or ``interrupted`` (resumable runs), else None."""
        return self._meta.get("status")

    @property
    def checkpoint_dir(self) -> Path:
        """``<run>/checkpoints``, the folder for ``save_checkpoint``."""
        return self.dir / "checkpoints"

    # ------------------------------------------------------------------ metrics.jsonl

    def log_metrics(self, step: int, values: Mapping[str, Any]) -> None:
        """Append ``{"step", "time" (Unix seconds), **values}`` to ``metrics.jsonl``, one line
        written and flushed at once, so ``tail -f`` shows it and a kill tears at most it.

        Raises:
            AlignlabError: ``values`` uses ``step`` or ``time`` or is not JSON-able.
        """
        for reserved in ("step", "time"):
            if reserved in values:
                raise AlignlabError("set by log_metrics itself", field=reserved)
        row = {"step": int(step), "time": round(time.time(), 3), **values}
        try:
            line = (dumps_strict(row) + "\n").encode("utf-8")
        except (TypeError, ValueError) as err:
            raise AlignlabError(f"metrics not JSON-able ({err})", field="values") from None
        if self._metrics is None:
            self._repair_metrics()
            self._metrics = (self.dir / METRICS_LOG).open("ab", buffering=0)
        self._metrics.write(line)  # unbuffered: one write call per line

    def truncate_metrics(self, after_step: int | None) -> int:
        """Drop the ``metrics.jsonl`` rows with ``step > after_step`` (all rows for None), as a
        resume from the checkpoint of ``after_step`` must; returns how many were dropped."""
        self._close_metrics()
        path = self.dir / METRICS_LOG
        rows, torn = _checked_rows(path)
        keep = [r for r in rows if after_step is not None and r["step"] <= after_step]
        if torn or len(keep) != len(rows):
            write_jsonl(path, keep)
        return len(rows) - len(keep)

    def _repair_metrics(self) -> None:
        path = self.dir / METRICS_LOG
        rows, torn = _checked_rows(path)
        if torn:  # appending after a half line would glue two rows together
            write_jsonl(path, rows)

    def _close_metrics(self) -> None:
        if self._metrics is not None:
            self._metrics.close()
            self._metrics = None

    # ------------------------------------------------------------------ lock

    def _take_lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # not POSIX: no protection against two writers
            return
        fd = os.open(self.dir / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise AlignlabError(
                "another process has this run open", file=self.dir, field="status"
            ) from None
        self._lock = fd  # the kernel drops the lock when this process dies, even on kill -9

    def _release_lock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    # ------------------------------------------------------------------ other files

    def write_records(self, rows: Iterable[dict[str, Any]]) -> int:
        return write_jsonl(self.dir / "records.jsonl", rows)

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        atomic_write_json(self.dir / "metrics.json", metrics)

    def plot_path(self, name: str) -> Path:
        """Where to save a plot; the report refers to it relative to the run folder."""
        return self.dir / "plots" / name

    def write_json(self, name: str, obj: Any) -> Path:
        path = self.dir / name
        atomic_write_json(path, obj)
        return path


def read_metrics_log(path: str | Path) -> list[dict[str, Any]]:
    """The rows of a ``metrics.jsonl`` (or of the one in the run folder ``path``), in file
    order; a half-written last line (the process was killed mid-write) is ignored.

    Raises:
        AlignlabError: missing file, an invalid line before the last, or a row without an
        integer ``step``.
    """
    path = Path(path)
    if path.is_dir():
        path = path / METRICS_LOG
    if not path.is_file():
        raise AlignlabError("file not found", file=path)
    return _checked_rows(path)[0]


def _checked_rows(path: Path) -> tuple[list[dict[str, Any]], bool]:
    rows, torn = read_appended_jsonl(path)
    for i, row in enumerate(rows, start=1):
        step = row.get("step")
        if not isinstance(step, int) or isinstance(step, bool):
            raise AlignlabError(f"row {i} has no integer step", file=path, field="step")
    return rows, torn


def collect_provenance() -> dict[str, Any]:
    """What produced a run: ``start_utc``, ``argv``, ``python``, ``platform``, ``packages``
    (versions of the installed ones among ``PACKAGES``) and ``git`` (``{"commit", "dirty"}`` of
    the source tree alignlab is imported from, None outside a git checkout or without git)."""
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "start_utc": _now(),
        "argv": list(sys.argv),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": packages,
        "git": _git_state(Path(__file__).resolve().parents[1]),
    }


def _git_state(src: Path) -> dict[str, Any] | None:
    if {"site-packages", "dist-packages"} & set(src.parts):
        return None  # an installed copy: a repository around it is not its source
    cmd = ["git", "-C", str(src), "status", "--porcelain=v2", "--branch", "--untracked-files=no"]
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # never take the index lock of a busy repo
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=3, env=env, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    commit, dirty = None, False
    for line in out.stdout.splitlines():
        if line.startswith("# branch.oid "):
            oid = line.split()[2]
            commit = None if oid == "(initial)" else oid
        elif not line.startswith("#"):
            dirty = True
    return {"commit": commit, "dirty": dirty}


def check_out_dir(root: str | Path) -> None:
    """Fail early when the folder meant to hold run folders is (or sits under) a file."""
    root = Path(root)
    for part in (root, *root.parents):
        if part.exists():
            if not part.is_dir():
                what = "names an existing file" if part == root else f"sits under the file {part}"
                raise AlignlabError(
                    f"the folder for run folders {what}; pass a folder", file=root, field="out"
                )
            return


def load_metrics(run_dir: str | Path) -> dict[str, Any]:
    """A run's ``metrics.json`` (a JSON object)."""
    path = Path(run_dir) / "metrics.json"
    data = read_json(path)
    if not isinstance(data, dict):
        raise AlignlabError("metrics must be a JSON object", file=path)
    return data


C = TypeVar("C")


def resumed_config(cfg: C, run_dir: str | Path) -> C:
    """The config to resume ``run_dir`` with: the run's own ``config.json``, with every field
    of ``cfg`` (a dataclass built from the command line) that differs from its default laid
    over it. So ``--resume RUN`` alone continues the run as it was, and ``--resume RUN
    --steps N`` changes only the steps; whether a change is allowed is ``Run.resume``'s call.
    A field the run's ``config.json`` lacks (newer than the run) keeps ``cfg``'s value. JSON
    lists come back as tuples (the configs' sequences are tuples).

    Raises:
        AlignlabError: no ``config.json`` in ``run_dir``, not a JSON object, or it does not
        fit ``type(cfg)`` (another command's run).
    """
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise AlignlabError("not a run folder of this command (no config.json)", file=path)
    saved = read_json(path)
    if not isinstance(saved, dict):
        raise AlignlabError("config.json must be a JSON object", file=path)
    merged: dict[str, Any] = {}
    for f in dataclasses.fields(cfg):  # type: ignore[arg-type]
        given = getattr(cfg, f.name)
        value = saved[f.name] if f.name in saved and given == f.default else given
        merged[f.name] = tuple(value) if isinstance(value, list) else value
    try:
        return type(cfg)(**merged)
    except TypeError as exc:
        raise AlignlabError(f"config.json does not fit this command ({exc})", file=path) from None
