"""Gold verification chains as structured data, and their default text rendering.

A chain follows MJ1's grounded judgment (arXiv 2603.07990): observations (what each image shows,
numbered ``O1, O2, ...``) → claims (what each response asserts, ``A1, ..., B1, ...``) →
verification (each claim checked against the observations it cites) → evaluation → verdict.

Every observation and claim carries a :class:`Fact`: one checkable statement about one image
(images are numbered 1, 2, ... in the pair's reading order: prompt, response A, response B). The
structured chain is what the synthetic benchmark stores; :func:`render_gold_chain` writes the
default text form with the tags ``<observations>``, ``<claims>``, ``<verification>``,
``<evaluation>`` and ``<verdict>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from alignlab.core import AlignlabError

FACT_TYPES = ("count", "word", "bar", "relation")
RELATIONS = {"left of": "right of", "right of": "left of", "above": "below", "below": "above"}
_RELATION_WORDS = {
    "left of": "to the left of",
    "right of": "to the right of",
    "above": "above",
    "below": "below",
}
SECTIONS = ("observations", "claims", "verification", "evaluation", "verdict")
DEFAULT_TAGS: Mapping[str, str] = {s: s for s in SECTIONS}


def _object(colour: str | None, shape: str | None) -> str:
    return " ".join(w for w in (colour, shape) if w)


def _plural(noun: str, n: int) -> str:
    return noun if n == 1 else noun + "s"


@dataclass(frozen=True)
class Fact:
    """One checkable statement about one image.

    ``type`` and ``value``:
      - ``count``: ``value`` objects of ``colour`` and ``shape`` (either None = any);
      - ``word``: the image shows the word ``value``;
      - ``bar``: the chart's ``colour`` bar stands at ``value``;
      - ``relation``: ``value`` (bool) that the ``colour shape`` object is ``relation`` (left of,
        right of, above, below) the ``other_colour other_shape`` object.
    ``image`` is the 1-based image number in the pair's reading order.
    """

    image: int
    type: str
    value: int | str | bool
    colour: str | None = None
    shape: str | None = None
    relation: str | None = None
    other_colour: str | None = None
    other_shape: str | None = None

    def subject(self) -> tuple[Any, ...]:
        """What the fact is about, without its value (two facts with one subject disagree or
        agree)."""
        return (
            self.image,
            self.type,
            self.colour,
            self.shape,
            self.relation,
            self.other_colour,
            self.other_shape,
        )

    def phrase(self) -> str:
        """The fact in words, e.g. ``3 red circles``, ``the word CAT``, ``the red bar at 4``."""
        if self.type == "count":
            n = int(self.value)
            noun = _plural(self.shape or "shape", n)
            return f"{n if n else 'no'} {_object(self.colour, noun)}"
        if self.type == "word":
            return f"the word {self.value}"
        if self.type == "bar":
            return f"the {self.colour} bar at {self.value}"
        rel = _RELATION_WORDS[str(self.relation)]
        a = _object(self.colour, self.shape)
        b = _object(self.other_colour, self.other_shape)
        return f"the {a} {'' if self.value else 'not '}{rel} the {b}"

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Fact:
        if obj.get("type") not in FACT_TYPES:
            raise AlignlabError(f"fact type must be one of {FACT_TYPES}, not {obj.get('type')!r}")
        return cls(**{k: obj[k] for k in cls.__dataclass_fields__ if k in obj})


@dataclass(frozen=True)
class GoldObservation:
    id: str  # "O1"
    fact: Fact


@dataclass(frozen=True)
class GoldClaim:
    id: str  # "A1", "B2"
    response: str  # "A" | "B"
    fact: Fact


@dataclass(frozen=True)
class GoldCheck:
    """A claim checked against the observations it cites; ``holds`` is the outcome."""

    claim: str
    cites: tuple[str, ...]
    holds: bool


def cited_for(claim: Fact, observations: Sequence[GoldObservation]) -> list[GoldObservation]:
    """The observations a claim is checked against: on the same image, counts of every object
    the claim's colour/shape filter takes in, or the fact with the claim's subject (relations:
    the same two objects on the same axis)."""
    out = []
    for o in observations:
        f = o.fact
        if f.image != claim.image or f.type != claim.type:
            continue
        if claim.type == "count":
            ok = claim.colour in (None, f.colour) and claim.shape in (None, f.shape)
            exact = f.colour == claim.colour and f.shape == claim.shape  # a zero observation
            ok = ok and (f.colour is not None and f.shape is not None or exact)
        elif claim.type == "relation":
            same_objects = (f.colour, f.shape, f.other_colour, f.other_shape) == (
                claim.colour,
                claim.shape,
                claim.other_colour,
                claim.other_shape,
            )
            ok = same_objects and f.relation in (claim.relation, RELATIONS[str(claim.relation)])
        else:
            ok = f.colour == claim.colour
        if ok:
            out.append(o)
    return out


def holds(claim: Fact, cited: Sequence[GoldObservation]) -> bool:
    """Whether the cited observations bear the claim out (none cited: it does not)."""
    if not cited:
        return False
    if claim.type == "count":
        return sum(int(o.fact.value) for o in cited) == int(claim.value)
    if claim.type == "relation":
        f = cited[0].fact
        same = f.relation == claim.relation
        return (same and f.value == claim.value) or (not same and f.value != claim.value)
    return cited[0].fact.value == claim.value


@dataclass(frozen=True)
class GoldChain:
    """The structured chain of one pair: ``checks`` follow ``claims`` one for one."""

    observations: tuple[GoldObservation, ...]
    claims: tuple[GoldClaim, ...]
    checks: tuple[GoldCheck, ...]
    verdict: str  # "A" | "B"

    def contradicted(self, response: str) -> list[str]:
        """Ids of ``response``'s claims the images contradict."""
        by_id = {c.id: c for c in self.claims}
        return [k.claim for k in self.checks if not k.holds and by_id[k.claim].response == response]

    def to_json(self) -> dict[str, Any]:
        return {
            "observations": [{"id": o.id, "fact": o.fact.to_json()} for o in self.observations],
            "claims": [
                {"id": c.id, "response": c.response, "fact": c.fact.to_json()} for c in self.claims
            ],
            "verification": [
                {"claim": k.claim, "cites": list(k.cites), "holds": k.holds} for k in self.checks
            ],
            "verdict": self.verdict,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> GoldChain:
        try:
            return cls(
                observations=tuple(
                    GoldObservation(o["id"], Fact.from_json(o["fact"])) for o in obj["observations"]
                ),
                claims=tuple(
                    GoldClaim(c["id"], c["response"], Fact.from_json(c["fact"]))
                    for c in obj["claims"]
                ),
                checks=tuple(
                    GoldCheck(k["claim"], tuple(k["cites"]), bool(k["holds"]))
                    for k in obj["verification"]
                ),
                verdict=obj["verdict"],
            )
        except (KeyError, TypeError) as err:
            raise AlignlabError(f"malformed gold chain ({type(err).__name__}: {err})") from None

    def swapped(self, image_map: Mapping[int, int]) -> GoldChain:
        """The chain of the pair with A and B swapped: images renumbered by ``image_map``
        (old → new number), observations re-sorted by image and renumbered, claims relabelled."""
        flip = {"A": "B", "B": "A"}
        moved = [
            replace(o.fact, image=image_map.get(o.fact.image, o.fact.image))
            for o in self.observations
        ]
        order = sorted(range(len(moved)), key=lambda i: moved[i].image)
        obs_ids = {self.observations[i].id: f"O{j + 1}" for j, i in enumerate(order)}
        observations = tuple(GoldObservation(f"O{j + 1}", moved[i]) for j, i in enumerate(order))
        claim_ids = {c.id: flip[c.id[0]] + c.id[1:] for c in self.claims}
        claims = [
            GoldClaim(
                claim_ids[c.id],
                flip[c.response],
                replace(c.fact, image=image_map.get(c.fact.image, c.fact.image)),
            )
            for c in self.claims
        ]
        claims.sort(key=lambda c: c.response)  # A's claims first, each side's order kept
        checks = {
            claim_ids[k.claim]: GoldCheck(
                claim_ids[k.claim], tuple(obs_ids[o] for o in k.cites), k.holds
            )
            for k in self.checks
        }
        return GoldChain(
            observations=observations,
            claims=tuple(claims),
            checks=tuple(checks[c.id] for c in claims),
            verdict=flip[self.verdict],
        )


def _check_line(check: GoldCheck, claim: GoldClaim, by_id: Mapping[str, GoldObservation]) -> str:
    cited = [by_id[o].fact for o in check.cites]
    cites = ", ".join(f"[{o}]" for o in check.cites)
    shown = " and ".join(f.phrase() for f in cited)
    detail = f"image {claim.fact.image} shows {shown}"
    if claim.fact.type == "count" and len(cited) > 1:
        total = sum(int(f.value) for f in cited)
        noun = _plural(claim.fact.shape or "shape", total)
        detail += f", {total} {_object(claim.fact.colour, noun)} in all"
    if not check.holds:
        value = claim.fact.value
        if claim.fact.type == "relation":
            value = _RELATION_WORDS[str(claim.fact.relation)]
        detail += f", not {value}"
    verb = "supported by" if check.holds else "contradicted by"
    return f"[{check.claim}] {verb} {cites}: {detail}."


def _evaluation(chain: GoldChain) -> str:
    parts = []
    for side in ("A", "B"):
        n = sum(c.response == side for c in chain.claims)
        bad = chain.contradicted(side)
        if bad:
            ids = ", ".join(f"[{c}]" for c in bad)
            parts.append(f"Response {side}: {len(bad)} of {n} claims contradicted ({ids}).")
        else:
            parts.append(f"Response {side}: {n} of {n} claims supported.")
    loser = "B" if chain.verdict == "A" else "A"
    parts.append(
        f"Response {chain.verdict} is consistent with the images; response {loser} is not."
    )
    return " ".join(parts)


def render_gold_chain(chain: GoldChain, tags: Mapping[str, str] = DEFAULT_TAGS) -> str:
    """The chain as text, one tagged section per step; ``tags`` maps each of :data:`SECTIONS`
    to the tag name written (default: the section's own name).

    Lines: ``[O1] (image 1) 3 red circles.``; ``[A1] image 2 shows 3 red circles.``;
    ``[B1] contradicted by [O4]: image 3 shows 2 red circles, not 3.``; the verdict is ``A`` or
    ``B`` alone.
    """
    missing = [s for s in SECTIONS if s not in tags]
    if missing:
        raise AlignlabError(f"no tag name for chain sections {missing}")
    by_id = {o.id: o for o in chain.observations}
    claims = {c.id: c for c in chain.claims}
    bodies = {
        "observations": [
            f"[{o.id}] (image {o.fact.image}) {o.fact.phrase()}." for o in chain.observations
        ],
        "claims": [f"[{c.id}] image {c.fact.image} shows {c.fact.phrase()}." for c in chain.claims],
        "verification": [_check_line(k, claims[k.claim], by_id) for k in chain.checks],
        "evaluation": [_evaluation(chain)],
    }
    out = []
    for section in SECTIONS[:-1]:
        tag = tags[section]
        out.append(f"<{tag}>\n" + "\n".join(bodies[section]) + f"\n</{tag}>")
    out.append(f"<{tags['verdict']}>{chain.verdict}</{tags['verdict']}>")
    return "\n".join(out)
