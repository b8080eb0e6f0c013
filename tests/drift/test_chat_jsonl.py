from __future__ import annotations

import json
from pathlib import Path

import pytest

from alignlab.core import AlignlabError
from alignlab.drift._chat_jsonl import (
    chat_jsonl_text,
    check_rows,
    read_chat_jsonl,
    write_chat_jsonl,
)

GOOD = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "data.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _msgs(*pairs: tuple[str, object]) -> str:
    return json.dumps({"messages": [{"role": r, "content": c} for r, c in pairs]})


BAD_CASES = [
    ("{not json", None, "invalid JSON"),
    ("[1, 2]", None, "JSON object"),
    (json.dumps({"msgs": []}), "messages", "missing"),
    (json.dumps({"messages": []}), "messages", "non-empty list"),
    (json.dumps({"messages": "hi"}), "messages", "non-empty list"),
    (json.dumps({"messages": ["hi"]}), "messages[0]", "role"),
    (_msgs(("user", "Hi"), ("bot", "Hello")), "messages[1].role", "'bot'"),
    (_msgs(("user", "Hi"), ("assistant", "   ")), "messages[1].content", "whitespace"),
    (_msgs(("user", ""), ("assistant", "x")), "messages[0].content", "empty"),
    (_msgs(("user", "Hi"), ("assistant", 3)), "messages[1].content", "a int"),
    (
        json.dumps({"messages": [{"role": "user"}, {"role": "assistant", "content": "x"}]}),
        "messages[0].content",
        "missing",
    ),
    (_msgs(("system", "Be kind"), ("user", "Hi")), "messages", "no assistant"),
    (
        _msgs(("user", "Hi"), ("assistant", "Yo"), ("user", "More?")),
        "messages[2].role",
        "last turn",
    ),
    (
        json.dumps(
            {
                "messages": [
                    {"role": "user", "contents": "Hi"},
                    {"role": "assistant", "content": "x"},
                ]
            }
        ),
        "messages[0].contents",
        "unknown key",
    ),
    (
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": "Hi", "weight": 1},
                    {"role": "assistant", "content": "x"},
                ]
            }
        ),
        "messages[0].weight",
        "weight",
    ),
]


@pytest.mark.parametrize(("line", "field", "words"), BAD_CASES)
def test_bad_rows_name_file_line_and_field(
    tmp_path: Path, line: str, field: str | None, words: str
) -> None:
    path = _write(tmp_path, json.dumps(GOOD), "", line)  # the bad row is on line 3
    with pytest.raises(AlignlabError) as info:
        read_chat_jsonl(path)
    err = info.value
    assert err.file == str(path)
    assert err.line == 3
    assert err.field == field
    assert words in str(err)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(AlignlabError, match="not found"):
        read_chat_jsonl(tmp_path / "nope.jsonl")
    with pytest.raises(AlignlabError, match="no rows"):
        read_chat_jsonl(_write(tmp_path, ""))


def test_round_trip_keeps_rows_exactly(tmp_path: Path) -> None:
    rows = [
        [
            {"role": "system", "content": "Sé breve."},
            {"role": "user", "content": "Königsberg?"},
            {"role": "assistant", "content": "Kaliningrad.", "weight": 1},
        ],
        [{"role": "user", "content": "a\nb"}, {"role": "assistant", "content": '"q"'}],
    ]
    path = tmp_path / "sub" / "rows.jsonl"
    assert write_chat_jsonl(path, rows) == 2
    assert read_chat_jsonl(path) == rows
    # the text a sha256 is taken of is byte-for-byte what is written
    assert path.read_text(encoding="utf-8") == chat_jsonl_text(rows)
    assert "Königsberg" in path.read_text(encoding="utf-8")  # not \u-escaped


def test_write_refuses_bad_rows_and_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    bad = [
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "ok"}],
        [{"role": "user", "content": "Hi"}],
    ]
    with pytest.raises(AlignlabError) as info:
        write_chat_jsonl(path, bad)
    assert info.value.field == "rows[1].messages"
    assert not path.exists()
    assert list(tmp_path.iterdir()) == []


def test_check_rows_names_row_and_message() -> None:
    with pytest.raises(AlignlabError) as info:
        check_rows([[{"role": "user", "content": "x"}, {"role": "critic", "content": "y"}]])
    assert info.value.field == "rows[0].messages[1].role"
