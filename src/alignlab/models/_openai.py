"""OpenAI-compatible chat backend (OpenAI, vLLM, any compatible server) over httpx.

Retries 429/5xx/timeouts/connection errors with exponential backoff and jitter (honouring
``Retry-After``), a bounded number of times; caches each sample separately under a key of (base
URL, model, full messages with image bytes, params, sample index), so asking for more samples
later only pays for the new ones. Safe to call from many threads: :meth:`OpenAIChat.complete_many`
keeps up to N requests in flight. The API key is read from the environment per request and never
stored, logged, cached or put into an error message.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx

from alignlab.core import AlignlabError, JsonCache, sha256_text
from alignlab.models._chat_batch import Errors, complete_many
from alignlab.models._http_retry import send_with_retries, server_message
from alignlab.models._protocols import ChatRequest, ChatResult, Completion, Message, Usage

_KEY_VERSION = 2  # 1 left out the base URL, so two servers shared cache entries


class OpenAIChat:
    """A :class:`ChatBackend` for ``POST {base_url}/chat/completions``.

    ``cache``: a :class:`JsonCache` or a path to one; ``transport``: an httpx transport (tests
    pass ``httpx.MockTransport``). ``timeout`` (seconds) bounds each attempt; one call makes at
    most ``max_retries + 1`` attempts. ``n_requests`` counts HTTP attempts and ``usage`` sums the
    tokens servers reported, over all threads.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str = "https://api.openai.com/v1",
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 60.0,
        max_retries: int = 5,
        cache: JsonCache | str | Path | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.model = model
        self.name = model
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.max_retries = max_retries
        self.cache = JsonCache(cache) if isinstance(cache, str | Path) else cache
        # no connection cap: complete_many's pool bounds the requests in flight
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=256)
        self._client = httpx.Client(timeout=timeout, transport=transport, limits=limits)
        self.sleep: Callable[[float], None] = time.sleep  # replaced in tests
        self.n_requests = 0
        self.usage = Usage()
        self._lock = threading.Lock()  # guards the two counters above

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAIChat:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def complete_many(
        self,
        requests: Sequence[ChatRequest],
        *,
        concurrency: int = 8,
        errors: Errors = "raise",
        desc: str = "chat",
    ) -> list[ChatResult]:
        """Up to ``concurrency`` requests in flight (threads over the shared httpx client);
        results in input order; with ``errors="record"`` a failed request is a
        :class:`ChatResult` with ``error`` set and the others are kept. See
        :func:`complete_many`."""
        return complete_many(self, requests, concurrency=concurrency, errors=errors, desc=desc)

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
        """``n`` completions; sample ``i`` is cached under its own key, so only missing
        samples are requested (in one request with ``n = #missing``). ``stop``: stop strings,
        sent (and part of the cache key) only when non-empty, so old cache entries still hit."""
        params: dict[str, Any] = {
            "temperature": temperature,
            "max_tokens": max_tokens,
            "top_logprobs": top_logprobs,
            "seed": seed,
        }
        if stop:
            params["stop"] = list(stop)
        keys = self._cache_keys(messages, params, n)
        found: list[Completion | None] = [self._cached(k) for k in keys]
        missing = [i for i, c in enumerate(found) if c is None]
        if missing:
            fresh = self._request(messages, params, len(missing))
            for i, comp in zip(missing, fresh, strict=False):
                found[i] = comp
                if self.cache is not None:
                    usage = None if comp.usage is None else asdict(comp.usage)
                    entry = {"text": comp.text, "top_logprobs": comp.top_logprobs, "usage": usage}
                    self.cache.put(keys[i], entry)
        if any(c is None for c in found):
            raise AlignlabError(
                f"{self.base_url} returned fewer than {n} choices", field="base_url"
            )
        return [c for c in found if c is not None]

    def _cache_keys(self, messages: list[Message], params: dict[str, Any], n: int) -> list[str]:
        """One key per sample index. Images travel inside the messages as data URLs, so their
        bytes are hashed too; the (possibly megabytes of) messages are serialised once."""
        key = {
            "v": _KEY_VERSION,
            "base_url": self.base_url,
            "model": self.model,
            "messages": messages,
            "params": params,
        }
        try:
            blob = json.dumps(key, sort_keys=True, ensure_ascii=False)
        except (TypeError, ValueError) as err:
            raise AlignlabError(
                f"messages are not JSON ({err}); send images as data URLs (image_part, "
                "image_data_url)",
                field="messages",
            ) from None
        digest = sha256_text(blob)
        return [sha256_text(f"{digest}:sample={i}") for i in range(n)]

    def _cached(self, key: str) -> Completion | None:
        if self.cache is None:
            return None
        hit = self.cache.get(key)
        if not isinstance(hit, dict):
            return None
        usage = hit.get("usage")
        return Completion(
            text=hit["text"],
            top_logprobs=hit.get("top_logprobs"),
            usage=Usage(**usage) if isinstance(usage, dict) else None,
            cached=True,
        )

    def _request(self, messages: list[Message], params: dict[str, Any], n: int) -> list[Completion]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "n": n,
            "temperature": params["temperature"],
            "max_tokens": params["max_tokens"],
        }
        if params["seed"] is not None:
            body["seed"] = params["seed"]
        if params.get("stop"):
            body["stop"] = params["stop"]
        if params["top_logprobs"] is not None:
            body["logprobs"] = True
            body["top_logprobs"] = params["top_logprobs"]
        data = self._post("/chat/completions", body)
        try:
            usage = _parse_usage(data.get("usage"))
            choices = sorted(data["choices"], key=lambda c: c.get("index", 0))
            out = [_parse_choice(c, usage) for c in choices]
        except (KeyError, TypeError, AttributeError, ValueError) as err:
            raise AlignlabError(
                f"{self.base_url} answered 200 with JSON that is not a chat completion "
                f"({type(err).__name__}: {err}): {self._clip(json.dumps(data))}",
                field="base_url",
            ) from None
        if usage is not None:
            with self._lock:
                self.usage += usage
        return out

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.api_key_env)
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = self.base_url + path
        return send_with_retries(
            lambda: self._client.post(url, json=body, headers=self._headers()),
            base_url=self.base_url,
            max_retries=self.max_retries,
            sleep=self.sleep,
            describe=self._message,
            client_error=self._client_error,
            not_json=lambda resp: AlignlabError(
                f"{self.base_url} returned a body that is not a JSON object "
                f"(HTTP {resp.status_code}): {self._clip(resp.text)}",
                field="base_url",
            ),
            on_attempt=self._count_request,
        )

    def _count_request(self) -> None:
        with self._lock:
            self.n_requests += 1

    def _clip(self, text: str, limit: int = 200) -> str:
        """A server's body for an error message: one line, short, without the key."""
        text = " ".join(text.split())
        text = text if len(text) <= limit else text[: limit - 3] + "..."
        key = os.environ.get(self.api_key_env)
        return repr(text.replace(key, "***") if key else text)

    def _message(self, resp: httpx.Response) -> str:
        return server_message(resp, self.api_key_env)[0]

    def _client_error(self, resp: httpx.Response) -> AlignlabError:
        msg = self._message(resp)
        code = resp.status_code
        if code in (401, 403):
            return AlignlabError(
                f"{self.base_url} refused the credentials (HTTP {code}): {msg}; "
                f"set the API key in ${self.api_key_env}",
                field="api_key_env",
            )
        if code == 404:
            return AlignlabError(
                f"{self.base_url} (model '{self.model}'): HTTP 404: {msg}", field="model"
            )
        return AlignlabError(
            f"{self.base_url} rejected the request (HTTP {code}): {msg}", field="request"
        )


def _parse_usage(raw: Any) -> Usage | None:
    if not isinstance(raw, dict):
        return None
    prompt = int(raw.get("prompt_tokens") or 0)
    completion = int(raw.get("completion_tokens") or 0)
    return Usage(prompt, completion, int(raw.get("total_tokens") or prompt + completion))


def _parse_choice(choice: dict[str, Any], usage: Usage | None) -> Completion:
    text = (choice.get("message") or {}).get("content") or ""
    if not isinstance(text, str):
        raise TypeError(f"message content is {type(text).__name__}, not a string")
    lp = choice.get("logprobs")
    if not lp or lp.get("content") is None:
        return Completion(text=text, usage=usage)
    positions = [
        {t["token"]: float(t["logprob"]) for t in pos.get("top_logprobs") or []}
        for pos in lp["content"]
    ]
    return Completion(text=text, top_logprobs=positions, usage=usage)
