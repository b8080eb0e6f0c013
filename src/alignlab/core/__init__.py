"""Shared core: runs, records, checkpoints, stats, reports, progress, io — used by every
system."""

from __future__ import annotations

from alignlab.core.arrays import load_arrays, read_arrays_meta, save_arrays
from alignlab.core.cache import ArrayCache, JsonCache, default_cache_dir
from alignlab.core.checkpoint import (
    Checkpoint,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    read_checkpoint_meta,
    save_checkpoint,
)
from alignlab.core.errors import AlignlabError
from alignlab.core.flags import (
    MAX_SEED,
    bad_flag,
    check_at_least,
    check_seed,
    config_field,
    flag,
)
from alignlab.core.io import (
    atomic_folder,
    atomic_path,
    atomic_write_json,
    atomic_write_text,
    read_appended_jsonl,
    read_json,
    read_jsonl,
    sha256_file,
    sha256_text,
    write_jsonl,
)
from alignlab.core.progress import track
from alignlab.core.report import Report
from alignlab.core.runs import (
    Run,
    check_out_dir,
    collect_provenance,
    load_metrics,
    read_metrics_log,
    resumed_config,
)
from alignlab.core.stats import (
    Estimate,
    auprc,
    auroc,
    bootstrap,
    bootstrap_mean,
    fpr_at_tpr,
    recall_at_fpr,
    threshold_at_fpr,
)

__all__ = [
    "AlignlabError",
    "ArrayCache",
    "Checkpoint",
    "Estimate",
    "JsonCache",
    "MAX_SEED",
    "Report",
    "Run",
    "atomic_folder",
    "atomic_path",
    "atomic_write_json",
    "atomic_write_text",
    "auprc",
    "auroc",
    "bad_flag",
    "bootstrap",
    "bootstrap_mean",
    "check_at_least",
    "check_out_dir",
    "check_seed",
    "config_field",
    "collect_provenance",
    "default_cache_dir",
    "flag",
    "fpr_at_tpr",
    "latest_checkpoint",
    "list_checkpoints",
    "load_arrays",
    "load_checkpoint",
    "load_metrics",
    "read_arrays_meta",
    "read_checkpoint_meta",
    "read_json",
    "read_appended_jsonl",
    "read_jsonl",
    "read_metrics_log",
    "resumed_config",
    "recall_at_fpr",
    "save_arrays",
    "save_checkpoint",
    "sha256_file",
    "sha256_text",
    "threshold_at_fpr",
    "track",
    "write_jsonl",
]
