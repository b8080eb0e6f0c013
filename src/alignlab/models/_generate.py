"""Batched, seeded generation for :class:`~alignlab.models.HFCausalLM`.

Prompts are left padded (``generate`` appends on the right of every row, so each reply starts
right after its own prompt) and run ``batch_size`` at a time, shortest-to-longest so a batch
wastes little on padding. ``n`` samples of a prompt are ``n`` rows of the batch.

Sampling is Gumbel-max with one ``torch.Generator`` per row, seeded from (``seed``, sample index,
prompt token ids): a row's noise depends on nothing else in the batch, so a prompt's samples
are the same whether it runs alone or among others and whatever ``batch_size`` is (up to
floating-point near-ties), different prompts draw independent noise, and the global torch RNG
is never touched. Greedy decoding (``temperature == 0``) runs one row per prompt and repeats
its reply ``n`` times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from alignlab.core import AlignlabError, sha256_text
from alignlab.models._protocols import Message

if TYPE_CHECKING:
    from alignlab.models._hf import HFCausalLM


@dataclass(frozen=True)
class Sample:
    """One generated reply: ``text`` (cut before the first stop string), ``prompt_tokens``,
    ``new_tokens`` (generated up to the end of turn) and, when asked for, ``top_logprobs`` (per
    generated position, token → natural-log probability before temperature)."""

    text: str
    prompt_tokens: int
    new_tokens: int
    top_logprobs: list[dict[str, float]] | None = None


def top_tokens(tokenizer: Any, logits: torch.Tensor, k: int) -> dict[str, float]:
    """``{decoded token: logprob}`` of the ``k`` most likely tokens of ``logits`` ``[vocab]``
    (tokens that decode to the same string are merged by adding their probabilities)."""
    logp = torch.log_softmax(logits.float(), dim=-1)
    vals, idx = logp.topk(min(k, logp.shape[-1]))
    out: dict[str, float] = {}
    for v, i in zip(vals.tolist(), idx.tolist(), strict=True):
        tok = tokenizer.decode([i])
        out[tok] = float(np.logaddexp(out[tok], v)) if tok in out else float(v)
    return out


def cut_at_stop(text: str, stop: Sequence[str]) -> str:
    """``text`` up to (not including) the earliest occurrence of any non-empty stop string."""
    cuts = [text.find(s) for s in stop if s and s in text]
    return text[: min(cuts)] if cuts else text


def row_seed(seed: int, sample: int, prompt: Sequence[int]) -> int:
    """A 63-bit generator seed for sample ``sample`` of the prompt with token ids ``prompt``."""
    return int(sha256_text(f"{seed}:{sample}:{','.join(map(str, prompt))}")[:15], 16)


class _GumbelSampler:
    """Logits processor that samples each row from ``softmax(logits / temperature)`` with the
    row's own generator and returns a one-hot mask, so greedy decoding picks the sample."""

    def __init__(self, seeds: list[int], temperature: float, device: torch.device) -> None:
        self.temperature = temperature
        self.gens = [torch.Generator(device=device).manual_seed(s) for s in seeds]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        noise = torch.stack(
            [torch.rand(scores.shape[-1], generator=g, device=scores.device) for g in self.gens]
        )
        gumbel = -torch.log(-torch.log(noise.clamp_(min=1e-20)))
        choice = (scores.float() / self.temperature + gumbel).argmax(-1, keepdim=True)
        out = torch.full_like(scores, float("-inf"))
        return out.scatter_(-1, choice, 0.0)


class _StopOnStrings:
    """Stopping criterion: a row is done once its generated text (prompt excluded) holds a
    stop string; the reply is cut there afterwards, so ending early only saves time."""

    def __init__(self, tokenizer: Any, width: int, stop: Sequence[str]) -> None:
        self.tokenizer, self.width, self.stop = tokenizer, width, [s for s in stop if s]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kw: Any) -> torch.Tensor:
        texts = self.tokenizer.batch_decode(input_ids[:, self.width :], skip_special_tokens=True)
        hit = [any(s in t for s in self.stop) for t in texts]
        return torch.tensor(hit, dtype=torch.bool, device=input_ids.device)


def _check(n: int, temperature: float, max_tokens: int, batch_size: int) -> None:
    for name, value in (("n", n), ("max_tokens", max_tokens), ("batch_size", batch_size)):
        if value < 1:
            raise AlignlabError(f"{name} must be at least 1, got {value}", field=name)
    if not (temperature >= 0 and np.isfinite(temperature)):
        raise AlignlabError(f"temperature must be >= 0, got {temperature}", field="temperature")


def generate_samples(
    lm: HFCausalLM,
    chats: Sequence[list[Message]],
    *,
    n: int = 1,
    temperature: float = 1.0,
    max_tokens: int = 128,
    seed: int = 0,
    stop: Sequence[str] = (),
    batch_size: int = 16,
    top_logprobs: int | None = None,
) -> list[list[Sample]]:
    """Per chat, ``n`` :class:`Sample` s, in input order (see the module docstring).

    Raises:
        AlignlabError: ``n``, ``max_tokens`` or ``batch_size`` below 1, a negative
            temperature, or a chat with image parts.
    """
    _check(n, temperature, max_tokens, batch_size)
    stop = (stop,) if isinstance(stop, str) else tuple(stop)  # "\n" is one stop, not chars
    prompts = [lm.prompt_ids(c)[0].tolist() for c in chats]
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    out: list[list[Sample]] = [[] for _ in prompts]
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        rows = _run(lm, [prompts[i] for i in idx], n, temperature, max_tokens, seed, stop,
                    top_logprobs)  # fmt: skip
        for j, i in enumerate(idx):
            out[i] = rows[j]
    return out


def _run(
    lm: HFCausalLM,
    prompts: list[list[int]],
    n: int,
    temperature: float,
    max_tokens: int,
    seed: int,
    stop: Sequence[str],
    top_k: int | None,
) -> list[list[Sample]]:
    """One ``generate`` over ``prompts`` (each repeated ``n`` times when sampling)."""
    from transformers import LogitsProcessorList, StoppingCriteriaList

    per = n if temperature > 0 else 1
    rows = [p for p in prompts for _ in range(per)]
    width = max(len(p) for p in rows)
    ids = torch.full((len(rows), width), lm.pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for r, p in enumerate(rows):
        ids[r, width - len(p) :] = torch.tensor(p)
        mask[r, width - len(p) :] = 1
    kw: dict[str, Any] = {
        "do_sample": False,
        "max_new_tokens": max_tokens,
        "pad_token_id": lm.pad_id,
        "temperature": None,
        "top_k": None,
        "top_p": None,
        "return_dict_in_generate": True,
        "output_logits": top_k is not None,
    }
    eos = lm.tokenizer.eos_token_id
    if eos is not None:
        kw["eos_token_id"] = eos
    if temperature > 0:
        seeds = [row_seed(seed, r % per, p) for r, p in enumerate(rows)]
        kw["logits_processor"] = LogitsProcessorList([_GumbelSampler(seeds, temperature,
                                                                     lm.device)])  # fmt: skip
    if any(stop):
        kw["stopping_criteria"] = StoppingCriteriaList([_StopOnStrings(lm.tokenizer, width, stop)])
    with torch.random.fork_rng(devices=[]), torch.inference_mode():
        res = lm.model.generate(input_ids=ids.to(lm.device), attention_mask=mask.to(lm.device),
                                **kw)  # fmt: skip
    new = res.sequences[:, width:].cpu().tolist()
    ends = {t for t in (eos, lm.pad_id) if t is not None}
    out: list[list[Sample]] = []
    for b, p in enumerate(prompts):
        samples = []
        for k in range(per):
            r = b * per + k
            reply = next((new[r][:i] for i, t in enumerate(new[r]) if t in ends), new[r])
            top = None
            if top_k is not None:
                top = [top_tokens(lm.tokenizer, res.logits[t][r], top_k) for t in range(len(reply))]
            text = lm.tokenizer.decode(reply, skip_special_tokens=True)
            samples.append(Sample(cut_at_stop(text, stop), len(p), len(reply), top))
        out.append(samples * n if per == 1 else samples)
    return out
