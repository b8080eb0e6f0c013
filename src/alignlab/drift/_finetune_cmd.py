"""``alignlab drift finetune``: one finetuning job through either backend, waited for; prints
the model spec ``drift evaluate --model`` takes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from alignlab.core import AlignlabError, bad_flag, check_at_least, check_seed, config_field
from alignlab.drift._finetune import FinetuneBackend, LocalLoraFinetune, OpenAIFinetune
from alignlab.drift._registry import FinetuneParams


@dataclass(frozen=True)
class FinetuneConfig:
    dataset: str = config_field("", "the training data: OpenAI chat jsonl (drift make-dataset)")
    base: str = config_field(
        "smollm2", "base model: smollm2, tiny, hf:PATH_OR_ID (local); a model id (openai)"
    )
    backend: str = config_field("local", "local (LoRA SFT here) or openai (hosted API)")
    base_url: str = config_field("", "OpenAI-compatible base URL (default $OPENAI_BASE_URL)")
    name: str = config_field("", "job name (default: the dataset's file name)")
    seed: int = config_field(0, "training seed (data order, LoRA init)")
    epochs: int = config_field(3, "epochs")
    batch_size: int = config_field(4, "rows per optimizer step")
    lr: float = config_field(2e-4, "peak learning rate (local)")
    lr_multiplier: float = config_field(0.0, "learning-rate multiplier (openai; 0: auto)")
    r: int = config_field(8, "LoRA rank (local)")
    alpha: int = config_field(16, "LoRA alpha (local)")
    rslora: bool = config_field(False, "rank-stabilised LoRA scaling alpha/sqrt(r) (local)")
    warmup_ratio: float = config_field(0.03, "fraction of steps warming up (local)")
    schedule: str = config_field("linear", "learning-rate decay: linear, cosine, constant")
    max_tokens: int = config_field(256, "tokens per training row (longer rows are truncated)")
    poll_interval: float = config_field(30.0, "seconds between polls of a hosted job")
    out: str = config_field("runs/drift-finetune", "folder for jobs/ and local training folders")

    def __post_init__(self) -> None:
        if not self.dataset:
            bad_flag("dataset", "--dataset is required (a chat jsonl)")
        if not Path(self.dataset).is_file():
            bad_flag("dataset", f"--dataset {self.dataset}: file not found")
        if self.backend not in ("local", "openai"):
            bad_flag("backend", "--backend must be local or openai")
        check_seed(self.seed)
        check_at_least(self.epochs, 1, "epochs", "epochs")

    def params(self) -> FinetuneParams:
        try:
            return FinetuneParams(
                epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
                lr_multiplier=self.lr_multiplier or None, r=self.r, alpha=self.alpha,
                rslora=self.rslora, warmup_ratio=self.warmup_ratio,
                schedule=self.schedule,  # type: ignore[arg-type]
                max_tokens=self.max_tokens,
            )  # fmt: skip
        except ValueError as err:  # pydantic's ValidationError
            raise AlignlabError(str(err).splitlines()[1], field="params") from None


def run_finetune(cfg: FinetuneConfig) -> str:
    """Submit (or find) the job, wait for it and return its model spec."""
    params = cfg.params()
    root = Path(cfg.out)
    backend: FinetuneBackend
    if cfg.backend == "local":
        backend = LocalLoraFinetune(root, registry=root / "jobs")
    else:
        url = cfg.base_url or os.environ.get("OPENAI_BASE_URL", "")
        if not url:
            bad_flag("base_url", "--backend openai needs --base-url or $OPENAI_BASE_URL")
        backend = OpenAIFinetune(url, registry=root / "jobs", poll_interval_s=cfg.poll_interval)
    dataset = Path(cfg.dataset)
    name = cfg.name or dataset.stem
    job = backend.submit(dataset, cfg.base, params, seed=cfg.seed, name=name)
    if isinstance(backend, OpenAIFinetune):
        job = backend.wait(job)
    if job.status != "succeeded":
        raise AlignlabError(f"job {job.id} {job.status}: {job.error}",
                            file=root / "jobs" / f"{job.id}.json", field="status")  # fmt: skip
    return backend.model_spec(job)
