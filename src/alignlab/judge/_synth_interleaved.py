"""Interleaved generation (MMRB2's ``interleaved``): the prompt asks for a short illustrated
sequence, one image per step with a sentence each; both responses write the right sentences, but
one image of the bad response contradicts its sentence (a wrong count or a wrong colour)."""

from __future__ import annotations

import numpy as np

from alignlab.judge._gold import Fact
from alignlab.judge._synth_common import (
    ClaimSpec,
    Draft,
    Level,
    Part,
    count_fact,
    kinds,
    objects,
    pick,
    place,
    wrong_count,
)
from alignlab.judge._synth_draw import Scene

FAMILY = "interleaved"


def _growing(rng: np.random.Generator, level: Level, steps: int) -> tuple[str, list, list, str]:
    """Step ``i`` shows ``start + i`` objects of one kind."""
    ((colour, shape),) = kinds(rng, level, 1)
    start = int(rng.integers(1, level.max_count - steps + 2))
    ns = [start + i for i in range(steps)]
    prompt = (
        f"Illustrate {steps} steps, one image per step with one sentence each: start with "
        f"{objects(start, colour, shape)}, and add one {colour} {shape} at each step."
    )
    wanted = [(colour, shape, n) for n in ns]
    lines = [f"Step {i + 1}: {objects(n, colour, shape)}." for i, n in enumerate(ns)]
    return prompt, wanted, lines, "count"


def _colours(rng: np.random.Generator, level: Level, steps: int) -> tuple[str, list, list, str]:
    """Step ``i`` shows one object of the same shape in the ``i``-th listed colour."""
    shape = pick(rng, level.shapes)[0]
    colours = pick(rng, level.colours, k=min(steps, len(level.colours)))
    sequence = ", then ".join(colours)
    prompt = (
        f"Show a {shape} changing colour over {len(colours)} steps, one image per step "
        f"with one sentence each: {sequence}."
    )
    wanted = [(c, shape, 1) for c in colours]
    lines = [f"Step {i + 1}: the {shape} is {c}." for i, c in enumerate(colours)]
    return prompt, wanted, lines, "colour"


def _images(
    rng: np.random.Generator, level: Level, wanted: list[tuple[str, str, int]]
) -> list[Scene]:
    return [place(rng, level.grid, [w]) for w in wanted]


def _spoil(
    rng: np.random.Generator, level: Level, wanted: list[tuple[str, str, int]], kind: str
) -> tuple[list[tuple[str, str, int]], int]:
    """``wanted`` with one step broken (a count off, or another colour), and that step."""
    j = int(rng.integers(len(wanted)))
    colour, shape, n = wanted[j]
    if kind == "count":
        broken = (colour, shape, wrong_count(rng, level, n, low=1))
    else:
        broken = (pick(rng, [c for c in level.colours if c != colour])[0], shape, n)
    return wanted[:j] + [broken] + wanted[j + 1 :], j


def _content(lines: list[str], scenes: list[Scene]) -> tuple[Part, ...]:
    out: list[Part] = []
    for line, scene in zip(lines, scenes, strict=True):
        out += [line, scene]
    return tuple(out)


SUBTYPES = {"count": _growing, "colour": _colours}


def make(rng: np.random.Generator, level: Level) -> Draft:
    """One interleaved draft: text then image for each step, in both responses."""
    name = pick(rng, list(SUBTYPES))[0]
    steps = int(rng.choice(level.steps))
    prompt, wanted, lines, kind = SUBTYPES[name](rng, level, steps)
    spoiled, _ = _spoil(rng, level, wanted, kind)
    claims: list[Fact] = [count_fact(n, c, s) for c, s, n in wanted]
    return Draft(
        FAMILY,
        name,
        f"step-{kind}",
        prompt=(prompt,),
        good=_content(lines, _images(rng, level, wanted)),
        bad=_content(lines, _images(rng, level, spoiled)),
        good_claims=tuple(ClaimSpec("good", i, f) for i, f in enumerate(claims)),
        bad_claims=tuple(ClaimSpec("bad", i, f) for i, f in enumerate(claims)),
    )
