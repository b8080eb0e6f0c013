"""Feature extraction for monitors, with an on-disk cache keyed by (model, pooling, text hash).

Models load lazily: a re-run whose texts are all cached never loads a model, which is what
makes a cached bench nearly free. One forward pass pools its hidden states every way in
:data:`SHARED_POOLINGS` and caches each, so comparing mean and last-token pooling of the same
model costs one extraction, not two.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alignlab.core import ArrayCache, default_cache_dir, sha256_text, track

SHARED_POOLINGS = ("mean", "last")
# A model whose features changed for the same spec gets a new revision, so vectors cached by
# the old code are never served again. wordllama: the token cap was once ignored.
_KEY_REVISIONS = {"wordllama": "capped"}


@dataclass(frozen=True)
class FeatureSpec:
    """Which features to extract: model spec (see ``alignlab.models.load_encoder``), pooling
    (``mean`` / ``last`` / ``cls``) and the token truncation applied before the forward pass."""

    model: str
    pooling: str = "mean"
    max_tokens: int = 256

    def _prefix(self) -> str:
        rev = _KEY_REVISIONS.get(self.model)
        model = f"{self.model}#{rev}" if rev else self.model
        return f"{model}|{self.pooling}|{self.max_tokens}"

    def key(self, text: str) -> str:
        return f"{self._prefix()}|{sha256_text(text)}"

    def meta_key(self) -> str:
        """Cache key of ``[has NLL columns, parameter count]`` for this spec."""
        return f"{self._prefix()}|__meta__"


@dataclass(frozen=True)
class Features:
    """Per-text features. ``emb``: ``[n, d] float32`` pooled hidden states; ``nll``: ``[n, 2]``
    (mean token NLL in nats, mean predictive entropy in nats) for causal LMs, else None."""

    emb: np.ndarray
    nll: np.ndarray | None
    n_params: int
    n_computed: int  # texts that missed the cache in this call


def _load_model(spec: FeatureSpec) -> Any:
    from alignlab.models import load_encoder

    if spec.model == "wordllama":  # static word vectors: always mean-pooled, no context window
        return load_encoder(spec.model, max_tokens=spec.max_tokens)
    return load_encoder(spec.model, pooling=spec.pooling, max_tokens=spec.max_tokens)


class FeatureExtractor:
    """Extracts (and caches) :class:`Features` for one :class:`FeatureSpec`.

    ``loader`` builds the model on first need; tests inject tiny models through it.
    """

    def __init__(
        self,
        spec: FeatureSpec,
        *,
        cache_path: str | Path | None = None,
        loader: Callable[[FeatureSpec], Any] = _load_model,
        use_cache: bool = True,
        chunk: int = 512,
    ) -> None:
        self.spec = spec
        self.chunk = chunk
        self._loader = loader
        self._model: Any = None
        path = (
            cache_path
            or os.environ.get("ALIGNLAB_FEATURE_CACHE")
            or default_cache_dir() / "features.sqlite"
        )
        self._cache = ArrayCache(path) if use_cache else None

    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = self._loader(self.spec)
        return self._model

    def _poolings(self) -> tuple[str, ...]:
        """The spec's pooling first, then the others one forward pass gives for free."""
        if self._cache is None:
            return (self.spec.pooling,)
        return (self.spec.pooling, *(p for p in SHARED_POOLINGS if p != self.spec.pooling))

    def _sibling(self, pooling: str) -> FeatureSpec:
        return FeatureSpec(self.spec.model, pooling, self.spec.max_tokens)

    def _compute(self, texts: Sequence[str]) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """``({pooling: [n, d] float32}, [n, 2] NLL + entropy or None)``."""
        model = self.model
        if hasattr(model, "features"):
            fb = model.features(list(texts), poolings=self._poolings())
            emb = {p: np.asarray(v, dtype=np.float32) for p, v in fb.pooled.items()}
            nll = None
            if fb.mean_nll is not None:
                ent = fb.mean_entropy if fb.mean_entropy is not None else np.zeros_like(fb.mean_nll)
                nll = np.stack([fb.mean_nll, ent], axis=1).astype(np.float64)
                # a one-token text has no next-token prediction to score (NaN): count it as
                # unsurprising rather than dropping the row
                nll = np.nan_to_num(nll, nan=0.0)
            return emb, nll
        return {self.spec.pooling: np.asarray(model.encode(list(texts)), dtype=np.float32)}, None

    def extract(self, texts: Sequence[str]) -> Features:
        """Features for ``texts`` in order; duplicates and cached texts are computed once.

        Missing texts are computed in length-sorted chunks of ``chunk`` texts, each committed to
        the cache as it finishes: a killed run resumes where it stopped when run again.
        """
        keys = [self.spec.key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        if self._cache is not None:
            found = self._cache.get_many(sorted(set(keys)))
        todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        missing = sorted(todo.items(), key=lambda kt: (len(kt[1]), kt[0]))
        chunks = [missing[i : i + self.chunk] for i in range(0, len(missing), self.chunk)]
        for part in track(chunks, total=len(chunks), desc=f"features {self.spec.model}"):
            embs, nll = self._compute([t for _, t in part])
            new: dict[str, np.ndarray] = {}
            for pooling, emb in embs.items():
                spec = self._sibling(pooling)
                for i, (_, text) in enumerate(part):
                    # one cached vector per text: [emb..., nll, entropy] or [emb...]
                    v = emb[i] if nll is None else np.r_[emb[i], nll[i]].astype(np.float32)
                    new[spec.key(text)] = v
            if self._cache is not None:
                self._cache.put_many(new)
            found.update(new)
        rows = np.stack([found[k] for k in keys]).astype(np.float32)
        has_nll, n_params = self._meta()
        emb_all = rows[:, :-2] if has_nll else rows
        nll_all = rows[:, -2:].astype(np.float64) if has_nll else None
        return Features(emb_all, nll_all, n_params, len(missing))

    def _meta(self) -> tuple[bool, int]:
        """(vectors carry NLL columns, model parameter count), cached so hits never load a model."""
        key = self.spec.meta_key()
        if self._cache is not None:
            got = self._cache.get_many([key])
            if key in got:
                return bool(got[key][0]), int(got[key][1])
        model = self.model
        has_nll = hasattr(model, "features") and (
            model.features(["probe"], poolings=(self.spec.pooling,)).mean_nll is not None
        )
        n_params = int(getattr(model, "n_params", 0))
        if self._cache is not None:
            meta = np.array([int(has_nll), n_params], dtype=np.int64)
            poolings = self._poolings() if hasattr(model, "features") else (self.spec.pooling,)
            self._cache.put_many({self._sibling(p).meta_key(): meta for p in poolings})
        return has_nll, n_params
