"""Run folders: ``runs/<system>-<verb>/<utc-time>-<short-id>/``.

A run is written into a hidden staging folder and renamed into place only when the command
finishes, so a failed or killed command leaves no half-written run behind.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from alignlab.core.errors import AlignlabError
from alignlab.core.io import atomic_write_json, read_json, write_jsonl
from alignlab.core.report import Report


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


RUN_META = "run.json"


class Run:
    """A run being written. Use as a context manager; the folder appears on clean exit.

    Besides ``config.json`` the folder holds ``run.json`` (``{"system", "verb", "name"}``), so
    ``alignlab report`` can tell which command wrote it.

    Raises:
        AlignlabError: ``root`` (``--out``) is an existing file, or the folder cannot be made.
    """

    def __init__(self, system: str, verb: str, config: Any, root: str | Path = "runs") -> None:
        check_out_dir(root)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        self.name = f"{stamp}-{uuid.uuid4().hex[:6]}"
        self.final_dir = Path(root) / f"{system}-{verb}" / self.name
        self.dir = self.final_dir.parent / f".{self.name}.partial"
        self.system, self.verb = system, verb
        self.config = _jsonable(config)
        self.report = Report(title=f"alignlab {system} {verb} — {self.name}")

    def __enter__(self) -> Run:
        try:
            (self.dir / "plots").mkdir(parents=True, exist_ok=False)
        except OSError as err:
            raise AlignlabError(
                f"cannot create the run folder ({err.strerror or err})",
                file=self.final_dir.parent.parent,
                field="out",
            ) from None
        atomic_write_json(self.dir / "config.json", self.config)
        meta = {"system": self.system, "verb": self.verb, "name": self.name}
        atomic_write_json(self.dir / RUN_META, meta)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            return
        self.report.save(self.dir)
        self.dir.rename(self.final_dir)
        self.dir = self.final_dir

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
