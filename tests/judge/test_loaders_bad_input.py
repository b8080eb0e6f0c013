"""Every kind of bad pair file stops ``alignlab judge check-pairs`` with exit 2 and one line
naming the file, the line (or row) and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from alignlab.cli import main

OK = {"id": "a", "prompt": "p", "response_a": "x", "response_b": "y", "gold": "A"}


def _jsonl(tmp_path: Path, *rows: dict | str) -> Path:
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _error(capsys: pytest.CaptureFixture[str], path: Path, *, open_images: bool = False) -> str:
    argv = ["judge", "check-pairs", "--path", str(path)] + ["--open-images"] * open_images
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


PLAIN_CASES = [
    # (rows, line, field, words in the message)
    ([OK, "{not json"], 2, None, "invalid JSON"),
    ([{**OK, "prompt": [{"image": "gone.png"}]}], 1, "prompt[0].image", "image not found"),
    ([{**OK, "prompt": [{"image": "x.svg"}]}], 1, "prompt[0].image", "unsupported image format"),
    ([{k: v for k, v in OK.items() if k != "gold"}], 1, "gold", "no gold"),
    ([{**OK, "gold": "tie"}], 1, "gold", "'A' or 'B'"),
    ([{**OK, "respons_b": "z"}], 1, "respons_b", "unknown field"),
    ([{k: v for k, v in OK.items() if k != "response_b"}], 1, "response_b", "missing field"),
    ([OK, OK], 2, "id", "duplicate pair id"),
    ([{**OK, "prompt": [{"text": "a", "image": "b"}]}], 1, "prompt[0]", "one key"),
    ([{**OK, "prompt": []}], 1, "prompt", "non-empty list"),
    ([{**OK, "metadata": [1]}], 1, "metadata", "JSON object"),
    ([{**OK, "prompt": [{"image": "data:image/png;base64,@@"}]}], 1, "prompt[0].image",
     "base64"),
]  # fmt: skip


@pytest.mark.parametrize(("rows", "line", "field", "words"), PLAIN_CASES)
def test_plain_jsonl_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: list, line: int,
    field: str | None, words: str,
) -> None:  # fmt: skip
    path = _jsonl(tmp_path, *rows)
    err = _error(capsys, path)
    assert f"{path}:{line}: " in err
    if field is not None:
        assert f"field '{field}'" in err
    assert words in err


def test_vlrewardbench_tie_has_no_gold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "i.png").write_bytes(b"")
    row = {"id": "v", "image_path": "i.png", "query": "q", "response": ["a", "b"],
           "human_ranking": [0, 0]}  # fmt: skip
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps(row) + "\n")
    err = _error(capsys, path)
    assert f"{path}:1: field 'human_ranking': no gold" in err


def _mmrb2(tmp_path: Path, pairs: object) -> Path:
    path = tmp_path / "t2i.json"
    path.write_text(json.dumps({"pairs": pairs} if isinstance(pairs, list) else pairs))
    return path


GOOD_MMRB2 = {"pair_id": "p", "prompt_content": [["text", "draw"]],
              "response_a": {"response_content": [["text", "a"]]},
              "response_b": {"response_content": [["text", "b"]]}, "chosen": "A"}  # fmt: skip
MMRB2_CASES = [
    ([GOOD_MMRB2, {**GOOD_MMRB2, "pair_id": "q", "chosen": None}], "pairs[1].chosen", "no gold"),
    ([{k: v for k, v in GOOD_MMRB2.items() if k != "chosen"}], "pairs[0].chosen", "no gold"),
    ([{k: v for k, v in GOOD_MMRB2.items() if k != "prompt_content"}],
     "pairs[0].prompt_content", "response-only"),
    ([{**GOOD_MMRB2, "response_a": {"response_content": [["image", "gone.jpg"]]}}],
     "pairs[0].response_a.response_content[0]", "image not found"),
    ([{**GOOD_MMRB2, "prompt_content": [["video", "x.mp4"]]}], "pairs[0].prompt_content[0]",
     '["text", TEXT]'),
    ({"rows": []}, "pairs", "MMRB2 task file"),
]  # fmt: skip


@pytest.mark.parametrize(("pairs", "field", "words"), MMRB2_CASES)
def test_mmrb2_json_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pairs: object, field: str, words: str
) -> None:
    path = _mmrb2(tmp_path, pairs)
    err = _error(capsys, path)
    assert f"{path}: field '{field}'" in err and words in err


def _parquet(tmp_path: Path, **changes: object) -> Path:
    row = {"pair_id": "h1", "prompt_text": "see <image_1>", "prompt_images": [],
           "response_a_text": "a", "response_b_text": "b", "chosen": "A", **changes}  # fmt: skip
    path = tmp_path / "edit" / "test.parquet"
    path.parent.mkdir()
    pq.write_table(pa.Table.from_pylist([row]), path)
    return path


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [({}, "rows[0].prompt_text", "1 <image_N> placeholders but 0 images"),
     ({"prompt_text": "x", "chosen": ""}, "rows[0].chosen", "no gold"),
     ({"prompt_text": "x", "prompt_metadata": "{oops"}, "rows[0].prompt_metadata",
      "invalid JSON")],
)  # fmt: skip
def test_mmrb2_hf_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], changes: dict, field: str, words: str
) -> None:
    path = _parquet(tmp_path, **changes)
    err = _error(capsys, tmp_path)
    assert f"{path}: field '{field}'" in err and words in err


def test_layout_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "not found" in _error(capsys, tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    assert "no pair layout found" in _error(capsys, tmp_path / "empty")
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"question": "q"}) + "\n")
    assert f"{other}:1: unrecognised jsonl layout" in _error(capsys, other)
    csv = tmp_path / "pairs.csv"
    csv.write_text("a,b\n")
    assert "unsupported file type" in _error(capsys, csv)


def test_corrupt_images_are_found_when_opened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Image.new("RGB", (4, 4)).save(tmp_path / "ok.png")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG broken")
    path = _jsonl(tmp_path, {**OK, "prompt": [{"image": "ok.png"}, {"image": "bad.png"}]})
    assert main(["judge", "check-pairs", "--path", str(path)]) == 0
    assert "1 pairs" in capsys.readouterr().out
    err = _error(capsys, path, open_images=True)
    assert f"{tmp_path / 'bad.png'}: not a readable image" in err


def test_check_pairs_needs_a_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["judge", "check-pairs"]) == 2
    assert "field 'path': --path is required" in capsys.readouterr().err
