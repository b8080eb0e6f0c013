"""The retry loop and error-message helper shared by :class:`OpenAIChat` and
:class:`OpenAIFinetuning`.

Hand-written because httpx's own ``retries`` covers only failed connects: it never retries a
429/5xx answer or a read timeout, and knows nothing of ``Retry-After``.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import Any

import httpx

from alignlab.core import AlignlabError

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
MAX_DELAY_S = 60.0


def send_with_retries(
    send: Callable[[], httpx.Response],
    *,
    base_url: str,
    max_retries: int,
    sleep: Callable[[float], None],
    describe: Callable[[httpx.Response], str],
    client_error: Callable[[httpx.Response], AlignlabError],
    not_json: Callable[[httpx.Response], AlignlabError],
    on_attempt: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Call ``send`` up to ``max_retries + 1`` times; the JSON object of the first answer that is
    neither retried nor an error. Timeouts, transport errors and :data:`RETRY_STATUS` answers are
    retried after :func:`retry_delay` (``describe`` words a retried answer for the final error);
    any other 4xx raises ``client_error(resp)``, a body that is not a JSON object
    ``not_json(resp)``. ``on_attempt`` runs before each attempt (a request counter)."""
    last = ""
    retry_resp: httpx.Response | None = None  # the 429/5xx answer, for Retry-After
    for attempt in range(max_retries + 1):
        if attempt:
            sleep(retry_delay(attempt, retry_resp))
        retry_resp = None
        if on_attempt is not None:
            on_attempt()
        try:
            resp = send()
        except (httpx.TimeoutException, httpx.TransportError) as err:
            last = type(err).__name__
            continue
        if resp.status_code in RETRY_STATUS:
            retry_resp = resp
            last = f"HTTP {resp.status_code}: {describe(resp)}"
            continue
        if resp.status_code >= 400:
            raise client_error(resp)
        try:
            data = resp.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise not_json(resp)
        return data
    raise AlignlabError(
        f"cannot reach {base_url} after {max_retries + 1} attempts ({last})", field="base_url"
    )


def retry_delay(attempt: int, resp: httpx.Response | None) -> float:
    """Seconds before retry ``attempt`` (1-based): the server's ``Retry-After`` when it gave
    seconds, else exponential backoff from 0.5 s with jitter, capped at 60 s."""
    after = resp.headers.get("retry-after") if resp is not None else None
    if after is not None:
        try:
            return min(MAX_DELAY_S, max(0.0, float(after)))
        except ValueError:
            pass  # an HTTP date; fall back to backoff
    return float(min(MAX_DELAY_S, 0.5 * 2 ** (attempt - 1)) * (0.5 + random.random()))


def server_message(
    resp: httpx.Response, api_key_env: str, *, one_line: bool = False
) -> tuple[str, str | None]:
    """The server's error message (the key in ``$api_key_env`` masked) and the ``param`` it
    blames, if any. A body that is not JSON gives its first 300 characters (``one_line``: with
    whitespace runs collapsed to one space)."""
    msg: Any = None
    param = None
    try:
        err = resp.json().get("error")
        if isinstance(err, dict):
            msg, param = err.get("message"), err.get("param")
        else:
            msg = err
    except (ValueError, AttributeError):
        msg = resp.text[:300]
        if one_line:
            msg = " ".join(msg.split())
    msg = str(msg or resp.reason_phrase)
    key = os.environ.get(api_key_env)
    return (msg.replace(key, "***") if key else msg), (str(param) if param else None)
