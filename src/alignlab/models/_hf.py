"""Hugging Face transformers backends: pooled features, per-token NLL, sampling.

One forward pass per batch gives both the pooled hidden states and (for causal LMs) the
next-token log-probabilities. For causal LMs the body and the LM head run separately, so the
head (``[tokens, vocab]`` logits, the largest tensor) runs only on real tokens, in chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from alignlab.core import AlignlabError
from alignlab.core.progress import progress_enabled
from alignlab.models._batching import Batch, iter_batches, tokenize
from alignlab.models._content import message_images, message_text
from alignlab.models._generate import generate_samples, top_tokens
from alignlab.models._hub import hub_client_offline, hub_kwargs, hub_load_error
from alignlab.models._protocols import Message

if not progress_enabled():  # transformers' weight-loading bars would flood CI logs
    from transformers.utils import logging as _hf_logging

    _hf_logging.disable_progress_bar()

POOLINGS = ("mean", "last", "cls")
_HEAD_CHUNK = 1024  # rows of [rows, vocab] logits held at once (200 MB at vocab 49k)


@dataclass(frozen=True)
class FeatureBatch:
    """Features of ``n`` texts, in input order.

    ``pooled``: pooling name → ``[n, d] float32`` hidden states of layer ``layer``;
    ``mean_nll``: ``[n] float32`` mean next-token NLL in nats/token over tokens 2..T (NaN for a
    one-token text; causal LMs only); ``mean_entropy``: ``[n] float32`` mean predictive entropy
    (nats) over the same positions; ``n_tokens``: ``[n] int64`` tokens after truncation.
    """

    pooled: dict[str, np.ndarray]
    mean_nll: np.ndarray | None
    mean_entropy: np.ndarray | None
    n_tokens: np.ndarray


def _pool(
    hidden: torch.Tensor, mask: torch.Tensor, lengths: torch.Tensor, poolings: Sequence[str]
) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for p in poolings:
        if p == "mean":
            m = mask.unsqueeze(-1).to(hidden.dtype)
            out[p] = (hidden * m).sum(1) / lengths.unsqueeze(-1).to(hidden.dtype)
        elif p == "last":
            out[p] = hidden[torch.arange(hidden.shape[0], device=hidden.device), lengths - 1]
        elif p == "cls":
            out[p] = hidden[:, 0]
        else:
            raise AlignlabError(
                f"unknown pooling '{p}'; known: {', '.join(POOLINGS)}", field="pooling"
            )
    return out


class HFEncoder:
    """Any ``PreTrainedModel`` (encoder-only or causal) + tokenizer as a :class:`TextEncoder`.

    ``encode(texts) -> [n, dim] float32`` with ``pooling``; ``features`` gives several poolings
    and, for models with an LM head, NLL and entropy from the same forward pass. Inputs are
    truncated to ``max_tokens``; ``batch_tokens`` bounds padded tokens per forward pass.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        name: str,
        pooling: str = "mean",
        max_tokens: int = 256,
        batch_tokens: int = 8192,
        layer: int = -1,
    ) -> None:
        if pooling not in POOLINGS:
            raise AlignlabError(
                f"unknown pooling '{pooling}'; known: {', '.join(POOLINGS)}", field="pooling"
            )
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.name = name
        self.pooling = pooling
        self.max_tokens = max_tokens
        self.batch_tokens = batch_tokens
        self.layer = layer
        cfg = (
            model.config.get_text_config()
            if hasattr(model.config, "get_text_config")
            else model.config
        )
        self.dim = int(cfg.hidden_size)
        self.n_params = int(sum(p.numel() for p in model.parameters()))
        self.pad_id = _pad_id(tokenizer)
        # Only a causal LM head gives next-token NLL; masked-LM heads are ignored.
        causal = bool(getattr(model, "can_generate", lambda: False)())
        self._head: Any = model.get_output_embeddings() if causal else None
        self._split = self._head is not None and self._split_matches()

    @property
    def has_lm_head(self) -> bool:
        """Whether the model is a causal LM (so ``features`` can give NLL and entropy)."""
        return self._head is not None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def _split_matches(self) -> bool:
        """Whether body + head reproduces ``model(...).logits`` (false for models that scale or
        soft-cap logits in ``forward``); checked once on a short probe."""
        ids = torch.tensor([[self.pad_id, self.pad_id]], device=self.device)
        ids[0, 1] = 0
        with torch.inference_mode():
            try:
                full = self.model(input_ids=ids).logits
                split = self._head(self.model.base_model(input_ids=ids).last_hidden_state)
            except Exception:  # noqa: BLE001 - any failure means "use the plain forward"
                return False
        return bool(torch.allclose(full, split, atol=1e-4, rtol=1e-4))

    def _forward(self, b: Batch, want_logits: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Hidden states ``[b, t, d]`` of ``self.layer`` and, unless ``self._split``, logits."""
        hs = self.layer != -1
        if want_logits and not self._split:
            out = self.model(
                input_ids=b.input_ids, attention_mask=b.attention_mask, output_hidden_states=True
            )
            return out.hidden_states[self.layer], out.logits
        # The bare transformer (also for classifier or masked-LM models used as encoders).
        body = getattr(self.model, "base_model", self.model)
        out = body(input_ids=b.input_ids, attention_mask=b.attention_mask, output_hidden_states=hs)
        hidden = out.hidden_states[self.layer] if hs else out.last_hidden_state
        if want_logits:  # split path: keep the final hidden state for the head
            return hidden, out.last_hidden_state
        return hidden, None

    def _next_token_stats(
        self, b: Batch, head_in: torch.Tensor, is_logits: bool, with_entropy: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per scored position (rows with ``mask[:, 1:]``): NLL ``[N]``, entropy ``[N]`` (empty
        unless ``with_entropy``) and the batch row of each position ``[N]``, row-major."""
        valid = b.attention_mask[:, 1:].bool()
        rows = valid.nonzero()[:, 0]
        src = head_in[:, :-1][valid]  # pads never reach the head
        targets = b.input_ids[:, 1:][valid]
        nll = torch.empty(len(targets), device=src.device)
        ent = torch.empty_like(nll) if with_entropy else nll.new_empty(0)
        for s in range(0, len(targets), _HEAD_CHUNK):
            chunk = src[s : s + _HEAD_CHUNK]
            logits = (chunk if is_logits else self._head(chunk)).float()
            # in place and fused: the [chunk, vocab] passes, not the matmul, dominate the cost
            logp = logits.sub_(torch.logsumexp(logits, dim=-1, keepdim=True))
            nll[s : s + _HEAD_CHUNK] = -logp.gather(1, targets[s : s + _HEAD_CHUNK, None])[:, 0]
            if with_entropy:
                p = logp.exp()
                ent[s : s + _HEAD_CHUNK] = -torch.bmm(p.unsqueeze(1), logp.unsqueeze(2)).view(-1)
        return nll, ent, rows

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``[n, dim] float32`` pooled hidden states (pooling ``self.pooling``)."""
        return self.features(texts, poolings=(self.pooling,), with_nll=False).pooled[self.pooling]

    def features(
        self,
        texts: Sequence[str],
        poolings: Sequence[str] = ("mean", "last"),
        with_nll: bool | None = None,
    ) -> FeatureBatch:
        """Pooled features (+ NLL/entropy when ``with_nll``; default: iff the model has an LM
        head) for ``texts``; one forward pass per batch."""
        if with_nll is None:
            with_nll = self.has_lm_head
        if with_nll and not self.has_lm_head:
            raise AlignlabError(f"model '{self.name}' has no LM head, so no NLL", field="with_nll")
        n = len(texts)
        ids = tokenize(self.tokenizer, texts, self.max_tokens, self.pad_id)
        n_tok = np.fromiter((len(x) for x in ids), dtype=np.int64, count=n)
        pooled = {p: np.empty((n, self.dim), dtype=np.float32) for p in poolings}
        nll_sum = np.zeros(n, dtype=np.float64)
        ent_sum = np.zeros(n, dtype=np.float64)
        with torch.inference_mode():
            for b in iter_batches(ids, self.batch_tokens, self.pad_id, self.device):
                hidden, head_in = self._forward(b, with_nll)
                for p, v in _pool(hidden, b.attention_mask, b.lengths, poolings).items():
                    pooled[p][b.index] = v.float().cpu().numpy()
                if with_nll:
                    assert head_in is not None
                    nll, ent, rows = self._next_token_stats(b, head_in, not self._split, True)
                    k = len(b.index)
                    nll_sum[b.index] = (
                        torch.zeros(k, device=nll.device).index_add_(0, rows, nll).cpu().numpy()
                    )
                    ent_sum[b.index] = (
                        torch.zeros(k, device=ent.device).index_add_(0, rows, ent).cpu().numpy()
                    )
        if not with_nll:
            return FeatureBatch(pooled, None, None, n_tok)
        with np.errstate(invalid="ignore", divide="ignore"):
            scored = (n_tok - 1).astype(np.float64)
            mean_nll = np.where(scored > 0, nll_sum / scored, np.nan).astype(np.float32)
            mean_ent = np.where(scored > 0, ent_sum / scored, np.nan).astype(np.float32)
        return FeatureBatch(pooled, mean_nll, mean_ent, n_tok)


class HFCausalLM(HFEncoder):
    """A causal LM: :class:`HFEncoder` features plus scoring and sampling (a ``CausalLM``)."""

    def __init__(self, model: Any, tokenizer: Any, **kw: Any) -> None:
        super().__init__(model, tokenizer, **kw)
        if not self.has_lm_head:
            raise AlignlabError(f"model '{self.name}' has no LM head", field="model")

    def token_logprobs(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Per text, ``[T-1] float32`` natural-log p(token_i | tokens_<i) for i = 2..T."""
        ids = tokenize(self.tokenizer, texts, self.max_tokens, self.pad_id)
        out: list[np.ndarray] = [np.empty(0, np.float32)] * len(ids)
        with torch.inference_mode():
            for b in iter_batches(ids, self.batch_tokens, self.pad_id, self.device):
                _, head_in = self._forward(b, True)
                assert head_in is not None
                nll, _, _ = self._next_token_stats(b, head_in, not self._split, False)
                flat = (-nll).float().cpu().numpy()
                ends = np.cumsum((b.lengths - 1).cpu().numpy())
                for j, part in enumerate(np.split(flat, ends[:-1])):
                    out[int(b.index[j])] = part
        return out

    def prompt_ids(self, messages: list[Message]) -> torch.Tensor:
        """``[1, t]`` ids of the chat-templated prompt with a generation prompt.

        Raises:
            AlignlabError: the chat holds image parts (this model reads text only).
        """
        msgs = self._text_messages(messages)
        if getattr(self.tokenizer, "chat_template", None):
            prompt = self.tokenizer.apply_chat_template(
                msgs, tokenize=False, add_generation_prompt=True
            )
        else:
            prompt = "".join(f"{m['role']}: {m['content']}\n" for m in msgs) + "assistant: "
        ids = self.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
        return ids.to(self.device)

    def _text_messages(self, messages: list[Message]) -> list[dict[str, str]]:
        """The chat with each content flattened to its text; images are refused, never dropped
        (a text-only model that silently lost the image would answer a different question)."""
        images = message_images(messages)
        if images:
            where = ", ".join(f"messages[{i}]: {url}" for i, url in images[:3])
            more = f" and {len(images) - 3} more" if len(images) > 3 else ""
            raise AlignlabError(
                f"model '{self.name}' is a text-only {type(self).__name__} and cannot read "
                f"images, but the chat has {len(images)} image part(s) ({where}{more}); send "
                "images to a vision-language model (e.g. OpenAIChat on a vLLM server)",
                field="messages",
            )
        return [
            {"role": m["role"], "content": message_text(m.get("content"), where=f"messages[{i}]")}
            for i, m in enumerate(messages)
        ]

    def generate(
        self,
        messages: list[Message],
        *,
        n: int = 1,
        temperature: float = 1.0,
        max_tokens: int = 128,
        seed: int = 0,
    ) -> list[str]:
        """``n`` replies (greedy when ``temperature == 0``); the same seed gives the same
        samples, and the global torch RNG is left untouched (:meth:`generate_batch` of one)."""
        return self.generate_batch(
            [messages], n=n, temperature=temperature, max_tokens=max_tokens, seed=seed
        )[0]

    def generate_batch(
        self,
        chats: Sequence[list[Message]],
        *,
        n: int = 1,
        temperature: float = 1.0,
        max_tokens: int = 128,
        seed: int = 0,
        stop: Sequence[str] = (),
        batch_size: int = 16,
    ) -> list[list[str]]:
        """Per chat, ``n`` replies of at most ``max_tokens`` new tokens, in input order.

        ``batch_size`` prompts (left padded) per ``generate`` call; greedy when
        ``temperature == 0``. Each reply is cut before the first of ``stop``. Seeded per row:
        the same arguments give the same replies, a chat's samples do not depend on the other
        chats in the call or on ``batch_size``, and the global torch RNG is untouched.

        Raises:
            AlignlabError: ``n``, ``max_tokens`` or ``batch_size`` < 1, ``temperature`` < 0,
                or a chat with image parts.
        """
        out = generate_samples(
            self, chats, n=n, temperature=temperature, max_tokens=max_tokens, seed=seed,
            stop=stop, batch_size=batch_size,
        )  # fmt: skip
        return [[s.text for s in row] for row in out]

    def first_token_logprobs(self, messages: list[Message], top_k: int = 20) -> dict[str, float]:
        """Natural-log probabilities of the ``top_k`` most likely next tokens after the
        templated prompt, keyed by their raw decoded strings (tokens that decode to the same
        string are merged by adding their probabilities)."""
        ids = self.prompt_ids(messages)
        with torch.inference_mode():
            logits = self.model(input_ids=ids).logits[0, -1].float()
        return top_tokens(self.tokenizer, logits, top_k)


def _pad_id(tokenizer: Any) -> int:
    for attr in ("pad_token_id", "eos_token_id", "unk_token_id"):
        v = getattr(tokenizer, attr, None)
        if v is not None:
            return int(v)
    return 0


def load_hf(
    name_or_path: str,
    *,
    causal: bool,
    dtype: str | None = None,
    device: str | None = None,
    **kw: Any,
) -> HFEncoder | HFCausalLM:
    """Load a transformers model + tokenizer from a local folder or a hub id (from the local
    Hugging Face cache, or the hub when it is reachable).

    ``kw`` go to :class:`HFEncoder` (``pooling``, ``max_tokens``, ``batch_tokens``, ``layer``,
    ``name``). A hub id that is not cached while ``HF_HUB_OFFLINE`` is set or the hub cannot be
    reached → :class:`AlignlabError` (``field="model"``) within seconds.
    """
    from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

    local = Path(name_or_path).expanduser()
    src = str(local) if local.is_dir() else name_or_path
    hub = hub_kwargs(name_or_path)
    load_kw: dict[str, Any] = dict(hub)
    if dtype is not None:
        load_kw["dtype"] = getattr(torch, dtype) if isinstance(dtype, str) else dtype
    try:
        with hub_client_offline(bool(hub)):
            tokenizer = AutoTokenizer.from_pretrained(src, **hub)
            cls = AutoModelForCausalLM if causal else AutoModel
            model: Any = cls.from_pretrained(src, **load_kw)
    except Exception as err:  # noqa: BLE001 - transformers raises OSError/ValueError/hub errors
        raise hub_load_error(name_or_path, local, err, unreachable=bool(hub)) from err
    if device is not None:
        model.to(torch.device(device))
    kw.setdefault("name", name_or_path)
    wrapper = HFCausalLM if causal else HFEncoder
    return wrapper(model, tokenizer, **kw)
