"""The synthetic bench's gold answers, re-derived from the drawn pixels.

Everything here reads the images only (colour masks, connected components, bar heights in grid
units, glyph templates, centroids) — never the generator's scene specs — and checks that
every observation of a pair's gold chain is what the image shows, every claim's verdict is what
the image implies, the good response's claims all hold, and the bad one's do not.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage

from alignlab.judge import Fact, GoldChain, Pair, generate_pairs, swapped
from alignlab.judge._synth_draw import PALETTE

WHITE, BLACK, GREY = (255, 255, 255), (0, 0, 0), (200, 200, 200)


def _mask(img: np.ndarray, rgb: tuple[int, int, int]) -> np.ndarray:
    return np.all(img == np.array(rgb, dtype=img.dtype), axis=-1)


def _shape_of(component: np.ndarray) -> str:
    """A blob's shape from how much of its bounding box it fills: a square all of it, a disc
    about pi/4, a triangle about half."""
    fill = component.mean()
    return "square" if fill > 0.92 else "circle" if fill > 0.62 else "triangle"


def _objects(img: np.ndarray) -> list[tuple[str, str, float, float]]:
    """``(colour, shape, centre_x, centre_y)`` of every blob of a palette colour."""
    out = []
    for name, rgb in PALETTE.items():
        labels, n = ndimage.label(_mask(img, rgb))
        for k, sl in enumerate(ndimage.find_objects(labels), start=1):
            comp = labels[sl] == k
            cy, cx = ndimage.center_of_mass(labels == k)
            out.append((name, _shape_of(comp), float(cx), float(cy)))
    return out


def _count(img: np.ndarray, colour: str | None, shape: str | None) -> int:
    return sum(colour in (None, c) and shape in (None, s) for c, s, _, _ in _objects(img))


def _bar(img: np.ndarray, colour: str) -> int:
    """A bar's value: its height in rows over the spacing of the chart's grey grid lines."""
    grey_rows = np.flatnonzero(_mask(img, GREY).sum(axis=1) > img.shape[1] // 8)
    steps = np.diff(grey_rows)
    unit = int(np.median(steps))
    assert np.all(steps == unit), "grid lines are evenly spaced"
    rows = np.flatnonzero(_mask(img, PALETTE[colour]).any(axis=1))
    height = len(rows)
    assert height % unit == 0, f"bar of {height} rows is not a whole number of {unit}-row units"
    return height // unit


def _trim(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]


def _shows_word(img: np.ndarray, word: str) -> bool:
    """Whether the black ink is ``word`` in PIL's bitmap font, at a whole-pixel scale."""
    font = ImageFont.load_default_imagefont()
    left, top, right, bottom = font.getbbox(word)
    ref = Image.new("L", (right - left + 2, bottom - top + 2), 255)
    ImageDraw.Draw(ref).text((1 - left, 1 - top), word, fill=0, font=font)
    template = _trim(np.asarray(ref) == 0)
    ink = _trim(_mask(img, BLACK))
    k = ink.shape[0] // template.shape[0]
    if k < 1 or ink.shape != (template.shape[0] * k, template.shape[1] * k):
        return False
    return bool(np.array_equal(ink[::k, ::k], template))


def _relation(img: np.ndarray, fact: Fact) -> bool:
    objs = _objects(img)
    ((ax, ay),) = [(x, y) for c, s, x, y in objs if (c, s) == (fact.colour, fact.shape)]
    ((bx, by),) = [(x, y) for c, s, x, y in objs if (c, s) == (fact.other_colour, fact.other_shape)]
    rel = {"left of": ax < bx, "right of": ax > bx, "above": ay < by, "below": ay > by}
    return rel[str(fact.relation)] == bool(fact.value)


def pixel_truth(img: np.ndarray, fact: Fact) -> bool:
    """Whether the image bears ``fact`` out, judged from its pixels alone."""
    if fact.type == "count":
        return _count(img, fact.colour, fact.shape) == fact.value
    if fact.type == "bar":
        return _bar(img, str(fact.colour)) == fact.value
    if fact.type == "word":
        return _shows_word(img, str(fact.value))
    return _relation(img, fact)


def _arrays(pair: Pair, images: dict[str, Image.Image]) -> dict[int, np.ndarray]:
    return {k + 1: np.asarray(images[s.value]) for k, s in enumerate(pair.images())}


def _pairs(difficulty: int, size: int, n: int, seed: int) -> Iterator[tuple[Pair, dict]]:
    yield from generate_pairs(n, seed=seed, image_size=size, difficulty=difficulty)


SETTINGS = [(1, 32), (1, 64), (2, 64), (3, 40), (3, 64), (2, 128)]


@pytest.mark.parametrize(("difficulty", "size"), SETTINGS)
def test_every_gold_fact_is_what_the_pixels_show(difficulty: int, size: int) -> None:
    subtypes = set()
    for pair, images in _pairs(difficulty, size, n=48, seed=11 * difficulty + size):
        arrays = _arrays(pair, images)
        chain = GoldChain.from_json(pair.metadata["gold_chain"])
        for o in chain.observations:
            assert pixel_truth(arrays[o.fact.image], o.fact), (pair.id, o)
        for c, check in zip(chain.claims, chain.checks, strict=True):
            assert check.claim == c.id
            assert pixel_truth(arrays[c.fact.image], c.fact) == check.holds, (pair.id, c, check)
        gold_claims = [c for c in chain.claims if c.response == pair.gold]
        bad_claims = [c for c in chain.claims if c.response != pair.gold]
        assert gold_claims and bad_claims
        assert all(pixel_truth(arrays[c.fact.image], c.fact) for c in gold_claims), pair.id
        assert not all(pixel_truth(arrays[c.fact.image], c.fact) for c in bad_claims), pair.id
        assert chain.verdict == pair.gold
        subtypes.add((pair.task, pair.metadata["subtype"]))
    assert {t for t, _ in subtypes} == {"t2i", "edit", "interleaved", "reasoning"}


def test_images_are_crisp_and_small() -> None:
    allowed = {WHITE, BLACK, GREY, *PALETTE.values()}
    for pair, images in _pairs(2, 64, n=24, seed=3):
        assert 1 <= len(images) <= 8
        for im in images.values():
            assert im.size == (64, 64) and im.mode == "RGB"
            colours = {tuple(int(v) for v in c) for c in np.unique(np.asarray(im).reshape(-1, 3),
                                                                  axis=0)}  # fmt: skip
            assert colours <= allowed, (pair.id, colours - allowed)


def test_counts_stay_in_range_at_the_easy_level() -> None:
    for pair, images in _pairs(1, 64, n=40, seed=5):
        for img in _arrays(pair, images).values():
            objs = _objects(img)
            assert {c for c, *_ in objs} <= {"red", "green", "blue"}
            assert {s for _, s, *_ in objs} <= {"circle", "square"}
            kinds = {(c, s) for c, s, *_ in objs}
            # a wrong count may sit one past the level's range; a right one never does
            assert all(_count(img, c, s) <= 4 for c, s in kinds), pair.id


def test_the_bad_response_of_each_error_kind_is_caught_by_the_pixels() -> None:
    """One contradicted claim per error kind, checked where the chain says it fails."""
    seen: dict[str, int] = {}
    for pair, images in _pairs(2, 64, n=160, seed=8):
        arrays = _arrays(pair, images)
        chain = GoldChain.from_json(pair.metadata["gold_chain"])
        loser = "B" if pair.gold == "A" else "A"
        failed = chain.contradicted(loser)
        assert failed and not chain.contradicted(pair.gold)
        by_id = {c.id: c for c in chain.claims}
        for cid in failed:
            assert not pixel_truth(arrays[by_id[cid].fact.image], by_id[cid].fact)
        seen[pair.metadata["error"]] = seen.get(pair.metadata["error"], 0) + 1
    expected = {"count", "colour", "shape", "word", "relation", "unchanged", "wrong-object",
                "wrong-colour", "wrong-shape", "step-count", "step-colour", "misread-bar",
                "misread-word"}  # fmt: skip
    assert expected <= set(seen), expected - set(seen)


def test_swapped_pairs_keep_a_true_chain() -> None:
    """After swapping, image k is still what observation (image k) says, and each claim still
    points at an image of the response that makes it."""
    for pair, images in _pairs(2, 64, n=24, seed=21):
        s = swapped(pair)
        arrays = _arrays(s, images)
        chain = GoldChain.from_json(s.metadata["gold_chain"])
        assert chain.verdict == s.gold != pair.gold
        for o in chain.observations:
            assert pixel_truth(arrays[o.fact.image], o.fact), (s.id, o)
        n_prompt = sum(seg.kind == "image" for seg in s.prompt)
        n_a = sum(seg.kind == "image" for seg in s.response_a)
        own = {"A": range(n_prompt + 1, n_prompt + n_a + 1),
               "B": range(n_prompt + n_a + 1, len(s.images()) + 1)}  # fmt: skip
        for c, check in zip(chain.claims, chain.checks, strict=True):
            assert pixel_truth(arrays[c.fact.image], c.fact) == check.holds
            if pair.task != "reasoning":  # reasoning claims are about the prompt's image
                assert c.fact.image in own[c.response], (s.id, c)
        assert [o.fact.image for o in chain.observations] == sorted(
            o.fact.image for o in chain.observations
        )
