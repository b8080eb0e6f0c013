"""MOOD monitors: guards + OOD detectors, and a benchmark of recall at low FPR on
failures unlike the training data.

Sign convention: every monitor's ``unsafe_score`` is higher = more unsafe (for OOD detectors:
more out-of-distribution).
"""

from __future__ import annotations

from alignlab.monitor._aggregate import (
    LambdaAggregate,
    MeanAggregate,
    MinAggregate,
    StackingAggregate,
    make_aggregator,
)
from alignlab.monitor._bench_data import build_to_folder, load_data
from alignlab.monitor._bench_report import bench_headline
from alignlab.monitor._bench_run import run_bench
from alignlab.monitor._checks import check_detector
from alignlab.monitor._config import BenchConfig, BuildConfig
from alignlab.monitor._detectors import (
    DETECTORS,
    EnergyDetector,
    EnsembleDisagreement,
    KNNDetector,
    MahalanobisDetector,
    PerplexityDetector,
    RelativeMahalanobisDetector,
    make_detector,
)
from alignlab.monitor._features import FeatureExtractor, Features, FeatureSpec
from alignlab.monitor._guards import LogisticGuard, MLPGuard
from alignlab.monitor._loaders import add_extra_test, load_benchmark_dir, load_mood_bench, load_rows
from alignlab.monitor._schema import MoodData, MoodRow, Turn, render
from alignlab.monitor._zeroshot import (
    ZeroShotGuard,
    chat_first_token_logprobs,
    hf_first_token_logprobs,
)

_LAZY = {"LoraGuard": "_lora", "finetune_causal_lm": "_lora"}


def __getattr__(name: str) -> object:
    # torch + peft cost seconds to import; load the LoRA pieces only when asked for
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"alignlab.monitor.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'alignlab.monitor' has no attribute '{name}'")


__all__ = [
    "DETECTORS",
    "BenchConfig",
    "BuildConfig",
    "EnergyDetector",
    "EnsembleDisagreement",
    "FeatureExtractor",
    "FeatureSpec",
    "Features",
    "KNNDetector",
    "LambdaAggregate",
    "LogisticGuard",
    "LoraGuard",
    "MLPGuard",
    "MahalanobisDetector",
    "MeanAggregate",
    "MinAggregate",
    "MoodData",
    "MoodRow",
    "PerplexityDetector",
    "RelativeMahalanobisDetector",
    "StackingAggregate",
    "Turn",
    "ZeroShotGuard",
    "add_extra_test",
    "bench_headline",
    "build_to_folder",
    "chat_first_token_logprobs",
    "check_detector",
    "finetune_causal_lm",
    "hf_first_token_logprobs",
    "load_benchmark_dir",
    "load_data",
    "load_mood_bench",
    "load_rows",
    "make_aggregator",
    "make_detector",
    "render",
    "run_bench",
]
