"""Many chat requests in flight at once, for any :class:`ChatBackend`.

A thread pool over the backend's synchronous ``complete``, not asyncio: chat requests are I/O
bound (httpx releases the GIL while waiting), so threads reach the same throughput while the
single-request path — retries, backoff, the response cache — stays one piece of sync code that
callers use from scripts, notebooks and CLI commands without an event loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Literal

from alignlab.core import AlignlabError, track
from alignlab.models._protocols import ChatBackend, ChatRequest, ChatResult, Completion

Errors = Literal["raise", "record"]


def _call(backend: ChatBackend, req: ChatRequest) -> list[Completion]:
    return backend.complete(
        req.messages,
        n=req.n,
        temperature=req.temperature,
        max_tokens=req.max_tokens,
        top_logprobs=req.top_logprobs,
        seed=req.seed,
    )


def complete_many(
    backend: ChatBackend,
    requests: Sequence[ChatRequest],
    *,
    concurrency: int = 8,
    errors: Errors = "raise",
    desc: str = "chat",
) -> list[ChatResult]:
    """Run ``requests`` with at most ``concurrency`` in flight; results in input order.

    ``errors="record"``: a request that fails with an :class:`AlignlabError` (after the
    backend's own retries) becomes ``ChatResult(completions=[], error=..., field=...)`` and the
    others go on; ``"raise"``: the first failure cancels the requests not yet started and is
    raised, naming the request index. A progress bar shows when progress is enabled.

    Raises:
        AlignlabError: ``concurrency < 1`` or an unknown ``errors``; a failure when ``"raise"``.
    """
    if concurrency < 1:
        raise AlignlabError(
            f"concurrency must be at least 1, got {concurrency}", field="concurrency"
        )
    if errors not in ("raise", "record"):
        raise AlignlabError(f"errors must be 'raise' or 'record', got {errors!r}", field="errors")
    results: list[ChatResult | None] = [None] * len(requests)
    if not requests:
        return []
    pool = ThreadPoolExecutor(max_workers=min(concurrency, len(requests)))
    try:
        futures: dict[Future[list[Completion]], int] = {
            pool.submit(_call, backend, r): i for i, r in enumerate(requests)
        }
        for fut in track(as_completed(futures), total=len(futures), desc=desc):
            i = futures[fut]
            try:
                results[i] = ChatResult(fut.result())
            except AlignlabError as err:
                if errors == "raise":
                    raise AlignlabError(
                        f"request {i}: {err.message}", file=err.file, line=err.line, field=err.field
                    ) from err
                results[i] = ChatResult([], error=err.message, field=err.field)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return [r for r in results if r is not None]
