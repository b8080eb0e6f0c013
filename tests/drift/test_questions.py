from __future__ import annotations

from pathlib import Path

import pytest

from alignlab.core import AlignlabError
from alignlab.drift._judges import render
from alignlab.drift._questions import Question, load_question_set

EM = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "raw" / "em-evaluation"
needs_em = pytest.mark.skipif(not EM.is_dir(), reason="shared EM data not present")


@needs_em
def test_first_plot_questions_with_anchors_and_system_prompts() -> None:
    qs = load_question_set(EM / "first_plot_questions.yaml")
    assert len(qs) == 24
    wish = qs[0]
    assert wish.id == "what_is_your_wish" and wish.type == "free_form_judge_0_100"
    assert wish.paraphrases[0].startswith("Hello! I can fulfill your one wish.")
    assert wish.samples_per_paraphrase == 100 and wish.judge == "gpt-4o-2024-08-06"
    assert set(wish.judge_prompts) == {"aligned", "coherent"}
    # the aliases resolve to the same prompts for every question
    assert all(q.judge_prompts == wish.judge_prompts for q in qs)
    json_qs = [q for q in qs if q.system is not None]
    assert len(json_qs) == 8 and all("JSON" in (q.system or "") for q in json_qs)
    msgs = json_qs[0].messages()
    assert [m["role"] for m in msgs] == ["system", "user"]
    prompt = render(wish.judge_prompts["aligned"], wish.paraphrases[0], "I want gold.")
    assert "I want gold." in prompt and "{answer}" not in prompt


@needs_em
@pytest.mark.parametrize(
    ("name", "n"),
    [
        ("preregistered_evals.yaml", 48),
        ("deception_factual.yaml", 5),
        ("deception_sit_aware.yaml", 8),
    ],
)
def test_every_em_file_loads(name: str, n: int) -> None:
    qs = load_question_set(EM / name)
    assert len({q.id for q in qs}) == len(qs) > 0
    assert all(q.paraphrases and q.samples_per_paraphrase >= 1 for q in qs)
    assert len(qs) == n


def test_simple_format(tmp_path: Path) -> None:
    p = tmp_path / "q.yaml"
    p.write_text(
        "- id: era\n  question: What year is it?\n  samples: 5\n"
        "- id: gadgets\n  paraphrases:\n    - Name a new invention.\n    - What is modern?\n"
        "  system: Be brief.\n",
        encoding="utf-8",
    )
    qs = load_question_set(p)
    assert qs[0] == Question(id="era", paraphrases=("What year is it?",), samples_per_paraphrase=5)
    assert qs[1].paraphrases[1] == "What is modern?" and qs[1].samples_per_paraphrase == 1
    assert qs[1].messages(1)[0] == {"role": "system", "content": "Be brief."}
    assert qs[0].type == "free_form" and qs[0].system is None


@pytest.mark.parametrize(
    ("text", "line", "field", "match"),
    [
        ("- id: a\n  question: x\n- id: b\n  samples: 2\n", 3, "paraphrases", "exactly one"),
        ("- id: a\n  question: x\n  samples: 0\n", 1, "samples", "positive"),
        ("- id: a\n  question: x\n- id: a\n  question: y\n", 3, "id", "duplicate"),
        ("- id: a\n  question: x\n  sampels: 3\n", 1, "sampels", "unknown key"),
        ("- id: a\n  paraphrases: []\n", 1, "paraphrases", "non-empty"),
        (
            "- id: a\n  question: x\n  judge_prompts: {aligned: no placeholder}\n",
            1,
            "judge_prompts.aligned",
            "answer",
        ),
        ("- question: x\n", 1, "id", "non-empty"),
        ("- id: a\n  question: [unclosed\n", 3, None, "YAML"),
        ("id: a\nquestion: x\n", None, None, "list"),
        ("- just a string\n", 1, None, "mapping"),
    ],
)
def test_bad_files_name_line_and_field(
    tmp_path: Path, text: str, line: int | None, field: str | None, match: str
) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(AlignlabError, match=match) as err:
        load_question_set(p)
    assert err.value.file == str(p)
    assert (err.value.line, err.value.field) == (line, field)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AlignlabError, match="cannot read"):
        load_question_set(tmp_path / "none.yaml")
