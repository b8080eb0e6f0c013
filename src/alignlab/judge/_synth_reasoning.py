"""Multimodal reasoning (MMRB2's ``reasoning``): the prompt is an image and a question (count
objects, a spatial relation, read a chart, read a word); each response reasons in text from
what it reads off the image; the bad one misreads the image once."""

from __future__ import annotations

import numpy as np

from alignlab.judge._gold import RELATIONS, Fact
from alignlab.judge._synth_common import (
    ClaimSpec,
    Draft,
    Level,
    counts,
    kinds,
    objects,
    pick,
    place,
    relation_scene,
    word,
    wrong_count,
    wrong_word,
)
from alignlab.judge._synth_draw import CHART_MAX, Chart, Picture, Word

FAMILY = "reasoning"
_WORDS = {
    "left of": "to the left of",
    "right of": "to the right of",
    "above": "above",
    "below": "below",
}


def _draft(
    subtype: str,
    error: str,
    picture: Picture,
    question: str,
    good: str,
    bad: str,
    good_claims: list[Fact],
    bad_claims: list[Fact],
) -> Draft:
    return Draft(
        FAMILY,
        subtype,
        error,
        prompt=(picture, question),
        good=(good,),
        bad=(bad,),
        good_claims=tuple(ClaimSpec("prompt", 0, f) for f in good_claims),
        bad_claims=tuple(ClaimSpec("prompt", 0, f) for f in bad_claims),
    )


def _count(rng: np.random.Generator, level: Level) -> Draft:
    k = int(rng.integers(level.groups[0], level.groups[1] + 1))
    chosen = kinds(rng, level, k)
    ns = counts(rng, level, k, level.grid**2)
    scene = place(rng, level.grid, [(c, s, n) for (c, s), n in zip(chosen, ns, strict=True)])
    colour, shape = chosen[int(rng.integers(k))]
    by = pick(rng, ["colour", "shape", "both"])[0]
    colour_f = None if by == "shape" else colour
    shape_f = None if by == "colour" else shape
    n = scene.count(colour_f, shape_f)
    wrong = wrong_count(rng, level, n, low=0)
    noun = objects(2, colour_f, shape_f).removeprefix("two ")
    facts = [Fact(0, "count", m, colour=colour_f, shape=shape_f) for m in (n, wrong)]
    return _draft(
        "count",
        "count",
        scene,
        f"How many {noun} are in the image?",
        f"I count {objects(n, colour_f, shape_f)}, so the answer is {n}.",
        f"I count {objects(wrong, colour_f, shape_f)}, so the answer is {wrong}.",
        facts[:1],
        facts[1:],
    )


def _relation(rng: np.random.Generator, level: Level) -> Draft:
    (a, b, *rest) = kinds(rng, level, 2 + int(rng.integers(0, level.groups[1])))
    truth = pick(rng, list(RELATIONS))[0]
    scene = relation_scene(rng, level.grid, a, b, truth, [(c, s, 1) for c, s in rest])
    asked = pick(rng, [truth, RELATIONS[truth]])[0]
    yes = asked == truth
    ta, tb = f"the {a[0]} {a[1]}", f"the {b[0]} {b[1]}"

    def fact(rel: str) -> Fact:
        return Fact(
            0,
            "relation",
            True,
            colour=a[0],
            shape=a[1],
            relation=rel,
            other_colour=b[0],
            other_shape=b[1],
        )

    wrong = RELATIONS[truth]
    return _draft(
        "relation",
        "relation",
        scene,
        f"Is {ta} {_WORDS[asked]} {tb}?",
        f"{ta.capitalize()} is {_WORDS[truth]} {tb}, so {'yes' if yes else 'no'}.",
        f"{ta.capitalize()} is {_WORDS[wrong]} {tb}, so {'no' if yes else 'yes'}.",
        [fact(truth)],
        [fact(wrong)],
    )


def _chart(rng: np.random.Generator, level: Level) -> Chart:
    k = int(rng.choice(level.bars))
    colours = pick(rng, level.colours, k=k)
    while True:
        values = [int(v) for v in rng.integers(1, CHART_MAX + 1, size=k)]
        if len(set(values)) > 1:
            return Chart(tuple(zip(colours, values, strict=True)))


def _bar(colour: str, value: int) -> Fact:
    return Fact(0, "bar", value, colour=colour)


def _chart_value(rng: np.random.Generator, level: Level) -> Draft:
    chart = _chart(rng, level)
    colour, value = chart.bars[int(rng.integers(len(chart.bars)))]
    wrong = wrong_count(rng, level, value, low=1, high=CHART_MAX)
    return _draft(
        "chart-value",
        "misread-bar",
        chart,
        f"What is the value of the {colour} bar?",
        f"The {colour} bar reaches {value}, so its value is {value}.",
        f"The {colour} bar reaches {wrong}, so its value is {wrong}.",
        [_bar(colour, value)],
        [_bar(colour, wrong)],
    )


def _diff_text(ca: str, va: int, cb: str, vb: int) -> str:
    d = va - vb
    answer = f"it is {d} taller" if d > 0 else "it is not taller at all"
    return f"The {ca} bar is at {va} and the {cb} bar at {vb}, so {answer}."


def _chart_diff(rng: np.random.Generator, level: Level) -> Draft:
    chart = _chart(rng, level)
    (ca, va), (cb, vb) = sorted(
        [chart.bars[int(i)] for i in rng.choice(len(chart.bars), 2, replace=False)],
        key=lambda b: -b[1],
    )
    if va == vb:  # two equal bars: compare the tallest with the shortest instead
        (ca, va), (cb, vb) = (
            max(chart.bars, key=lambda b: b[1]),
            min(chart.bars, key=lambda b: b[1]),
        )
    misread_first = bool(rng.integers(2))
    wa = wrong_count(rng, level, va, low=1, high=CHART_MAX) if misread_first else va
    wb = vb if misread_first else wrong_count(rng, level, vb, low=1, high=CHART_MAX)
    return _draft(
        "chart-diff",
        "misread-bar",
        chart,
        f"How much taller is the {ca} bar than the {cb} bar?",
        _diff_text(ca, va, cb, vb),
        _diff_text(ca, wa, cb, wb),
        [_bar(ca, va), _bar(cb, vb)],
        [_bar(ca, wa), _bar(cb, wb)],
    )


def _word(rng: np.random.Generator, level: Level) -> Draft:
    right = word(rng, level)
    wrong = wrong_word(rng, level, right)
    return _draft(
        "word",
        "misread-word",
        Word(right),
        "What word is written in the image?",
        f"The image shows the word {right}.",
        f"The image shows the word {wrong}.",
        [Fact(0, "word", right)],
        [Fact(0, "word", wrong)],
    )


SUBTYPES = {
    "count": _count,
    "relation": _relation,
    "chart-value": _chart_value,
    "chart-diff": _chart_diff,
    "word": _word,
}


def make(rng: np.random.Generator, level: Level) -> Draft:
    """One reasoning draft: an image and a question in the prompt, text answers."""
    return SUBTYPES[pick(rng, list(SUBTYPES))[0]](rng, level)
