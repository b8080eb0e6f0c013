"""Models under bad conditions: huge rows stay within the token cap; a hub id on a machine
without network fails at once with the offline hint instead of entering the retry loop."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from alignlab.core import AlignlabError
from alignlab.models import _hub
from alignlab.models._bundled import mean_pool

needs_wordllama = pytest.mark.skipif(
    importlib.util.find_spec("wordllama") is None, reason="bundled wordllama not installed"
)


def test_mean_pool_matches_the_obvious_reference() -> None:
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(50, 8)).astype(np.float32)
    ids = [rng.integers(0, 50, size=n) for n in (0, 1, 7, 40, 3, 0, 25)]
    got = mean_pool(emb, ids, block=16)  # blocks that cut through texts
    want = np.stack([emb[i].mean(0) if len(i) else np.zeros(8) for i in ids])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert got.shape == (7, 8) and got.dtype == np.float32
    assert mean_pool(emb, []).shape == (0, 8)


@needs_wordllama
def test_wordllama_caps_tokens_of_a_huge_row() -> None:
    from alignlab.models import WordLlamaEncoder, load_encoder

    enc = load_encoder("wordllama", max_tokens=128)
    assert isinstance(enc, WordLlamaEncoder)
    start = "the cat sat on the mat. " * 40  # well over 128 tokens
    huge = start + "unusual words repeated " * 250_000 + "z" * 2_000_000  # ~7.7 MB
    ids = enc.tokenize([huge, "a short row", ""])
    assert [len(x) for x in ids] == [128, len(enc.tokenize(["a short row"])[0]), 0]
    uncapped = WordLlamaEncoder(256)
    # the cap keeps the text's first tokens, exactly as tokenising it whole would
    assert np.array_equal(ids[0], uncapped.tokenize([start])[0][:128])
    vecs = enc.encode([huge, "a short row"])
    assert vecs.shape == (2, 256) and np.isfinite(vecs).all()
    # only the first 128 tokens count: the 7 MB row embeds like its first sentences
    np.testing.assert_allclose(vecs[0], enc.encode([start])[0], rtol=1e-6)
    assert not np.allclose(vecs[0], uncapped.encode([huge[:50_000]])[0], atol=1e-2)
    with pytest.raises(AlignlabError, match="max_tokens must be >= 1"):
        WordLlamaEncoder(256, max_tokens=0)


def test_hub_probe_says_whether_the_endpoint_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        monkeypatch.setattr(_hub, "_hub_endpoint", lambda: f"http://127.0.0.1:{port}")
        assert _hub.hub_reachable(timeout=5)
    # the port is closed now: connection refused, answered at once
    assert not _hub.hub_reachable(timeout=5)


def test_hub_kwargs_use_the_local_cache_only_when_the_hub_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(_hub, "hub_reachable", lambda timeout=3.0: False)
    assert _hub.hub_kwargs("org/model") == {"local_files_only": True}
    assert _hub.hub_kwargs(str(tmp_path)) == {}  # a local folder never needs the hub
    monkeypatch.setattr(_hub, "hub_reachable", lambda timeout=3.0: True)
    assert _hub.hub_kwargs("org/model") == {}


_OFFLINE_SCRIPT = """
import json, socket
from alignlab.models import _hf, _hub
from alignlab.core import AlignlabError

attempts = []
def refuse(*args, **kwargs):  # every network connection the hub client would try
    attempts.append(args[:1])
    raise OSError("network is unreachable")
socket.getaddrinfo = refuse
socket.create_connection = refuse
_hub.hub_reachable = lambda timeout=3.0: False  # the machine is offline
try:
    _hf.load_hf("alignlab-test/not-a-cached-model", causal=False)
    print(json.dumps({"error": None, "attempts": len(attempts)}))
except AlignlabError as err:
    print(json.dumps({"error": str(err), "attempts": len(attempts)}))
"""


def test_uncached_hub_model_offline_fails_without_retries(tmp_path: Path) -> None:
    """With ``HF_HUB_OFFLINE`` unset, the hub client would retry with backoff (about a
    minute) before failing; the load must not reach the network at all."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HOME", "HF_HUB_CACHE"}
    }
    env["HF_HOME"] = str(tmp_path / "hf")  # an empty cache
    proc = subprocess.run(
        [sys.executable, "-c", _OFFLINE_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["attempts"] == 0, proc.stderr
    msg = out["error"]
    assert "cannot load model 'alignlab-test/not-a-cached-model' offline" in msg
    assert "not in the local Hugging Face cache" in msg and "cannot be reached" in msg
    assert "HF_HUB_OFFLINE=1" in msg and "local folder" in msg
    assert "Retrying" not in proc.stderr
