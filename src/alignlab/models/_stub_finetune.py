"""A local OpenAI-compatible finetuning server for tests (no network, no training).

Extends :class:`StubChatServer` (same threads, connection handling and chat answers) with
``/files`` and ``/fine_tuning/jobs``; a finished job's ``fine_tuned_model`` then answers on
``/chat/completions`` like any model, so a whole submit → poll → sample loop runs offline.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler
from typing import Any

from alignlab.models._stub_server import StubChatServer, _handler_class

_ROLES = frozenset({"system", "user", "assistant"})


@dataclass
class _Job:
    id: str
    model: str
    training_file: str
    suffix: str
    hyperparameters: dict[str, Any]
    seed: int | None
    status: str = "validating_files"
    polls: int = 0
    fine_tuned_model: str | None = None
    error: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        return {
            "object": "fine_tuning.job",
            "id": self.id,
            "model": self.model,
            "status": self.status,
            "training_file": self.training_file,
            "hyperparameters": self.hyperparameters,
            "seed": self.seed,
            "fine_tuned_model": self.fine_tuned_model,
            "error": self.error,
        }


def _error(status: int, message: str, param: str | None = None) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"message": message, "type": "invalid_request_error", "param": param}}


def check_chat_jsonl(data: bytes) -> str | None:
    """``None`` for a valid chat finetuning file, else the first problem, as OpenAI words it
    roughly (``"line 3: ..."``)."""
    lines = [ln for ln in data.decode("utf-8", "replace").splitlines() if ln.strip()]
    if not lines:
        return "the file is empty"
    for i, line in enumerate(lines, 1):
        try:
            row = json.loads(line)
        except ValueError:
            return f"line {i}: not valid JSON"
        msgs = row.get("messages") if isinstance(row, dict) else None
        if not isinstance(msgs, list) or not msgs:
            return f"line {i}: missing 'messages' list"
        for m in msgs:
            if not isinstance(m, dict) or m.get("role") not in _ROLES:
                return f"line {i}: each message needs a role in {sorted(_ROLES)}"
            if not isinstance(m.get("content"), str) or not m["content"].strip():
                return f"line {i}: message content must be a non-empty string"
        if not any(m["role"] == "assistant" for m in msgs):
            return f"line {i}: no assistant message to train on"
    return None


class StubFinetuneServer(StubChatServer):
    """Files + finetuning jobs + chat completions on ``base_url`` (127.0.0.1, ``/v1``).

    A job goes ``validating_files`` → ``queued`` → ``running`` → ``succeeded`` over
    ``polls_to_finish`` retrieves (it is done on that retrieve), with
    ``fine_tuned_model = "ft:<base>:<suffix>:<id>"``. Scripted faults: ``fail_first`` finetuning
    requests answer HTTP 500; with ``fail_job`` set, jobs end ``failed`` with that message. Chat
    requests name a base model or a succeeded job's model (others get 404); ``fault`` scripts
    chat answers as in :class:`StubChatServer`. ``requests`` records ``(method, path)`` of each
    finetuning request; ``files`` maps file ids to their bytes; ``jobs`` the job objects.
    """

    def __init__(
        self,
        *,
        polls_to_finish: int = 3,
        fail_first: int = 0,
        fail_job: str | None = None,
        **chat: Any,
    ) -> None:
        super().__init__(**chat)
        self.polls_to_finish = polls_to_finish
        self.fail_first = fail_first
        self.fail_job = fail_job
        self.requests: list[tuple[str, str]] = []
        self.files: dict[str, bytes] = {}
        self._jobs: dict[str, _Job] = {}
        self._ft_lock = threading.Lock()
        # http.server builds a handler per request from this attribute: swapping it before the
        # port is handed out adds the finetuning routes without a second server implementation
        self._httpd.RequestHandlerClass = _finetune_handler(self)

    def __enter__(self) -> StubFinetuneServer:
        return self

    @property
    def jobs(self) -> dict[str, dict[str, Any]]:
        with self._ft_lock:
            return {k: j.json() for k, j in self._jobs.items()}

    def fine_tuned_models(self) -> set[str]:
        with self._ft_lock:
            return {j.fine_tuned_model for j in self._jobs.values() if j.fine_tuned_model}

    def handle(self, method: str, path: str, body: bytes, ctype: str) -> tuple[int, dict[str, Any]]:
        """The answer (status, JSON) to one finetuning request."""
        with self._ft_lock:
            self.requests.append((method, path))
            if len(self.requests) <= self.fail_first:
                return _error(500, "scripted server error")
            parts = path.strip("/").split("/")
            if method == "POST" and parts == ["files"]:
                return self._upload(body, ctype)
            if parts[:1] != ["fine_tuning"] or parts[1:2] != ["jobs"]:
                return _error(404, f"unknown path {path}")
            if method == "POST" and len(parts) == 2:
                return self._create(body)
            job = self._jobs.get(parts[2]) if len(parts) > 2 else None
            if job is None:
                return _error(404, f"No such fine-tuning job: {parts[2:3]}", "job_id")
            if method == "GET" and len(parts) == 3:
                self._advance(job)
                return 200, job.json()
            if method == "POST" and parts[3:] == ["cancel"]:
                return self._cancel(job)
            if method == "GET" and parts[3:] == ["events"]:
                return 200, {"object": "list", "data": job.events[::-1], "has_more": False}
            return _error(404, f"unknown path {path}")

    def _upload(self, body: bytes, ctype: str) -> tuple[int, dict[str, Any]]:
        msg = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {ctype}\r\n\r\n".encode() + body)
        fields: dict[str, bytes] = {}
        for part in msg.iter_parts() if msg.is_multipart() else []:
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                fields[name] = payload
        if fields.get("purpose") != b"fine-tune":
            return _error(400, "purpose must be 'fine-tune'", "purpose")
        if "file" not in fields:
            return _error(400, "no file in the upload", "file")
        problem = check_chat_jsonl(fields["file"])
        if problem is not None:
            return _error(400, f"Invalid file format for fine-tuning: {problem}", "file")
        file_id = f"file-{len(self.files) + 1:04d}"
        self.files[file_id] = fields["file"]
        return 200, {"object": "file", "id": file_id, "purpose": "fine-tune"}

    def _create(self, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            req = json.loads(body)
        except ValueError:
            return _error(400, "body is not JSON")
        if req.get("training_file") not in self.files:
            return _error(400, f"no such file: {req.get('training_file')}", "training_file")
        if not req.get("model"):
            return _error(400, "model is required", "model")
        job = _Job(
            id=f"ftjob-{len(self._jobs) + 1:04d}",
            model=str(req["model"]),
            training_file=str(req["training_file"]),
            suffix=str(req.get("suffix") or ""),
            hyperparameters=dict(req.get("hyperparameters") or {}),
            seed=req.get("seed"),
        )
        self._jobs[job.id] = job
        self._event(job, "Validating training file")
        return 200, job.json()

    def _advance(self, job: _Job) -> None:
        if job.status in ("succeeded", "failed", "cancelled"):
            return
        job.polls += 1
        if job.polls < self.polls_to_finish:
            job.status = "queued" if job.polls == 1 else "running"
        elif self.fail_job is not None:
            job.status = "failed"
            job.error = {"code": "stub_failure", "message": self.fail_job, "param": None}
        else:
            job.status = "succeeded"
            job.fine_tuned_model = f"ft:{job.model}:{job.suffix}:{job.id}"
        self._event(job, f"Job {job.status}")

    def _cancel(self, job: _Job) -> tuple[int, dict[str, Any]]:
        if job.status in ("succeeded", "failed", "cancelled"):
            return _error(400, f"Job has already {job.status}", "job_id")
        job.status = "cancelled"
        self._event(job, "Job cancelled")
        return 200, job.json()

    def _event(self, job: _Job, message: str) -> None:
        n = len(job.events) + 1
        job.events.append(
            {
                "object": "fine_tuning.job.event",
                "id": f"{job.id}-ev{n}",
                "created_at": n,
                "level": "info",
                "message": message,
                "type": "message",
            }
        )

    def _answer(self, index: int, body: dict[str, Any]) -> tuple[int, bytes]:
        model = str(body.get("model") or "")
        if model.startswith("ft:") and model not in self.fine_tuned_models():
            status, err = _error(404, f"The model '{model}' does not exist", "model")
            return status, json.dumps(err).encode()
        return super()._answer(index, body)


def _finetune_handler(server: StubFinetuneServer) -> type[BaseHTTPRequestHandler]:
    base: Any = _handler_class(server)

    class Handler(base):  # type: ignore[misc, valid-type]
        def _finetune(self, method: str) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.split("?", 1)[0].removeprefix("/v1")
            status, payload = server.handle(method, path, raw, self.headers.get("Content-Type", ""))
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._finetune("GET")

        def do_POST(self) -> None:  # noqa: N802
            if self.path.rstrip("/").endswith("/chat/completions"):
                super().do_POST()
            else:
                self._finetune("POST")

    return Handler
