"""Many chat requests in flight at once, for any :class:`ChatBackend`.

A thread pool over the backend's synchronous ``complete``, not asyncio: chat requests are I/O
bound (httpx releases the GIL while waiting), so threads reach the same throughput while the
single-request path — retries, backoff, the response cache — stays one piece of sync code that
callers use from scripts, notebooks and CLI commands without an event loop.

A local backend with ``complete_batch`` (one ``generate`` over many chats) gets its requests
in batches of ``concurrency`` instead, grouped by identical settings (n, temperature,
max_tokens, top_logprobs, stop, seed): threads would only queue on its one model. Greedy
requests always batch; sampled ones batch only when the backend says its samples do not depend
on the batch (``batch_invariant_sampling = True``, as :class:`LocalChat` does) and otherwise go
one by one, so a seed gives the samples of a call made alone either way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Literal

from alignlab.core import AlignlabError, track
from alignlab.models._protocols import ChatBackend, ChatRequest, ChatResult, Completion

Errors = Literal["raise", "record"]


def _call(backend: ChatBackend, req: ChatRequest) -> list[Completion]:
    extra = {"stop": req.stop} if req.stop else {}  # backends without ``stop`` still work
    return backend.complete(
        req.messages,
        n=req.n,
        temperature=req.temperature,
        max_tokens=req.max_tokens,
        top_logprobs=req.top_logprobs,
        seed=req.seed,
        **extra,
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
    threaded = list(range(len(requests)))
    batch_fn = getattr(backend, "complete_batch", None)
    if callable(batch_fn):
        any_temp = bool(getattr(backend, "batch_invariant_sampling", False))
        batchable = [i for i in threaded if any_temp or requests[i].temperature == 0]
        _batched(batch_fn, requests, batchable, concurrency, errors, results, desc)
        threaded = [i for i in threaded if results[i] is None]
    if threaded:
        _threaded(backend, requests, threaded, concurrency, errors, results, desc)
    return [r for r in results if r is not None]


def _failure(i: int, err: AlignlabError, errors: Errors) -> ChatResult:
    if errors == "raise":
        raise AlignlabError(
            f"request {i}: {err.message}", file=err.file, line=err.line, field=err.field
        ) from err
    return ChatResult([], error=err.message, field=err.field)


def _batched(
    batch_fn: Callable[..., list[list[Completion]]],
    requests: Sequence[ChatRequest],
    idxs: list[int],
    size: int,
    errors: Errors,
    results: list[ChatResult | None],
    desc: str,
) -> None:
    """Requests ``idxs`` through ``batch_fn`` in batches of ``size`` sharing their settings."""
    groups: dict[tuple[object, ...], list[int]] = defaultdict(list)
    for i in idxs:
        r = requests[i]
        seed = r.seed if r.temperature > 0 else None  # greedy replies ignore the seed
        groups[(r.n, r.temperature, r.max_tokens, r.top_logprobs, r.stop, seed)].append(i)
    chunks = [g[k : k + size] for g in groups.values() for k in range(0, len(g), size)]
    for chunk in track(chunks, total=len(chunks), desc=desc):
        first = requests[chunk[0]]
        extra = {"stop": first.stop} if first.stop else {}
        try:
            outs = batch_fn(
                [requests[i].messages for i in chunk],
                n=first.n,
                temperature=first.temperature,
                max_tokens=first.max_tokens,
                top_logprobs=first.top_logprobs,
                seed=first.seed,
                **extra,
            )
        except AlignlabError as err:
            for i in chunk:
                results[i] = _failure(i, err, errors)
            continue
        for i, comps in zip(chunk, outs, strict=True):
            results[i] = ChatResult(comps)


def _threaded(
    backend: ChatBackend,
    requests: Sequence[ChatRequest],
    idxs: list[int],
    concurrency: int,
    errors: Errors,
    results: list[ChatResult | None],
    desc: str,
) -> None:
    pool = ThreadPoolExecutor(max_workers=min(concurrency, len(idxs)))
    try:
        futures: dict[Future[list[Completion]], int] = {
            pool.submit(_call, backend, requests[i]): i for i in idxs
        }
        for fut in track(as_completed(futures), total=len(futures), desc=desc):
            i = futures[fut]
            try:
                results[i] = ChatResult(fut.result())
            except AlignlabError as err:
                results[i] = _failure(i, err, errors)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
