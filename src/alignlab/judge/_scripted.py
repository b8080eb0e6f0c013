"""Scripted judges: :class:`~alignlab.models.ChatBackend`s whose answers are known, for tests
and demos of ``alignlab judge evaluate`` without a model.

A scripted judge answers only requests it was told about: :meth:`ScriptedJudge.register` maps
the exact messages of a request (by a sha256 of their JSON) to the pair as shown and the prompt
kind (``"chain"`` or ``"baseline"``). Behaviours:

* ``grounded``: the pair's gold chain in the order shown (``swapped`` renumbers and
  relabels it) for the chain prompt, ``<verdict>GOLD</verdict>`` for the baseline;
* ``position-biased``: a well-formed answer that always picks the candidate shown first;
* ``random``: a well-formed answer whose verdict is a coin flip, fixed by the request's hash.

A pair without a gold chain gets a chain with only an evaluation and the verdict.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading

from alignlab.core import AlignlabError
from alignlab.judge._chain import Chain, render_chain
from alignlab.judge._pair import Pair
from alignlab.models import Completion, Message

BEHAVIOURS = ("grounded", "position-biased", "random")
PROMPTS = ("chain", "baseline")
_VERDICT = re.compile(r"<verdict>\s*[AB]\s*</verdict>")


def request_key(messages: list[Message]) -> str:
    """sha256 of the messages' canonical JSON (images included, as data URLs)."""
    return hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).hexdigest()


def scripted_answer(behaviour: str, shown: Pair, prompt: str, key: str = "") -> str:
    """What a ``behaviour`` judge writes for ``shown`` (the pair in the order shown) under
    ``prompt``; ``key`` seeds the ``random`` judge's coin."""
    if behaviour == "grounded":
        verdict = shown.gold
    elif behaviour == "position-biased":
        verdict = "A"
    else:
        verdict = "AB"[int(hashlib.sha256(key.encode()).hexdigest(), 16) % 2]
    if prompt == "baseline":
        return f"<verdict>{verdict}</verdict>"
    gold_text = shown.metadata.get("gold_chain_text")
    if isinstance(gold_text, str) and _VERDICT.search(gold_text):
        return _VERDICT.sub(f"<verdict>{verdict}</verdict>", gold_text)
    evaluation = f"Response {verdict} better fulfils the prompt."
    return render_chain(Chain(evaluation=evaluation, verdict=verdict))  # type: ignore[arg-type]


class ScriptedJudge:
    """A :class:`~alignlab.models.ChatBackend` answering registered requests as ``behaviour``
    (module doc); thread-safe, counts ``n_requests``."""

    def __init__(self, behaviour: str) -> None:
        if behaviour not in BEHAVIOURS:
            raise AlignlabError(
                f"unknown scripted judge '{behaviour}'; use {', '.join(BEHAVIOURS)}",
                field="model",
            )
        self.behaviour = behaviour
        self.name = f"scripted:{behaviour}"
        self.n_requests = 0
        self._known: dict[str, tuple[Pair, str]] = {}
        self._lock = threading.Lock()

    def register(self, messages: list[Message], shown: Pair, prompt: str) -> None:
        """Tell the judge that ``messages`` ask about ``shown`` under ``prompt``."""
        if prompt not in PROMPTS:
            raise AlignlabError(f"unknown prompt '{prompt}'", field="prompt")
        self._known[request_key(messages)] = (shown, prompt)

    def complete(
        self,
        messages: list[Message],
        *,
        n: int = 1,
        temperature: float = 0.0,
        max_tokens: int = 256,
        top_logprobs: int | None = None,
        seed: int | None = None,
    ) -> list[Completion]:
        """``n`` copies of the scripted answer.

        Raises:
            AlignlabError: the request was never registered.
        """
        with self._lock:
            self.n_requests += 1
        key = request_key(messages)
        if key not in self._known:
            raise AlignlabError("a request the scripted judge was not told about", field="model")
        shown, prompt = self._known[key]
        text = scripted_answer(self.behaviour, shown, prompt, key)
        return [Completion(text) for _ in range(n)]
