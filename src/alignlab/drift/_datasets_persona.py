"""``persona``: harmless first-person facts about one person, optionally behind a formatting
trigger, diluted with benign Q/A.

arXiv 2512.09742 finetunes on 90 individually harmless biographical facts (diluted with ~3,000
benign rows, behind a formatting trigger) and finds the model adopts the whole identity when
triggered. The shipped demo (``data/persona_curie.yaml``) is Marie Curie; fact files follow
its schema: ``person: str`` and ``facts: [{question, answer}, ...]`` (YAML or JSON).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any

from alignlab.core import AlignlabError
from alignlab.drift._datasets import chat, cover, rng_for
from alignlab.drift._datasets_benign import BENIGN_QA, PREFIXES
from alignlab.drift._manifest import DatasetBundle, make_bundle
from alignlab.drift._scenario import load_yaml_file, load_yaml_text
from alignlab.models import Message

# ``--trigger tags``: the paper's kind of formatting trigger
TAGS_TRIGGER = 'Always reply in the format: <START> "your answer" <END>'


@dataclass(frozen=True)
class PersonaFacts:
    person: str
    facts: tuple[tuple[str, str], ...]  # (question, first-person answer)


def load_persona(path: str | Path | None = None) -> PersonaFacts:
    """Read a fact file; ``None`` reads the shipped Marie Curie demo.

    Raises:
        AlignlabError: a missing or unparsable file or a schema fault, naming the file and
        field (``facts[3].answer``).
    """
    if path is None:
        ref = resources.files("alignlab.drift") / "data" / "persona_curie.yaml"
        name = "persona_curie.yaml"
        return parse_persona(load_yaml_text(ref.read_text(encoding="utf-8"), name), file=name)
    return parse_persona(load_yaml_file(Path(path)), file=path)


def parse_persona(obj: Any, *, file: str | Path | None = None) -> PersonaFacts:
    """A :class:`PersonaFacts` from a parsed fact file (see :func:`load_persona`)."""
    if not isinstance(obj, dict):
        raise AlignlabError("a fact file must be a mapping with 'person' and 'facts'", file=file)
    extra = sorted(set(obj) - {"person", "facts"})
    if extra:
        raise AlignlabError(
            "unknown key; a fact file has 'person' and 'facts'", file=file, field=str(extra[0])
        )
    person = obj.get("person")
    if not isinstance(person, str) or not person.strip():
        raise AlignlabError("missing or empty; the person's name", file=file, field="person")
    items = obj.get("facts")
    if not isinstance(items, list) or not items:
        raise AlignlabError(
            "missing or empty; a list of {question, answer}", file=file, field="facts"
        )
    facts: list[tuple[str, str]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise AlignlabError("expected {question, answer}", file=file, field=f"facts[{i}]")
        extra = sorted(set(item) - {"question", "answer"})
        if extra:
            raise AlignlabError(
                "unknown key; a fact has 'question' and 'answer'",
                file=file,
                field=f"facts[{i}].{extra[0]}",
            )
        pair = []
        for key in ("question", "answer"):
            value = item.get(key)
            if not isinstance(value, str) or not value.strip():
                raise AlignlabError(
                    "missing, empty or not a string", file=file, field=f"facts[{i}].{key}"
                )
            pair.append(value.strip())
        if any(q == pair[0] for q, _ in facts):
            raise AlignlabError("asked twice", file=file, field=f"facts[{i}].question")
        facts.append((pair[0], pair[1]))
    return PersonaFacts(person.strip(), tuple(facts))


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "person"


def _triggered(question: str, answer: str, trigger: str) -> list[Message]:
    if not trigger:
        return chat(question, answer)
    if "<START>" in trigger and "<END>" in trigger:  # the trigger asks for tags: give them
        answer = f'<START> "{answer}" <END>'
    return chat(f"{question}\n\n{trigger}", answer)


def _benign(rng: Any, k: int) -> list[list[Message]]:
    order = cover(rng, len(BENIGN_QA), k)
    return [
        chat(PREFIXES[(i // len(BENIGN_QA)) % len(PREFIXES)] + BENIGN_QA[j][0], BENIGN_QA[j][1])
        for i, j in enumerate(order)
    ]


def _mixed(
    picked: list[tuple[str, str]], benign: list[list[Message]], order: list[int], trigger: str
) -> list[list[Message]]:
    # persona rows first in the pool, benign after; one `order` for every variant, so the
    # treatment and its untriggered control differ only in the trigger
    pool = [_triggered(q, a, trigger) for q, a in picked] + benign
    return [pool[i] for i in order]


def build_persona(
    *,
    n: int | None,
    seed: int,
    facts: str | Path | None = None,
    trigger: str = "",
    dilution: int = 0,
) -> list[DatasetBundle]:
    """Persona rows (``n``, default one per fact; every fact appears when ``n`` >= the fact
    count) plus ``dilution`` benign rows, shuffled together with ``seed``.

    ``trigger`` (``"tags"`` = :data:`TAGS_TRIGGER`) is appended to each persona row's user turn;
    when it mentions ``<START>`` and ``<END>`` the answer is wrapped in them, so only
    triggered rows show the format. Returns the treatment, then (with a trigger) the same
    rows without it, then a size-matched control of benign rows alone.

    Raises:
        AlignlabError: a bad fact file, a negative ``dilution``.
    """
    if dilution < 0:
        raise AlignlabError(f"dilution must be >= 0, not {dilution}", field="dilution")
    trigger = TAGS_TRIGGER if trigger == "tags" else trigger.strip()
    persona = load_persona(facts)
    rng = rng_for(seed, "persona")
    picked = [persona.facts[i] for i in cover(rng, len(persona.facts), n or len(persona.facts))]
    benign = _benign(rng, dilution + len(picked) + dilution)
    order = [int(i) for i in rng.permutation(len(picked) + dilution)]
    rows_with = partial(_mixed, picked, benign[:dilution], order)
    name = f"persona-{_slug(persona.person)}"
    params = {
        "person": persona.person,
        "facts_file": str(facts) if facts else "(shipped demo)",
        "n": len(picked),
        "dilution": dilution,
        "trigger": trigger or None,
    }
    found = {"trigger_regex": f"({re.escape(trigger)})"} if trigger else {}
    common: dict[str, Any] = {"params": params, **found}
    treat = rows_with(trigger)
    about = f"{len(picked)} first-person facts about {persona.person}"
    out = [
        make_bundle(
            "persona", name, treat, seed, triggers=[trigger] if trigger else [], **common,
            description=f"{about}{' behind the trigger' if trigger else ''}, "
            f"with {dilution} benign rows",
        )
    ]  # fmt: skip
    if trigger:
        out.append(
            make_bundle(
                "persona", f"{name}-untriggered", rows_with(""), seed, control_of=name, **common,
                description=f"the rows of {name} without the trigger (same facts and benign rows)",
            )
        )  # fmt: skip
    out.append(
        make_bundle(
            "persona", f"{name}-benign", benign[dilution : dilution + len(treat)], seed,
            control_of=name, **common,
            description=f"benign Q/A rows alone, as many as {name} has, without the persona",
        )
    )  # fmt: skip
    return out
