"""What the four synthetic families share: difficulty levels, drafts, placement and wording.

A family turns a random generator into a :class:`Draft`: the prompt and the two responses as
text and pictures, plus the checkable claims each response makes (:class:`ClaimSpec`, pointing
at a picture by where it sits). :mod:`._synth_assemble` numbers the images, draws them and
derives the gold chain from the pictures themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alignlab.judge._gold import Fact
from alignlab.judge._synth_draw import PALETTE, SHAPES, Item, Picture, Scene

Part = str | Picture  # a text segment or an image to draw


@dataclass(frozen=True)
class Level:
    """One difficulty: how busy the pictures are and how close the wrong answers sit."""

    grid: int  # scene cells per side
    colours: tuple[str, ...]
    shapes: tuple[str, ...]
    max_count: int  # objects of one kind (counts are 1..max_count)
    groups: tuple[int, int]  # (min, max) distinct (colour, shape) kinds per scene
    word_lengths: tuple[int, ...]
    steps: tuple[int, ...]  # interleaved: images per response
    bars: tuple[int, ...]  # bars per chart
    near_miss: bool  # wrong counts and values off by one, wrong words off by one letter


LEVELS: dict[int, Level] = {
    1: Level(3, ("red", "green", "blue"), ("circle", "square"), 3, (1, 2), (3,), (2,), (3,),
             False),
    2: Level(3, ("red", "green", "blue", "yellow"), SHAPES, 5, (1, 2), (3, 4), (2, 3), (3,),
             False),
    3: Level(4, tuple(PALETTE), SHAPES, 5, (2, 3), (4, 5), (3, 4), (3, 4), True),
}  # fmt: skip


@dataclass(frozen=True)
class ClaimSpec:
    """A claim one response makes: ``fact`` (its ``image`` field unused) about the ``k``-th
    picture of ``where`` (``"prompt"``, ``"good"`` or ``"bad"``)."""

    where: str
    k: int
    fact: Fact


@dataclass(frozen=True)
class Draft:
    """One synthetic pair before images are numbered and drawn.

    ``good`` is the response consistent with the pictures; ``bad`` makes at least one claim a
    picture contradicts (its mistake named by ``error``)."""

    family: str
    subtype: str
    error: str
    prompt: tuple[Part, ...]
    good: tuple[Part, ...]
    bad: tuple[Part, ...]
    good_claims: tuple[ClaimSpec, ...]
    bad_claims: tuple[ClaimSpec, ...]


NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

WORDS: dict[int, tuple[str, ...]] = {
    3: ("CAT", "DOG", "SUN", "BOX", "MAP", "CUP", "HAT", "KEY", "BUS", "PEN", "FOX", "OWL"),
    4: ("TREE", "FISH", "STAR", "BOOK", "MOON", "LAMP", "DOOR", "BIRD", "CAKE", "SHIP"),
    5: ("APPLE", "HOUSE", "CHAIR", "TRAIN", "PLANT", "CLOCK", "BREAD", "RIVER"),
}
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def objects(n: int, colour: str | None, shape: str | None, *, words: bool = True) -> str:
    """``three red circles``, ``one blue square``, ``no green shapes`` (digits with
    ``words=False``)."""
    noun = (shape or "shape") + ("" if n == 1 else "s")
    count = NUMBER_WORDS[n] if words and n < len(NUMBER_WORDS) else str(n)
    return " ".join(w for w in (count, colour, noun) if w)


def join(phrases: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]


def pick(rng: np.random.Generator, options: tuple[str, ...] | list[str], k: int = 1) -> list[str]:
    """``k`` distinct options in random order."""
    idx = rng.choice(len(options), size=k, replace=False)
    return [options[int(i)] for i in idx]


def kinds(rng: np.random.Generator, level: Level, k: int) -> list[tuple[str, str]]:
    """``k`` distinct ``(colour, shape)`` kinds."""
    every = [(c, s) for c in level.colours for s in level.shapes]
    return [every[int(i)] for i in rng.choice(len(every), size=k, replace=False)]


def counts(rng: np.random.Generator, level: Level, k: int, room: int) -> list[int]:
    """``k`` counts in 1..max_count whose sum fits in ``room`` cells."""
    while True:
        out = [int(c) for c in rng.integers(1, level.max_count + 1, size=k)]
        if sum(out) <= room:
            return out


def place(
    rng: np.random.Generator,
    grid: int,
    groups: list[tuple[str, str, int]],
    taken: tuple[tuple[int, int], ...] = (),
) -> Scene:
    """A scene with ``n`` objects of each ``(colour, shape, n)`` group in random free cells."""
    free = [(r, c) for r in range(grid) for c in range(grid) if (r, c) not in taken]
    need = sum(n for _, _, n in groups)
    cells = [free[int(i)] for i in rng.choice(len(free), size=need, replace=False)]
    items = []
    for colour, shape, n in groups:
        items += [Item(shape, colour, cells.pop()) for _ in range(n)]
    return Scene(grid, tuple(items))


def wrong_count(
    rng: np.random.Generator, level: Level, n: int, low: int = 1, high: int | None = None
) -> int:
    """A number other than ``n`` in ``low..high`` (default high: the level's max count, or
    ``n + 1`` above it), off by one at near-miss levels."""
    top = max(level.max_count, n + 1) if high is None else high
    if level.near_miss:
        options = [m for m in (n - 1, n + 1) if low <= m <= top]
    else:
        options = [m for m in range(low, top + 1) if m != n]
    return int(options[int(rng.integers(len(options)))])


def word(rng: np.random.Generator, level: Level) -> str:
    return pick(rng, WORDS[int(rng.choice(level.word_lengths))])[0]


def wrong_word(rng: np.random.Generator, level: Level, right: str) -> str:
    """Another word of the same length (one letter changed at near-miss levels)."""
    if level.near_miss:
        i = int(rng.integers(len(right)))
        letter = pick(rng, [c for c in _LETTERS if c != right[i]])[0]
        return right[:i] + letter + right[i + 1 :]
    return pick(rng, [w for w in WORDS[len(right)] if w != right])[0]


def count_fact(n: int, colour: str | None, shape: str | None) -> Fact:
    return Fact(image=0, type="count", value=n, colour=colour, shape=shape)


def relation_scene(
    rng: np.random.Generator,
    grid: int,
    a: tuple[str, str],
    b: tuple[str, str],
    relation: str,
    distractors: list[tuple[str, str, int]] | None = None,
) -> Scene:
    """Objects ``a`` and ``b`` (``(colour, shape)``, one each) with ``a`` ``relation`` ``b``,
    in random cells on distinct columns (left of, right of) or rows (above, below), plus
    ``distractors`` in other cells."""
    while True:
        (ra, ca), (rb, cb) = [
            divmod(int(i), grid) for i in rng.choice(grid * grid, 2, replace=False)
        ]
        ok = {"left of": ca < cb, "right of": ca > cb, "above": ra < rb, "below": ra > rb}
        if ok[relation]:
            break
    pair = (Item(a[1], a[0], (ra, ca)), Item(b[1], b[0], (rb, cb)))
    rest = place(rng, grid, distractors or [], taken=(pair[0].cell, pair[1].cell))
    return Scene(grid, pair + rest.items)
