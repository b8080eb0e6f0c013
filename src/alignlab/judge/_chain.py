"""MJ1's grounded verification chain: its text format, a renderer, and the judge's prompts.

A judge (MJ1, arXiv 2603.07990) compares two candidate responses by writing, in order:

- ``<observations>``: what each image shows, one per line, ``[O1] (image 1) ...``;
- ``<claims>``: what each response asserts, one per line, ``[A1] ...`` / ``[B1] ...``;
- ``<verification>``: each claim checked against cited observations, one per line,
  ``[A1] supported by [O2]``, ``[B1] contradicted by [O1], [O3]: ...``, ``[A2] unverifiable``;
- ``<evaluation>``: free text weighing the verified claims;
- ``<verdict>``: ``A`` or ``B``.

Tag names, id prefixes, verdict labels and the rubric are a :class:`ChainFormat`. A chain as
data is a :class:`Chain`; :func:`render_chain` writes it in the format and
``alignlab.judge.parse_chain`` reads it back (``parse_chain(render_chain(c)).chain == c``).

Positions: ``"A"`` is the candidate shown first and ``"B"`` the one shown second, whatever
labels the format writes for them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from alignlab.core import AlignlabError
from alignlab.models import Message, user_message

if TYPE_CHECKING:
    from PIL.Image import Image

    from alignlab.models import ContentPart

    Segment = str | Path | Image | ContentPart
else:
    Segment = object

Position = Literal["A", "B"]
"""A candidate by where it is shown: ``"A"`` first, ``"B"`` second."""
Status = Literal["supported", "contradicted", "unverifiable"]
POSITIONS: tuple[Position, Position] = ("A", "B")
STATUSES: tuple[Status, ...] = ("supported", "contradicted", "unverifiable")
ORDERS = ("forward", "reverse")
"""A pair as stored (``"forward"``) or with its candidates swapped (``"reverse"``)."""
SECTIONS = ("observations", "claims", "verification", "evaluation", "verdict")
"""The chain's sections, in the order they must appear."""

DEFAULT_RUBRIC = (
    "Decide which response better fulfils the prompt. Ground every judgement in what the "
    "images and the prompt actually show: a claim an observation contradicts is an error, "
    "however fluent the response around it. Weigh, in order: correctness against the images "
    "and the prompt; whether the response does everything the prompt asks; clarity and "
    "quality. Length, style and the order the responses are shown in are not merits."
)


def underlying_preference(verdict: Position | None, order: object) -> Position | None:
    """``verdict`` (in a row's own order) as a preference in the stored order: unchanged for
    ``"forward"``, swapped for ``"reverse"``; ``None`` for no verdict or an unknown order."""
    if verdict is None or order not in ORDERS:
        return None
    return verdict if order == "forward" else POSITIONS[1 - POSITIONS.index(verdict)]


_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
_PREFIX = re.compile(r"[A-Za-z]+")
# how an observation names its image: "(image 2)", or "Image 2:" (read, never written)
_IMAGE_NOTE = re.compile(r"\(\s*image\s*[0-9]|image\s*[0-9]+\s*:", re.IGNORECASE | re.ASCII)


@dataclass(frozen=True)
class ChainFormat:
    """How a chain is written: tag names, id prefixes, verdict labels, rubric.

    Ids are ``[<prefix><n>]``: observations ``[O1]``, claims of the first and second response
    ``[A1]``/``[B1]``. Tags, prefixes and labels are matched case-insensitively when parsing.

    Raises:
        AlignlabError: a tag that is not a plain name, prefixes that are not ASCII letters,
            labels with whitespace, or any of them repeated (``field`` names the culprit).
    """

    observations_tag: str = "observations"
    claims_tag: str = "claims"
    verification_tag: str = "verification"
    evaluation_tag: str = "evaluation"
    verdict_tag: str = "verdict"
    observation_prefix: str = "O"
    claim_prefixes: tuple[str, str] = ("A", "B")
    labels: tuple[str, str] = ("A", "B")
    rubric: str = DEFAULT_RUBRIC

    def __post_init__(self) -> None:
        for name in ("claim_prefixes", "labels"):  # lists from a config file: hashable tuples
            if isinstance(getattr(self, name), list):
                object.__setattr__(self, name, tuple(getattr(self, name)))
        if not isinstance(self.rubric, str):
            raise AlignlabError("the rubric must be text", field="rubric")
        for name in SECTIONS:
            tag = getattr(self, f"{name}_tag")
            if not isinstance(tag, str) or not _TAG_NAME.fullmatch(tag):
                raise AlignlabError(f"tag {tag!r} is not a plain name", field=f"{name}_tag")
        _distinct(self.tags, "tags")
        ids = (self.observation_prefix, *self.claim_prefixes)
        if len(self.claim_prefixes) != 2 or not all(
            isinstance(p, str) and _PREFIX.fullmatch(p) for p in ids
        ):
            raise AlignlabError(
                "id prefixes must be ASCII letters, two claim prefixes", field="claim_prefixes"
            )
        _distinct(ids, "claim_prefixes")
        if len(self.labels) != 2 or not all(
            isinstance(x, str) and x and x.strip() == x and not any(c.isspace() for c in x)
            for x in self.labels
        ):
            raise AlignlabError("two labels without whitespace are needed", field="labels")
        _distinct(self.labels, "labels")

    @property
    def tags(self) -> tuple[str, str, str, str, str]:
        """The tag names in section order (:data:`SECTIONS`)."""
        return (
            self.observations_tag,
            self.claims_tag,
            self.verification_tag,
            self.evaluation_tag,
            self.verdict_tag,
        )

    def label(self, position: Position) -> str:
        return self.labels[POSITIONS.index(position)]

    def claim_id(self, response: Position, number: int) -> str:
        return f"[{self.claim_prefixes[POSITIONS.index(response)]}{number}]"


def _distinct(values: Sequence[str], where: str) -> None:
    folded = [v.casefold() for v in values]
    if len(set(folded)) != len(folded):
        raise AlignlabError(f"{list(values)} repeat a name (case is ignored)", field=where)


DEFAULT_FORMAT = ChainFormat()


@dataclass(frozen=True)
class Observation:
    """``[O<number>] (image <image>) <text>``; ``image`` is 1-based, ``None`` when unstated."""

    number: int
    text: str
    image: int | None = None


@dataclass(frozen=True)
class Claim:
    """``[A<number>] <text>``: something response ``response`` asserts."""

    response: Position
    number: int
    text: str


@dataclass(frozen=True)
class Verification:
    """``[A<claim>] <status> by [O<c>], ...: <note>``: claim ``claim`` of ``response`` checked
    against the cited observation numbers (``supported``/``contradicted`` need at least one)."""

    response: Position
    claim: int
    status: Status
    cites: tuple[int, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class Chain:
    """A whole chain as data; ``verdict`` ``None`` means none was given (or it was unreadable)."""

    observations: tuple[Observation, ...] = ()
    claims: tuple[Claim, ...] = ()
    verifications: tuple[Verification, ...] = ()
    evaluation: str = ""
    verdict: Position | None = None


@functools.lru_cache(maxsize=64)
def tag_pattern(fmt: ChainFormat) -> re.Pattern[str]:
    """Any of ``fmt``'s tags, opening or closing, as the parser finds them: case-insensitive,
    spaces allowed inside the brackets (``< /Claims >``). Groups: the slash, then one per tag in
    section order (a match's ``lastindex - 2`` is its section's index)."""
    tags = "|".join(f"({re.escape(t)})" for t in fmt.tags)
    return re.compile(rf"<\s*(/?)\s*(?:{tags})\s*>", re.IGNORECASE | re.ASCII)


def _check_text(text: str, fmt: ChainFormat, where: str, *, one_line: bool = True) -> str:
    if not isinstance(text, str):
        raise AlignlabError(f"expected text, got {type(text).__name__}", field=where)
    if one_line and text.splitlines() not in ([], [text]):
        raise AlignlabError("one line expected; the text has a line break", field=where)
    if tag_pattern(fmt).search(text):
        raise AlignlabError("the text contains one of the chain's tags", field=where)
    return text


def _check_number(n: int, where: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n < 10**9:
        raise AlignlabError(f"id number {n!r} must be an int from 1 to 999999999", field=where)
    return n


def _observation_line(o: Observation, fmt: ChainFormat, i: int) -> str:
    where = f"observations[{i}]"
    head = f"[{fmt.observation_prefix}{_check_number(o.number, where)}]"
    text = _check_text(o.text, fmt, where)
    if o.image is not None:
        head += f" (image {_check_number(o.image, where + '.image')})"
    elif _IMAGE_NOTE.match(text.lstrip()):
        raise AlignlabError(
            "text starting '(image k' or 'image k:' reads as its image", field=where
        )
    return f"{head} {text}" if text else head


def _verification_line(v: Verification, fmt: ChainFormat, i: int) -> str:
    where = f"verifications[{i}]"
    if v.response not in POSITIONS or v.status not in STATUSES:
        raise AlignlabError(f"bad response {v.response!r} or status {v.status!r}", field=where)
    line = f"{fmt.claim_id(v.response, _check_number(v.claim, where))} {v.status}"
    if v.cites:
        line += " by " + ", ".join(
            f"[{fmt.observation_prefix}{_check_number(c, where + '.cites')}]" for c in v.cites
        )
    note = _check_text(v.note, fmt, where + ".note")
    return f"{line}: {note}" if note else line


def render_chain(chain: Chain, fmt: ChainFormat = DEFAULT_FORMAT) -> str:
    """``chain`` as text in ``fmt`` (a gold chain for SFT, a prompt's example).

    Item texts are one line each and no text may contain one of the format's tags; the parser
    strips whitespace around texts, so texts with leading or trailing spaces do not round-trip.

    Raises:
        AlignlabError: a text with a line break or a tag, an id number below 1, an unknown
            position or status (``field`` says which item).
    """
    obs = [_observation_line(o, fmt, i) for i, o in enumerate(chain.observations)]
    claims = []
    for i, c in enumerate(chain.claims):
        where = f"claims[{i}]"
        if c.response not in POSITIONS:
            raise AlignlabError(f"bad response {c.response!r}", field=where)
        text = _check_text(c.text, fmt, where)
        head = fmt.claim_id(c.response, _check_number(c.number, where))
        claims.append(f"{head} {text}" if text else head)
    ver = [_verification_line(v, fmt, i) for i, v in enumerate(chain.verifications)]
    evaluation = _check_text(chain.evaluation, fmt, "evaluation", one_line=False)
    verdict = "" if chain.verdict is None else fmt.label(chain.verdict)
    t = fmt.tags
    blocks = [
        f"<{tag}>\n" + "".join(x + "\n" for x in lines) + f"</{tag}>"
        for tag, lines in zip(t[:3], (obs, claims, ver), strict=True)
    ]
    blocks.append(f"<{t[3]}>\n{evaluation}\n</{t[3]}>")
    blocks.append(f"<{t[4]}>{verdict}</{t[4]}>")
    return "\n".join(blocks)


_EXAMPLE = Chain(
    observations=(
        Observation(1, "{what image 1 shows: objects, text, counts, colours}", 1),
        Observation(2, "{another detail of image 1, or one of image 2}", 1),
    ),
    claims=(
        Claim("A", 1, "{a checkable assertion of the first response}"),
        Claim("B", 1, "{a checkable assertion of the second response}"),
    ),
    verifications=(
        Verification("A", 1, "supported", (1,), "{why}"),
        Verification("B", 1, "contradicted", (2,), "{why}"),
    ),
    evaluation="{weigh the verified claims against the rubric}",
    verdict="A",
)


def _instructions(fmt: ChainFormat, n_images: int) -> str:
    o, (pa, pb), (la, lb) = fmt.observation_prefix, fmt.claim_prefixes, fmt.labels
    t = fmt.tags
    images = (
        f"There are {n_images} images, numbered 1 to {n_images} in the order shown."
        if n_images
        else "There are no images; observe the prompt's text instead."
    )
    example = render_chain(_EXAMPLE, fmt)
    return (
        f"You judge which of two responses, {la} and {lb}, is better.\n{fmt.rubric}\n\n"
        f"{images}\nWrite a grounded verification chain in exactly this order:\n"
        f"1. <{t[0]}>: one line per visible fact, [{o}1], [{o}2], ..., each naming its image "
        f"as (image k).\n"
        f"2. <{t[1]}>: one line per checkable assertion, [{pa}1], [{pa}2], ... for response "
        f"{la} and [{pb}1], ... for response {lb}.\n"
        f"3. <{t[2]}>: one line per claim: its id, then 'supported by' or 'contradicted by' "
        f"with the observation ids it rests on, or 'unverifiable'; a reason may follow ':'.\n"
        f"4. <{t[3]}>: weigh the verified claims.\n"
        f"5. <{t[4]}>: only {la} or {lb}.\n"
        f"Close every tag. The format, with placeholders in braces:\n{example}"
    )


def _numbered(segments: Sequence[Segment], counter: list[int]) -> list[Segment]:
    out: list[Segment] = []
    for seg in segments:
        is_text = isinstance(seg, str) or (isinstance(seg, dict) and seg.get("type") == "text")
        if not is_text:
            counter[0] += 1
            out.append(f"\n[image {counter[0]}]\n")
        out.append(seg)
    return out


def _pair_message(
    prompt: str | Sequence[Segment],
    response_a: str | Sequence[Segment],
    response_b: str | Sequence[Segment],
    fmt: ChainFormat,
    closing: str,
) -> tuple[Message, int]:
    counter = [0]
    parts: list[Segment] = ["Prompt:\n"]
    for header, segs in ((None, prompt), (fmt.labels[0], response_a), (fmt.labels[1], response_b)):
        if header is not None:
            parts.append(f"\n\nResponse {header}:\n")
        parts += _numbered([segs] if isinstance(segs, str) else list(segs), counter)
    parts.append(f"\n\n{closing}")
    merged: list[Segment] = []
    for seg in parts:  # adjacent texts as one part
        if isinstance(seg, str) and merged and isinstance(merged[-1], str):
            merged[-1] += seg
        else:
            merged.append(seg)
    return user_message(*merged), counter[0]


def chain_messages(
    prompt: str | Sequence[Segment],
    response_a: str | Sequence[Segment],
    response_b: str | Sequence[Segment],
    *,
    n_images: int | None = None,
    fmt: ChainFormat = DEFAULT_FORMAT,
) -> list[Message]:
    """Chat messages asking for a grounded verification chain on one ordered pair.

    ``prompt`` and the responses are a text or segments (text, image content parts from
    :func:`alignlab.models.image_part`, or image paths / PIL images); each image is preceded by
    an ``[image k]`` label, numbered across prompt and responses, so observations can name it.
    ``n_images`` is the count the instructions state (default: the images among the segments).
    For the reverse order, call it again with the responses swapped.
    """
    user, counted = _pair_message(
        prompt,
        response_a,
        response_b,
        fmt,
        f"Write the chain now, starting with <{fmt.observations_tag}>.",
    )
    system = _instructions(fmt, counted if n_images is None else n_images)
    return [{"role": "system", "content": system}, user]


def baseline_messages(
    prompt: str | Sequence[Segment],
    response_a: str | Sequence[Segment],
    response_b: str | Sequence[Segment],
    *,
    fmt: ChainFormat = DEFAULT_FORMAT,
) -> list[Message]:
    """The plain "which is better" prompt beside the chain, for comparison: the same rubric and
    pair, and only ``<verdict>A</verdict>`` asked for (parsed by ``parse_verdict``)."""
    la, lb, v = fmt.labels[0], fmt.labels[1], fmt.verdict_tag
    system = (
        f"You judge which of two responses, {la} and {lb}, is better.\n{fmt.rubric}\n\n"
        f"Answer with only <{v}>{la}</{v}> or <{v}>{lb}</{v}>."
    )
    user, _ = _pair_message(prompt, response_a, response_b, fmt, f"Which is better, {la} or {lb}?")
    return [{"role": "system", "content": system}, user]
