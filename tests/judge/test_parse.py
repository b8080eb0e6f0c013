"""The chain's text format, its renderer, the prompts and the parser on hand-written outputs."""

from __future__ import annotations

import pytest

from alignlab.core import AlignlabError
from alignlab.judge._chain import (
    Chain,
    ChainFormat,
    Claim,
    Observation,
    Verification,
    baseline_messages,
    chain_messages,
    render_chain,
)
from alignlab.judge._parse import completion_text, parse_chain, parse_verdict
from alignlab.models import image_part

CHAIN = Chain(
    observations=(
        Observation(1, "Three red circles.", 1),
        Observation(2, "A sign reading OPEN.", 2),
    ),
    claims=(
        Claim("A", 1, "There are three circles."),
        Claim("A", 2, "The sign says OPEN."),
        Claim("B", 1, "The circles are blue."),
    ),
    verifications=(
        Verification("A", 1, "supported", (1,)),
        Verification("A", 2, "supported", (2,), "the sign is legible"),
        Verification("B", 1, "contradicted", (1, 2), "they are red"),
    ),
    evaluation="A is right on both counts; B gets the colour wrong.",
    verdict="A",
)
GOLDEN = """<observations>
[O1] (image 1) Three red circles.
[O2] (image 2) A sign reading OPEN.
</observations>
<claims>
[A1] There are three circles.
[A2] The sign says OPEN.
[B1] The circles are blue.
</claims>
<verification>
[A1] supported by [O1]
[A2] supported by [O2]: the sign is legible
[B1] contradicted by [O1], [O2]: they are red
</verification>
<evaluation>
A is right on both counts; B gets the colour wrong.
</evaluation>
<verdict>A</verdict>"""
PIXEL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwAB"
    "BAEAwS2OUAAAAABJRU5ErkJggg=="
)


def codes(text: str, **kw: object) -> list[str]:
    return [e.code for e in parse_chain(text, **kw).errors]  # type: ignore[arg-type]


def test_render_writes_the_golden_text_and_parses_back_clean() -> None:
    assert render_chain(CHAIN) == GOLDEN
    p = parse_chain(GOLDEN, n_images=2)
    assert p.chain == CHAIN
    assert p.errors == () and p.ok
    assert (p.structure, p.grounding, p.verdict) == (1.0, 1.0, "A")
    assert p.sections["evaluation"] == CHAIN.evaluation
    assert p.sections["verdict"] == "A"


def test_tolerant_reading_of_case_spacing_and_surrounding_text() -> None:
    text = (
        "Let me look.\n< Observations >\n  [o1]   (Image 1)  Three red circles.  \n\n"
        "</OBSERVATIONS>\n<claims>\n[a1] Three.\n</ claims>\n<Verification>\n"
        "[A1] SUPPORTED by [O1] and [O1]\n</verification>\n<evaluation>fine</evaluation>\n"
        "<verdict>\n  b \n</verdict> trailing words"
    )
    p = parse_chain(text)
    assert p.errors == ()
    assert p.chain.observations == (Observation(1, "Three red circles.", 1),)
    assert p.chain.verifications == (Verification("A", 1, "supported", (1, 1)),)
    assert p.verdict == "B"


def test_observations_may_name_their_image_as_image_k_colon() -> None:
    p = parse_chain("<observations>\n[O3] Image 2: a cat.\n</observations>", n_images=1)
    assert p.chain.observations == (Observation(3, "a cat.", 2),)
    assert "unknown-image" in [e.code for e in p.errors]


def test_missing_unclosed_and_empty_sections() -> None:
    assert codes("no tags at all") == ["missing-tag"] * 5
    p = parse_chain("<observations>\n[O1] x\n<claims>\n[A1] y\n</claims>")
    assert [(e.code, e.section) for e in p.errors][:4] == [
        ("unclosed-tag", "observations"),
        ("missing-tag", "verification"),
        ("missing-tag", "evaluation"),
        ("missing-tag", "verdict"),
    ]
    assert p.chain.observations == (Observation(1, "x"),)  # the unclosed body stops at <claims>
    assert p.structure == pytest.approx(1 / 5)  # only claims is whole
    assert "empty-section" in codes(GOLDEN.replace(CHAIN.evaluation, " \n "))


def test_misordered_and_duplicate_sections() -> None:
    verdict_first = "<verdict>A</verdict>\n" + GOLDEN.removesuffix("<verdict>A</verdict>")
    p = parse_chain(verdict_first)
    assert [e.code for e in p.errors] == ["misordered-tag"]  # the longest in-order run wins
    assert p.errors[0].section == "verdict"
    assert p.structure == pytest.approx(4 / 5)
    assert p.chain == CHAIN  # misplaced sections are still read
    dup = parse_chain(GOLDEN + "\n<evaluation>\nagain\n</evaluation>")
    assert [e.code for e in dup.errors] == ["duplicate-tag"]
    assert dup.chain.evaluation == CHAIN.evaluation  # the first one counts


def test_bad_lines_and_grounding_errors() -> None:
    text = GOLDEN.replace("[A2] supported by [O2]: the sign", "[A2] supported by the sign")
    text = text.replace("[B1] contradicted by [O1], [O2]", "[B1] contradicted by [O7]")
    text = text.replace("[A1] There are three circles.", "A1 There are three circles.")
    text = text.replace("</verification>", "[B9] unverifiable\nnot an item\n</verification>")
    p = parse_chain(text)
    assert sorted(str(e) for e in p.errors) == sorted(
        [
            "bad-line in claims: A1 There are three circles.",
            "bad-line in verification: not an item",
            "unknown-claim in verification: [A1]",
            "unknown-claim in verification: [B9]",
            "uncited-verification in verification: [A2]",
            "unknown-observation in verification: [B1] [O7]",
        ]
    )
    # claims A2, B1 (both ungrounded) + the lines of unknown claims A1, B9: 0 of 4
    assert p.grounding == 0.0
    half = parse_chain(GOLDEN.replace("[B1] contradicted by [O1], [O2]", "[B1] contradicted"))
    assert half.grounding == pytest.approx(2 / 3)  # A1, A2 of A1, A2, B1


def test_unverified_claims_duplicate_ids_and_images() -> None:
    text = GOLDEN.replace("[A1] supported by [O1]\n", "")
    text = text.replace("[O2] (image 2)", "[O1] (image 5)")
    p = parse_chain(text, n_images=2)
    got = sorted(str(e) for e in p.errors)
    assert got == [
        "duplicate-id in observations: [O1]",
        "unknown-image in observations: image 5",
        "unknown-observation in verification: [A2] [O2]",
        "unknown-observation in verification: [B1] [O2]",
        "unverified-claim in verification: [A1]",
    ]
    # observations of an image that does not exist ground nothing
    only_bad_image = GOLDEN.replace("(image 1)", "(image 9)").replace("(image 2)", "(image 8)")
    assert parse_chain(only_bad_image, n_images=2).grounding == 0.0
    assert parse_chain(only_bad_image).grounding == 1.0


@pytest.mark.parametrize(
    ("text", "verdict", "code"),
    [
        ("<verdict>A</verdict>", "A", None),
        ("<VERDICT> \n b\t</Verdict>", "B", None),
        ("The answer: <verdict>A</verdict>.", "A", None),
        ("<verdict>C</verdict>", None, "bad-verdict"),
        ("<verdict>A or B</verdict>", None, "bad-verdict"),
        ("<verdict></verdict>", None, "bad-verdict"),
        ("<verdict>A</verdict><verdict>A</verdict>", None, "duplicate-tag"),
        ("<verdict>A", None, "unclosed-tag"),
        ("I prefer A.", None, "missing-tag"),
    ],
)
def test_verdicts(text: str, verdict: str | None, code: str | None) -> None:
    got, errors = parse_verdict(text)
    assert got == verdict
    assert [e.code for e in errors] == ([code] if code else [])
    assert parse_chain(text).verdict == verdict  # the chain reads it the same way


def test_many_unclosed_verdict_tags() -> None:
    # read in one pass: an open..close regex rescans to the end from every unclosed tag
    # (quadratic: minutes at this size)
    junk = "<verdict>" * 50_000
    assert parse_verdict("<verdict>A</verdict>" + junk) == ("A", ())
    assert [e.code for e in parse_verdict(junk)[1]] == ["unclosed-tag"]
    assert parse_chain(junk + "</verdict>").verdict is None  # body "<verdict><verdict>..."


def test_a_custom_format_renders_and_parses() -> None:
    fmt = ChainFormat(
        observations_tag="seen",
        claims_tag="said",
        verification_tag="check",
        evaluation_tag="weigh",
        verdict_tag="answer",
        observation_prefix="I",
        claim_prefixes=("P", "Q"),
        labels=("first", "second"),
    )
    text = render_chain(CHAIN, fmt)
    assert "[I2] (image 2)" in text and "[Q1] contradicted by [I1], [I2]" in text
    assert text.endswith("<answer>first</answer>")
    assert parse_chain(text, fmt).chain == CHAIN
    assert parse_verdict("<answer> SECOND </answer>", fmt)[0] == "B"
    assert parse_chain(GOLDEN, fmt).structure == 0.0  # default tags mean nothing here


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"claims_tag": "two words"}, "claims_tag"),
        ({"verdict_tag": "claims"}, "tags"),
        ({"claim_prefixes": ("A", "a")}, "claim_prefixes"),
        ({"observation_prefix": "O1"}, "claim_prefixes"),
        ({"labels": ("A", "A ")}, "labels"),
        ({"labels": ("yes", "YES")}, "labels"),
    ],
)
def test_bad_formats_are_refused(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(AlignlabError) as err:
        ChainFormat(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


@pytest.mark.parametrize(
    ("chain", "field"),
    [
        (Chain(claims=(Claim("A", 1, "two\nlines"),)), "claims[0]"),
        (Chain(claims=(Claim("A", 1, "sneaky < /Verdict >"),)), "claims[0]"),
        (Chain(claims=(Claim("C", 1, "x"),)), "claims[0]"),  # type: ignore[arg-type]
        (Chain(observations=(Observation(0, "x"),)), "observations[0]"),
        (Chain(observations=(Observation(1, "(image 2) x"),)), "observations[0]"),
        (Chain(verifications=(Verification("A", 1, "maybe"),)), "verifications[0]"),  # type: ignore[arg-type]
        (Chain(evaluation="<evaluation>"), "evaluation"),
    ],
)
def test_render_refuses_what_would_not_parse_back(chain: Chain, field: str) -> None:
    with pytest.raises(AlignlabError) as err:
        render_chain(chain)
    assert err.value.field == field


def test_chain_prompt_numbers_images_and_its_example_parses() -> None:
    msgs = chain_messages(
        ["Which caption fits?", image_part(PIXEL), image_part(PIXEL)],
        "A red circle.",
        ["A blue circle, as here:", image_part(PIXEL)],
    )
    system, user = msgs[0]["content"], msgs[1]["content"]
    assert msgs[0]["role"] == "system" and msgs[1]["role"] == "user"
    assert "There are 3 images" in system and ChainFormat().rubric in system
    example = system.split("placeholders in braces:\n")[1]
    assert parse_chain(example).errors == ()  # the prompt shows the format the parser reads
    texts = [p["text"] for p in user if p["type"] == "text"]
    images = [p for p in user if p["type"] == "image_url"]
    assert len(images) == 3
    joined = "".join(texts)
    assert joined.index("[image 1]") < joined.index("[image 2]") < joined.index("Response A:")
    assert joined.index("Response B:") < joined.index("[image 3]")
    assert [p["type"] for p in user[:2]] == ["text", "image_url"]  # adjacent texts merged
    assert "There are 7 images" in chain_messages("p", "a", "b", n_images=7)[0]["content"]


def test_prompts_follow_the_format() -> None:
    fmt = ChainFormat(verdict_tag="answer", labels=("1", "2"), rubric="Prefer brevity.")
    chain_sys = chain_messages("p", "a", "b", fmt=fmt)[0]["content"]
    assert "<answer>" in chain_sys and "Prefer brevity." in chain_sys
    assert "There are no images" in chain_sys
    base = baseline_messages("Say hi", "hi", "hello", fmt=fmt)
    assert base[0]["content"].endswith("Answer with only <answer>1</answer> or <answer>2</answer>.")
    user_text = base[1]["content"][0]["text"]
    assert "Response 1:\nhi" in user_text and "Response 2:\nhello" in user_text
    assert parse_verdict("<answer>2</answer>", fmt)[0] == "B"


@pytest.mark.parametrize(
    ("completion", "text"),
    [
        ("plain", "plain"),
        ([{"role": "assistant", "content": "chat"}], "chat"),
        ([{"role": "user", "content": "no"}, {"role": "assistant", "content": "yes"}], "yes"),
        ([{"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "x"}]}], "a"),
        (None, ""),
        (42, ""),
        ([{"role": "assistant", "content": None}, "junk"], ""),
    ],
)
def test_completion_text(completion: object, text: str) -> None:
    assert completion_text(completion) == text
