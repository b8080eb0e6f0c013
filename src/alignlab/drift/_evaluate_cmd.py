"""``alignlab drift evaluate``: sample free-form answers from one or more models, score them,
and report each target behaviour's rate with bootstrap CIs, side by side."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignlab.core import (
    AlignlabError,
    Run,
    bad_flag,
    check_at_least,
    check_seed,
    config_field,
    resumed_config,
)
from alignlab.drift._evaluate import ModelEval, build_scorers, evaluate_model
from alignlab.drift._experiment import EvaluateStep, load_evaluate_step
from alignlab.drift._paths import data_path
from alignlab.drift._run_report import evaluate_metrics, report_evaluate
from alignlab.models import load_chat

RESUMABLE_CHANGES = ("resume", "out", "concurrency", "base_url")


@dataclass(frozen=True)
class EvaluateConfig:
    model: tuple[str, ...] = config_field(
        ("smollm2",),
        "models to sample, side by side: smollm2, tiny[:SEED], hf:PATH_OR_ID, lora:FOLDER (a "
        "finetuned adapter), openai:MODEL (any OpenAI-compatible server; --base-url)",
    )
    spec: str = config_field(
        "builtin:era_eval",
        "the evaluation file: questions, scorers and targets (YAML; builtin:NAME for the "
        "shipped ones, see docs/drift.md)",
    )
    samples: int = config_field(0, "samples per paraphrase (0: the question set's own)")
    max_tokens: int = config_field(0, "tokens per answer (0: the evaluation file's)")
    seed: int = config_field(0, "sampling seed")
    base_url: str = config_field(
        "", "OpenAI-compatible base URL for openai: models and judges (default $OPENAI_BASE_URL)"
    )
    concurrency: int = config_field(16, "prompts per local batch / requests in flight")
    n_boot: int = config_field(1000, "bootstrap replicates for CIs")
    out: str = config_field("runs", "folder that holds run folders")
    resume: str = config_field("", "a run folder of this command to continue")

    def __post_init__(self) -> None:
        if not self.model:
            bad_flag("model", "--model needs at least one model spec")
        if len(set(self.model)) != len(self.model):
            bad_flag("model", f"--model names a model twice: {list(self.model)}")
        check_at_least(self.samples, 0, "samples", "samples per paraphrase")
        check_at_least(self.max_tokens, 0, "max_tokens", "tokens per answer")
        check_at_least(self.concurrency, 1, "concurrency", "prompts per batch")
        check_at_least(self.n_boot, 100, "n_boot", "bootstrap replicates")
        check_seed(self.seed)
        if self.resume and not Path(self.resume).is_dir():
            bad_flag("resume", f"--resume {self.resume}: run folder not found")


def _step(cfg: EvaluateConfig) -> EvaluateStep:
    step = load_evaluate_step(data_path(cfg.spec, field="spec"))
    upd: dict[str, Any] = {}
    if cfg.samples:
        upd["samples"] = cfg.samples
    if cfg.max_tokens:
        upd["max_tokens"] = cfg.max_tokens
    return step.model_copy(update=upd) if upd else step


def _label(spec: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in spec)[:80]


def run_evaluate(cfg: EvaluateConfig) -> Path:
    step = _step(cfg)  # a bad evaluation file fails before any model loads
    if cfg.resume:
        cfg = resumed_config(cfg, cfg.resume)
        run = Run.resume(cfg.resume, cfg, allowed=RESUMABLE_CHANGES)
    else:
        run = Run("drift", "evaluate", cfg, cfg.out, resumable=True)
    base_url = cfg.base_url or None
    with run:
        scorers = build_scorers(step.scorers, base_url=base_url)
        evals: dict[str, dict[str, ModelEval]] = {}
        for i, spec in enumerate(cfg.model):
            backend = load_chat(spec, base_url=base_url, batch_size=cfg.concurrency)
            ev = evaluate_model(backend, spec, step, scorers, folder=run.dir / _label(spec),
                                seed=cfg.seed, concurrency=cfg.concurrency)  # fmt: skip
            evals[spec] = {str(cfg.seed): ev}
            run.log_metrics(i, {"model": spec, "answers": ev.n_answers, "failed": ev.n_failed})
        if all(e.n_answers == e.n_failed for by in evals.values() for e in by.values()):
            raise AlignlabError("every request failed; see the answers files", file=run.dir)
        first = cfg.model[0]
        contrasts = [(m, first) for m in cfg.model[1:]]
        metrics = evaluate_metrics(evals, [t.name for t in step.targets], contrasts, cfg.n_boot)
        run.write_metrics({"evaluate": metrics, "models": list(cfg.model)})
        run.report.text(f"Questions `{step.questions}`, temperature {step.temperature}, "
                        f"{step.max_tokens} tokens per answer, seed {cfg.seed}.")  # fmt: skip
        report_evaluate(run, run.report, metrics)
    return run.final_dir
