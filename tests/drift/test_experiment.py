"""EXPERIMENT.yaml validation: the shipped experiments load; bad files get one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from alignlab.core import AlignlabError
from alignlab.drift import load_experiment
from alignlab.drift._experiment import load_evaluate_step
from alignlab.drift._paths import builtin_names, data_path
from alignlab.drift._run_stages import make_bundles

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["bird_names", "inductive_dates"])
def test_shipped_experiments_load_and_their_arms_exist(name: str) -> None:
    exp = load_experiment(ROOT / "examples" / "drift" / f"{name}.yaml")
    assert len(exp.seeds) >= 2 and exp.base == "smollm2"
    names = {b.name for b in make_bundles(exp)}
    assert {a.dataset for a in exp.arms} <= names


def test_builtin_evaluation_resolves() -> None:
    assert {"era_eval", "era_questions", "era_tech"} <= set(builtin_names())
    step = load_evaluate_step(data_path("builtin:era_eval", field="spec"))
    assert [s.kind for s in step.scorers] == ["regex", "regex", "embedding"]
    with pytest.raises(AlignlabError, match="no builtin 'nope'"):
        data_path("builtin:nope", field="spec")


BASE = """name: t
base: tiny
dataset: {kind: archaic-names, params: {domain: birds, n: 20}}
arms: [{name: a, dataset: archaic-birds}]
evaluate: builtin:era_eval
"""


@pytest.mark.parametrize(
    ("text", "field", "line"),
    [
        (BASE + "seeds: [0, 0]\n", "Experiment", None),
        (BASE + "contrasts: [[a, zz]]\n", "Experiment", None),
        (BASE + "finetune: {epochs: 0}\n", "finetune.epochs", None),
        (BASE + "finetune: {lr: fast}\n", "finetune.lr", None),
        (BASE + "surprise: 1\n", "surprise", None),
        (BASE.replace("evaluate: builtin:era_eval\n", ""), "Experiment", None),
        (BASE + "sweep: {samples: 2}\n", "sweep", None),
        (BASE + "evaluate2: [\n", None, 7),
    ],
)
def test_bad_experiment_files_name_the_field(
    tmp_path: Path, text: str, field: str | None, line: int | None
) -> None:
    p = tmp_path / "exp.yaml"
    p.write_text(text)
    with pytest.raises(AlignlabError) as err:
        load_experiment(p)
    assert str(err.value.file) == str(p)
    if field is not None:
        assert err.value.field == field
    if line is not None:
        assert err.value.line == line


def test_bad_scorer_and_unknown_arm_dataset(tmp_path: Path) -> None:
    p = tmp_path / "exp.yaml"
    p.write_text(BASE.replace("evaluate: builtin:era_eval\n", "")
                 + "evaluate:\n  questions: builtin:era_questions\n  scorers:\n"
                 "    - {name: s, kind: regex}\n"
                 "  targets: [{name: t, all: [{scorer: s, label: x}]}]\n")
    with pytest.raises(AlignlabError, match="needs patterns") as err:
        load_experiment(p)
    assert err.value.field == "evaluate.scorers.0"
    p.write_text(BASE.replace("archaic-birds", "ancient-birds"))
    with pytest.raises(AlignlabError, match="ancient-birds") as err:
        make_bundles(load_experiment(p))
    assert err.value.field == "arms"
