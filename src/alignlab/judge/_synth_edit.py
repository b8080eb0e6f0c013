"""Image editing (MMRB2's ``edit``): the prompt is a scene and an instruction (recolour, remove
or add one object); each response is the edited image with a note saying the edit is done; the
bad one left the scene unchanged, edited the wrong object, or used the wrong colour or shape."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from alignlab.judge._gold import Fact
from alignlab.judge._synth_common import ClaimSpec, Draft, Level, count_fact, kinds, pick, place
from alignlab.judge._synth_draw import Item, Scene

FAMILY = "edit"


@dataclass(frozen=True)
class _Edit:
    instruction: str
    note: str  # what both responses say they did
    good: Scene
    bad: Scene
    claims: tuple[Fact, ...]  # about the edited image
    error: str


def _source(rng: np.random.Generator, level: Level) -> Scene:
    """2..(max groups + 1) objects, each of a different kind (an instruction names exactly
    one), with free cells left to add to."""
    k = int(rng.integers(2, level.groups[1] + 2))
    return place(rng, level.grid, [(c, s, 1) for c, s in kinds(rng, level, k)])


def _free_colours(level: Level, scene: Scene, shape: str) -> list[str]:
    """The colours no ``shape`` in the scene has."""
    have = {it.colour for it in scene.items if it.shape == shape}
    return [c for c in level.colours if c not in have]


def _recolourable(level: Level, scene: Scene) -> list[Item]:
    return [it for it in scene.items if _free_colours(level, scene, it.shape)]


def _swap(scene: Scene, old: Item, new: Item) -> Scene:
    return Scene(scene.grid, tuple(new if it == old else it for it in scene.items))


def _without(scene: Scene, gone: Item) -> Scene:
    return Scene(scene.grid, tuple(it for it in scene.items if it != gone))


def _recolour(rng: np.random.Generator, level: Level, src: Scene) -> _Edit:
    able = _recolourable(level, src)
    target = able[int(rng.integers(len(able)))]
    new = pick(rng, _free_colours(level, src, target.shape))[0]
    others = [it for it in able if it != target]
    error = pick(rng, ["unchanged", "wrong-colour"] + ["wrong-object"] * bool(others))[0]
    bad = src
    if error == "wrong-object":
        item = others[int(rng.integers(len(others)))]
        colour = pick(rng, _free_colours(level, src, item.shape))[0]
        bad = _swap(src, item, replace(item, colour=colour))
    elif error == "wrong-colour":
        wrong = pick(rng, [c for c in level.colours if c not in (new, target.colour)])[0]
        bad = _swap(src, target, replace(target, colour=wrong))
    return _Edit(
        f"Make the {target.colour} {target.shape} {new}.",
        f"Done: the {target.shape} is now {new}.",
        _swap(src, target, replace(target, colour=new)),
        bad,
        (count_fact(1, new, target.shape), count_fact(0, target.colour, target.shape)),
        error,
    )


def _remove(rng: np.random.Generator, level: Level, src: Scene) -> _Edit:
    target = src.items[int(rng.integers(len(src.items)))]
    error = pick(rng, ["unchanged", "wrong-object"])[0]
    bad = src
    if error == "wrong-object":
        others = [it for it in src.items if it != target]  # kinds are distinct: items too
        bad = _without(src, others[int(rng.integers(len(others)))])
    return _Edit(
        f"Remove the {target.colour} {target.shape}.",
        f"Done: I removed the {target.colour} {target.shape}.",
        _without(src, target),
        bad,
        (count_fact(0, target.colour, target.shape),),
        error,
    )


def _add(rng: np.random.Generator, level: Level, src: Scene) -> _Edit:
    have = {(it.colour, it.shape) for it in src.items}
    colour, shape = _pick_kind(
        rng, [(c, s) for c in level.colours for s in level.shapes if (c, s) not in have]
    )
    taken = {it.cell for it in src.items}
    free = [(r, c) for r in range(src.grid) for c in range(src.grid) if (r, c) not in taken]
    cell = free[int(rng.integers(len(free)))]
    error = pick(rng, ["unchanged", "wrong-colour", "wrong-shape"])[0]
    bad = src
    if error == "wrong-colour":
        other = pick(rng, [c for c in level.colours if c != colour])[0]
        bad = Scene(src.grid, (*src.items, Item(shape, other, cell)))
    elif error == "wrong-shape":
        other = pick(rng, [s for s in level.shapes if s != shape])[0]
        bad = Scene(src.grid, (*src.items, Item(other, colour, cell)))
    return _Edit(
        f"Add a {colour} {shape}.",
        f"Done: I added a {colour} {shape}.",
        Scene(src.grid, (*src.items, Item(shape, colour, cell))),
        bad,
        (count_fact(1, colour, shape),),
        error,
    )


def _pick_kind(rng: np.random.Generator, options: list[tuple[str, str]]) -> tuple[str, str]:
    return options[int(rng.integers(len(options)))]


SUBTYPES = {"recolour": _recolour, "remove": _remove, "add": _add}


def make(rng: np.random.Generator, level: Level) -> Draft:
    """One editing draft: the source scene and instruction in the prompt, an edited image and a
    note per response."""
    src = _source(rng, level)
    name = pick(rng, ["remove", "add"] + ["recolour"] * bool(_recolourable(level, src)))[0]
    edit = SUBTYPES[name](rng, level, src)
    return Draft(
        FAMILY,
        name,
        edit.error,
        prompt=(src, edit.instruction),
        good=(edit.good, edit.note),
        bad=(edit.bad, edit.note),
        good_claims=tuple(ClaimSpec("good", 0, f) for f in edit.claims),
        bad_claims=tuple(ClaimSpec("bad", 0, f) for f in edit.claims),
    )
