from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from alignlab.monitor._features import FeatureExtractor, FeatureSpec


@dataclass
class _FB:
    pooled: dict
    mean_nll: np.ndarray | None
    mean_entropy: np.ndarray | None
    n_tokens: np.ndarray


class _FakeLM:
    """Deterministic features from the text itself; counts texts it was asked to encode."""

    n_params = 1234

    def __init__(self, causal: bool) -> None:
        self.causal = causal
        self.seen = 0

    def features(self, texts, poolings=("mean",)):  # type: ignore[no-untyped-def]
        self.seen += len(texts)
        emb = np.array([[len(t), t.count("a"), 1.0] for t in texts], dtype=np.float32)
        nll = np.array([len(t) / 10 for t in texts], dtype=np.float32) if self.causal else None
        ent = nll / 2 if nll is not None else None
        return _FB({p: emb for p in poolings}, nll, ent, np.ones(len(texts), int))


def test_cache_hit_never_loads_model(tmp_path: Path) -> None:
    loads = []

    def loader(spec):  # type: ignore[no-untyped-def]
        loads.append(spec)
        return _FakeLM(causal=True)

    spec = FeatureSpec("fake", "mean", 64)
    texts = ["banana", "apple", "banana", "cherry"]
    f1 = FeatureExtractor(spec, cache_path=tmp_path / "c.sqlite", loader=loader).extract(texts)
    assert f1.emb.shape == (4, 3) and f1.nll is not None and f1.nll.shape == (4, 2)
    assert f1.n_computed == 3  # the duplicate is computed once
    np.testing.assert_allclose(f1.nll[:, 0], [0.6, 0.5, 0.6, 0.6], rtol=1e-6)
    np.testing.assert_allclose(f1.emb[0], [6, 3, 1])
    ex2 = FeatureExtractor(spec, cache_path=tmp_path / "c.sqlite", loader=loader)
    f2 = ex2.extract(texts)
    assert len(loads) == 1 and f2.n_computed == 0 and f2.n_params == 1234
    np.testing.assert_array_equal(f1.emb, f2.emb)
    np.testing.assert_array_equal(f1.nll, f2.nll)


def test_encoder_without_nll_and_spec_keys(tmp_path: Path) -> None:
    ex = FeatureExtractor(
        FeatureSpec("enc"), cache_path=tmp_path / "c.sqlite", loader=lambda s: _FakeLM(False)
    )
    f = ex.extract(["x", "yy"])
    assert f.nll is None and f.emb.shape == (2, 3)
    assert FeatureSpec("m", "mean", 64).key("t") != FeatureSpec("m", "last", 64).key("t")
    assert FeatureSpec("m", "mean", 64).key("t") != FeatureSpec("m", "mean", 128).key("t")


def test_no_cache_mode_recomputes(tmp_path: Path) -> None:
    lm = _FakeLM(False)
    ex = FeatureExtractor(FeatureSpec("enc"), loader=lambda s: lm, use_cache=False)
    ex.extract(["a", "b"])
    ex.extract(["a", "b"])
    assert lm.seen >= 4


def test_killed_extraction_resumes_from_committed_chunks(tmp_path: Path) -> None:
    class Dies(_FakeLM):
        def features(self, texts, poolings=("mean",)):  # type: ignore[no-untyped-def]
            if self.seen >= 4:
                raise KeyboardInterrupt  # a kill after the first two chunks
            return super().features(texts, poolings)

    texts = [f"text number {i}" for i in range(8)]
    spec = FeatureSpec("fake", "mean", 64)
    dying = Dies(causal=False)
    ex = FeatureExtractor(spec, cache_path=tmp_path / "c.sqlite", loader=lambda s: dying, chunk=2)
    with pytest.raises(KeyboardInterrupt):
        ex.extract(texts)
    fresh = _FakeLM(causal=False)
    again = FeatureExtractor(
        spec, cache_path=tmp_path / "c.sqlite", loader=lambda s: fresh, chunk=2
    )
    f = again.extract(texts)
    assert f.n_computed == 4 and fresh.seen == 4 + 1  # 4 left to do (+1 probe for the layout)
    np.testing.assert_allclose(f.emb[:, 0], [len(t) for t in texts])


class _PoolingLM(_FakeLM):
    """Mean and last pooling give different vectors, so a mix-up shows."""

    def features(self, texts, poolings=("mean",)):  # type: ignore[no-untyped-def]
        fb = super().features(texts, poolings)
        fb.pooled = {p: fb.pooled[p] + (100.0 if p == "last" else 0.0) for p in poolings}
        return fb


def test_one_forward_caches_mean_and_last(tmp_path: Path) -> None:
    lm = _PoolingLM(True)
    texts = ["alpha", "banana", "cab"]
    cache = tmp_path / "c.sqlite"
    mean = FeatureExtractor(FeatureSpec("m", "mean", 8), cache_path=cache, loader=lambda s: lm)
    f_mean = mean.extract(texts)
    assert lm.seen == len(texts) + 1  # texts + the layout probe
    loads = []

    def loader(spec):  # type: ignore[no-untyped-def]
        loads.append(spec)
        return lm

    last = FeatureExtractor(FeatureSpec("m", "last", 8), cache_path=cache, loader=loader)
    f_last = last.extract(texts)
    assert loads == [] and f_last.n_computed == 0  # served from the first pass's cache
    np.testing.assert_allclose(f_last.emb, f_mean.emb + 100.0)
    np.testing.assert_allclose(f_last.nll, f_mean.nll)
    # a different token cap is a different feature: it is computed, not shared
    other = FeatureExtractor(FeatureSpec("m", "last", 16), cache_path=cache, loader=lambda s: lm)
    assert other.extract(texts).n_computed == len(texts)


def test_wordllama_gets_the_token_cap_and_a_fresh_cache_revision(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import alignlab.models as models
    from alignlab.monitor import _features

    seen: dict = {}

    def fake_load(spec: str, **kw: object) -> object:
        seen[spec] = kw
        return object()

    monkeypatch.setattr(models, "load_encoder", fake_load)
    _features._load_model(FeatureSpec("wordllama", "mean", 64))
    assert seen["wordllama"] == {"max_tokens": 64}
    # vectors cached before the cap was applied must never be served again
    assert FeatureSpec("wordllama", "mean", 64).key("x").startswith("wordllama#capped|mean|64|")
    assert FeatureSpec("minilm", "mean", 64).key("x").startswith("minilm|mean|64|")
