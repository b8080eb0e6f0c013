"""``alignlab judge evaluate`` against a local OpenAI-compatible server (``StubChatServer``):
scripted replies, 500s beyond the retries recorded as failures, and ``--resume``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from alignlab.cli import main
from alignlab.models import StubChatServer, StubReply

FAIL = "FAIL-ME"


def _completion(text: str) -> dict[str, Any]:
    return {
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
    }


def _always_a(index: int, body: dict[str, Any]) -> StubReply | None:
    return StubReply(200, _completion("I pick the first. <verdict>A</verdict>"))


def _fail_marked(index: int, body: dict[str, Any]) -> StubReply | None:
    if FAIL in json.dumps(body):
        return StubReply(500, b'{"error": {"message": "boom"}}')
    return _always_a(index, body)


@pytest.fixture
def pairs(tmp_path: Path) -> Path:
    Image.new("RGB", (8, 8), "red").save(tmp_path / "red.png")
    rows = [
        {"id": "q1", "task": "reasoning", "gold": "A", "response_a": "Red.",
         "prompt": [{"image": "red.png"}, {"text": "What colour?"}], "response_b": "Blue."},
        {"id": "q2", "task": "reasoning", "prompt": "2+2?", "response_a": "5",
         "response_b": "4", "gold": "B"},
        {"id": "q3", "task": "general", "prompt": FAIL, "response_a": "x", "response_b": "y",
         "gold": "A"},
    ]  # fmt: skip
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _argv(pairs: Path, out: Path, url: str, *extra: str) -> list[str]:
    return [
        "judge", "evaluate", "--pairs", str(pairs), "--model", f"openai:judge-model@{url}",
        "--out", str(out), "--concurrency", "3", "--max-retries", "1", "--timeout", "10",
        "--n-boot", "100", *extra,
    ]  # fmt: skip


def _records(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines()]


def test_end_to_end_with_a_fault(pairs: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    with StubChatServer(fault=_fail_marked) as server:
        assert main(_argv(pairs, out, server.base_url)) == 0
    (run,) = (out / "judge-evaluate").iterdir()
    # 2 good pairs x 2 orders x 2 prompts, plus q3's 4 requests each tried twice (1 retry)
    assert server.n_requests == 8 + 4 * 2
    images = [b for b in server.bodies if "data:image/png;base64," in json.dumps(b)]
    assert len(images) == 4  # q1, both orders, both prompts
    rows = _records(run)
    assert len(rows) == 12
    failed = [r for r in rows if r["error"] is not None]
    assert {r["pair_id"] for r in failed} == {"q3"} and len(failed) == 4
    assert all(r["verdict"] is None and r["correct"] is False for r in failed)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["failed_requests"] == 4
    for prompt in ("chain", "baseline"):
        m = metrics["prompts"][prompt]["overall"]
        # q1, q2: right in one order each (always A); q3: failed = wrong
        assert m["accuracy"]["value"] == pytest.approx(2 / 6)
        assert m["pair_accuracy"]["value"] == 0.0
        assert m["request_failure"]["value"] == pytest.approx(1 / 3)
        assert m["parse_failure"]["value"] == pytest.approx(1 / 3)
        assert m["first_forward"]["value"] == 1.0
    preds = json.loads((run / "predictions-baseline.json").read_text())
    assert preds["q1"]["forward"][0]["judgement"] == "A"
    assert preds["q3"]["reverse"][0]["judgement"] is None and "error" in preds["q3"]["reverse"][0]
    report = (run / "report.md").read_text()
    assert "| q3 | forward | chain |" in report and "4 failed" in report


def test_resume_skips_judged_items_and_retries_failures(pairs: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    with StubChatServer(fault=_fail_marked) as server:
        assert main(_argv(pairs, out, server.base_url)) == 0
    (run,) = (out / "judge-evaluate").iterdir()
    rows = (run / "records.jsonl").read_text().splitlines()
    # as if killed: 5 records written, then half a line
    (run / "records.jsonl").write_text("\n".join(rows[:5]) + "\n" + rows[5][:20])
    kept = [json.loads(r) for r in rows[:5]]
    missing = 12 - sum(r["error"] is None for r in kept)
    with StubChatServer(fault=_always_a) as healthy:
        assert main(_argv(pairs, out, healthy.base_url, "--resume", str(run))) == 0
    assert healthy.n_requests == missing  # judged ones skipped; failed and missing asked
    final = _records(run)
    keys = [(r["pair_id"], r["order"], r["prompt"]) for r in final]
    assert len(set(keys)) == 12
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["failed_requests"] == 0 and metrics["judgements"] == 12
    assert metrics["skipped_on_resume"] == 12 - missing
    with StubChatServer(fault=_always_a) as again:  # nothing left: nothing asked
        assert main(_argv(pairs, out, again.base_url, "--resume", str(run))) == 0
    assert again.n_requests == 0


def test_resume_refuses_another_model(pairs: Path, tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "runs"
    with StubChatServer(fault=_always_a) as server:
        assert main(_argv(pairs, out, server.base_url, "--prompt", "baseline")) == 0
    (run,) = (out / "judge-evaluate").iterdir()
    argv = ["judge", "evaluate", "--resume", str(run), "--model", "scripted:random"]
    assert main(argv) == 2
    assert "model" in capsys.readouterr().err


def test_garbage_hangs_and_unreadable_answers(pairs: Path, tmp_path: Path) -> None:
    """A 200 with a non-JSON body and a server that never answers in time are failed requests;
    an answer without a verdict is a parse failure, not a request failure."""

    def fault(index: int, body: dict[str, Any]) -> StubReply | None:
        text = json.dumps(body)
        if FAIL in text:
            return StubReply(200, b"<html>not json</html>")
        if "2+2?" in text:
            return StubReply(delay_s=3.0)  # beyond --timeout
        return None  # the stub's echo: no verdict in it

    out = tmp_path / "runs"
    with StubChatServer(fault=fault) as server:
        argv = _argv(pairs, out, server.base_url, "--prompt", "baseline")
        argv[argv.index("--max-retries") + 1] = "0"
        argv[argv.index("--timeout") + 1] = "0.3"
        assert main(argv) == 0
    (run,) = (out / "judge-evaluate").iterdir()
    by_pair = {(r["pair_id"], r["order"]): r for r in _records(run)}
    for order in ("forward", "reverse"):
        assert by_pair[("q3", order)]["error"] is not None  # garbage
        assert by_pair[("q2", order)]["error"] is not None  # timed out
        q1 = by_pair[("q1", order)]
        assert q1["error"] is None and q1["verdict"] is None
        assert q1["format_errors"] == ["missing-tag in verdict"]
    m = json.loads((run / "metrics.json").read_text())["prompts"]["baseline"]["overall"]
    assert m["accuracy"]["value"] == 0.0
    assert m["parse_failure"]["value"] == 1.0
    assert m["request_failure"]["value"] == pytest.approx(2 / 3)
    assert m["first_forward"] is None
