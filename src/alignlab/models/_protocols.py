"""Small protocols, one per capability, so every system runs on tiny, bundled or hosted models."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NotRequired, Protocol, TypedDict, runtime_checkable

import numpy as np

Message = dict[str, Any]
"""An OpenAI chat message: ``role`` plus ``content``, a str or a list of :data:`ContentPart`
(text and image segments in one message; build them with :func:`user_message`)."""


class TextPart(TypedDict):
    """``{"type": "text", "text": ...}``."""

    type: Literal["text"]
    text: str


class ImageURL(TypedDict):
    url: str  # a data URL (``data:image/png;base64,...``) or an http(s) URL
    detail: NotRequired[str]  # "low" | "high" | "auto" (OpenAI); servers may ignore it


class ImagePart(TypedDict):
    """``{"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}}``."""

    type: Literal["image_url"]
    image_url: ImageURL


ContentPart = TextPart | ImagePart
"""One segment of a message's ``content`` list, in the OpenAI content-part format."""


@dataclass(frozen=True)
class Usage:
    """Tokens one request spent, as the server reported them (OpenAI ``usage``)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.total_tokens + other.total_tokens,
        )


@dataclass(frozen=True)
class Completion:
    """One sampled chat completion.

    ``top_logprobs``: per generated token position, a dict token → natural-log probability of the
    most likely tokens at that position (``None`` when not requested or not available).
    ``usage``: tokens of the request that produced it (the ``n`` samples of one request share
    one ``Usage``; ``None`` when the server reported none). ``cached``: served from the response
    cache, so it cost nothing now (not part of equality).
    """

    text: str
    top_logprobs: list[dict[str, float]] | None = None
    usage: Usage | None = None
    cached: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class ChatRequest:
    """The arguments of one :meth:`ChatBackend.complete` call, for batches.

    ``stop``: stop strings (each reply is cut before the first one); passed to the backend
    only when non-empty, so backends without a ``stop`` argument still take the others.
    """

    messages: list[Message]
    n: int = 1
    temperature: float = 0.0
    max_tokens: int = 256
    top_logprobs: int | None = None
    seed: int | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChatResult:
    """One request's outcome in a batch: its completions, or the error that ended it.

    ``error``: the one-line ``AlignlabError`` message (``None`` on success; then ``completions``
    has ``n`` items); ``field``: that error's field (e.g. ``"base_url"``).
    """

    completions: list[Completion]
    error: str | None = None
    field: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def usage(self) -> Usage:
        """Tokens this request spent now (zero when every sample came from the cache)."""
        fresh = [c.usage for c in self.completions if not c.cached and c.usage is not None]
        return fresh[0] if fresh else Usage()  # one call makes at most one request


@runtime_checkable
class TextEncoder(Protocol):
    """Maps texts to fixed-size vectors."""

    name: str
    dim: int
    n_params: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``[n, dim] float32`` embeddings, one row per text, in input order."""
        ...


@runtime_checkable
class CausalLM(Protocol):
    """A local language model that can score and sample text."""

    name: str
    n_params: int

    def token_logprobs(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Per text, ``[t] float32`` log p(token_i | tokens_<i) in nats (first token excluded)."""
        ...

    def generate(
        self,
        messages: list[Message],
        *,
        n: int = 1,
        temperature: float = 1.0,
        max_tokens: int = 128,
        seed: int = 0,
    ) -> list[str]:
        """``n`` sampled replies to a chat (greedy when ``temperature == 0``)."""
        ...


@runtime_checkable
class ChatBackend(Protocol):
    """A chat model behind an API (or a local one wrapped to look like it).

    Many requests at once: :func:`complete_many` (any backend; thread pool) or
    :meth:`OpenAIChat.complete_many`.
    """

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
        """``n`` completions of a chat."""
        ...
