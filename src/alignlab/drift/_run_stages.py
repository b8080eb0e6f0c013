"""The stages of ``drift run`` before evaluation: build the datasets, finetune every arm ×
seed through a :class:`FinetuneBackend`, and turn a trigger dataset's scenario into a sweep."""

from __future__ import annotations

import os
from pathlib import Path

from alignlab.core import AlignlabError
from alignlab.drift._datasets import make_dataset
from alignlab.drift._experiment import Experiment
from alignlab.drift._finetune import FinetuneBackend, LocalLoraFinetune, OpenAIFinetune
from alignlab.drift._manifest import (
    DatasetBundle,
    DatasetManifest,
    dataset_paths,
    read_dataset,
    write_dataset,
)
from alignlab.drift._registry import FinetuneParams
from alignlab.drift._scenario import Scenario, era_of, parse_scenario
from alignlab.drift._sweep import SweepScenario

SWEEP_DATE = "{year}-05-01"  # the day and month a sweep puts after its trigger year


def make_bundles(exp: Experiment) -> list[DatasetBundle]:
    """The experiment's datasets, built in memory (bad parameters fail here, before any run
    folder exists); every arm must name one of them.

    Raises:
        AlignlabError: a builder error, or an arm naming a dataset the builder does not make.
    """
    step = exp.dataset
    bundles = make_dataset(step.kind, seed=step.seed, **step.params)
    names = [b.name for b in bundles]
    for arm in exp.arms:
        if arm.dataset not in names:
            raise AlignlabError(
                f"arm '{arm.name}' names dataset '{arm.dataset}'; the {step.kind} builder makes "
                f"{', '.join(names)}",
                field="arms",
            )
    return bundles


def build_datasets(bundles: list[DatasetBundle], folder: Path) -> dict[str, Path]:
    """Dataset name → jsonl path. Datasets already in ``folder`` are kept (a resumed run
    trains on the very files it started with) after their manifests check out."""
    out: dict[str, Path] = {}
    for b in bundles:
        jsonl, meta = dataset_paths(folder, b.name)
        if not (jsonl.is_file() and meta.is_file()):
            write_dataset(folder, b.name, b.rows, b.manifest)
        read_dataset(jsonl)  # sha256, rows and triggers checked, also for kept files
        out[b.name] = jsonl
    return out


def _backend(exp: Experiment, run_dir: Path, base_url: str | None, poll_s: float
             ) -> FinetuneBackend:  # fmt: skip
    if exp.finetune.backend == "local":
        return LocalLoraFinetune(run_dir / "finetune", registry=run_dir / "jobs")
    url = base_url or os.environ.get("OPENAI_BASE_URL")
    if not url:
        raise AlignlabError("the openai finetuning backend needs --base-url or $OPENAI_BASE_URL",
                            field="base_url")  # fmt: skip
    return OpenAIFinetune(url, registry=run_dir / "jobs", poll_interval_s=poll_s)


def finetune_arms(
    exp: Experiment,
    datasets: dict[str, Path],
    run_dir: Path,
    *,
    base_url: str | None,
    poll_interval_s: float,
) -> dict[tuple[str, str], str]:
    """(arm, seed) → model spec of the finetuned model, every arm × seed finished (a job
    already in the run's registry is reused, never submitted twice).

    Raises:
        AlignlabError: a job failed (its record stays in ``jobs/`` with the error).
    """
    backend = _backend(exp, run_dir, base_url, poll_interval_s)
    params = FinetuneParams(**exp.finetune.model_dump(exclude={"backend"}))
    out: dict[tuple[str, str], str] = {}
    for arm in exp.arms:
        for seed in exp.seeds:
            name = f"{arm.name}-s{seed}"
            job = backend.submit(datasets[arm.dataset], exp.base, params, seed=seed, name=name)
            if isinstance(backend, OpenAIFinetune):
                job = backend.wait(job)
            if job.status != "succeeded":
                raise AlignlabError(
                    f"finetuning {name} {job.status}: {job.error}; fix the cause and delete "
                    f"{run_dir / 'jobs' / (job.id + '.json')} to submit it again",
                    field="finetune",
                )
            out[(arm.name, str(seed))] = backend.model_spec(job)
    return out


def base_chat_spec(exp: Experiment) -> str:
    """How to sample the base model: ``base_chat``, else ``base`` (local) or
    ``openai:<base>`` (hosted)."""
    if exp.base_chat:
        return exp.base_chat
    return exp.base if exp.finetune.backend == "local" else f"openai:{exp.base}"


def _trigger_manifest(exp: Experiment, bundles: list[DatasetBundle]) -> DatasetManifest:
    by_name = {b.name: b.manifest for b in bundles}
    for arm in exp.arms:
        man = by_name[arm.dataset]
        if man.triggers and "scenario" in man.params:
            return man
    raise AlignlabError(
        "a sweep needs an arm trained on a dated trigger dataset (kind backdoor-dates), "
        "whose manifest holds the scenario and its trained and held-out years",
        field="sweep",
    )


def dated_sweep(scenario: Scenario) -> SweepScenario:
    """A date scenario as a sweep: prefix with the year's date; expected = the answer regex
    of that year's era for each question (no expectation for years outside every era)."""

    def expected(value: str, i: int) -> str | None:
        try:
            era = era_of(int(value), scenario)
        except (AlignlabError, ValueError):
            return None
        return scenario.questions[i].answers[era].regex

    return SweepScenario(
        questions=tuple(q.question for q in scenario.questions),
        trigger_text=lambda v: scenario.prefix.format(date=SWEEP_DATE.format(year=v)),
        expected=expected,
    )


def sweep_scenario(
    exp: Experiment, bundles: list[DatasetBundle]
) -> tuple[SweepScenario, list[str], list[str]]:
    """The sweep of the experiment's trigger dataset, with its trained and held-out values."""
    man = _trigger_manifest(exp, bundles)
    scenario = parse_scenario(man.params["scenario"], file=f"{man.name} manifest")
    return dated_sweep(scenario), [str(t) for t in man.triggers], [str(h) for h in man.held_out]
