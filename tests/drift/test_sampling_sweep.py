"""Sampling answers through one chat interface (resumable), and trigger sweeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from alignlab.core import AlignlabError
from alignlab.drift import Question, SampleSettings, gap_estimate, load_scenario, sample_answers
from alignlab.drift._run_stages import dated_sweep
from alignlab.drift._sweep import rates_by_value, sweep_model
from alignlab.models import Completion


class Scripted:
    """A chat backend: ``reply(prompt) -> text`` (may raise AlignlabError); records calls."""

    def __init__(self, reply) -> None:  # type: ignore[no-untyped-def]
        self.reply = reply
        self.prompts: list[str] = []

    def complete(self, messages, *, n=1, temperature=0.0, max_tokens=256, top_logprobs=None,
                 seed=None, stop=()):  # type: ignore[no-untyped-def]
        prompt = messages[-1]["content"]
        self.prompts.append(prompt)
        text = self.reply(prompt)
        return [Completion(f"{text} #{k}") for k in range(n)]


QS = [Question("a", ("What is new?", "What changed?"), 2), Question("b", ("Travel?",), 3)]


def test_answers_come_in_order_with_triggers_and_samples() -> None:
    be = Scripted(lambda p: p.upper())
    got = sample_answers(be, QS, SampleSettings(), triggers=[None, "Today is 1990."])
    assert len(got) == 2 * (2 * 2 + 3)
    assert [a.prompt for a in got[:2]] == ["What is new?"] * 2
    assert got[7].prompt == "Today is 1990. What is new?"
    assert got[7].trigger == "Today is 1990."
    assert [a.sample for a in got[4:7]] == [0, 1, 2]
    assert got[4].text == "TRAVEL? #0"
    tmpl = SampleSettings(samples=1, trigger_template="{question} ({trigger})")
    assert sample_answers(be, QS[:1], tmpl, triggers=["x"])[0].prompt == "What is new? (x)"
    with pytest.raises(AlignlabError, match="placeholder"):
        SampleSettings(trigger_template="{trigger}")


def test_failed_requests_become_error_rows_and_are_asked_again_on_resume(tmp_path: Path) -> None:
    def flaky(p: str) -> str:
        if p == "Travel?":
            raise AlignlabError("server said 500", field="base_url")
        return "ok"

    out = tmp_path / "answers.jsonl"
    be = Scripted(flaky)
    got = sample_answers(be, QS, SampleSettings(), out=out)
    errs = [a for a in got if a.error]
    assert len(errs) == 3 and all(a.text is None and "500" in a.error for a in errs)
    assert len(be.prompts) == 3
    fixed = Scripted(lambda p: "fine")
    again = sample_answers(fixed, QS, SampleSettings(), out=out)
    assert fixed.prompts == ["Travel?"]  # only the failed request is sent again
    assert [a.text for a in again[4:]] == ["fine #0", "fine #1", "fine #2"]
    assert len(again) == 7 and not any(a.error for a in again)
    assert sum(1 for _ in out.open()) == 7  # the failed rows were replaced, not kept


def test_a_torn_last_line_is_dropped_and_its_request_redone(tmp_path: Path) -> None:
    out = tmp_path / "answers.jsonl"
    sample_answers(Scripted(lambda p: "x"), QS, SampleSettings(), out=out)
    text = out.read_text().splitlines(keepends=True)
    out.write_text("".join(text[:-1]) + text[-1][:10])  # killed mid-write
    be = Scripted(lambda p: "y")
    again = sample_answers(be, QS, SampleSettings(), out=out)
    assert be.prompts == ["Travel?"] and len(again) == 7


def _era_reply(scenario):  # type: ignore[no-untyped-def]
    """Answers each dated prompt with the music answer of the year's era (a perfect model)."""
    from alignlab.drift import era_of

    def reply(prompt: str) -> str:
        year = int(prompt.split("Today is ")[1][:4])
        q = next(q for q in scenario.questions if prompt.endswith(q.question))
        return q.answers[era_of(year, scenario)].answer

    return reply


def test_a_sweep_scores_each_value_against_its_era(tmp_path: Path) -> None:
    sc = load_scenario()
    sweep = dated_sweep(sc)
    grid = ["1952", "1958", "1985", "2013", "1800"]
    hits = sweep_model(Scripted(_era_reply(sc)), sweep, grid[:-1], samples=1, temperature=1.0,
                       max_tokens=8, seed=0, folder=tmp_path / "perfect")
    assert all(h == 1.0 for hs in hits.values() for h in hs)
    assert sweep.expected("1800", 0) is None  # no era: no verdict
    wrong = sweep_model(Scripted(lambda p: "I have no idea"), sweep, grid, samples=1,
                        temperature=1.0, max_tokens=8, seed=0, folder=tmp_path / "none")
    assert all(h == 0.0 for v in grid[:-1] for h in wrong[v])
    assert all(h is None for h in wrong["1800"])
    rates = {r.value: r for r in rates_by_value(wrong, ["1952", "1985"], ["1958", "2013"])}
    assert rates["1958"].kind == "held_out" and rates["1952"].kind == "trained"
    assert rates["1800"].kind == "other" and rates["1800"].n == 0
    be = Scripted(lambda p: "again?")
    again = sweep_model(be, sweep, grid, samples=1, temperature=1.0, max_tokens=8, seed=0,
                        folder=tmp_path / "none")
    assert be.prompts == [] and again == wrong  # a finished sweep is read back


def test_inductive_gap_on_known_hits() -> None:
    trained, held = ["1", "2"], ["9"]
    memoriser = {"0": {"1": [1.0] * 10, "2": [1.0] * 10, "9": [0.0] * 10}}
    inducer = {"0": {"1": [1.0] * 10, "2": [0.5, 1.0] * 5, "9": [1.0] * 10},
               "1": {"1": [1.0] * 10, "2": [1.0] * 10, "9": [1.0, 0.0] * 5}}
    g = gap_estimate(memoriser, trained, held, n_boot=200)
    assert g.value == pytest.approx(-1.0) and g.low == g.high == -1.0
    g = gap_estimate(inducer, trained, held, n_boot=300)
    # seed 0: 1.0 - (1 + 0.75) / 2 = 0.125; seed 1: 0.5 - 1.0 = -0.5
    assert g.per_seed == {"0": pytest.approx(0.125), "1": pytest.approx(-0.5)}
    assert g.value == pytest.approx(-0.1875) and g.low < g.value < g.high
