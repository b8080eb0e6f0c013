"""A local causal LM behind the :class:`ChatBackend` protocol.

:class:`LocalChat` lets code written for hosted chat models (judges, scorers, evaluation
loops) run on a bundled or finetuned local model. :func:`complete_many` hands it whole batches
(sampled requests too, grouped by identical settings): its samples are seeded per row (see
:meth:`HFCausalLM.generate_batch`), so batching changes the speed, never the samples.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from alignlab.models._generate import Sample, generate_samples
from alignlab.models._hf import HFCausalLM
from alignlab.models._protocols import Completion, Message, Usage


class LocalChat:
    """A :class:`ChatBackend` over an :class:`HFCausalLM` (chat template applied).

    ``batch_size``: prompts per ``generate`` call in :meth:`complete_batch`. ``seed=None``
    means seed 0. ``top_logprobs=k``: per generated position, the ``k`` most likely tokens'
    natural-log probabilities before temperature; with ``max_tokens=1`` they come from one
    unpadded forward pass (:meth:`HFCausalLM.first_token_logprobs`). One ``generate`` runs at
    a time (a lock), so threads neither race nor oversubscribe the cores.
    """

    batch_invariant_sampling = True
    """A chat's samples do not depend on the batch it runs in (:func:`complete_many` may
    batch sampled requests)."""

    def __init__(self, lm: HFCausalLM, *, batch_size: int = 16, name: str | None = None) -> None:
        self.lm = lm
        self.batch_size = batch_size
        self.name = name if name is not None else lm.name
        self.n_params = lm.n_params
        self._lock = threading.Lock()

    def complete(
        self,
        messages: list[Message],
        *,
        n: int = 1,
        temperature: float = 0.0,
        max_tokens: int = 256,
        top_logprobs: int | None = None,
        seed: int | None = None,
        stop: Sequence[str] = (),
    ) -> list[Completion]:
        """``n`` completions of one chat (see :meth:`complete_batch`)."""
        return self.complete_batch(
            [messages], n=n, temperature=temperature, max_tokens=max_tokens,
            top_logprobs=top_logprobs, seed=seed, stop=stop,
        )[0]  # fmt: skip

    def complete_batch(
        self,
        chats: Sequence[list[Message]],
        *,
        n: int = 1,
        temperature: float = 0.0,
        max_tokens: int = 256,
        top_logprobs: int | None = None,
        seed: int | None = None,
        stop: Sequence[str] = (),
    ) -> list[list[Completion]]:
        """Per chat, ``n`` completions, in input order, ``batch_size`` chats per ``generate``.

        Each completion's ``usage`` has the chat's prompt tokens and its generated tokens up to
        the end of turn; replies are cut before the first stop string.

        Raises:
            AlignlabError: bad ``n``/``max_tokens``/``temperature``, or image parts.
        """
        if not chats:
            return []
        first = top_logprobs is not None and max_tokens == 1
        with self._lock:
            rows = generate_samples(
                self.lm, chats, n=n, temperature=temperature, max_tokens=max_tokens,
                seed=0 if seed is None else seed, stop=stop, batch_size=self.batch_size,
                top_logprobs=None if first else top_logprobs,
            )  # fmt: skip
            firsts = (
                [[self.lm.first_token_logprobs(c, top_k=top_logprobs or 0)] for c in chats]
                if first
                else [None] * len(chats)
            )
        return [
            [_completion(s, top if first else s.top_logprobs) for s in row]
            for row, top in zip(rows, firsts, strict=True)
        ]


def _completion(s: Sample, top: list[dict[str, float]] | None) -> Completion:
    usage = Usage(s.prompt_tokens, s.new_tokens, s.prompt_tokens + s.new_tokens)
    return Completion(s.text, top, usage)
