"""Finetuning jobs as typed records, one JSON file each, so ``drift run`` resumes.

A job is identified by what determines its result: (backend target, base model, dataset
sha256, the hyperparameters that backend uses, seed). Submitting the same thing again finds the
record instead of paying for a second finetune (arXiv 2512.09742's experiments finetune many
arms × seeds, and a rerun after a kill must not start them over).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from alignlab.core import AlignlabError, atomic_write_json, sha256_text

TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
_FORMAT = 1  # the registry file layout; bump when JobRecord changes incompatibly


class FinetuneParams(BaseModel):
    """Finetuning hyperparameters for either backend.

    Local LoRA SFT uses ``lr`` (AdamW, per step), ``r``/``alpha``/``dropout``/``rslora`` (rsLoRA
    scales by ``alpha/sqrt(r)``), ``warmup_ratio`` (fraction of steps), ``schedule``,
    ``max_tokens`` (per training row, truncated) and ``checkpoint_every`` (steps). A hosted API
    uses ``epochs``, ``batch_size`` and ``lr_multiplier`` (``None``: the server's ``auto``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    epochs: int = Field(default=3, ge=1)
    batch_size: int = Field(default=4, ge=1)
    lr: float = Field(default=2e-4, gt=0)
    lr_multiplier: float | None = Field(default=None, gt=0)
    r: int = Field(default=8, ge=1)
    alpha: int = Field(default=16, ge=1)
    dropout: float = Field(default=0.05, ge=0, lt=1)
    rslora: bool = False
    warmup_ratio: float = Field(default=0.03, ge=0, lt=1)
    schedule: Literal["linear", "cosine", "constant"] = "linear"
    max_tokens: int = Field(default=256, ge=8)
    checkpoint_every: int = Field(default=50, ge=1)


class JobRecord(BaseModel):
    """One finetuning job as the registry keeps it.

    ``id``: ``<name>-<12 hex of key>``; ``key``: sha256 of what determines the result (see
    :func:`job_key`); ``status``: ``queued`` | ``validating_files`` | ``running`` | ``succeeded``
    | ``failed`` | ``cancelled``; ``remote_id``: the API's job id; ``model_spec``: a
    ``models.load_chat`` spec once succeeded; ``created``/``updated``: ISO-8601 UTC.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    key: str
    name: str
    backend: str
    endpoint: str | None = None
    status: str
    base: str
    dataset: str
    dataset_sha256: str
    seed: int
    params: FinetuneParams
    remote_id: str | None = None
    model_spec: str | None = None
    error: str | None = None
    created: str
    updated: str

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    def with_status(self, status: str, **changes: Any) -> JobRecord:
        """A copy with ``status`` (and other fields) changed and ``updated`` set to now."""
        return self.model_copy(update={"status": status, "updated": utc_now(), **changes})


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def job_key(target: str, base: str, dataset_sha256: str, params: dict[str, Any], seed: int) -> str:
    """sha256 over what determines a finetune's result; ``params``: only the hyperparameters
    the backend uses, so changing a LoRA rank does not start a second hosted job."""
    blob = {"target": target, "base": base, "data": dataset_sha256, "params": params, "seed": seed}
    return sha256_text(json.dumps(blob, sort_keys=True))


def job_id(name: str, key: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "job"
    return f"{slug[:48]}-{key[:12]}"


class JobRegistry:
    """``folder/<job id>.json``, one :class:`JobRecord` each, written atomically.

    One process per registry at a time: two processes submitting the same job at once could
    both start it (the registry is a resume log, not a lock).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def path(self, job_id: str) -> Path:
        return self.folder / f"{job_id}.json"

    def put(self, job: JobRecord) -> JobRecord:
        atomic_write_json(self.path(job.id), {"format": _FORMAT, **job.model_dump(mode="json")})
        return job

    def get(self, job_id: str) -> JobRecord:
        path = self.path(job_id)
        if not path.is_file():
            raise AlignlabError(f"no job '{job_id}' in {self.folder}", field="job_id")
        return _load(path)

    def list(self) -> list[JobRecord]:
        """Every job, oldest first."""
        if not self.folder.is_dir():
            return []
        jobs = [_load(p) for p in sorted(self.folder.glob("*.json"))]
        return sorted(jobs, key=lambda j: (j.created, j.id))

    def find(self, key: str) -> JobRecord | None:
        """The job submitted with this :func:`job_key`, if any."""
        return next((j for j in self.list() if j.key == key), None)

    def forget(self, job_id: str) -> None:
        """Drop a record (e.g. a failed job, so the next submit starts it afresh)."""
        self.path(job_id).unlink(missing_ok=True)


def _load(path: Path) -> JobRecord:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise AlignlabError(f"unreadable job record ({err})", file=path) from None
    if not isinstance(raw, dict) or raw.pop("format", None) != _FORMAT:
        raise AlignlabError(f"not a job record of format {_FORMAT}", file=path, field="format")
    try:
        return JobRecord.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(x) for x in first["loc"])
        raise AlignlabError(first["msg"], file=path, field=field) from None
