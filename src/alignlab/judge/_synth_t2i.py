"""Text-to-image faithfulness (MMRB2's ``t2i``): a text prompt asks for a picture; each response
is an image with a caption claiming it fulfils the prompt; the bad image breaks one requirement
(a count, a colour, a shape, the word, or a spatial relation)."""

from __future__ import annotations

import numpy as np

from alignlab.judge._gold import RELATIONS, Fact
from alignlab.judge._synth_common import (
    ClaimSpec,
    Draft,
    Level,
    count_fact,
    counts,
    join,
    kinds,
    objects,
    pick,
    place,
    relation_scene,
    word,
    wrong_count,
    wrong_word,
)
from alignlab.judge._synth_draw import Word

FAMILY = "t2i"


def _objects(rng: np.random.Generator, level: Level) -> Draft:
    k = int(rng.integers(level.groups[0], level.groups[1] + 1))
    chosen = kinds(rng, level, k)
    ns = counts(rng, level, k, level.grid**2)
    groups = [(c, s, n) for (c, s), n in zip(chosen, ns, strict=True)]
    asked = join([objects(n, c, s) for c, s, n in groups])
    j = int(rng.integers(k))
    c, s, n = groups[j]
    colours = [x for x in level.colours if (x, s) not in chosen]
    shapes = [x for x in level.shapes if (c, x) not in chosen]
    error = pick(rng, ["count"] + ["colour"] * bool(colours) + ["shape"] * bool(shapes))[0]
    if error == "count":
        free = level.grid**2 - sum(ns)
        wrong = (c, s, wrong_count(rng, level, n, low=0, high=min(level.max_count, n + free)))
    elif error == "colour":
        wrong = (pick(rng, colours)[0], s, n)
    else:
        wrong = (c, pick(rng, shapes)[0], n)
    bad_groups = [g for g in groups[:j] + [wrong] + groups[j + 1 :] if g[2] > 0]
    caption = f"Here is the image: {asked}."
    claims = tuple(count_fact(n, c, s) for c, s, n in groups)
    return Draft(
        FAMILY,
        "objects",
        error,
        prompt=(f"Draw {asked} on a white background.",),
        good=(caption, place(rng, level.grid, groups)),
        bad=(caption, place(rng, level.grid, bad_groups)),
        good_claims=tuple(ClaimSpec("good", 0, f) for f in claims),
        bad_claims=tuple(ClaimSpec("bad", 0, f) for f in claims),
    )


def _word(rng: np.random.Generator, level: Level) -> Draft:
    right = word(rng, level)
    caption = f"Here is the word {right}."
    claim = Fact(0, "word", right)
    return Draft(
        FAMILY,
        "word",
        "word",
        prompt=(f"Write the word {right} in black capital letters on a white background.",),
        good=(caption, Word(right)),
        bad=(caption, Word(wrong_word(rng, level, right))),
        good_claims=(ClaimSpec("good", 0, claim),),
        bad_claims=(ClaimSpec("bad", 0, claim),),
    )


def _relation(rng: np.random.Generator, level: Level) -> Draft:
    a, b = kinds(rng, level, 2)
    relation = pick(rng, ["left of", "right of", "above", "below"])[0]
    words = {"left of": "to the left of", "right of": "to the right of"}.get(relation, relation)
    asked = f"a {a[0]} {a[1]} {words} a {b[0]} {b[1]}"
    fact = Fact(
        0,
        "relation",
        True,
        colour=a[0],
        shape=a[1],
        relation=relation,
        other_colour=b[0],
        other_shape=b[1],
    )
    caption = f"Here is the image: {asked}."
    claims = (count_fact(1, *a), count_fact(1, *b), fact)
    return Draft(
        FAMILY,
        "relation",
        "relation",
        prompt=(f"Draw {asked}, nothing else.",),
        good=(caption, relation_scene(rng, level.grid, a, b, relation)),
        bad=(caption, relation_scene(rng, level.grid, a, b, RELATIONS[relation])),
        good_claims=tuple(ClaimSpec("good", 0, f) for f in claims),
        bad_claims=tuple(ClaimSpec("bad", 0, f) for f in claims),
    )


SUBTYPES = {"objects": _objects, "word": _word, "relation": _relation}
WEIGHTS = {"objects": 0.6, "word": 0.2, "relation": 0.2}


def make(rng: np.random.Generator, level: Level) -> Draft:
    """One text-to-image draft (subtype drawn with :data:`WEIGHTS`)."""
    names = list(SUBTYPES)
    name = names[int(rng.choice(len(names), p=[WEIGHTS[n] for n in names]))]
    return SUBTYPES[name](rng, level)
