"""OpenAI-compatible finetuning API client (files + ``fine_tuning/jobs``) over httpx.

Narrow finetuning on a hosted model is how weird generalization and inductive backdoors were
shown (arXiv 2512.09742); this client speaks the API shapes any compatible server offers:
``POST /files`` (multipart, ``purpose=fine-tune``), ``POST /fine_tuning/jobs``,
``GET /fine_tuning/jobs/{id}``, ``POST /fine_tuning/jobs/{id}/cancel`` and
``GET /fine_tuning/jobs/{id}/events``.

Retries 429/5xx/timeouts/connection errors with the same backoff as :class:`OpenAIChat`
(honouring ``Retry-After``). A retried ``POST`` whose first attempt reached the server may
create a second file or job there: callers that must not start a job twice keep a registry (as
``alignlab.drift`` does). The API key is read from the environment per request and is never
stored, logged or put into an error message.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from alignlab.core import AlignlabError
from alignlab.models._http_retry import send_with_retries, server_message

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
"""Job statuses that never change again."""


@dataclass(frozen=True)
class FinetuneJob:
    """One finetuning job as the server reported it.

    ``status``: ``validating_files`` | ``queued`` | ``running`` | ``succeeded`` | ``failed`` |
    ``cancelled``; ``fine_tuned_model`` is set once it succeeded; ``error`` is the server's
    message for a failed job; ``raw`` is the whole JSON object.
    """

    id: str
    status: str
    model: str
    fine_tuned_model: str | None = None
    error: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def done(self) -> bool:
        """True once the status can no longer change."""
        return self.status in TERMINAL_STATUSES


def _job_from(data: dict[str, Any], base_url: str) -> FinetuneJob:
    try:
        err = data.get("error")
        if isinstance(err, dict):  # OpenAI sends {"code", "message", "param"}, or all nulls
            err = err.get("message") or err.get("code")
        return FinetuneJob(
            id=str(data["id"]),
            status=str(data["status"]),
            model=str(data.get("model") or ""),
            fine_tuned_model=data.get("fine_tuned_model") or None,
            error=str(err) if err else None,
            raw=data,
        )
    except (KeyError, TypeError) as exc:
        raise AlignlabError(
            f"{base_url} answered with JSON that is not a finetuning job (missing {exc})",
            field="base_url",
        ) from None


class OpenAIFinetuning:
    """Client for an OpenAI-compatible finetuning API at ``base_url`` (e.g.
    ``https://api.openai.com/v1``).

    ``timeout_s`` bounds each attempt; a call makes at most ``max_retries + 1`` attempts.
    ``require_key``: fail before sending anything when ``$api_key_env`` is unset; ``None`` means
    only for ``api.openai.com`` (local and self-hosted servers often need no key).
    ``transport``: an httpx transport (tests). ``n_requests`` counts HTTP attempts.
    """

    def __init__(
        self,
        base_url: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        timeout_s: float = 60.0,
        max_retries: int = 3,
        require_key: bool | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key_env = api_key_env
        self.max_retries = max_retries
        host = urlsplit(self.base_url).hostname or ""
        self.require_key = host.endswith("api.openai.com") if require_key is None else require_key
        self._client = httpx.Client(timeout=timeout_s, transport=transport)
        self.sleep: Callable[[float], None] = time.sleep  # replaced in tests
        self.n_requests = 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> OpenAIFinetuning:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def upload_file(self, path: str | Path) -> str:
        """Upload a chat jsonl file (``purpose=fine-tune``); returns the server's file id."""
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as err:
            raise AlignlabError(f"cannot read ({err.strerror})", file=path) from None
        files = {"file": (path.name, data, "application/jsonl")}
        out = self._send("POST", "/files", field="file", data={"purpose": "fine-tune"}, files=files)
        if not isinstance(out.get("id"), str):
            raise AlignlabError(
                f"{self.base_url} answered the upload without a file id", field="base_url"
            )
        return str(out["id"])

    def create_job(
        self,
        training_file: str,
        model: str,
        *,
        hyperparameters: dict[str, Any],
        suffix: str | None = None,
        seed: int | None = None,
    ) -> FinetuneJob:
        """Start a job on an uploaded file. ``hyperparameters``: ``n_epochs``, ``batch_size``,
        ``learning_rate_multiplier`` (``None`` values are left out, i.e. the server's ``auto``)."""
        body: dict[str, Any] = {
            "training_file": training_file,
            "model": model,
            "hyperparameters": {k: v for k, v in hyperparameters.items() if v is not None},
        }
        if suffix is not None:
            body["suffix"] = suffix
        if seed is not None:
            body["seed"] = seed
        return _job_from(self._send("POST", "/fine_tuning/jobs", json=body), self.base_url)

    def retrieve_job(self, job_id: str) -> FinetuneJob:
        out = self._send("GET", f"/fine_tuning/jobs/{job_id}", field="job_id")
        return _job_from(out, self.base_url)

    def cancel_job(self, job_id: str) -> FinetuneJob:
        out = self._send("POST", f"/fine_tuning/jobs/{job_id}/cancel", field="job_id")
        return _job_from(out, self.base_url)

    def list_events(self, job_id: str) -> list[dict[str, Any]]:
        """The job's events (``{"created_at", "level", "message", ...}``) as the server lists
        them (OpenAI: newest first)."""
        out = self._send("GET", f"/fine_tuning/jobs/{job_id}/events", field="job_id")
        events = out.get("data")
        return [e for e in events if isinstance(e, dict)] if isinstance(events, list) else []

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.api_key_env)
        if not key and self.require_key:
            raise AlignlabError(
                f"{self.base_url} needs an API key: set ${self.api_key_env}", field="api_key_env"
            )
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _send(self, method: str, path: str, *, field: str = "request", **kw: Any) -> dict[str, Any]:
        """One API call with retries; a JSON object back or an :class:`AlignlabError`.
        ``field`` names what a 4xx answer is blamed on when the server names no ``param``."""
        headers = self._headers()
        url = self.base_url + path
        return send_with_retries(
            lambda: self._client.request(method, url, headers=headers, **kw),
            base_url=self.base_url,
            max_retries=self.max_retries,
            sleep=self.sleep,
            describe=lambda resp: self._message(resp)[0],
            client_error=lambda resp: self._client_error(resp, method, path, field),
            not_json=lambda resp: AlignlabError(
                f"{self.base_url}{path} returned a body that is not a JSON object "
                f"(HTTP {resp.status_code})",
                field="base_url",
            ),
            on_attempt=self._count_request,
        )

    def _count_request(self) -> None:
        self.n_requests += 1

    def _message(self, resp: httpx.Response) -> tuple[str, str | None]:
        """The server's error message (key masked) and the ``param`` it blames, if any."""
        return server_message(resp, self.api_key_env, one_line=True)

    def _client_error(
        self, resp: httpx.Response, method: str, path: str, field: str
    ) -> AlignlabError:
        msg, param = self._message(resp)
        code = resp.status_code
        if code in (401, 403):
            return AlignlabError(
                f"{self.base_url} refused the credentials (HTTP {code}): {msg}; "
                f"set the API key in ${self.api_key_env}",
                field="api_key_env",
            )
        return AlignlabError(
            f"{self.base_url} rejected {method} {path} (HTTP {code}): {msg}", field=param or field
        )
