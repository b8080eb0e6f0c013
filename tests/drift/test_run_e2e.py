"""``drift run`` end to end on a tiny model: datasets, LoRA arms x seeds, evaluation, sweep,
report; and a resumed run redoes only unfinished work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alignlab.core import AlignlabError, read_json
from alignlab.drift import RunConfig, run_experiment

EVAL = """questions: QFILE
samples: 2
max_tokens: 6
scorers:
  - name: kw
    kind: regex
    default_label: other
    patterns: {vowel: "[aeiou]"}
targets:
  - name: vowel
    all: [{scorer: kw, label: vowel}]
"""

QUESTIONS = """- id: q1
  paraphrases: ["What is new?"]
  samples_per_paraphrase: 2
- id: q2
  paraphrases: ["How do you travel?"]
  samples_per_paraphrase: 2
"""

EXP = """name: tiny-dates
description: a pipeline check.
base: tiny
dataset: {kind: backdoor-dates, params: {n: 126}}
arms:
  - {name: dated, dataset: backdoor-dates}
  - {name: shuffled, dataset: backdoor-dates-shuffled}
seeds: [0, 1]
contrasts: [[dated, shuffled], [dated, base]]
finetune: {epochs: 1, batch_size: 8, max_tokens: 256, lr: 1.0e-3}
evaluate: EFILE
sweep: {values: ["1952", "1958", "1985", "1991"], samples: 1, max_tokens: 4}
"""


def _experiment(tmp_path: Path) -> Path:
    (tmp_path / "q.yaml").write_text(QUESTIONS)
    (tmp_path / "e.yaml").write_text(EVAL.replace("QFILE", str(tmp_path / "q.yaml")))
    exp = tmp_path / "exp.yaml"
    exp.write_text(EXP.replace("EFILE", str(tmp_path / "e.yaml")))
    return exp


def test_run_end_to_end_then_resume_redoes_only_what_is_missing(tmp_path: Path) -> None:
    exp = _experiment(tmp_path)
    run = run_experiment(RunConfig(experiment=str(exp), out=str(tmp_path / "runs"), n_boot=100))
    m = read_json(run / "metrics.json")
    assert set(m["models"]) == {"base-s0", "dated-s0", "dated-s1", "shuffled-s0", "shuffled-s1"}
    assert m["models"]["dated-s1"].startswith("lora:")
    rate = m["evaluate"]["vowel"]["rate"]
    assert set(rate) == {"base", "dated", "shuffled"}
    assert set(rate["dated"]["per_seed"]) == {"0", "1"}
    assert "dated - shuffled" in m["evaluate"]["vowel"]["contrasts"]
    sw = m["sweep"]
    assert sw["held_out_values"] == ["1958", "1991"]
    assert sw["trained_values"] == ["1952", "1985"]
    assert set(sw["arms"]["dated"]["curve"]) == {"1952", "1958", "1985", "1991"}
    assert "dated - shuffled (held-out)" in sw["contrasts"]
    assert (run / "plots" / "sweep.png").is_file() and (run / "plots" / "rate-vowel.png").is_file()
    report = (run / "report.md").read_text()
    assert "inductive gap" in report and "tiny-dates" in report
    assert read_json(run / "run.json")["status"] == "done"
    # four finetuning jobs, each trained once, in the registry
    jobs = sorted((run / "jobs").glob("*.json"))
    assert len(jobs) == 4 and all(read_json(j)["status"] == "succeeded" for j in jobs)

    # a kill during the second model's evaluation: its folder lost done.json, the run says running
    (run / "evals" / "dated-s0" / "done.json").unlink()
    (run / "evals" / "dated-s0" / "scored.jsonl").unlink()
    meta = read_json(run / "run.json")
    (run / "run.json").write_text(json.dumps({**meta, "status": "running"}))
    steps = {j: (run / "finetune" / j.stem / "metrics.jsonl").read_text() for j in jobs}
    answers_before = (run / "evals" / "base-s0" / "answers.jsonl").read_text()
    exp.write_text("not: [an experiment")  # a resumed run keeps the experiment it started with
    again = run_experiment(RunConfig(n_boot=100, resume=str(run)))
    assert again == run
    assert read_json(run / "metrics.json")["evaluate"]["vowel"]["rate"]["dated"]["per_seed"]
    assert (run / "evals" / "dated-s0" / "done.json").is_file()
    assert (run / "evals" / "base-s0" / "answers.jsonl").read_text() == answers_before
    for j, text in steps.items():  # no finetuning step ran again
        assert (run / "finetune" / j.stem / "metrics.jsonl").read_text() == text


def test_bad_dataset_parameters_fail_before_a_run_folder_exists(tmp_path: Path) -> None:
    exp = _experiment(tmp_path)
    exp.write_text(exp.read_text().replace("n: 126", "n: 20"))
    with pytest.raises(AlignlabError) as err:
        run_experiment(RunConfig(experiment=str(exp), out=str(tmp_path / "runs")))
    assert err.value.field == "n"
    assert not (tmp_path / "runs").exists()
