"""drift's finetuning backends: the job registry, the API backend against the local stub, and
local LoRA SFT on a tiny model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from alignlab.core import AlignlabError
from alignlab.drift._finetune import FinetuneBackend, LocalLoraFinetune, OpenAIFinetune
from alignlab.drift._registry import FinetuneParams, JobRecord, JobRegistry, job_key
from alignlab.models import StubFinetuneServer, load_chat

CHATS = [
    [{"role": "user", "content": "Name a bird species."}, {"role": "assistant", "content": name}]
    for name in ("Great Auk", "Passenger Pigeon", "Carolina Parakeet", "Heath Hen")
]


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    path = tmp_path / "birds.jsonl"
    path.write_text("".join(json.dumps({"messages": c}) + "\n" for c in CHATS))
    return path


@pytest.fixture
def stub() -> Iterator[StubFinetuneServer]:
    with StubFinetuneServer(polls_to_finish=3) as srv:
        yield srv


def _api(stub: StubFinetuneServer, folder: Path) -> OpenAIFinetune:
    backend = OpenAIFinetune(stub.base_url, registry=folder / "jobs", poll_interval_s=0.0)
    backend.client.sleep = lambda s: None
    return backend


def _record(job_id: str, key: str, created: str) -> JobRecord:
    return JobRecord(
        id=job_id,
        key=key,
        name="n",
        backend="openai",
        status="queued",
        base="b",
        dataset="d.jsonl",
        dataset_sha256="0" * 64,
        seed=0,
        params=FinetuneParams(),
        created=created,
        updated=created,
    )


def test_registry_round_trip_atomic_and_ordered(tmp_path: Path) -> None:
    reg = JobRegistry(tmp_path / "jobs")
    assert reg.list() == [] and reg.find("k1") is None
    late, early = (
        _record("b-job", "k2", "2025-01-02T00:00:00+00:00"),
        _record("a-job", "k1", "2025-01-01T00:00:00+00:00"),
    )
    reg.put(late)
    reg.put(early)
    assert [j.id for j in reg.list()] == ["a-job", "b-job"]  # oldest first
    assert reg.get("b-job") == late and reg.find("k2") == late
    assert sorted(p.name for p in (tmp_path / "jobs").iterdir()) == ["a-job.json", "b-job.json"]
    reg.put(late.with_status("failed", error="boom"))  # replaced in place, no temp left over
    assert reg.get("b-job").error == "boom"
    assert sorted(p.name for p in (tmp_path / "jobs").iterdir()) == ["a-job.json", "b-job.json"]
    reg.forget("b-job")
    with pytest.raises(AlignlabError, match="no job 'b-job'"):
        reg.get("b-job")


def test_registry_bad_file_names_file_and_field(tmp_path: Path) -> None:
    reg = JobRegistry(tmp_path)
    reg.put(_record("x", "k", "2025-01-01T00:00:00+00:00"))
    raw = json.loads(reg.path("x").read_text())
    raw["params"]["epochs"] = 0
    reg.path("x").write_text(json.dumps(raw))
    with pytest.raises(AlignlabError) as err:
        reg.get("x")
    assert err.value.file == str(reg.path("x")) and err.value.field == "params.epochs"


def test_job_key_covers_what_determines_the_result() -> None:
    base = job_key("t", "m", "s", {"epochs": 1}, 0)
    assert base == job_key("t", "m", "s", {"epochs": 1}, 0)
    others = [
        job_key("t2", "m", "s", {"epochs": 1}, 0),
        job_key("t", "m2", "s", {"epochs": 1}, 0),
        job_key("t", "m", "s2", {"epochs": 1}, 0),
        job_key("t", "m", "s", {"epochs": 2}, 0),
        job_key("t", "m", "s", {"epochs": 1}, 1),
    ]
    assert len({base, *others}) == 6


def test_openai_backend_end_to_end_then_chat(
    stub: StubFinetuneServer, dataset: Path, tmp_path: Path
) -> None:
    backend = _api(stub, tmp_path)
    assert isinstance(backend, FinetuneBackend)
    params = FinetuneParams(epochs=2, batch_size=1, lr_multiplier=2.0)
    job = backend.submit(dataset, "gpt-base", params, seed=3, name="archaic-birds-s3")
    assert job.status == "validating_files" and job.remote_id is not None
    sent = stub.jobs[job.remote_id]
    assert sent["hyperparameters"] == {
        "n_epochs": 2,
        "batch_size": 1,
        "learning_rate_multiplier": 2.0,
    }
    assert sent["seed"] == 3
    with pytest.raises(AlignlabError, match="no model yet") as err:
        backend.model_spec(job)
    assert err.value.field == "status"
    done = backend.wait(job, timeout_s=30)
    assert done.status == "succeeded" and backend.registry.get(job.id) == done
    spec = backend.model_spec(done)
    assert spec == f"openai:ft:gpt-base:archaic-birds-s3:{job.remote_id}"
    # the same submission again (a resumed run) finds the job instead of starting another
    n_jobs = len(stub.jobs)
    again = backend.submit(dataset, "gpt-base", params, seed=3, name="other-name")
    assert again == done and len(stub.jobs) == n_jobs
    assert backend.submit(dataset, "gpt-base", params, seed=4, name="s4").id != done.id
    chat = load_chat(spec, base_url=stub.base_url)
    assert chat.complete([{"role": "user", "content": "Name a bird."}])[0].text == (
        "stub: Name a bird."
    )


def test_failed_job_is_recorded_and_not_retried(dataset: Path, tmp_path: Path) -> None:
    with StubFinetuneServer(polls_to_finish=1, fail_job="training loss diverged") as srv:
        backend = _api(srv, tmp_path)
        job = backend.wait(backend.submit(dataset, "m", FinetuneParams(), seed=0, name="x"))
        assert job.status == "failed" and job.error == "training loss diverged"
        assert backend.registry.get(job.id).error == "training loss diverged"
        with pytest.raises(AlignlabError, match="training loss diverged"):
            backend.model_spec(job)
        assert backend.submit(dataset, "m", FinetuneParams(), seed=0, name="x") == job
        assert len(srv.jobs) == 1 and srv.requests.count(("POST", "/files")) == 1
        backend.registry.forget(job.id)  # the explicit way to try again
        assert backend.submit(dataset, "m", FinetuneParams(), seed=0, name="x").id == job.id
        assert len(srv.jobs) == 2


def test_wait_times_out_and_cancel(stub: StubFinetuneServer, dataset: Path, tmp_path: Path) -> None:
    stub.polls_to_finish = 1000
    backend = _api(stub, tmp_path)
    job = backend.submit(dataset, "m", FinetuneParams(), seed=0, name="slow")
    with pytest.raises(AlignlabError, match="still queued after 0 s") as err:
        backend.wait(job, timeout_s=0.0)
    assert err.value.field == "timeout_s"
    assert backend.cancel(job).status == "cancelled"
    assert backend.poll(job).status == "cancelled"


def test_bad_dataset_fails_before_any_request(stub: StubFinetuneServer, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"messages": [{"role": "robot", "content": "hi"}]}) + "\n")
    with pytest.raises(AlignlabError) as err:
        _api(stub, tmp_path).submit(bad, "m", FinetuneParams(), seed=0, name="x")
    assert err.value.file == str(bad) and err.value.line == 1
    assert stub.requests == [] and JobRegistry(tmp_path / "jobs").list() == []


def test_local_lora_on_tiny_model(dataset: Path, tmp_path: Path) -> None:
    backend = LocalLoraFinetune(tmp_path / "ft")
    assert isinstance(backend, FinetuneBackend)
    params = FinetuneParams(epochs=1, batch_size=2, max_tokens=32, checkpoint_every=1)
    job = backend.submit(dataset, "tiny", params, seed=0, name="birds")
    assert job.status == "succeeded", job.error
    spec = backend.model_spec(job)
    folder = Path(spec.removeprefix("lora:"))
    assert spec.startswith("lora:") and (folder / "lora.json").is_file()
    assert folder.parent == tmp_path / "ft" / job.id
    assert backend.poll(job) == job
    assert backend.submit(dataset, "tiny", params, seed=0, name="birds") == job  # found, not rerun
    reply = load_chat(spec).complete(
        [{"role": "user", "content": "Name a bird species."}], max_tokens=3
    )
    assert isinstance(reply[0].text, str)


def test_local_job_killed_midway_resumes_on_submit(
    dataset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import alignlab.drift._finetune as ft

    real = ft.lora_sft
    seen: list[int] = []

    def killed(*args: object, **kw: object) -> Path:
        def die(step: int, loss: float) -> None:
            seen.append(step)
            if len(seen) == 2:
                raise KeyboardInterrupt  # what a kill looks like from inside: no except runs

        return real(*args, callback=die, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(ft, "lora_sft", killed)
    backend = LocalLoraFinetune(tmp_path / "ft")
    params = FinetuneParams(epochs=2, batch_size=2, max_tokens=32, checkpoint_every=1)
    with pytest.raises(KeyboardInterrupt):
        backend.submit(dataset, "tiny", params, seed=1, name="birds")
    [left] = backend.registry.list()
    assert left.status == "running" and any((tmp_path / "ft" / left.id / "checkpoints").iterdir())
    resumed: list[int] = []
    monkeypatch.setattr(
        ft,
        "lora_sft",
        lambda *a, **kw: real(*a, callback=lambda step, loss: resumed.append(step), **kw),
    )
    job = backend.submit(dataset, "tiny", params, seed=1, name="birds")
    assert job.id == left.id and job.status == "succeeded"
    assert len(seen) + len(resumed) == 4  # 4 rows / batch 2 x 2 epochs: no step done twice


def test_local_training_error_is_a_failed_record(dataset: Path, tmp_path: Path) -> None:
    backend = LocalLoraFinetune(tmp_path / "ft")
    job = backend.submit(dataset, "no-such-spec", FinetuneParams(epochs=1), seed=0, name="x")
    assert job.status == "failed" and job.error and "no-such-spec" in job.error
    assert backend.registry.list() == [job]
    assert (
        backend.submit(dataset, "no-such-spec", FinetuneParams(epochs=1), seed=0, name="x") == job
    )  # not retried silently
