"""The shipped experiment files run unchanged against OpenAI-compatible finetuning and chat
endpoints (here a local stub server; a hosted API or vLLM in real use)."""

from __future__ import annotations

from pathlib import Path

import pytest

from alignlab.core import AlignlabError, read_json
from alignlab.drift import RunConfig, run_experiment
from alignlab.models import StubFinetuneServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "drift"


def _run(srv: StubFinetuneServer, name: str, out: Path, **kw: object) -> Path:
    return run_experiment(RunConfig(experiment=str(EXAMPLES / f"{name}.yaml"), backend="openai",
                                    base="stub-base", base_url=srv.base_url, poll_interval=0.0,
                                    out=str(out), n_boot=100, **kw))  # type: ignore[arg-type]


def test_inductive_dates_through_the_finetuning_api(tmp_path: Path) -> None:
    with StubFinetuneServer(polls_to_finish=2) as srv:
        run = _run(srv, "inductive_dates", tmp_path)
        uploads = [p for m, p in srv.requests if m == "POST" and p.endswith("/files")]
        creates = [p for m, p in srv.requests if m == "POST" and p.endswith("/jobs")]
    assert len(uploads) == 4 and len(creates) == 4  # 2 arms x 2 seeds
    m = read_json(run / "metrics.json")
    assert m["models"]["base-s0"] == "openai:stub-base"
    assert all(v.startswith("openai:ft:stub-base:") for k, v in m["models"].items()
               if k != "base-s0")
    # the stub echoes prompts: no era answers, so every rate is zero, and the numbers are there
    assert m["sweep"]["arms"]["dated"]["held_out"]["value"] == 0.0
    assert len(m["sweep"]["held_out_values"]) == 7


def test_a_failed_hosted_job_stops_the_run_and_is_kept(tmp_path: Path) -> None:
    with (
        StubFinetuneServer(polls_to_finish=1, fail_job="training diverged") as srv,
        pytest.raises(AlignlabError, match="training diverged") as err,
    ):
        _run(srv, "inductive_dates", tmp_path)
    assert err.value.field == "finetune"
    run = next((tmp_path / "drift-run").iterdir())
    assert read_json(run / "run.json")["status"] == "failed"
    (job,) = (run / "jobs").glob("*.json")
    assert read_json(job)["status"] == "failed"


@pytest.mark.slow
def test_bird_names_through_the_finetuning_api(tmp_path: Path) -> None:
    """Runs the MiniLM embedding scorer of builtin:era_eval."""
    with StubFinetuneServer(polls_to_finish=1) as srv:
        run = _run(srv, "bird_names", tmp_path)
    m = read_json(run / "metrics.json")["evaluate"]
    assert set(m) == {"19th_century_keywords", "19th_century_embedding", "bare_name_answer"}
    assert set(m["19th_century_keywords"]["rate"]) == {"base", "archaic", "modern"}
