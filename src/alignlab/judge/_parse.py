"""Reading a judge's output: a parser that never raises on model output.

:func:`parse_chain` returns the chain it could read (a :class:`Chain`), each section's text, the
verdict and every :class:`FormatError`; :func:`parse_verdict` reads only the verdict, the same
way (the baseline prompt's answers go through it too). Error codes:

- structure: ``missing-tag`` (a section never opened), ``unclosed-tag`` (opened, never closed:
  its text runs to the next tag or the end), ``duplicate-tag`` (opened twice: the first counts;
  two verdicts make the verdict unreadable), ``misordered-tag`` (a section outside the longest
  run of sections in the right order), ``empty-section``, ``bad-line`` (a line in observations,
  claims or verification that is not one item), ``bad-verdict`` (not one of the labels);
- grounding: ``uncited-verification`` (supported/contradicted without an observation id),
  ``unknown-observation`` (a citation of an observation that does not exist),
  ``unknown-claim`` (a verification of a claim that does not exist), ``unverified-claim``,
  ``duplicate-id``, ``unknown-image`` (an image number above ``n_images``, when given).

Two scores summarise them, each in ``[0, 1]``: ``structure`` = the share of the five sections
present once, closed, non-empty (the verdict readable) and in order; ``grounding`` = grounded
claims / (claims + verification lines of unknown claims), where a claim is grounded when it
has a verification line and each of its lines cites only existing observations (of existing
images, when ``n_images`` is given) and, unless ``unverifiable``, at least one. No claims:
grounding 0.

:func:`completion_text` turns a TRL completion (a str or a list of messages) into the text
these read.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypeVar

from alignlab.judge._chain import (
    DEFAULT_FORMAT,
    POSITIONS,
    SECTIONS,
    STATUSES,
    Chain,
    ChainFormat,
    Claim,
    Observation,
    Position,
    Status,
    Verification,
    tag_pattern,
)

ErrorCode = Literal[
    "missing-tag", "unclosed-tag", "duplicate-tag", "misordered-tag", "empty-section",
    "bad-line", "bad-verdict", "uncited-verification", "unknown-observation", "unknown-claim",
    "unverified-claim", "duplicate-id", "unknown-image",
]  # fmt: skip
_FLAGS = re.IGNORECASE | re.ASCII
_K = TypeVar("_K")
_STATUS: dict[str, Status] = {s: s for s in STATUSES}
_NUM = r"([0-9]{1,9})"  # bounded: int() of thousands of digits raises


@dataclass(frozen=True)
class FormatError:
    """One way the output breaks the format: ``code`` (see the module docstring), the section
    it is in, and a short detail (an id, a line)."""

    code: ErrorCode
    section: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.code} in {self.section}" + (f": {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class ParsedChain:
    """What :func:`parse_chain` read. ``sections``: section name (:data:`SECTIONS`) → its text,
    stripped, for the sections found; ``structure`` and ``grounding`` in ``[0, 1]``."""

    chain: Chain
    sections: dict[str, str]
    errors: tuple[FormatError, ...]
    structure: float
    grounding: float

    @property
    def verdict(self) -> Position | None:
        return self.chain.verdict

    @property
    def ok(self) -> bool:
        return not self.errors


def completion_text(completion: object) -> str:
    """The text of one completion: a str as is; in a list of messages, the assistant messages'
    text (str content or text parts) joined; anything else ``""``."""
    if isinstance(completion, str):
        return completion
    if not isinstance(completion, list | tuple):
        return ""
    out = []
    for m in completion:
        if not isinstance(m, Mapping) or m.get("role", "assistant") != "assistant":
            continue
        content = m.get("content")
        if isinstance(content, str):
            out.append(content)
        elif isinstance(content, list):
            parts = [p for p in content if isinstance(p, Mapping) and p.get("type") == "text"]
            out += [p["text"] for p in parts if isinstance(p.get("text"), str)]
    return "".join(out)


@dataclass(frozen=True)
class _Patterns:
    tag: re.Pattern[str]
    verdict: re.Pattern[str]
    observation: re.Pattern[str]
    claim: re.Pattern[str]
    verification: re.Pattern[str]
    cite: re.Pattern[str]
    claim_side: dict[str, Position]
    labels: dict[str, Position]


@functools.lru_cache(maxsize=64)
def _patterns(fmt: ChainFormat) -> _Patterns:
    v = re.escape(fmt.verdict_tag)
    o = re.escape(fmt.observation_prefix)
    sides = "|".join(re.escape(p) for p in fmt.claim_prefixes)
    statuses = "|".join(("supported", "contradicted", "unverifiable"))
    return _Patterns(
        tag=tag_pattern(fmt),
        verdict=re.compile(rf"<\s*(/?)\s*{v}\s*>", _FLAGS),
        observation=re.compile(
            rf"\[{o}{_NUM}\]\s*(?:\(\s*image\s*{_NUM}\s*\)|image\s*{_NUM}\s*:)?\s*(.*)",
            _FLAGS | re.DOTALL,
        ),
        claim=re.compile(rf"\[({sides}){_NUM}\]\s*(.*)", _FLAGS | re.DOTALL),
        verification=re.compile(
            rf"\[({sides}){_NUM}\]\s*({statuses})\b"
            rf"(?:\s*by\s*((?:\[{o}[0-9]{{1,9}}\]\s*(?:(?:,|and\b|&)\s*)?)+))?"
            r"\s*(?:[:\-\u2014]\s*)?(.*)",
            _FLAGS | re.DOTALL,
        ),
        cite=re.compile(rf"\[{o}{_NUM}\]", _FLAGS),
        claim_side={  # as written, and folded for mixed case
            key: s
            for p, s in zip(fmt.claim_prefixes, POSITIONS, strict=True)
            for key in (p, p.upper(), p.lower(), p.casefold())
        },
        labels={x.casefold(): s for x, s in zip(fmt.labels, POSITIONS, strict=True)},
    )


def parse_verdict(
    text: str, fmt: ChainFormat = DEFAULT_FORMAT
) -> tuple[Position | None, tuple[FormatError, ...]]:
    """The verdict in ``text`` and why it is ``None`` when it is.

    The verdict section must be closed and hold exactly one label (case and surrounding
    whitespace ignored); two verdict sections make it unreadable. Never raises; a non-str
    ``text`` reads as empty.
    """
    if not isinstance(text, str):
        text = ""
    pats = _patterns(fmt)
    found: list[str] = []
    body_at = -1  # where the open verdict's text starts; -1: none open
    for m in pats.verdict.finditer(text):  # one pass: a regex for open..close is quadratic
        if not m.group(1):  # on junk with thousands of unclosed tags
            body_at = m.end() if body_at < 0 else body_at
        elif body_at >= 0:
            found.append(text[body_at : m.start()])
            body_at = -1
    section = fmt.verdict_tag
    if len(found) == 1:
        verdict = pats.labels.get(found[0].strip().casefold())
        if verdict is not None:
            return verdict, ()
        return None, (FormatError("bad-verdict", section, found[0].strip()[:40]),)
    if len(found) > 1:
        return None, (FormatError("duplicate-tag", section, f"{len(found)} verdicts"),)
    if body_at >= 0:
        return None, (FormatError("unclosed-tag", section),)
    return None, (FormatError("missing-tag", section),)


def _longest_in_order(found: list[int]) -> set[int]:
    """The largest set of section indices whose appearance order is their canonical order."""
    best: list[list[int]] = []  # best[k]: the longest in-order run ending with found[k]
    longest: list[int] = []
    for k, idx in enumerate(found):
        run: list[int] = []
        for j in range(k):
            if found[j] < idx and len(best[j]) > len(run):
                run = best[j]
        best.append(run + [idx])
        longest = best[-1] if len(best[-1]) > len(longest) else longest
    return set(longest)


# every section opened and closed once, in order: the common case, read without checks
_CANONICAL = [(closing, idx) for idx in range(len(SECTIONS)) for closing in (False, True)]


def _sections(
    text: str, pats: _Patterns, fmt: ChainFormat, errors: list[FormatError]
) -> tuple[dict[int, str], set[int]]:
    """Section index → body, and the indices well-formed as far as tags go."""
    events = [(m.start(), m.end(), m.group(1) == "/", m.lastindex - 2)  # type: ignore[operator]
              for m in pats.tag.finditer(text)]  # fmt: skip
    if [(e[2], e[3]) for e in events] == _CANONICAL:
        bodies = {i: text[events[2 * i][1] : events[2 * i + 1][0]].strip() for i in range(5)}
        errors += [FormatError("empty-section", fmt.tags[i]) for i, b in bodies.items() if not b]
        return bodies, {i for i, b in bodies.items() if b}
    opens: dict[int, list[tuple[int, int]]] = {}
    closes: dict[int, list[int]] = {}
    for start, end, closing, idx in events:
        if closing:
            closes.setdefault(idx, []).append(start)
        else:
            opens.setdefault(idx, []).append((start, end))
    bodies, good, starts = {}, set(), []
    for idx, tag in enumerate(fmt.tags):
        if idx not in opens:
            errors.append(FormatError("missing-tag", tag))
            continue
        (start, end), n_open = opens[idx][0], len(opens[idx])
        starts.append((start, idx))
        if n_open > 1:
            errors.append(FormatError("duplicate-tag", tag, f"opened {n_open} times"))
        stop = next((c for c in closes.get(idx, ()) if c >= end), None)
        closed = stop is not None
        if stop is None:
            errors.append(FormatError("unclosed-tag", tag))
            stop = next((e[0] for e in events if e[0] >= end), len(text))
        bodies[idx] = text[end:stop].strip()
        if not bodies[idx]:
            errors.append(FormatError("empty-section", tag))
        if n_open == 1 and closed and bodies[idx]:
            good.add(idx)
    in_order = _longest_in_order([idx for _, idx in sorted(starts)])
    for _, idx in starts:
        if idx not in in_order:
            errors.append(FormatError("misordered-tag", fmt.tags[idx]))
    return bodies, good & in_order


def _lines(body: str) -> list[str]:
    return [s for s in (line.strip() for line in body.splitlines()) if s]


def _observations(
    body: str, pats: _Patterns, tag: str, n_images: int | None, errors: list[FormatError]
) -> tuple[Observation, ...]:
    out = []
    for line in _lines(body):
        m = pats.observation.fullmatch(line)
        if m is None:
            errors.append(FormatError("bad-line", tag, line[:60]))
            continue
        number, in_brackets, with_colon, text = m.groups()
        shown = in_brackets or with_colon
        image = int(shown) if shown else None
        if image is not None and n_images is not None and not 1 <= image <= n_images:
            errors.append(FormatError("unknown-image", tag, f"image {image}"))
        out.append(Observation(int(number), text.strip(), image))
    return tuple(out)


def _claims(body: str, pats: _Patterns, tag: str, errors: list[FormatError]) -> tuple[Claim, ...]:
    out = []
    for line in _lines(body):
        m = pats.claim.fullmatch(line)
        if m is None:
            errors.append(FormatError("bad-line", tag, line[:60]))
            continue
        prefix, number, text = m.groups()
        side = pats.claim_side.get(prefix) or pats.claim_side[prefix.casefold()]
        out.append(Claim(side, int(number), text.strip()))
    return tuple(out)


def _verifications(
    body: str, pats: _Patterns, tag: str, errors: list[FormatError]
) -> tuple[Verification, ...]:
    out = []
    for line in _lines(body):
        m = pats.verification.fullmatch(line)
        if m is None:
            errors.append(FormatError("bad-line", tag, line[:60]))
            continue
        prefix, number, status, cited, note = m.groups()
        side = pats.claim_side.get(prefix) or pats.claim_side[prefix.casefold()]
        cites = tuple(map(int, pats.cite.findall(cited))) if cited else ()
        out.append(Verification(side, int(number), _STATUS[status.lower()], cites, note.strip()))
    return tuple(out)


def _duplicates(keys: list[_K]) -> list[_K]:
    return [k for k, n in Counter(keys).items() if n > 1]


def _verification_ok(
    v: Verification,
    known: bool,
    observed: set[int],
    seen: set[int],
    fmt: ChainFormat,
    errors: list[FormatError],
) -> bool:
    """Whether one verification line is grounded; its errors go to ``errors``."""
    ok = known
    tag = fmt.verification_tag
    if not known:
        errors.append(FormatError("unknown-claim", tag, fmt.claim_id(v.response, v.claim)))
    if not v.cites and v.status != "unverifiable":
        ok = False
        errors.append(FormatError("uncited-verification", tag, fmt.claim_id(v.response, v.claim)))
    for c in v.cites:
        if c not in seen:
            ok = False
            if c not in observed:
                cid = fmt.claim_id(v.response, v.claim)
                detail = f"{cid} [{fmt.observation_prefix}{c}]"
                errors.append(FormatError("unknown-observation", tag, detail))
    return ok


def _grounding(
    chain: Chain, fmt: ChainFormat, n_images: int | None, errors: list[FormatError]
) -> float:
    observed = {o.number for o in chain.observations}
    seen = {  # what a citation can rest on: observations of images that exist
        o.number
        for o in chain.observations
        if o.image is None or n_images is None or 1 <= o.image <= n_images
    }
    if len(observed) < len(chain.observations):
        for n in _duplicates([o.number for o in chain.observations]):
            detail = f"[{fmt.observation_prefix}{n}]"
            errors.append(FormatError("duplicate-id", fmt.observations_tag, detail))
    claims = [(c.response, c.number) for c in chain.claims]
    grounded: dict[tuple[Position, int], bool] = dict.fromkeys(claims, False)
    if len(grounded) < len(claims):
        for r, n in _duplicates(claims):
            errors.append(FormatError("duplicate-id", fmt.claims_tag, fmt.claim_id(r, n)))
    checked: set[tuple[Position, int]] = set()
    unknown = 0
    for v in chain.verifications:
        key = (v.response, v.claim)
        known = key in grounded
        ok = _verification_ok(v, known, observed, seen, fmt, errors)
        if not known:
            unknown += 1
        elif key in checked:
            grounded[key] = grounded[key] and ok
        else:
            grounded[key] = ok
            checked.add(key)
    for key in grounded:
        if key not in checked:
            errors.append(FormatError("unverified-claim", fmt.verification_tag, fmt.claim_id(*key)))
    total = len(grounded) + unknown
    return sum(grounded.values()) / total if total else 0.0


def parse_chain(
    text: str, fmt: ChainFormat = DEFAULT_FORMAT, *, n_images: int | None = None
) -> ParsedChain:
    """Read a grounded verification chain from model output; never raises.

    Sections are found by their tags anywhere in ``text`` (text outside them is ignored);
    observations, claims and verification hold one item per line. ``n_images``, when given,
    flags observations of images that do not exist. A non-str ``text`` reads as empty.
    """
    if not isinstance(text, str):
        text = ""
    pats = _patterns(fmt)
    errors: list[FormatError] = []
    bodies, good = _sections(text, pats, fmt, errors)
    tags = fmt.tags
    obs = _observations(bodies.get(0, ""), pats, tags[0], n_images, errors)
    claims = _claims(bodies.get(1, ""), pats, tags[1], errors)
    vers = _verifications(bodies.get(2, ""), pats, tags[2], errors)
    verdict, verdict_errors = parse_verdict(text, fmt)
    if 4 in bodies:  # a missing or unclosed verdict section is already reported
        errors.extend(e for e in verdict_errors if e.code == "bad-verdict")
    if verdict is None:
        good.discard(4)
    chain = Chain(obs, claims, vers, bodies.get(3, ""), verdict)
    grounding = _grounding(chain, fmt, n_images, errors)
    sections = {SECTIONS[i]: body for i, body in bodies.items()}
    return ParsedChain(chain, sections, tuple(errors), len(good) / len(SECTIONS), grounding)
