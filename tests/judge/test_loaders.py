"""The four layouts, each from a small fixture written here, and load_pairs telling them apart."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from alignlab.judge import (
    load_mmrb2_hf,
    load_mmrb2_json,
    load_pairs,
    load_plain_jsonl,
    load_vlrewardbench,
    pairs_from_hf_rows,
    write_bench,
)


def _png(colour: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (6, 6), colour).save(buf, format="PNG")
    return buf.getvalue()


def _image(path: Path, colour: str = "red") -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_png(colour))
    return path.name


def write_mmrb2_local(root: Path) -> Path:
    _image(root / "input_images" / "q1.jpg", "green")
    _image(root / "images" / "r1_a.png", "red")
    _image(root / "images" / "r1_b.png", "blue")
    pairs = [
        {
            "pair_id": "edit_1",
            "prompt_source": "emu_edit",
            "prompt_content": [["image", "input_images/q1.jpg"], ["text", "Make it red."]],
            "prompt_metadata": {"id": "7"},
            "response_a": {"model": "m1", "response_content": [["image", "images/r1_a.png"]]},
            "response_b": {"model_name": "m2", "response_content": [["image", "r1_b.png"],
                                                                     ["text", "done"]]},
            "chosen": "a",
            "human_annotations": [],
        },
        {
            "id": "edit_2",
            "prompt_content": [["text", "Draw a cat."]],
            "response_a": {"response_content": [["text", "no"]]},
            "response_b": {"response_content": [["text", "yes"]]},
            "human_preference": "B",
        },
    ]  # fmt: skip
    path = root / "edit.json"
    path.write_text(json.dumps({"pairs": pairs}))
    return path


def test_mmrb2_local_json(tmp_path: Path) -> None:
    path = write_mmrb2_local(tmp_path)
    p1, p2 = load_mmrb2_json(path)
    assert (p1.id, p1.task, p1.gold, p2.id, p2.gold) == ("edit_1", "edit", "A", "edit_2", "B")
    assert [s.kind for s in p1.prompt] == ["image", "text"]
    # a bare file name is found in images/, as the response-only files write them
    assert p1.response_b[0].value == "images/r1_b.png"
    assert p1.open_image(p1.images()[2]).getpixel((0, 0)) == (0, 0, 255)
    assert p1.metadata["models"] == ["m1", "m2"]
    assert p1.metadata["prompt_source"] == "emu_edit"
    assert [p.id for p in load_pairs(tmp_path)] == ["edit_1", "edit_2"]
    assert load_mmrb2_json(path, task="mine")[0].task == "mine"


def _hf_row(pair_id: str, chosen: str) -> dict:
    return {
        "pair_id": pair_id,
        "prompt_text": "Compare <image_1> with <image_2>, which is red?",
        "prompt_images": [{"bytes": _png("red"), "path": None},
                          {"bytes": _png("blue"), "path": None}],
        "response_a_text": "The first <image_1>",
        "response_a_images": [{"bytes": _png("red"), "path": None}],
        "response_b_text": "The second",
        "response_b_images": [{"bytes": _png("blue"), "path": None}],
        "chosen": chosen,
        "prompt_source": "blink",
        "prompt_metadata": json.dumps({"id": "v1"}),
        "human_annotations": json.dumps([{"likert": 5}]),
        "response_a_model": "m1",
        "response_b_model": "m2",
    }  # fmt: skip


def test_mmrb2_hf_columns_from_parquet(tmp_path: Path) -> None:
    folder = tmp_path / "mmrb2" / "reasoning"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([_hf_row("r1", "A"), _hf_row("r2", "b")]),
                   folder / "test-00000-of-00001.parquet")  # fmt: skip
    pairs = load_pairs(tmp_path / "mmrb2")
    assert [(p.id, p.task, p.gold) for p in pairs] == [("r1", "reasoning", "A"),
                                                       ("r2", "reasoning", "B")]  # fmt: skip
    p = pairs[0]
    assert [s.kind for s in p.prompt] == ["text", "image", "text", "image", "text"]
    assert [s.value for s in p.prompt if s.kind == "text"] == ["Compare", "with", ", which is red?"]
    # an image without a placeholder follows the text
    assert [s.kind for s in p.response_b] == ["text", "image"]
    colours = [p.open_image(s).getpixel((0, 0)) for s in p.images()]
    assert colours == [(255, 0, 0), (0, 0, 255), (255, 0, 0), (0, 0, 255)]
    assert p.metadata["prompt_metadata"] == {"id": "v1"}
    assert p.metadata["human_annotations"] == [{"likert": 5}]
    assert load_mmrb2_hf(folder / "test-00000-of-00001.parquet", task="x")[0].task == "x"


def test_mmrb2_hf_rows_with_pil_images() -> None:
    row = _hf_row("r1", "A")
    row["prompt_images"] = [Image.new("RGB", (4, 4), "red"), Image.new("RGB", (4, 4), "blue")]
    (p,) = pairs_from_hf_rows([row], task="reasoning")
    assert p.open_image(p.prompt[1]).getpixel((0, 0)) == (255, 0, 0)


def test_vlrewardbench_jsonl(tmp_path: Path) -> None:
    _image(tmp_path / "images" / "povid" / "x1.jpg")
    _image(tmp_path / "images" / "vlfeedback" / "x2.jpg")
    rows = [
        {"id": "x1", "image_path": "images/povid/x1.jpg", "query": "Describe.",
         "response": ["good", "bad"], "human_ranking": [0, 1], "models": ["m", "n"],
         "query_source": "COCO", "meta": {}},
        {"id": "x2", "image_path": "images/vlfeedback/x2.jpg", "query": "What?",
         "response": ["worse", "better"], "human_ranking": [1, 0]},
    ]  # fmt: skip
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    a, b = load_vlrewardbench(path)
    assert (a.gold, a.task, b.gold, b.task) == ("A", "hallucination", "B", "general")
    assert a.response_a[0].value == "good" and b.response_b[0].value == "better"
    assert a.open_image(a.prompt[0]).size == (6, 6)
    assert a.metadata["dataset"] == "povid"
    assert [p.id for p in load_pairs(tmp_path)] == ["x1", "x2"]
    assert [p.id for p in load_pairs(path)] == ["x1", "x2"]


def test_plain_jsonl(tmp_path: Path) -> None:
    _image(tmp_path / "img" / "q.png")
    rows = [
        {"id": "a", "task": "reasoning", "prompt": [{"image": "img/q.png"}, {"text": "Red?"}],
         "response_a": "yes", "response_b": [{"text": "no"}], "gold": "a",
         "metadata": {"k": 1}},
        {"id": 2, "prompt": "hi", "response_a": "x", "response_b": "y", "gold": "B"},
    ]  # fmt: skip
    path = tmp_path / "mine.jsonl"
    path.write_text(json.dumps(rows[0]) + "\n\n" + json.dumps(rows[1]) + "\n")
    a, b = load_plain_jsonl(path)
    assert (a.id, a.task, a.gold, a.metadata) == ("a", "reasoning", "A", {"k": 1})
    assert (b.id, b.task, b.gold) == ("2", "pairs", "B")
    assert a.open_image(a.prompt[0]).getpixel((0, 0)) == (255, 0, 0)
    assert load_pairs(path) == [a, b]


def test_a_written_bench_loads_back(tmp_path: Path) -> None:
    out = write_bench(tmp_path / "bench", n=8, seed=1)
    pairs = load_pairs(out)
    assert [p.task for p in pairs] == ["t2i", "edit", "interleaved", "reasoning"] * 2
    assert all(p.root == out for p in pairs)
    for p in pairs:
        assert all(p.open_image(s).size == (64, 64) for s in p.images())
        assert p.metadata["gold_chain"]["verdict"] == p.gold


@pytest.mark.parametrize("images", [True, False])
def test_check_images_can_be_skipped(tmp_path: Path, images: bool) -> None:
    row = {"id": "a", "prompt": [{"image": "gone.png"}], "response_a": "x", "response_b": "y",
           "gold": "A"}  # fmt: skip
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps(row) + "\n")
    if images:
        with pytest.raises(Exception, match="image not found"):
            load_pairs(path)
    else:
        assert load_pairs(path, check_images=False)[0].prompt[0].value == "gone.png"
