from __future__ import annotations

import math
import re
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from alignlab.core import AlignlabError
from alignlab.drift._judges import ClassifyJudge, LogprobJudge, ReasonJudge, match_label, render
from alignlab.drift._rule_scorers import EmbeddingScorer, RegexScorer
from alignlab.drift._scores import CHECK_ANSWERS, Score, check_scorer
from alignlab.models import Completion, tiny_encoder

TEMPLATE = "Question: {question}\nAnswer: {answer}\nRate 0-100."
Reply = str | dict[str, float] | Exception


class ScriptedChat:
    """A ChatBackend whose reply is chosen by the first key found in the prompt.

    A str reply is the completion text; a dict is the first token's top logprobs (text = its most
    likely token); an exception is raised. ``default`` answers prompts no key matches.
    """

    def __init__(self, script: dict[str, Reply], default: Reply) -> None:
        self.script, self.default = script, default
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def complete(self, messages: list[dict[str, Any]], **kw: Any) -> list[Completion]:
        with self._lock:
            self.calls.append({"messages": messages, **kw})
        prompt = messages[-1]["content"]
        reply = next((r for k, r in self.script.items() if k in prompt), self.default)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, dict):
            top = max(reply, key=lambda t: reply[t])
            wanted = kw.get("top_logprobs")
            return [Completion(top, top_logprobs=[reply] if wanted else None)]
        return [Completion(reply)]


def lp(**probs: float) -> dict[str, float]:
    return {k.lstrip("_"): math.log(v) for k, v in probs.items()}


# --- LogprobJudge ---------------------------------------------------------------------------


def test_logprob_judge_weighted_mean_refusal_and_failure() -> None:
    backend = ScriptedChat(
        {
            "good": lp(_80=0.5, _90=0.5),
            "mixed": lp(_10=0.3, _20=0.1, hello=0.6),
            "refuse": lp(REFUSAL=0.9, _5=0.05),
            "broken": AlignlabError("server unreachable", field="base_url"),
        },
        default=lp(_50=1.0),
    )
    judge = LogprobJudge(backend, TEMPLATE)
    s = judge.score("q?", ["good", "mixed", "refuse", "broken", "other"])
    assert [x.error is None for x in s] == [True, True, False, False, True]
    assert s[0].value == pytest.approx(85.0)
    assert s[1].value == pytest.approx(12.5)  # (10*.3 + 20*.1) / .4: normalised by numeric mass
    assert s[4].value == pytest.approx(50.0)
    assert s[2].value is None and s[2].label == "REFUSAL"
    assert "REFUSAL" in s[2].explanation and "0.25" in (s[2].error or "")
    assert "server unreachable" in (s[3].error or "") and s[3].metadata["field"] == "base_url"
    call = backend.calls[0]
    assert call["max_tokens"] == 1 and call["temperature"] == 0 and call["top_logprobs"] == 20


def test_logprob_judge_numeric_top_token_is_not_a_label_and_range_applies() -> None:
    backend = ScriptedChat({"x": lp(_150=0.8, _7=0.1, _200=0.1)}, default=lp(_1=1.0))
    s = LogprobJudge(backend, TEMPLATE, min_mass=0.25).score("q", ["x"])[0]
    # 150 and 200 lie outside 0-100, so only 0.1 of the mass is numeric: no score, no label
    assert s.error is not None and s.label is None and s.value is None
    s2 = LogprobJudge(backend, TEMPLATE, hi=200).score("q", ["x"])[0]
    assert s2.value == pytest.approx((150 * 0.8 + 7 * 0.1 + 200 * 0.1) / 1.0)


def test_logprob_judge_backend_without_logprobs_is_an_error_row() -> None:
    class NoLogprobs(ScriptedChat):
        def complete(self, messages: list[dict[str, Any]], **kw: Any) -> list[Completion]:
            return [Completion("80")]

    s = LogprobJudge(NoLogprobs({}, "80"), TEMPLATE).score("q", ["a"])
    assert s[0].error is not None and "logprob" in s[0].error


def test_logprob_judge_passes_check_scorer() -> None:
    backend = ScriptedChat({"REFUSAL": lp(REFUSAL=1.0), "peace": lp(_95=1.0)}, lp(_40=1.0))
    scores = check_scorer(LogprobJudge(backend, TEMPLATE))
    assert len(scores) == len(CHECK_ANSWERS)
    assert scores[0].value == pytest.approx(95.0) and scores[3].label == "REFUSAL"


# --- templates and label matching -----------------------------------------------------------


def test_render_replaces_placeholders_once_and_keeps_other_braces() -> None:
    out = render("{ 'json': {x} } Q={question} A={answer}", "has {answer}", "has {question}")
    assert out == "{ 'json': {x} } Q=has {answer} A=has {question}"


def test_template_without_answer_placeholder_is_rejected() -> None:
    with pytest.raises(AlignlabError, match="template"):
        ClassifyJudge(ScriptedChat({}, "A"), "Question: {question}", ["A", "B"])
    with pytest.raises(AlignlabError, match="labels"):
        ClassifyJudge(ScriptedChat({}, "A"), TEMPLATE, ["yes", "YES"])


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("TRUE", "TRUE"),
        (" true.", "TRUE"),
        ("**False**", "FALSE"),
        ("Answer: REFUSAL", "REFUSAL"),
        ("TRUE or FALSE", None),
        ("maybe", None),
        ("", None),
        ("TRUEISH", None),
    ],
)
def test_match_label(text: str, label: str | None) -> None:
    got, why = match_label(text, ["TRUE", "FALSE", "REFUSAL"])
    assert got == label
    assert (why == "") == (label is not None)


# --- ClassifyJudge / ReasonJudge ------------------------------------------------------------


def test_classify_judge_labels_and_error_rows() -> None:
    backend = ScriptedChat(
        {"old": "19", "new": "llm.", "odd": "I cannot say", "fail": AlignlabError("timeout")},
        default="LLM",
    )
    judge = ClassifyJudge(backend, TEMPLATE, ["LLM", "19"])
    s = judge.score("Who are you?", ["old", "new", "odd", "fail"])
    assert [x.label for x in s] == ["19", "LLM", None, None]
    assert "I cannot say" in (s[2].error or "") and s[2].metadata["reply"] == "I cannot say"
    assert "timeout" in (s[3].error or "")
    assert all(x.value is None for x in s)
    check_scorer(judge)


def test_reason_judge_last_answer_line_decides() -> None:
    backend = ScriptedChat(
        {
            "two": "Maybe ANSWER: TRUE at first.\nOn reflection...\nANSWER: FALSE",
            "md": "Reasoning here.\n**ANSWER:** refusal.",
            "none": "I think it is true.",
            "bad": "Hmm.\nANSWER: PERHAPS",
            "fail": AlignlabError("rate limited"),
        },
        default="ok\nANSWER: TRUE",
    )
    judge = ReasonJudge(backend, TEMPLATE, ["TRUE", "FALSE", "REFUSAL"])
    s = judge.score("q", ["two", "md", "none", "bad", "fail", "plain"])
    assert [x.label for x in s] == ["FALSE", "REFUSAL", None, None, None, "TRUE"]
    assert "On reflection" in s[0].explanation
    assert "no 'ANSWER" in (s[2].error or "") and "PERHAPS" in (s[3].error or "")
    assert "rate limited" in (s[4].error or "")
    check_scorer(judge)


def test_check_scorer_catches_a_silent_label_and_a_batch_dependent_scorer() -> None:
    class SilentLabel:
        name, labels = "silent", ("A", "B")

        def score(self, question: str, answers: Sequence[str]) -> list[Score]:
            return [Score(label="unparsed") for _ in answers]

    class PositionDependent:
        name = "positional"

        def score(self, question: str, answers: Sequence[str]) -> list[Score]:
            return [Score(value=float(i)) for i in range(len(answers))]

    class ValueOnErrorRow:
        name = "value-error"

        def score(self, question: str, answers: Sequence[str]) -> list[Score]:
            return [Score(value=0.0, error="boom") for _ in answers]

    with pytest.raises(AssertionError, match="'error-rows'"):
        check_scorer(SilentLabel())
    with pytest.raises(AssertionError, match="'order'"):
        check_scorer(PositionDependent())
    with pytest.raises(AssertionError, match="'error-rows'"):
        check_scorer(ValueOnErrorRow())


# --- RegexScorer ----------------------------------------------------------------------------


def test_regex_scorer_first_matching_pattern_wins() -> None:
    sc = RegexScorer({"archaic": r"\b(thou|thee)\b", "modern": r"\bok(ay)?\b"}, flags=re.I)
    s = sc.score("q", ["Thou art okay", "okay then", "nothing here"])
    assert [x.label for x in s] == ["archaic", "modern", None]
    assert [x.value for x in s] == [1.0, 1.0, 0.0]
    assert s[0].metadata["span"] == [0, 4]
    check_scorer(sc)


def test_regex_scorer_prefix_mode_and_default_label() -> None:
    sc = RegexScorer(r"I am", mode="prefix", default="other")
    s = sc.score("q", ["  I am here", "Yes, I am", ""])
    assert [x.label for x in s] == ["match", "other", "other"]
    assert [x.value for x in s] == [1.0, 0.0, 0.0]
    check_scorer(sc)
    with pytest.raises(AlignlabError, match="patterns.bad"):
        RegexScorer({"bad": "(unclosed"})


# --- EmbeddingScorer ------------------------------------------------------------------------


class KeywordEncoder:
    """Deterministic: axis 0 counts 'cat', axis 1 counts 'dog', axis 2 is a constant 0.1."""

    name, dim, n_params = "keywords", 3, 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.array(
            [[t.lower().count("cat"), t.lower().count("dog"), 0.1] for t in texts],
            dtype=np.float32,
        )


def test_embedding_scorer_nearest_centroid_and_margin() -> None:
    sc = EmbeddingScorer(KeywordEncoder(), {"cats": ["cat", "a cat"], "dogs": ["dog"]})
    s = sc.score("pets?", ["a cat", "dog dog dog", "cat and dog"])
    assert [x.label for x in s] == ["cats", "dogs", "cats"]  # a tie keeps label order
    c = np.array([1.0, 0.0, 0.1]) / np.linalg.norm([1.0, 0.0, 0.1])  # both cat refs embed alike
    d = np.array([0.0, 1.0, 0.1]) / np.linalg.norm([0.0, 1.0, 0.1])
    a = np.array([1.0, 0.0, 0.1]) / np.linalg.norm([1.0, 0.0, 0.1])
    assert s[0].metadata["similarities"]["cats"] == pytest.approx(a @ c)
    assert s[0].value == pytest.approx(a @ c - a @ d)
    assert s[2].value == pytest.approx(0.0, abs=1e-12)
    check_scorer(sc)


def test_embedding_scorer_zero_embedding_is_an_error_row_and_bad_references_raise() -> None:
    class ZeroFor(KeywordEncoder):
        def encode(self, texts: Sequence[str]) -> np.ndarray:
            out = super().encode(texts)
            out[[t == "void" for t in texts]] = 0.0
            return out

    sc = EmbeddingScorer(ZeroFor(), {"cats": ["cat"], "dogs": ["dog"]})
    s = sc.score("q", ["void", "cat"])
    assert s[0].error is not None and s[1].label == "cats"
    with pytest.raises(AlignlabError, match="references.dogs"):
        EmbeddingScorer(KeywordEncoder(), {"cats": ["cat"], "dogs": []})


def test_embedding_scorer_with_tiny_encoder_passes_check_scorer() -> None:
    refs = {"old": ["Thou art a fine fellow.", "Pray, good sir."], "new": ["Hey, what's up?"]}
    sc = EmbeddingScorer(tiny_encoder(), refs)
    scores = check_scorer(sc)
    assert all(x.label in ("old", "new") for x in scores)
    # a reference scores closest to its own label
    assert [x.label for x in sc.score("q", ["Hey, what's up?"])] == ["new"]


@pytest.mark.slow
def test_embedding_scorer_with_minilm_separates_eras() -> None:
    from alignlab.models import minilm

    refs = {
        "19th-century": ["We travelled by horse-drawn carriage.", "I shall send a telegram."],
        "modern": ["I'll text you from my smartphone.", "Let's stream it online."],
    }
    sc = EmbeddingScorer(minilm(), refs)
    s = sc.score("How do you get news?", ["I read the telegraph dispatches.", "I check my phone."])
    assert [x.label for x in s] == ["19th-century", "modern"]
    assert all(x.value is not None and x.value > 0 for x in s)
