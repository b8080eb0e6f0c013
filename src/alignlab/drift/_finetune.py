"""Finetuning backends behind one protocol: submit a chat jsonl → a job → poll → a model spec.

Narrow finetuning is the intervention of arXiv 2512.09742; the same experiment runs with a
local LoRA SFT (:class:`LocalLoraFinetune`) or a hosted OpenAI-compatible finetuning API
(:class:`OpenAIFinetune`), and :meth:`FinetuneBackend.model_spec` hands the result to
``models.load_chat``. Every job goes through a :class:`JobRegistry`, so submitting the same
(backend, base, dataset, hyperparameters, seed) again returns the job already there: reruns
resume, and a failed job stays failed (with its error) until someone forgets it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from alignlab.core import AlignlabError, sha256_file, track
from alignlab.drift._chat_jsonl import read_chat_jsonl
from alignlab.drift._registry import (
    FinetuneParams,
    JobRecord,
    JobRegistry,
    job_id,
    job_key,
    utc_now,
)
from alignlab.models import FinetuneJob, LoraSFTConfig, OpenAIFinetuning, lora_sft

log = logging.getLogger("alignlab.drift")


@runtime_checkable
class FinetuneBackend(Protocol):
    """``submit`` starts (or finds) a job; ``poll`` refreshes it; ``model_spec`` names the
    finetuned model for ``models.load_chat`` once the job succeeded."""

    registry: JobRegistry

    def submit(
        self, dataset: Path, base: str, params: FinetuneParams, *, seed: int, name: str
    ) -> JobRecord: ...

    def poll(self, job: JobRecord) -> JobRecord: ...

    def model_spec(self, job: JobRecord) -> str: ...


def _as_registry(registry: JobRegistry | str | Path) -> JobRegistry:
    return registry if isinstance(registry, JobRegistry) else JobRegistry(registry)


def _new_record(
    backend: str,
    endpoint: str | None,
    key: str,
    dataset: Path,
    sha: str,
    base: str,
    params: FinetuneParams,
    seed: int,
    name: str,
) -> JobRecord:
    now = utc_now()
    return JobRecord(
        id=job_id(name, key),
        key=key,
        name=name,
        backend=backend,
        endpoint=endpoint,
        status="queued",
        base=base,
        dataset=str(dataset),
        dataset_sha256=sha,
        seed=seed,
        params=params,
        created=now,
        updated=now,
    )


def _spec_of(job: JobRecord) -> str:
    if job.status != "succeeded" or not job.model_spec:
        why = f": {job.error}" if job.error else ""
        raise AlignlabError(f"job {job.id} is {job.status}, no model yet{why}", field="status")
    return job.model_spec


def _lora_folder(job: JobRecord) -> Path:
    return Path((job.model_spec or "").removeprefix("lora:"))


def _check_dataset(dataset: Path) -> str:
    """The dataset's sha256, after reading it strictly (a bad row fails here, before any
    training or upload, with its file, line and field)."""
    read_chat_jsonl(dataset)
    return sha256_file(dataset)


class LocalLoraFinetune:
    """LoRA SFT on this machine with ``models.lora_sft``, run to the end inside :meth:`submit`.

    Each job trains in ``root/<job id>`` (checkpoints, ``metrics.jsonl``, the finished adapter in
    ``model``); a job killed mid-training is resumed by submitting it again. Records live in
    ``registry`` (default ``root/jobs``). A training error (:class:`AlignlabError`) is recorded as
    a failed job and returned; any other exception is recorded and re-raised.
    """

    backend = "local-lora"

    def __init__(self, root: str | Path, *, registry: JobRegistry | str | Path | None = None):
        self.root = Path(root)
        self.registry = _as_registry(registry if registry is not None else self.root / "jobs")

    @staticmethod
    def config(params: FinetuneParams, seed: int) -> LoraSFTConfig:
        return LoraSFTConfig(
            r=params.r,
            alpha=params.alpha,
            dropout=params.dropout,
            rslora=params.rslora,
            epochs=params.epochs,
            lr=params.lr,
            batch_size=params.batch_size,
            warmup_ratio=params.warmup_ratio,
            schedule=params.schedule,
            max_tokens=params.max_tokens,
            seed=seed,
            checkpoint_every=params.checkpoint_every,
        )

    def submit(
        self, dataset: Path, base: str, params: FinetuneParams, *, seed: int, name: str
    ) -> JobRecord:
        dataset = Path(dataset)
        sha = _check_dataset(dataset)
        used = params.model_dump(exclude={"lr_multiplier"})
        key = job_key(self.backend, base, sha, used, seed)
        job = self.registry.find(key)
        if job is not None and job.status in ("failed", "cancelled"):
            return job  # not retried silently: registry.forget(job.id) to try again
        if job is not None and job.status == "succeeded" and _lora_folder(job).is_dir():
            return job
        # new, or found unfinished (its process was killed): lora_sft resumes from checkpoints
        job = job or _new_record(self.backend, None, key, dataset, sha, base, params, seed, name)
        job = self.registry.put(job.with_status("running"))
        chats = read_chat_jsonl(dataset)
        try:
            folder = lora_sft(base, chats, self.config(params, seed), out_dir=self.root / job.id)
        except AlignlabError as err:
            return self.registry.put(job.with_status("failed", error=str(err)))
        except Exception as err:
            self.registry.put(job.with_status("failed", error=f"{type(err).__name__}: {err}"))
            raise
        return self.registry.put(job.with_status("succeeded", model_spec=f"lora:{folder}"))

    def poll(self, job: JobRecord) -> JobRecord:
        """Local jobs finish inside :meth:`submit`; this reads the record back."""
        return self.registry.get(job.id)

    def model_spec(self, job: JobRecord) -> str:
        """``lora:<root>/<job id>/model``."""
        return _spec_of(job)


class OpenAIFinetune:
    """An OpenAI-compatible finetuning API: :meth:`submit` uploads the dataset and creates the
    job (``suffix`` = the job's name, ``seed`` passed through), :meth:`poll` retrieves it,
    :meth:`wait` polls every ``poll_interval_s`` seconds until it is done.

    The model spec is ``openai:<fine_tuned_model>``. The API key comes from ``$api_key_env``.
    """

    backend = "openai"

    def __init__(
        self,
        base_url: str,
        *,
        registry: JobRegistry | str | Path,
        poll_interval_s: float = 30.0,
        api_key_env: str = "OPENAI_API_KEY",
        client: OpenAIFinetuning | None = None,
    ) -> None:
        self.client = client or OpenAIFinetuning(base_url, api_key_env=api_key_env)
        self.base_url = self.client.base_url
        self.registry = _as_registry(registry)
        self.poll_interval_s = poll_interval_s
        self.sleep: Callable[[float], None] = time.sleep  # replaced in tests

    def submit(
        self, dataset: Path, base: str, params: FinetuneParams, *, seed: int, name: str
    ) -> JobRecord:
        dataset = Path(dataset)
        sha = _check_dataset(dataset)
        hyper = self.hyperparameters(params)
        key = job_key(f"{self.backend}@{self.base_url}", base, sha, hyper, seed)
        job = self.registry.find(key)
        if job is not None and job.remote_id is not None:
            return job  # running, done or failed: poll it, never start a second one
        job = job or _new_record(
            self.backend, self.base_url, key, dataset, sha, base, params, seed, name
        )
        # recorded before the upload: a kill after create_job but before the put below costs a
        # duplicate remote job on the rerun, nothing worse
        self.registry.put(job)
        file_id = self.client.upload_file(dataset)
        remote = self.client.create_job(
            file_id, base, hyperparameters=hyper, suffix=job.name[:64], seed=seed
        )
        return self.registry.put(_update(job, remote.status, remote.id, remote))

    @staticmethod
    def hyperparameters(params: FinetuneParams) -> dict[str, Any]:
        """The API's ``hyperparameters`` object (``learning_rate_multiplier`` left out when
        unset, i.e. the server's ``auto``)."""
        hyper: dict[str, Any] = {"n_epochs": params.epochs, "batch_size": params.batch_size}
        if params.lr_multiplier is not None:
            hyper["learning_rate_multiplier"] = params.lr_multiplier
        return hyper

    def poll(self, job: JobRecord) -> JobRecord:
        job = self.registry.get(job.id)  # the registry may know more than the caller's copy
        if job.done or job.remote_id is None:
            return job
        remote = self.client.retrieve_job(job.remote_id)
        if remote.status == job.status:
            return job
        if remote.done:
            log.info("finetune %s: %s", job.id, remote.status)
        return self.registry.put(_update(job, remote.status, job.remote_id, remote))

    def cancel(self, job: JobRecord) -> JobRecord:
        job = self.registry.get(job.id)
        if job.done or job.remote_id is None:
            return job
        remote = self.client.cancel_job(job.remote_id)
        return self.registry.put(_update(job, remote.status, job.remote_id, remote))

    def model_spec(self, job: JobRecord) -> str:
        """``openai:<fine_tuned_model>``."""
        return _spec_of(job)

    def wait(self, job: JobRecord, *, timeout_s: float = 24 * 3600.0) -> JobRecord:
        """Poll until the job is done (succeeded, failed or cancelled) and return it; a
        progress line shows the polls. Raises :class:`AlignlabError` after ``timeout_s``
        seconds (the job keeps running remotely; waiting again picks it up)."""
        start = time.monotonic()

        def polls() -> Iterator[JobRecord]:
            current = self.poll(job)
            while not current.done:
                if time.monotonic() - start > timeout_s:
                    raise AlignlabError(
                        f"job {current.id} still {current.status} after {timeout_s:.0f} s; "
                        "wait again later (the registry keeps it)",
                        field="timeout_s",
                    )
                yield current
                self.sleep(self.poll_interval_s)
                current = self.poll(current)
            yield current

        current = job
        for current in track(polls(), desc=f"finetune {job.id}"):  # noqa: B007 - the last one
            continue
        return current


def _update(job: JobRecord, status: str, remote_id: str, remote: FinetuneJob) -> JobRecord:
    spec = f"openai:{remote.fine_tuned_model}" if remote.fine_tuned_model else None
    error = remote.error
    if status == "succeeded" and spec is None:  # nothing to evaluate: call it what it is
        status, error = "failed", error or "the server reported success without a model"
    return job.with_status(status, remote_id=remote_id, model_spec=spec, error=error)
