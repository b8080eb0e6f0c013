"""From a family's :class:`Draft` to a :class:`Pair`: number and draw the images, then derive
the gold chain from the pictures themselves (what each shows → what each response claims →
which claims the pictures bear out)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from PIL import Image

from alignlab.judge._gold import (
    Fact,
    GoldChain,
    GoldCheck,
    GoldClaim,
    GoldObservation,
    cited_for,
    holds,
    render_gold_chain,
)
from alignlab.judge._pair import Pair, Segment
from alignlab.judge._synth_common import Draft
from alignlab.judge._synth_draw import PALETTE, SHAPES, Chart, Picture, Scene, Word, draw

GENERATOR = "alignlab.judge.synth/1"


def measure(picture: Picture, fact: Fact) -> int | str | bool:
    """The true value of ``fact``'s subject in ``picture`` (read from the picture's spec)."""
    if fact.type == "count" and isinstance(picture, Scene):
        return picture.count(fact.colour, fact.shape)
    if fact.type == "word" and isinstance(picture, Word):
        return picture.text
    if fact.type == "bar" and isinstance(picture, Chart):
        return picture.value(str(fact.colour))
    if fact.type == "relation" and isinstance(picture, Scene):
        (ra, ca) = picture.find(str(fact.colour), str(fact.shape)).cell
        (rb, cb) = picture.find(str(fact.other_colour), str(fact.other_shape)).cell
        return {"left of": ca < cb, "right of": ca > cb, "above": ra < rb, "below": ra > rb}[
            str(fact.relation)
        ]
    raise ValueError(f"a {fact.type} fact does not apply to a {type(picture).__name__}")


def inventory(picture: Picture, image: int) -> list[Fact]:
    """Everything ``picture`` shows, as facts: object counts by kind, the word, the bars."""
    if isinstance(picture, Word):
        return [Fact(image, "word", picture.text)]
    if isinstance(picture, Chart):
        return [Fact(image, "bar", v, colour=c) for c, v in picture.bars]
    order = {(c, s): (i, j) for i, c in enumerate(PALETTE) for j, s in enumerate(SHAPES)}
    found = sorted({(it.colour, it.shape) for it in picture.items}, key=order.__getitem__)
    return [Fact(image, "count", picture.count(c, s), colour=c, shape=s) for c, s in found]


def _derived(picture: Picture, claim: Fact) -> Fact:
    """The observation a claim needs when the inventory has none: a zero count, or the true
    relation between the two objects on the claim's axis."""
    if claim.type == "count":
        return replace(claim, value=0)
    horizontal = claim.relation in ("left of", "right of")
    first = "left of" if horizontal else "above"
    relation = (
        first
        if measure(picture, replace(claim, relation=first))
        else ("right of" if horizontal else "below")
    )
    return replace(claim, relation=relation, value=True)


def gold_chain(pictures: dict[int, Picture], claims: list[GoldClaim], verdict: str) -> GoldChain:
    """Observations (inventories, plus what claims about absent things need), one check per
    claim, numbered ``O1..`` in image order."""
    facts = [f for k in sorted(pictures) for f in inventory(pictures[k], k)]
    for c in claims:
        probe = [GoldObservation("", f) for f in facts]
        if not cited_for(c.fact, probe):
            extra = _derived(pictures[c.fact.image], c.fact)
            if extra not in facts:
                facts.append(extra)
    facts.sort(key=lambda f: f.image)  # stable: inventory first within an image
    observations = tuple(GoldObservation(f"O{i + 1}", f) for i, f in enumerate(facts))
    checks = []
    for c in claims:
        cited = cited_for(c.fact, observations)
        checks.append(GoldCheck(c.id, tuple(o.id for o in cited), holds(c.fact, cited)))
    return GoldChain(observations, tuple(claims), tuple(checks), verdict)


def picture_json(picture: Picture) -> dict[str, Any]:
    if isinstance(picture, Scene):
        return {"kind": "scene", "grid": picture.grid, "items": [asdict(i) for i in picture.items]}
    if isinstance(picture, Word):
        return {"kind": "word", "text": picture.text}
    return {"kind": "chart", "bars": [list(b) for b in picture.bars]}


@dataclass
class _Drawn:
    """The parts of a draft as segments, with its pictures numbered and drawn."""

    content: dict[str, tuple[Segment, ...]] = field(default_factory=dict)
    numbers: dict[tuple[str, int], int] = field(default_factory=dict)  # (part, k) -> image
    pictures: dict[int, Picture] = field(default_factory=dict)
    images: dict[str, Image.Image] = field(default_factory=dict)  # path -> drawn image


def _draw_parts(draft: Draft, order: tuple[str, ...], pair_id: str, size: int) -> _Drawn:
    """Number the pictures of ``order``'s parts 1, 2, ... in reading order and draw them."""
    parts = {"prompt": draft.prompt, "good": draft.good, "bad": draft.bad}
    out = _Drawn()
    for part in order:
        segs: list[Segment] = []
        for item in parts[part]:
            if isinstance(item, str):
                segs.append(Segment.text(item))
                continue
            n = len(out.pictures) + 1
            out.numbers[(part, sum(s.kind == "image" for s in segs))] = n
            out.pictures[n] = item
            path = f"images/{pair_id}-{n}.png"
            out.images[path] = draw(item, size)
            segs.append(Segment.image(path))
        out.content[part] = tuple(segs)
    return out


def assemble(
    draft: Draft, *, gold: str, pair_id: str, size: int, difficulty: int
) -> tuple[Pair, dict[str, Image.Image]]:
    """The pair (image paths ``images/<pair_id>-<k>.png``) and its drawn images by path.

    Raises:
        RuntimeError: the draft's good response has a contradicted claim or its bad response has
            none (a generator bug, never bad input).
    """
    where = {"A": "good" if gold == "A" else "bad", "B": "bad" if gold == "A" else "good"}
    drawn = _draw_parts(draft, ("prompt", where["A"], where["B"]), pair_id, size)
    claims = []
    for label in ("A", "B"):
        specs = draft.good_claims if where[label] == "good" else draft.bad_claims
        for i, spec in enumerate(specs):
            fact = replace(spec.fact, image=drawn.numbers[(spec.where, spec.k)])
            claims.append(GoldClaim(f"{label}{i + 1}", label, fact))
    chain = gold_chain(drawn.pictures, claims, gold)
    if chain.contradicted(gold) or not chain.contradicted("B" if gold == "A" else "A"):
        raise RuntimeError(
            f"{draft.family}/{draft.subtype} draft {pair_id}: the gold chain does "
            "not single out the good response"
        )
    metadata = {
        "generator": GENERATOR,
        "family": draft.family,
        "subtype": draft.subtype,
        "difficulty": difficulty,
        "error": draft.error,
        # images are numbered in the order they were drawn: image k is the k-th path
        "pictures": {p: picture_json(drawn.pictures[k + 1]) for k, p in enumerate(drawn.images)},
        "gold_chain": chain.to_json(),
        "gold_chain_text": render_gold_chain(chain),
    }
    c = drawn.content
    pair = Pair(pair_id, draft.family, c["prompt"], c[where["A"]], c[where["B"]], gold, metadata)
    return pair, drawn.images
