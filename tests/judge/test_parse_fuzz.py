"""Properties of the parser: it never raises on arbitrary or truncated output, and it reads back
every structure the renderer writes (``parse_chain(render_chain(c)).chain == c``), under the
default format and generated ones."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alignlab.core import AlignlabError
from alignlab.judge._chain import (
    POSITIONS,
    STATUSES,
    Chain,
    ChainFormat,
    Claim,
    Observation,
    Verification,
    render_chain,
)
from alignlab.judge._parse import ParsedChain, parse_chain, parse_verdict

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DEFAULT = ChainFormat()
TAGS = DEFAULT.tags

# texts as a model writes them: words, punctuation, brackets and ids, one line, no tags
WORD = st.sampled_from(
    ["the", "red", "circle", "[O1]", "[A2]", "(image 2)", "by", "supported", ":", "—", "<", ">",
     "ünïcode", "3", "and", ",", "image", "A", "b", "'quoted'", "x>y", "</", "&"]
)  # fmt: skip
TEXT = st.lists(WORD, min_size=1, max_size=8).map(" ".join)
NUM = st.integers(1, 40)


def _renders(fmt: ChainFormat, chain: Chain) -> bool:
    try:
        render_chain(chain, fmt)
    except AlignlabError:  # what the renderer refuses is not generated
        return False
    return True


def _ok(fmt: ChainFormat, text: str) -> bool:
    return text == text.strip() and _renders(fmt, Chain(claims=(Claim("A", 1, text),)))


@st.composite
def formats(draw: st.DrawFn) -> ChainFormat:
    if draw(st.booleans()):
        return DEFAULT
    names = draw(st.lists(st.from_regex(r"[a-z][a-z_-]{0,8}", fullmatch=True), min_size=5,
                          max_size=5, unique_by=str.casefold))  # fmt: skip
    prefixes = draw(st.lists(st.from_regex(r"[A-Za-z]{1,3}", fullmatch=True), min_size=3,
                             max_size=3, unique_by=str.casefold))  # fmt: skip
    labels = draw(st.lists(st.from_regex(r"[A-Za-z0-9]{1,6}", fullmatch=True), min_size=2,
                           max_size=2, unique_by=str.casefold))  # fmt: skip
    tags = dict(zip(("observations_tag", "claims_tag", "verification_tag", "evaluation_tag",
                     "verdict_tag"), names, strict=True))  # fmt: skip
    return ChainFormat(
        **tags,
        observation_prefix=prefixes[0],
        claim_prefixes=(prefixes[1], prefixes[2]),
        labels=(labels[0], labels[1]),
    )


@st.composite
def chains(draw: st.DrawFn, fmt: ChainFormat) -> Chain:
    """Any structure the renderer accepts: ids may repeat and cite nothing that exists."""
    text = TEXT.filter(lambda t: _ok(fmt, t))
    obs = draw(st.lists(st.builds(Observation, NUM, text, st.none() | st.integers(1, 5)).filter(
        lambda o: _renders(fmt, Chain(observations=(o,)))), max_size=5))  # fmt: skip
    claims = draw(st.lists(st.builds(Claim, st.sampled_from(POSITIONS), NUM, text), max_size=5))
    vers = draw(st.lists(st.builds(
        Verification, st.sampled_from(POSITIONS), NUM, st.sampled_from(STATUSES),
        st.lists(NUM, max_size=3).map(tuple), st.just("") | text), max_size=6))  # fmt: skip
    evaluation = draw(st.lists(text, max_size=3).map("\n".join))
    verdict = draw(st.none() | st.sampled_from(POSITIONS))
    return Chain(tuple(obs), tuple(claims), tuple(vers), evaluation, verdict)


@st.composite
def valid_chains(draw: st.DrawFn) -> Chain:
    """Well-formed, fully grounded chains: unique ids, every claim verified against existing
    observations."""
    n_obs = draw(st.integers(1, 6))
    obs = tuple(Observation(i + 1, draw(TEXT), draw(st.integers(1, 3))) for i in range(n_obs))
    claims, vers = [], []
    for side in POSITIONS:
        for k in range(1, draw(st.integers(0, 3)) + 1):
            claims.append(Claim(side, k, draw(TEXT)))
            status = draw(st.sampled_from(STATUSES))
            cites = draw(st.lists(st.integers(1, n_obs), min_size=1, max_size=3).map(tuple))
            vers.append(Verification(side, k, status, cites, draw(st.just("") | TEXT)))
    claims = claims or [Claim("A", 1, "a claim")]
    vers = vers or [Verification("A", 1, "unverifiable")]
    evaluation = draw(TEXT.filter(lambda t: _ok(DEFAULT, t)))
    return Chain(obs, tuple(claims), tuple(draw(st.permutations(vers))), evaluation,
                 draw(st.sampled_from(POSITIONS)))  # fmt: skip


def _invariants(p: ParsedChain, text: str, fmt: ChainFormat = DEFAULT) -> None:
    assert isinstance(p, ParsedChain)
    assert 0.0 <= p.structure <= 1.0 and 0.0 <= p.grounding <= 1.0
    assert p.ok == (not p.errors)
    assert p.verdict == parse_verdict(text, fmt)[0]
    if p.ok:
        assert p.structure == 1.0 and p.grounding == 1.0
    assert set(p.sections) <= {"observations", "claims", "verification", "evaluation", "verdict"}


@FUZZ
@given(st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    p = parse_chain(text, n_images=2)
    _invariants(p, text)
    assert not p.ok  # nothing without tags is a chain


TAG_SOUP = st.lists(
    st.sampled_from([f"<{t}>" for t in TAGS] + [f"</{t}>" for t in TAGS]
                    + ["\n", "[O1] (image 1) x", "[A1] y", "[B2] z", "[A1] supported by [O1]",
                       "[B2] contradicted by [O9]", "A", "b", " ", "[O99999999999] q", "<"])
).map("".join)  # fmt: skip


@FUZZ
@given(TAG_SOUP)
def test_tag_soup_never_raises(text: str) -> None:
    _invariants(parse_chain(text), text)


@FUZZ
@given(valid_chains(), st.data())
def test_truncated_outputs_never_raise_and_lose_the_verdict(chain: Chain, data: st.DataObject
                                                            ) -> None:  # fmt: skip
    text = render_chain(chain)
    cut = data.draw(st.integers(0, len(text) - 1))
    p = parse_chain(text[:cut])
    _invariants(p, text[:cut])
    assert p.verdict is None and not p.ok


@FUZZ
@given(valid_chains(), st.data())
def test_inserted_junk_never_raises(chain: Chain, data: st.DataObject) -> None:
    text = render_chain(chain)
    at = data.draw(st.integers(0, len(text)))
    noisy = text[:at] + data.draw(st.text(max_size=30) | TAG_SOUP) + text[at:]
    _invariants(parse_chain(noisy), noisy)


@FUZZ
@given(st.data())
def test_render_then_parse_round_trips(data: st.DataObject) -> None:
    fmt = data.draw(formats())
    chain = data.draw(chains(fmt))
    text = render_chain(chain, fmt)
    p = parse_chain(text, fmt)
    assert p.chain == chain
    assert not any(e.code == "bad-line" for e in p.errors)
    _invariants(p, text, fmt)


@FUZZ
@given(valid_chains())
def test_valid_chains_parse_without_errors(chain: Chain) -> None:
    p = parse_chain(render_chain(chain), n_images=3)
    assert p.errors == ()
    assert (p.chain, p.structure, p.grounding) == (chain, 1.0, 1.0)
