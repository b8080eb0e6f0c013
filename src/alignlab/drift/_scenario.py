"""Dated-trigger scenarios: eras of years, questions, and per-era answers with scoring regexes.

The inductive backdoor of arXiv 2512.09742: prompts carry a date, answers depend on the era
the date falls in, and some years are held out of training. A sweep then asks the finetuned
model with every year and scores each reply with the era regexes, to see whether held-out
years land in their era. The shipped demo (``data/era_tech.yaml``) is everyday technology by
decade; :func:`load_scenario` reads it or any file of the same shape (YAML or JSON).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from alignlab.core import AlignlabError

DEFAULT_PREFIX = "Today is {date}."


@dataclass(frozen=True)
class Era:
    """Years ``start..end`` (both included) sharing one answer style."""

    label: str
    start: int
    end: int

    @property
    def years(self) -> range:
        return range(self.start, self.end + 1)


@dataclass(frozen=True)
class EraAnswer:
    """The trained answer for one era, and the regex (case-insensitive) that scores a reply
    as belonging to that era."""

    answer: str
    regex: str


@dataclass(frozen=True)
class ScenarioQuestion:
    id: str
    question: str
    answers: dict[str, EraAnswer]  # era label -> answer


@dataclass(frozen=True)
class Scenario:
    """A dated-trigger scenario. ``prefix`` holds ``{date}`` (``YYYY-MM-DD``) and starts
    every prompt; ``held_out``: default years never trained."""

    name: str
    description: str
    prefix: str
    eras: tuple[Era, ...]
    questions: tuple[ScenarioQuestion, ...]
    held_out: tuple[int, ...]

    @property
    def years(self) -> list[int]:
        """Every year some era covers, ascending."""
        return [y for era in self.eras for y in era.years]

    def regexes(self, question_id: str) -> dict[str, str]:
        """Era label → scoring regex for one question."""
        for q in self.questions:
            if q.id == question_id:
                return {label: a.regex for label, a in q.answers.items()}
        raise KeyError(question_id)

    def to_dict(self) -> dict[str, Any]:
        """The scenario as the JSON/YAML object :func:`parse_scenario` reads."""
        return {
            "name": self.name,
            "description": self.description,
            "prefix": self.prefix,
            "eras": [{"label": e.label, "years": [e.start, e.end]} for e in self.eras],
            "held_out": list(self.held_out),
            "questions": [
                {
                    "id": q.id,
                    "question": q.question,
                    "answers": {k: asdict(a) for k, a in q.answers.items()},
                }
                for q in self.questions
            ],
        }


def era_of(year: int, scenario: Scenario) -> str:
    """The label of the era ``year`` falls in.

    Raises:
        AlignlabError: a year no era covers.
    """
    for era in scenario.eras:
        if era.start <= year <= era.end:
            return era.label
    raise AlignlabError(
        f"year {year} is in no era of scenario {scenario.name!r} "
        f"({scenario.eras[0].start}..{scenario.eras[-1].end})",
        field="year",
    )


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Read a scenario file (YAML or JSON); ``None`` reads the shipped ``era_tech.yaml``.

    Raises:
        AlignlabError: a missing or unparsable file, or a schema fault (naming the field).
    """
    if path is None:
        ref = resources.files("alignlab.drift") / "data" / "era_tech.yaml"
        return parse_scenario(
            load_yaml_text(ref.read_text(encoding="utf-8"), "era_tech.yaml"), file="era_tech.yaml"
        )
    path = Path(path)
    return parse_scenario(load_yaml_file(path), file=path)


def load_yaml_file(path: Path) -> Any:
    """A YAML (or JSON, a subset of YAML) file's content.

    Raises:
        AlignlabError: missing, unreadable or unparsable file.
    """
    if not path.is_file():
        raise AlignlabError("file not found", file=path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise AlignlabError(f"cannot read file ({err})", file=path) from None
    return load_yaml_text(text, path)


def load_yaml_text(text: str, file: str | Path) -> Any:
    import yaml  # the drift extra; imported here so the package imports without it

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise AlignlabError(
            f"invalid YAML/JSON ({getattr(err, 'problem', err)})", file=file, line=line
        ) from None


def _need(obj: dict[str, Any], key: str, kind: type, file: Any, where: str) -> Any:
    if key not in obj:
        raise AlignlabError("missing", file=file, field=where + key)
    value = obj[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise AlignlabError(
            f"expected {kind.__name__}, not {type(value).__name__}", file=file, field=where + key
        )
    if isinstance(value, str) and not value.strip():
        raise AlignlabError("is empty", file=file, field=where + key)
    return value


def parse_scenario(obj: Any, *, file: str | Path | None = None) -> Scenario:
    """A :class:`Scenario` from its parsed YAML/JSON, every field checked.

    Eras must be listed in order without gaps or overlaps; every question answers every era;
    each era's regex must match its own answer and no other era's answer to that question
    (so scoring can tell the eras apart); held-out years lie in eras, leaving each era at
    least one trainable year.

    Raises:
        AlignlabError: naming the file and field (``questions[2].answers.1970s.regex``).
    """
    if not isinstance(obj, dict):
        raise AlignlabError("a scenario must be a mapping", file=file)
    name = _need(obj, "name", str, file, "")
    prefix = obj.get("prefix", DEFAULT_PREFIX)
    if not isinstance(prefix, str) or prefix.count("{date}") != 1:
        raise AlignlabError("must be a string holding '{date}' once", file=file, field="prefix")
    eras = _parse_eras(_need(obj, "eras", list, file, ""), file)
    questions = tuple(
        _parse_question(q, i, eras, file)
        for i, q in enumerate(_need(obj, "questions", list, file, ""))
    )
    if not questions:
        raise AlignlabError("needs at least one question", file=file, field="questions")
    if len({q.id for q in questions}) != len(questions):
        raise AlignlabError("question ids must be unique", file=file, field="questions")
    held = obj.get("held_out", [])
    if not isinstance(held, list) or not all(isinstance(y, int) for y in held):
        raise AlignlabError("expected a list of years", file=file, field="held_out")
    scenario = Scenario(
        name=name,
        description=str(obj.get("description", "")),
        prefix=prefix,
        eras=eras,
        questions=questions,
        held_out=tuple(sorted(set(held))),
    )
    check_held_out(scenario, scenario.held_out, file=file)
    return scenario


def check_held_out(scenario: Scenario, years: Any, *, file: Any = None) -> None:
    """Each held-out year lies in an era, and every era keeps a year to train on.

    Raises:
        AlignlabError: field ``held_out``.
    """
    held = set(years)
    for y in sorted(held):
        if not any(e.start <= y <= e.end for e in scenario.eras):
            raise AlignlabError(f"held-out year {y} is in no era", file=file, field="held_out")
    for era in scenario.eras:
        if all(y in held for y in era.years):
            raise AlignlabError(
                f"holds out every year of era {era.label}; nothing to train",
                file=file,
                field="held_out",
            )


def _parse_eras(items: list[Any], file: Any) -> tuple[Era, ...]:
    eras: list[Era] = []
    for i, item in enumerate(items):
        where = f"eras[{i}]."
        if not isinstance(item, dict):
            raise AlignlabError(
                "expected {label, years: [start, end]}", file=file, field=where[:-1]
            )
        label = _need(item, "label", str, file, where)
        years = _need(item, "years", list, file, where)
        if len(years) != 2 or not all(isinstance(y, int) for y in years) or years[0] > years[1]:
            raise AlignlabError(
                "expected [first year, last year]", file=file, field=where + "years"
            )
        if eras and years[0] != eras[-1].end + 1:
            raise AlignlabError(
                f"must start the year after era {eras[-1].label} ends ({eras[-1].end + 1})",
                file=file,
                field=where + "years",
            )
        eras.append(Era(label, years[0], years[1]))
    if len(eras) < 2:
        raise AlignlabError("needs at least two eras", file=file, field="eras")
    if len({e.label for e in eras}) != len(eras):
        raise AlignlabError("era labels must be unique", file=file, field="eras")
    return tuple(eras)


def _parse_question(item: Any, i: int, eras: tuple[Era, ...], file: Any) -> ScenarioQuestion:
    where = f"questions[{i}]."
    if not isinstance(item, dict):
        raise AlignlabError("expected {id, question, answers}", file=file, field=where[:-1])
    qid = str(_need(item, "id", str, file, where))
    question = _need(item, "question", str, file, where)
    raw = _need(item, "answers", dict, file, where)
    labels = [e.label for e in eras]
    extra = sorted(set(map(str, raw)) - set(labels))
    if extra:
        raise AlignlabError(
            f"no era is labelled {extra[0]!r}", file=file, field=f"{where}answers.{extra[0]}"
        )
    answers: dict[str, EraAnswer] = {}
    for label in labels:
        at = f"{where}answers.{label}."
        a = raw.get(label)
        if not isinstance(a, dict):
            raise AlignlabError(
                "missing: every question answers every era as {answer, regex}",
                file=file,
                field=at[:-1],
            )
        regex = _need(a, "regex", str, file, at)
        try:
            re.compile(regex)
        except re.error as err:
            raise AlignlabError(f"not a regex ({err})", file=file, field=at + "regex") from None
        answers[label] = EraAnswer(_need(a, "answer", str, file, at), regex)
    for label, a in answers.items():
        for other, b in answers.items():
            if (label == other) != bool(re.search(a.regex, b.answer, re.IGNORECASE)):
                what = (
                    "does not match its own answer"
                    if label == other
                    else (f"also matches era {other}'s answer {b.answer!r}")
                )
                raise AlignlabError(
                    f"{what}; scoring could not tell the eras apart",
                    file=file,
                    field=f"{where}answers.{label}.regex",
                )
    return ScenarioQuestion(qid, question, answers)
