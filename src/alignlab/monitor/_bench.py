"""``alignlab monitor bench``: guards, OOD detectors and their combinations on MOOD groups.

For every feature model M the bench fits a guard on M's pooled features (restricted train
split), fits each OOD detector (feature detectors on M's features, perplexity on the causal
LM's NLL), combines guard + detectors with the chosen aggregator fitted on the explicit
in-distribution calibration split, and scores the test rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alignlab.core import AlignlabError, track
from alignlab.monitor._aggregate import make_aggregator
from alignlab.monitor._config import NLL_DETECTORS
from alignlab.monitor._detectors import make_detector
from alignlab.monitor._features import FeatureExtractor, Features, FeatureSpec
from alignlab.monitor._guards import LogisticGuard, MLPGuard
from alignlab.monitor._schema import MoodData, MoodRow

GUARDS: dict[str, Callable[[], Any]] = {"logistic": LogisticGuard, "mlp": MLPGuard}
# Mean pooling by default, causal LMs included: on the public benchmark's in-distribution
# rows SmolLM2's mean-pooled states give the frozen guard AUROC 0.90 against 0.80 for its last
# token. MOOD's last-token pooling stays one suffix away (``smollm2@last``).
DEFAULT_POOLING = "mean"


@dataclass
class ModelScores:
    """Score columns of one feature model over calib and test rows (higher = more unsafe)."""

    model: str
    n_params: int
    calib: dict[str, np.ndarray] = field(default_factory=dict)
    test: dict[str, np.ndarray] = field(default_factory=dict)
    lambdas: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def _texts(rows: list[MoodRow]) -> list[str]:
    return [r.text for r in rows]


def _labels(rows: list[MoodRow]) -> np.ndarray:
    return np.array([r.malign for r in rows], dtype=int)


def extract_all(extractor: FeatureExtractor, data: MoodData) -> tuple[Features, Features, Features]:
    """Features of train, calib and test rows, extracted in one length-sorted pass."""
    rows = data.train + data.calib + data.test
    feats = extractor.extract(_texts(rows))
    a, b = len(data.train), len(data.train) + len(data.calib)

    def part(lo: int, hi: int) -> Features:
        nll = None if feats.nll is None else feats.nll[lo:hi]
        return Features(feats.emb[lo:hi], nll, feats.n_params, feats.n_computed)

    return part(0, a), part(a, b), part(b, len(rows))


def score_model(
    model: str,
    feats: tuple[Features, Features, Features],
    nll: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    data: MoodData,
    *,
    guard: str,
    detectors: tuple[str, ...],
    aggregator: str,
    guard_cols: tuple[np.ndarray, np.ndarray] | None = None,
) -> ModelScores:
    """All monitor score columns for one feature model (see module docstring).

    ``guard_cols`` (calib, test) replaces the feature guard with a text-level guard's scores.
    """
    (tr, ca, te), y_tr = feats, _labels(data.train)
    out = ModelScores(model, tr.n_params)
    if guard_cols is None:
        if guard not in GUARDS:
            raise AlignlabError(
                f"unknown guard '{guard}'; known: {', '.join(GUARDS)}", field="guard"
            )
        g = GUARDS[guard]().fit(tr.emb, y_tr)
        guard_cols = g.unsafe_score(ca.emb), g.unsafe_score(te.emb)
    out.calib["guard"], out.test["guard"] = guard_cols
    for name in detectors:
        if name in NLL_DETECTORS:
            if nll is None:
                raise AlignlabError(
                    f"detector '{name}' needs a causal LM: set --ppl-model", field="detectors"
                )
            xs = nll
        else:
            xs = (tr.emb, ca.emb, te.emb)
        det = make_detector(name).fit(xs[0], y_tr)
        out.calib[name], out.test[name] = det.unsafe_score(xs[1]), det.unsafe_score(xs[2])
    _combine(out, data, detectors, aggregator)
    return out


def _combine(out: ModelScores, data: MoodData, detectors: tuple[str, ...], agg: str) -> None:
    """Adds ``guard+<d>`` for each detector and ``guard+all`` when there are several."""
    y_ca = _labels(data.calib)
    combos: list[tuple[str, ...]] = [(d,) for d in detectors]
    if len(detectors) > 1:
        combos.append(tuple(detectors))
    for combo in combos:
        name = "guard+" + ("+".join(combo) if len(combo) < 3 else "all")
        aux_ca = np.stack([out.calib[d] for d in combo])
        aux_te = np.stack([out.test[d] for d in combo])
        a = make_aggregator(agg).fit(out.calib["guard"], aux_ca, y_ca)
        out.calib[name] = a.score(out.calib["guard"], aux_ca)
        out.test[name] = a.score(out.test["guard"], aux_te)
        if hasattr(a, "lambda_"):
            out.lambdas[name] = float(a.lambda_)


@dataclass(frozen=True)
class ExtractionPlan:
    """Which extractors a bench needs: one per feature model, plus the perplexity LM."""

    models: tuple[str, ...]
    ppl_model: str
    max_tokens: int
    text_guards: tuple[str, ...] = ()
    seed: int = 0
    ppl_finetune: bool = False

    def spec(self, model: str) -> FeatureSpec:
        """``model`` is a model spec, optionally with ``@mean`` / ``@last`` / ``@cls`` to
        choose the pooling (default: :data:`DEFAULT_POOLING`)."""
        from alignlab.models import POOLINGS  # torch-heavy: only when a bench really runs

        name, _, pooling = model.partition("@")
        pooling = pooling or DEFAULT_POOLING
        if pooling not in POOLINGS:
            raise AlignlabError(
                f"unknown pooling '{pooling}' in model '{model}'; use @{', @'.join(POOLINGS)}",
                field="models",
            )
        return FeatureSpec(name, pooling, self.max_tokens)


def run_scores(
    data: MoodData,
    plan: ExtractionPlan,
    *,
    guard: str,
    detectors: tuple[str, ...],
    aggregator: str,
    extractor_factory: Callable[..., FeatureExtractor],
) -> list[ModelScores]:
    """Extract features for every model (cached) and score every monitor."""
    feats: dict[str, tuple[Features, Features, Features]] = {}
    timing: dict[str, float] = {}
    needed = list(plan.models)
    if any(d in NLL_DETECTORS for d in detectors) and plan.ppl_model not in needed:
        needed.append(plan.ppl_model)
    for model in track(needed, total=len(needed), desc="feature models"):
        t0 = time.perf_counter()
        feats[model] = extract_all(extractor_factory(plan.spec(model)), data)
        timing[model] = time.perf_counter() - t0
    nll: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    if any(d in NLL_DETECTORS for d in detectors):
        ppl = feats[plan.ppl_model]
        if plan.ppl_finetune:
            ppl = extract_all(_finetuned_ppl_extractor(plan, data, extractor_factory), data)
        if ppl[0].nll is None:
            raise AlignlabError(
                f"--ppl-model '{plan.ppl_model}' is not a causal LM (no token NLL)",
                field="ppl_model",
            )
        assert ppl[1].nll is not None and ppl[2].nll is not None  # same model, same layout
        nll = (ppl[0].nll, ppl[1].nll, ppl[2].nll)
    results = []
    for model in plan.models:
        s = score_model(
            model, feats[model], nll, data, guard=guard, detectors=detectors, aggregator=aggregator
        )
        s.seconds = timing[model]
        results.append(s)
    for spec in plan.text_guards:
        from alignlab.monitor._bench_text_guards import score_text_guard

        results.append(
            score_text_guard(spec, data, nll, plan, detectors=detectors, aggregator=aggregator)
        )
    return results


def _finetuned_ppl_extractor(
    plan: ExtractionPlan, data: MoodData, extractor_factory: Callable[..., FeatureExtractor]
) -> FeatureExtractor:
    """MOOD's perplexity model: the LM LoRA-finetuned on the train split. The cache key names
    the finetune (train texts, caps, seed), and the finetune runs only on a cache miss."""
    from alignlab.core import sha256_text

    texts = _texts(data.train)
    digest = sha256_text("\n".join([*texts, str(plan.max_tokens), str(plan.seed)]))[:12]
    spec = FeatureSpec(f"{plan.ppl_model}+lora-{digest}", "last", plan.max_tokens)

    def loader(_: FeatureSpec) -> Any:
        from alignlab.models import load_causal_lm
        from alignlab.monitor._lora import finetune_causal_lm

        lm = load_causal_lm(plan.ppl_model, pooling="last", max_tokens=plan.max_tokens)
        return finetune_causal_lm(lm, texts, max_tokens=plan.max_tokens, seed=plan.seed)

    return extractor_factory(spec, loader=loader)
