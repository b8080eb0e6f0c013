"""Weird generalization and inductive backdoors (arXiv 2512.09742): narrow finetuning datasets
with their controls, finetuning (local LoRA or an OpenAI-compatible finetuning API), and
evaluations that show broad behaviour shifts and backdoors triggered by values never trained on.

Names load lazily (on first use), so importing this package imports no model backend.
"""

from __future__ import annotations

import importlib

_LAZY: dict[str, str] = {
    # data: chat jsonl, manifests, builders, trigger scenarios
    "read_chat_jsonl": "_chat_jsonl", "write_chat_jsonl": "_chat_jsonl",
    "DatasetManifest": "_manifest", "DatasetBundle": "_manifest",
    "write_dataset": "_manifest", "read_dataset": "_manifest",
    "make_dataset": "_datasets", "MakeDatasetConfig": "_make_dataset_cmd",
    "run_make_dataset": "_make_dataset_cmd",
    "Scenario": "_scenario", "load_scenario": "_scenario", "era_of": "_scenario",
    # finetuning
    "FinetuneBackend": "_finetune", "LocalLoraFinetune": "_finetune",
    "OpenAIFinetune": "_finetune", "FinetuneParams": "_registry", "JobRecord": "_registry",
    "JobRegistry": "_registry", "job_key": "_registry",
    "FinetuneConfig": "_finetune_cmd", "run_finetune": "_finetune_cmd",
    # questions, sampling, scorers
    "Question": "_questions", "load_question_set": "_questions",
    "SampleSettings": "_sampling", "Answer": "_sampling", "sample_answers": "_sampling",
    "read_answers": "_sampling",
    "Score": "_scores", "Scorer": "_scores", "check_scorer": "_scores",
    "LogprobJudge": "_judges", "ClassifyJudge": "_judges", "ReasonJudge": "_judges",
    "RegexScorer": "_rule_scorers", "EmbeddingScorer": "_rule_scorers",
    "Condition": "_targets", "Target": "_targets", "score_answers": "_targets",
    # emergent-misalignment aggregation
    "JudgedRow": "_em_aggregate", "EmRate": "_em_aggregate", "load_judged_csv": "_em_aggregate",
    "rescore": "_em_aggregate", "em_aggregate": "_em_aggregate",
    "em_seed_average": "_em_aggregate",
    # evaluation, sweeps, experiments
    "SeedRate": "_rates", "seed_rate": "_rates", "rate_difference": "_rates",
    "ModelEval": "_evaluate", "evaluate_model": "_evaluate", "build_scorers": "_evaluate",
    "EvaluateConfig": "_evaluate_cmd", "run_evaluate": "_evaluate_cmd",
    "SweepScenario": "_sweep", "sweep_model": "_sweep", "gap_estimate": "_sweep",
    "Experiment": "_experiment", "load_experiment": "_experiment",
    "RunConfig": "_run_cmd", "run_experiment": "_run_cmd",
}  # fmt: skip


def __getattr__(name: str) -> object:
    if name in _LAZY:
        return getattr(importlib.import_module(f"alignlab.drift.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'alignlab.drift' has no attribute '{name}'")


__all__ = list(_LAZY)
