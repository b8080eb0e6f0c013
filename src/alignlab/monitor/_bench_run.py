"""Runs a whole bench into a run folder: records, metrics with CIs, plots, report, MOOD files."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np

from alignlab.core import AlignlabError, Run
from alignlab.monitor._bench import ExtractionPlan, ModelScores, run_scores
from alignlab.monitor._bench_data import apply_caps, load_data
from alignlab.monitor._bench_report import write_report
from alignlab.monitor._config import BenchConfig
from alignlab.monitor._features import FeatureExtractor, FeatureSpec
from alignlab.monitor._loaders import add_extra_test
from alignlab.monitor._metrics import false_flag_rate, group_metrics, make_groups
from alignlab.monitor._mood_format import write_mood_results
from alignlab.monitor._schema import MoodData


def prepare_data(cfg: BenchConfig) -> MoodData:
    data = load_data(cfg.data, raw_dir=cfg.raw_dir, seed=cfg.seed)
    data = apply_caps(data, max_rows=cfg.max_rows, max_train=cfg.max_train, seed=cfg.seed)
    for path in cfg.extra_test:  # user domains are never capped: they asked for every row
        data = add_extra_test(data, path)
    data.validate()
    held = _untouched(cfg, data)
    return dataclasses.replace(data, manifest={**data.manifest, "untouched_domains": held})


def _untouched(cfg: BenchConfig, data: MoodData) -> list[str]:
    """The held-out OOD domains: ``--untouched``, else the manifest's list (those present)."""
    ood = data.ood_domains()
    if cfg.untouched:
        bad = [d for d in cfg.untouched if d not in ood]
        if bad:
            raise AlignlabError(
                f"{', '.join(bad)} is not an OOD test domain of this benchmark (OOD domains: "
                f"{', '.join(ood)})",
                field="untouched",
            )
        return list(cfg.untouched)
    return [d for d in data.manifest.get("untouched_domains", ()) if d in ood]


def run_bench(cfg: BenchConfig, *, extractor_factory: Any = None) -> Path:
    """Run the bench described by ``cfg``; returns the finished run folder."""
    t0 = time.perf_counter()
    data = prepare_data(cfg)
    if extractor_factory is None:

        def extractor_factory(spec: FeatureSpec, loader: Any = None) -> FeatureExtractor:
            kw = {"loader": loader} if loader is not None else {}
            return FeatureExtractor(
                spec, cache_path=cfg.cache or None, use_cache=not cfg.no_cache, **kw
            )

    plan = ExtractionPlan(
        tuple(cfg.models),
        cfg.ppl_model,
        cfg.max_tokens,
        tuple(cfg.text_guards),
        cfg.seed,
        cfg.ppl_finetune,
    )
    scores = run_scores(
        data,
        plan,
        guard=cfg.guard,
        detectors=tuple(cfg.detectors),
        aggregator=cfg.aggregator,
        extractor_factory=extractor_factory,
    )
    with Run("monitor", "bench", cfg, root=cfg.out) as run:
        metrics = compute_metrics(cfg, data, scores)
        metrics["seconds_total"] = time.perf_counter() - t0
        run.write_metrics(metrics)
        run.write_records(_records(data, scores))
        write_mood_results(run.dir / "mood", data, scores, fprs=cfg.fprs)
        write_report(run, cfg, data, scores, metrics)
    return run.final_dir


def compute_metrics(cfg: BenchConfig, data: MoodData, scores: list[ModelScores]) -> dict[str, Any]:
    test = data.test
    domains = [r.domain for r in test]
    malign = np.array([r.malign for r in test])
    groups = make_groups(domains, malign, data.id_domains)
    held = list(data.manifest.get("untouched_domains", ()))
    is_id = np.isin(domains, list(data.id_domains))
    id_safe = np.flatnonzero(is_id & (malign == 0))
    dom_arr = np.array(domains)
    ood_safe = {  # only domains that have safe rows: the rate is undefined elsewhere
        d: np.flatnonzero((dom_arr == d) & (malign == 0))
        for d in sorted(set(domains) - set(data.id_domains))
        if np.any((dom_arr == d) & (malign == 0))
    }
    monitors: dict[str, Any] = {}
    for s in scores:
        for name, col in s.test.items():
            key = f"{s.model}/{name}"
            monitors[key] = {
                "model": s.model,
                "monitor": name,
                "n_params": s.n_params,
                "groups": group_metrics(
                    col, groups, fprs=cfg.fprs, n_boot=cfg.n_boot, seed=cfg.seed, untouched=held
                ),
                "ood_safe_flag_rate@fpr0.01": {
                    d: false_flag_rate(col, id_safe, idx) for d, idx in ood_safe.items()
                },
                "lambda": s.lambdas.get(name),
            }
    return {
        "monitors": monitors,
        "groups": [g.name for g in groups],
        "id_domains": list(data.id_domains),
        "untouched_domains": held,
        "labels": data.manifest.get("labels", ""),
        "counts": _counts(data),
        "feature_seconds": {s.model: s.seconds for s in scores},
        "caps": {
            "max_rows": cfg.max_rows,
            "max_train": cfg.max_train,
            "max_tokens": cfg.max_tokens,
        },
    }


def _counts(data: MoodData) -> dict[str, dict[str, list[int]]]:
    """``{split: {domain: [n_safe, n_unsafe]}}``."""
    out: dict[str, dict[str, list[int]]] = {}
    for split, rows in (("train", data.train), ("calib", data.calib), ("test", data.test)):
        for r in rows:
            out.setdefault(split, {}).setdefault(r.domain, [0, 0])[r.malign] += 1
    return out


def _records(data: MoodData, scores: list[ModelScores]) -> list[dict[str, Any]]:
    rows = []
    for i, r in enumerate(data.test):
        rows.append(
            {
                "id": r.id,
                "domain": r.domain,
                "malign": r.malign,
                "source": r.source,
                "text": r.text[:2000],
                "scores": {
                    f"{s.model}/{k}": float(v[i]) for s in scores for k, v in s.test.items()
                },
            }
        )
    return rows
