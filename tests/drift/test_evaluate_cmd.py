"""``drift evaluate`` against an OpenAI-compatible stub server: the same sampler as local
models, judges and rules, an endpoint that fails, and the CLI's errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from alignlab.cli import main
from alignlab.core import AlignlabError, read_json
from alignlab.drift import EvaluateConfig, run_evaluate
from alignlab.models import StubChatServer, StubReply

SPEC = """questions: QFILE
samples: 3
max_tokens: 16
scorers:
  - name: kw
    kind: regex
    default_label: modern
    patterns: {old: "\\\\b(horse|telegraph)\\\\b"}
targets:
  - name: old
    all: [{scorer: kw, label: old}]
"""

QUESTIONS = """- id: travel
  paraphrases: ["How do you travel by horse?", "How do you travel?"]
  samples_per_paraphrase: 1
- id: news
  paraphrases: ["What is the telegraph news?"]
  samples_per_paraphrase: 1
"""


def _spec(tmp_path: Path) -> Path:
    (tmp_path / "q.yaml").write_text(QUESTIONS)
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC.replace("QFILE", str(tmp_path / "q.yaml")))
    return spec


def test_evaluate_an_openai_compatible_endpoint(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    with StubChatServer(tag="echo") as srv:
        run = run_evaluate(EvaluateConfig(model=("openai:stub",), spec=str(spec),
                                          base_url=srv.base_url, out=str(tmp_path), n_boot=200))
        assert srv.n_requests == 3  # one request per paraphrase, n=3 samples each
        assert all(b["n"] == 3 and b["temperature"] == 1.0 for b in srv.bodies)
    m = read_json(run / "metrics.json")["evaluate"]["old"]["rate"]["openai:stub"]
    # the stub echoes the prompt: 2 of 3 paraphrases mention a horse or the telegraph
    assert m["value"] == pytest.approx(2 / 3)
    assert m["n"] == {"0": 9}


def test_an_endpoint_that_fails_keeps_answers_and_errors_apart(tmp_path: Path) -> None:
    spec = _spec(tmp_path)

    def fault(i: int, body: dict) -> StubReply | None:  # type: ignore[type-arg]
        return StubReply(status=400, body={"error": {"message": "bad model"}})

    with StubChatServer(fault=fault) as srv:
        cfg = EvaluateConfig(model=("openai:stub",), spec=str(spec), base_url=srv.base_url,
                             out=str(tmp_path))
        with pytest.raises(AlignlabError, match="every request failed"):
            run_evaluate(cfg)
    run = next((tmp_path / "drift-evaluate").iterdir())
    assert read_json(run / "run.json")["status"] == "failed"
    rows = (run / "openai_stub" / "answers.jsonl").read_text().splitlines()
    assert len(rows) == 9 and all('"text": null' in r and "bad model" in r for r in rows)


def test_cli_errors_name_the_file_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                            ) -> None:  # fmt: skip
    bad = tmp_path / "spec.yaml"
    bad.write_text("questions: builtin:era_questions\nscorers: []\ntargets: []\n")
    assert main(["drift", "evaluate", "--model", "tiny", "--spec", str(bad),
                 "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    assert "spec.yaml" in err and "scorers" in err
    assert not (tmp_path / "runs").exists()
    assert main(["drift", "evaluate", "--model", "tiny", "tiny"]) == 2
    assert "twice" in capsys.readouterr().err
    assert main(["drift", "run", "--experiment", str(tmp_path / "none.yaml")]) == 2
    assert "not found" in capsys.readouterr().err


def test_em_aggregate_cli_on_the_real_judged_answers(capsys: pytest.CaptureFixture[str]) -> None:
    csv = Path(__file__).resolve().parents[3] / "shared/data/raw/em-evaluation"
    csv = csv / "qwen_25_coder_32b_instruct_judged.csv"
    if not csv.is_file():
        pytest.skip("../shared/data/raw is not beside the repository")
    assert main(["drift", "em-aggregate", "--csv", str(csv), "--by", "group",
                 "--n-boot", "200"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("70 judged answers") and "| insecure | * | 70 |" in out
