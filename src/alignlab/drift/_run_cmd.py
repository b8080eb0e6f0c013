"""``alignlab drift run EXPERIMENT.yaml``: dataset → finetune (arms × seeds) → evaluate and/or
trigger sweep → report, in one resumable run folder.

Stages keep their results in the run folder (``datasets/``, ``jobs/`` and ``finetune/``,
``evals/<model>/``, ``sweeps/<model>/``) and skip what is already there, so ``--resume RUN``
after a kill (or a failed endpoint) redoes only unfinished work: a dataset whose manifest
checks out is not rebuilt, a finished finetuning job is not submitted again (the job
registry), a local job killed mid-epoch resumes from its checkpoint, and a model whose
evaluation finished is not asked again.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignlab.core import (
    AlignlabError,
    Run,
    check_at_least,
    config_field,
    read_json,
    resumed_config,
)
from alignlab.drift._evaluate import ModelEval, build_scorers, evaluate_model
from alignlab.drift._experiment import Experiment, load_experiment
from alignlab.drift._run_report import (
    evaluate_metrics,
    report_evaluate,
    report_sweep,
    sweep_metrics,
)
from alignlab.drift._run_stages import (
    base_chat_spec,
    build_datasets,
    finetune_arms,
    make_bundles,
    sweep_scenario,
)
from alignlab.drift._sweep import sweep_model
from alignlab.models import load_chat

RESUMABLE_CHANGES = ("resume", "out", "concurrency", "base_url", "poll_interval")


@dataclass(frozen=True)
class RunConfig:
    experiment: str = config_field(
        "examples/drift/bird_names.yaml", "the experiment file (see docs/drift.md)"
    )
    base: str = config_field(
        "", "override the experiment's base model (e.g. a hosted model id with --backend openai)"
    )
    backend: str = config_field("", "override finetune.backend: local or openai")
    base_url: str = config_field(
        "", "OpenAI-compatible base URL for finetuning and sampling (key from $OPENAI_API_KEY; "
        "default $OPENAI_BASE_URL)"
    )
    seeds: tuple[int, ...] = config_field((), "override the experiment's seeds")
    concurrency: int = config_field(16, "prompts per local batch / requests in flight")
    poll_interval: float = config_field(10.0, "seconds between polls of a hosted job")
    n_boot: int = config_field(1000, "bootstrap replicates for CIs")
    out: str = config_field("runs", "folder that holds run folders")
    resume: str = config_field("", "a run folder of this command to continue")

    def __post_init__(self) -> None:
        if self.backend not in ("", "local", "openai"):
            raise AlignlabError("--backend must be local or openai", field="backend")
        check_at_least(self.concurrency, 1, "concurrency", "prompts per batch")
        check_at_least(self.n_boot, 100, "n_boot", "bootstrap replicates")


def effective_experiment(cfg: RunConfig) -> Experiment:
    """The experiment file with the command's overrides applied."""
    exp = load_experiment(cfg.experiment)
    upd: dict[str, Any] = {}
    if cfg.base:
        upd["base"] = cfg.base
        upd["base_chat"] = None
    if cfg.seeds:
        upd["seeds"] = list(cfg.seeds)
    if cfg.backend:
        upd["finetune"] = exp.finetune.model_copy(update={"backend": cfg.backend})
    return exp.model_copy(update=upd) if upd else exp


def run_experiment(cfg: RunConfig) -> Path:
    """Run (or, with ``resume``, continue) an experiment; returns the run folder. A resumed
    run keeps the experiment it started with (its ``experiment.json``), whatever the file
    says now."""
    if cfg.resume:
        cfg = resumed_config(cfg, cfg.resume)
        frozen = Path(cfg.resume) / "experiment.json"
        exp = (Experiment.model_validate(read_json(frozen)) if frozen.is_file()
               else effective_experiment(cfg))  # fmt: skip
    else:
        exp = effective_experiment(cfg)
    bundles = make_bundles(exp)  # bad dataset parameters fail before a run folder exists
    if cfg.resume:
        run = Run.resume(cfg.resume, cfg, allowed=RESUMABLE_CHANGES)
    else:
        run = Run("drift", "run", cfg, cfg.out, resumable=True)
    base_url = cfg.base_url or None
    with run:
        run.write_json("experiment.json", exp.model_dump(mode="json"))
        datasets = build_datasets(bundles, run.dir / "datasets")
        run.log_metrics(0, {"stage": "datasets", "n": len(datasets)})
        models = finetune_arms(exp, datasets, run.dir, base_url=base_url,
                               poll_interval_s=cfg.poll_interval)  # fmt: skip
        run.log_metrics(1, {"stage": "finetune", "models": len(models)})
        metrics: dict[str, Any] = {"experiment": exp.name}
        run.report.text(_header(exp))
        contrasts = [(a, b) for a, b in exp.contrasts]
        models = {("base", str(exp.seeds[0])): base_chat_spec(exp), **models}
        if exp.evaluate is not None:
            evals = _evaluate_all(exp, models, run, cfg, base_url)
            metrics["evaluate"] = evaluate_metrics(
                evals, [t.name for t in exp.evaluate.targets], contrasts, cfg.n_boot
            )
            report_evaluate(run, run.report, metrics["evaluate"])
        if exp.sweep is not None:
            scenario, trained, held = sweep_scenario(exp, bundles)
            sweeps = _sweep_all(exp, models, scenario, run, cfg, base_url)
            metrics["sweep"] = sweep_metrics(sweeps, trained, held, contrasts, cfg.n_boot)
            report_sweep(run, run.report, metrics["sweep"])
        metrics["models"] = {f"{a}-s{s}": spec for (a, s), spec in models.items()}
        run.write_metrics(metrics)
    return run.final_dir


def _header(exp: Experiment) -> str:
    return (f"Experiment **{exp.name}**: {exp.description} Base model `{exp.base}`, "
            f"finetuning backend `{exp.finetune.backend}`, seeds {exp.seeds}.")  # fmt: skip


def _evaluate_all(
    exp: Experiment,
    models: dict[tuple[str, str], str],
    run: Run,
    cfg: RunConfig,
    base_url: str | None,
) -> dict[str, dict[str, ModelEval]]:
    assert exp.evaluate is not None
    scorers = build_scorers(exp.evaluate.scorers, base_url=base_url)
    out: dict[str, dict[str, ModelEval]] = {}
    for i, ((arm, seed), spec) in enumerate(models.items()):
        backend = load_chat(spec, base_url=base_url, batch_size=cfg.concurrency)
        ev = evaluate_model(backend, spec, exp.evaluate, scorers,
                            folder=run.dir / "evals" / f"{arm}-s{seed}", seed=int(seed),
                            concurrency=cfg.concurrency)  # fmt: skip
        out.setdefault(arm, {})[seed] = ev
        run.log_metrics(2 + i, {"stage": "evaluate", "model": f"{arm}-s{seed}",
                                "answers": ev.n_answers, "failed": ev.n_failed})  # fmt: skip
        del backend
        gc.collect()
    return out


def _sweep_all(
    exp: Experiment,
    models: dict[tuple[str, str], str],
    scenario: Any,
    run: Run,
    cfg: RunConfig,
    base_url: str | None,
) -> dict[str, dict[str, dict[str, list[float | None]]]]:
    assert exp.sweep is not None
    sw = exp.sweep
    out: dict[str, dict[str, dict[str, list[float | None]]]] = {}
    for i, ((arm, seed), spec) in enumerate(models.items()):
        backend = load_chat(spec, base_url=base_url, batch_size=cfg.concurrency)
        hits = sweep_model(backend, scenario, sw.grid(), samples=sw.samples,
                           temperature=sw.temperature, max_tokens=sw.max_tokens, seed=int(seed),
                           folder=run.dir / "sweeps" / f"{arm}-s{seed}",
                           concurrency=cfg.concurrency)  # fmt: skip
        out.setdefault(arm, {})[seed] = hits
        run.log_metrics(100 + i, {"stage": "sweep", "model": f"{arm}-s{seed}"})
        del backend
        gc.collect()
    return out

