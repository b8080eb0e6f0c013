"""Text-level guards in the bench: a LoRA sequence classifier or a zero-shot chat model.

These guards read the texts themselves rather than cached features, so they are trained and
scored inside each run (no feature cache). The LoRA guard also supplies the features for the
feature detectors — its own last-layer hidden states, last-token pooled for causal LMs (how MOOD
fits its Mahalanobis detector) and mean-pooled for encoders.
"""

from __future__ import annotations

import time

import numpy as np

from alignlab.core import AlignlabError
from alignlab.monitor._bench import NLL_DETECTORS, ExtractionPlan, ModelScores, score_model
from alignlab.monitor._features import Features
from alignlab.monitor._schema import MoodData

KINDS = ("lora", "zeroshot")
# Chosen on the public benchmark's in-distribution calibration split with lora:minilm: 2 epochs
# at 5e-4, batches of 16 reach calibration AUROC 0.92.
LORA_EPOCHS, LORA_LR, LORA_BATCH = 2, 5e-4, 16


def _split(spec: str) -> tuple[str, str]:
    kind, _, base = spec.partition(":")
    if kind not in KINDS or not base:
        raise AlignlabError(
            f"unknown text guard '{spec}'; use lora:BASE (BASE: tiny, minilm, smollm2, "
            "hf:ID_OR_PATH) or zeroshot:LM (LM: tiny, smollm2, hf:ID_OR_PATH)",
            field="text_guards",
        )
    return kind, base


def score_text_guard(
    spec: str,
    data: MoodData,
    nll: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
    plan: ExtractionPlan,
    *,
    detectors: tuple[str, ...],
    aggregator: str,
) -> ModelScores:
    """Every monitor column for one text guard (``lora:BASE`` or ``zeroshot:LM``)."""
    kind, base = _split(spec)
    t0 = time.perf_counter()
    splits = [[r.text for r in rows] for rows in (data.train, data.calib, data.test)]
    y = np.array([r.malign for r in data.train])
    if kind == "lora":
        from alignlab.monitor._lora import LoraGuard

        g = LoraGuard(
            base=base,
            max_tokens=plan.max_tokens,
            seed=plan.seed,
            epochs=LORA_EPOCHS,
            lr=LORA_LR,
            batch_size=LORA_BATCH,
        )
        g.fit(splits[0], y)
        n_params = int(sum(p.numel() for p in g.model_.parameters()))
        # MOOD pools a causal LM's last token; an encoder's states are pooled by their mean
        # (its last token is always [SEP]). Encoder tokenizers are the ones with a [CLS].
        pooling = "mean" if g.tokenizer_.cls_token is not None else "last"
        h = [g.hidden_states(t, pooling=pooling) for t in splits]
        feats = (
            Features(h[0], None, n_params, len(h[0])),
            Features(h[1], None, n_params, len(h[1])),
            Features(h[2], None, n_params, len(h[2])),
        )
        dets = detectors
    else:
        from alignlab.models import load_causal_lm
        from alignlab.monitor._zeroshot import ZeroShotGuard, hf_first_token_logprobs

        lm = load_causal_lm("tiny-lm" if base == "tiny" else base, max_tokens=plan.max_tokens)
        g = ZeroShotGuard(hf_first_token_logprobs(lm)).fit()  # type: ignore[assignment]
        n_params = int(lm.n_params)
        e = [np.zeros((len(t), 0), np.float32) for t in splits]
        feats = (
            Features(e[0], None, n_params, 0),
            Features(e[1], None, n_params, 0),
            Features(e[2], None, n_params, 0),
        )
        dets = tuple(d for d in detectors if d in NLL_DETECTORS)  # no hidden states to use
    cols = (g.unsafe_score(splits[1]), g.unsafe_score(splits[2]))
    out = score_model(
        spec, feats, nll, data, guard="", detectors=dets, aggregator=aggregator, guard_cols=cols
    )
    out.seconds = time.perf_counter() - t0
    return out
