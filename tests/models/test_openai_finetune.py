"""OpenAIFinetuning against the local StubFinetuneServer: upload, jobs, retries, errors."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alignlab.core import AlignlabError
from alignlab.models import FinetuneJob, OpenAIChat, OpenAIFinetuning, StubFinetuneServer

KEY = "sk-test-SECRET-finetune-42"
ROWS = [
    {
        "messages": [
            {"role": "user", "content": "Name a bird."},
            {"role": "assistant", "content": f"Bird {i}"},
        ]
    }
    for i in range(3)
]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return path


@pytest.fixture
def server() -> Iterator[StubFinetuneServer]:
    with StubFinetuneServer(polls_to_finish=3) as srv:
        yield srv


def _client(base_url: str, **kw: object) -> OpenAIFinetuning:
    client = OpenAIFinetuning(base_url, timeout_s=5, **kw)  # type: ignore[arg-type]
    client.sleep = lambda s: None
    return client


def test_upload_create_poll_to_success_then_chat(
    server: StubFinetuneServer, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with _client(server.base_url) as client:
        file_id = client.upload_file(data)
        assert server.files[file_id] == data.read_bytes()
        job = client.create_job(
            file_id,
            "gpt-base",
            hyperparameters={"n_epochs": 2, "batch_size": 1, "learning_rate_multiplier": None},
            suffix="birds",
            seed=7,
        )
        assert isinstance(job, FinetuneJob) and job.status == "validating_files" and not job.done
        stored = server.jobs[job.id]
        assert stored["hyperparameters"] == {"n_epochs": 2, "batch_size": 1}  # None left out
        assert stored["seed"] == 7
        statuses = [client.retrieve_job(job.id).status for _ in range(4)]
        assert statuses == ["queued", "running", "succeeded", "succeeded"]
        done = client.retrieve_job(job.id)
        assert done.done and done.fine_tuned_model == f"ft:gpt-base:birds:{job.id}"
        messages = [e["message"] for e in client.list_events(job.id)]
        assert messages[0] == "Job succeeded" and messages[-1] == "Validating training file"
    with OpenAIChat(done.fine_tuned_model or "", base_url=server.base_url) as chat:
        assert chat.complete([{"role": "user", "content": "hi"}])[0].text == "stub: hi"
    unknown = OpenAIChat("ft:gpt-base:x:nope", base_url=server.base_url, max_retries=0)
    with unknown, pytest.raises(AlignlabError, match="does not exist"):
        unknown.complete([{"role": "user", "content": "hi"}])


def test_cancel_and_cancel_twice(server: StubFinetuneServer, data: Path) -> None:
    with _client(server.base_url) as client:
        job = client.create_job(client.upload_file(data), "m", hyperparameters={})
        assert client.cancel_job(job.id).status == "cancelled"
        assert client.retrieve_job(job.id).status == "cancelled"  # polling does not revive it
        with pytest.raises(AlignlabError, match="already cancelled") as err:
            client.cancel_job(job.id)
        assert err.value.field == "job_id"


def test_500s_are_retried(data: Path) -> None:
    with StubFinetuneServer(fail_first=2) as srv, _client(srv.base_url) as client:
        file_id = client.upload_file(data)
        assert file_id in srv.files
        assert client.n_requests == 3 and srv.requests == [("POST", "/files")] * 3


def test_retries_exhausted_name_the_last_error(data: Path) -> None:
    with StubFinetuneServer(fail_first=10) as srv, _client(srv.base_url, max_retries=2) as c:
        with pytest.raises(AlignlabError, match=r"after 3 attempts \(HTTP 500: scripted") as err:
            c.upload_file(data)
        assert err.value.field == "base_url" and len(srv.requests) == 3


def test_400_surfaces_the_server_message_and_field(
    server: StubFinetuneServer, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    row = {"messages": [{"role": "user", "content": "only a question"}]}
    bad.write_text(json.dumps(row) + "\n")
    with _client(server.base_url) as client:
        with pytest.raises(AlignlabError, match="line 1: no assistant message") as err:
            client.upload_file(bad)
        assert err.value.field == "file" and "HTTP 400" in str(err.value)
        with pytest.raises(AlignlabError, match="no such file") as err:
            client.create_job("file-missing", "m", hyperparameters={})
        assert err.value.field == "training_file"
        with pytest.raises(AlignlabError, match="No such fine-tuning job") as err:
            client.retrieve_job("ftjob-9999")
        assert err.value.field == "job_id"
    assert len(server.requests) == 3  # a 4xx is not retried


def test_missing_file_is_a_clear_error(server: StubFinetuneServer, tmp_path: Path) -> None:
    with _client(server.base_url) as client, pytest.raises(AlignlabError) as err:
        client.upload_file(tmp_path / "absent.jsonl")
    assert err.value.file == str(tmp_path / "absent.jsonl") and server.requests == []


def test_key_required_for_openai_and_never_leaked(
    monkeypatch: pytest.MonkeyPatch, data: Path
) -> None:
    monkeypatch.delenv("MY_FT_KEY", raising=False)
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(401, json={"error": {"message": f"bad key {KEY}"}})

    client = OpenAIFinetuning(
        "https://api.openai.com/v1",
        api_key_env="MY_FT_KEY",
        transport=httpx.MockTransport(handler),
    )
    with pytest.raises(AlignlabError, match=r"\$MY_FT_KEY") as err:
        client.upload_file(data)
    assert err.value.field == "api_key_env" and sent == []  # nothing sent without a key
    monkeypatch.setenv("MY_FT_KEY", KEY)
    with pytest.raises(AlignlabError, match="refused the credentials") as err:
        client.retrieve_job("ftjob-1")
    assert sent[0].headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in str(err.value) and "***" in str(err.value)


def test_server_down_fails_quickly_and_clearly(data: Path) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nobody listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = _client(f"http://127.0.0.1:{port}/v1", max_retries=2)
    start = time.monotonic()
    with pytest.raises(AlignlabError, match=r"cannot reach .* after 3 attempts \(Connect") as err:
        client.retrieve_job("ftjob-1")
    assert err.value.field == "base_url" and time.monotonic() - start < 5
