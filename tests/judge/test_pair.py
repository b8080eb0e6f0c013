from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from alignlab.core import AlignlabError
from alignlab.judge import (
    GoldChain,
    Pair,
    Segment,
    generate_pairs,
    image_order,
    render_gold_chain,
    swapped,
)
from alignlab.judge._gold import DEFAULT_TAGS
from alignlab.judge._loaders import plain_pair
from alignlab.judge._loaders_common import Where


def _png(colour: str = "red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buf, format="PNG")
    return buf.getvalue()


def _pair() -> Pair:
    return Pair(
        "p1", "reasoning",
        prompt=(Segment.text("Which?"), Segment.image("p.png")),
        response_a=(Segment.text("one"), Segment.image("a.png")),
        response_b=(Segment.image("b1.png"), Segment.image("b2.png"), Segment.text("two")),
        gold="A",
        metadata={"note": 1},
    )  # fmt: skip


def test_swapped_trades_responses_and_maps_gold() -> None:
    p = _pair()
    s = swapped(p)
    assert (s.response_a, s.response_b, s.gold) == (p.response_b, p.response_a, "B")
    assert s.metadata == {"note": 1, "swapped": True}
    assert [x.value for x in image_order(s)] == ["p.png", "b1.png", "b2.png", "a.png"]
    assert swapped(s) == p


def test_swapped_twice_restores_a_synthetic_pair_and_its_chain_text() -> None:
    for pair, _ in generate_pairs(12, seed=4, difficulty=2):
        s = swapped(pair)
        assert s.metadata["gold_chain_text"] != pair.metadata["gold_chain_text"]
        chain = GoldChain.from_json(s.metadata["gold_chain"])
        assert s.metadata["gold_chain_text"] == render_gold_chain(chain)
        assert f"<verdict>{s.gold}</verdict>" in s.metadata["gold_chain_text"]
        assert swapped(s) == pair


def test_gold_must_be_a_or_b() -> None:
    with pytest.raises(AlignlabError) as err:
        Pair("x", "t", (), (), (), "C")
    assert err.value.field == "gold"


def test_plain_json_round_trip_keeps_everything(tmp_path: Path) -> None:
    pair, images = next(generate_pairs(1, ["edit"], seed=2))
    for rel, im in images.items():
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        im.save(tmp_path / rel)
    back = plain_pair(pair.to_json(), tmp_path, Where(tmp_path / "x.jsonl", 1))
    assert back.to_json() == pair.to_json()
    assert back.open_image(back.images()[0]).size == (64, 64)


def test_in_memory_images_travel_as_data_urls(tmp_path: Path) -> None:
    data = _png("blue")
    p = Pair("m", "t2i", (Segment.text("draw"),), (Segment.image("m/a_0", data),),
             (Segment.text("no"),), "A")  # fmt: skip
    row = p.to_json()
    assert row["response_a"][0]["image"].startswith("data:image")
    back = plain_pair(row, tmp_path, Where(tmp_path / "x.jsonl", 1))
    assert back.response_a[0].data == data
    assert back.open_image(back.response_a[0]).getpixel((0, 0)) == (0, 0, 255)


def test_open_image_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.png").write_bytes(b"not a png")
    p = Pair("e", "t", (Segment.image("bad.png"), Segment.image("gone.png")), (), (), "A",
             root=tmp_path)  # fmt: skip
    with pytest.raises(AlignlabError, match="not a readable image") as err:
        p.open_image(p.prompt[0])
    assert err.value.file == str(tmp_path / "bad.png")
    with pytest.raises(AlignlabError, match="image not found") as err:
        p.open_image(p.prompt[1])
    assert err.value.file == str(tmp_path / "gone.png")


def test_chain_text_renders_with_other_tag_names() -> None:
    pair, _ = next(generate_pairs(1, ["reasoning"], seed=1))
    chain = GoldChain.from_json(pair.metadata["gold_chain"])
    tags = {k: v.upper() for k, v in DEFAULT_TAGS.items()}
    text = render_gold_chain(chain, tags)
    assert "<OBSERVATIONS>" in text and "<observations>" not in text
    assert text.lower() == render_gold_chain(chain).lower()
    with pytest.raises(AlignlabError, match="no tag name"):
        render_gold_chain(chain, {"claims": "c"})


def test_gold_chain_text_reads_back_with_the_chain_parser() -> None:
    """The default text is in the chain parser's format: it parses without a format error and
    gives the same verdict, claims and verification outcomes."""
    parse = pytest.importorskip("alignlab.judge._parse")
    for pair, _ in generate_pairs(16, seed=9, difficulty=3, image_size=64):
        for p in (pair, swapped(pair)):
            chain = GoldChain.from_json(p.metadata["gold_chain"])
            parsed = parse.parse_chain(p.metadata["gold_chain_text"], n_images=len(p.images()))
            assert parsed.ok, (p.id, parsed.errors)
            assert parsed.verdict == p.gold
            assert len(parsed.chain.observations) == len(chain.observations)
            assert [o.image for o in parsed.chain.observations] == [
                o.fact.image for o in chain.observations
            ]
            statuses = [v.status == "supported" for v in parsed.chain.verifications]
            assert statuses == [k.holds for k in chain.checks]
