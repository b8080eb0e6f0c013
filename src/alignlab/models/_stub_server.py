"""A local OpenAI-compatible chat server for tests and benchmarks (no network, no model).

Runs ``http.server`` in background threads on 127.0.0.1, so the real httpx client, its
connection pool and its threads are exercised, which ``httpx.MockTransport`` skips.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from alignlab.models._content import content_parts, message_text


@dataclass(frozen=True)
class StubReply:
    """A scripted answer: HTTP ``status`` with ``body`` (bytes as they are, a dict as JSON,
    ``None`` for the normal completion) after ``delay_s`` (``None``: the server's delay)."""

    status: int = 200
    body: bytes | dict[str, Any] | None = None
    delay_s: float | None = None


Fault = Callable[[int, dict[str, Any]], StubReply | None]
"""``fault(index, body)``: the reply to request number ``index`` (0-based, in arrival order),
or ``None`` for the normal answer."""


def _reply_for(body: dict[str, Any], tag: str) -> dict[str, Any]:
    """Per choice ``"<tag>: <text of the last message>"`` (+ ``" [k image(s)]"``); usage counts
    words as tokens."""
    messages = body.get("messages") or [{"content": ""}]
    parts = content_parts(messages[-1].get("content"))
    text = message_text(messages[-1].get("content"))
    k = sum(p["type"] == "image_url" for p in parts)
    reply = f"{tag}: {text}" + (f" [{k} image(s)]" if k else "")
    n = int(body.get("n") or 1)
    prompt = sum(len(message_text(m.get("content")).split()) for m in messages)
    completion = n * len(reply.split())
    return {
        "object": "chat.completion",
        "model": body.get("model"),
        "choices": [
            {"index": i, "message": {"role": "assistant", "content": reply}} for i in range(n)
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


class StubChatServer:
    """``POST {base_url}/chat/completions`` answered after ``delay_s`` seconds.

    Counts ``n_requests``, ``in_flight`` and ``peak_in_flight`` (requests between arrival and
    the end of the answer) and keeps each request's JSON body in ``bodies`` (arrival order).
    ``fault`` scripts errors, garbage and slow answers (see :data:`Fault`). A context manager;
    closing wakes delayed answers and drops open connections.
    """

    def __init__(self, *, delay_s: float = 0.0, tag: str = "stub", fault: Fault | None = None):
        self.delay_s = delay_s
        self.tag = tag
        self.fault = fault
        self.n_requests = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.bodies: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._conns: set[socket.socket] = set()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def __enter__(self) -> StubChatServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):  # already closed by the client
                conn.shutdown(socket.SHUT_RDWR)

    def _arrive(self, body: dict[str, Any]) -> int:
        with self._lock:
            index = self.n_requests
            self.n_requests += 1
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            self.bodies.append(body)
        return index

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _answer(self, index: int, body: dict[str, Any]) -> tuple[int, bytes]:
        reply = self.fault(index, body) if self.fault is not None else None
        reply = reply or StubReply()
        self._stop.wait(self.delay_s if reply.delay_s is None else reply.delay_s)
        payload = reply.body if reply.body is not None else _reply_for(body, self.tag)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return reply.status, data


def _handler_class(server: StubChatServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers and httpx's pool expect
        disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms ACK wait

        def setup(self) -> None:
            super().setup()
            with server._lock:
                server._conns.add(self.connection)

        def finish(self) -> None:
            with server._lock:
                server._conns.discard(self.connection)
            with contextlib.suppress(OSError):  # the client hung up (e.g. it timed out)
                super().finish()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # tests and benchmarks stay quiet

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw)
            except ValueError:
                body = {}
            index = server._arrive(body)
            try:
                status, data = server._answer(index, body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                self.close_connection = True  # the client hung up mid-answer
            finally:
                server._leave()

    return Handler
