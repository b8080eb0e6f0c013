from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from alignlab.core import AlignlabError
from alignlab.monitor._loaders import (
    add_extra_test,
    carve_calib,
    load_benchmark_dir,
    load_mood_bench,
    load_rows,
)
from alignlab.monitor._schema import MoodRow, Turn, row_to_json


def _row(rid: str, malign: int, domain: str = "chat", split: str = "test") -> MoodRow:
    turns = (Turn("user", f"question {rid}"), Turn("assistant", f"answer {rid}"))
    return MoodRow(rid, turns, domain, malign, split)


def _jsonl(path: Path, objs: list[dict]) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objs), encoding="utf-8")
    return path


def _bench_dir(tmp_path: Path, *, calib: bool = True, n: int = 40) -> Path:
    folder = tmp_path / "bench"
    folder.mkdir(parents=True)
    train = [_row(f"tr{i}", i % 2, split="train") for i in range(n)]
    test = [_row(f"te{i}", i % 2) for i in range(10)] + [_row("ood1", 1, "code")]
    _jsonl(folder / "train.jsonl", [row_to_json(r) for r in train])
    _jsonl(folder / "test.jsonl", [row_to_json(r) for r in test])
    if calib:
        _jsonl(
            folder / "calib.jsonl",
            [row_to_json(_row(f"ca{i}", i % 2, split="calib")) for i in range(4)],
        )
    (folder / "manifest.json").write_text(json.dumps({"id_domains": ["chat"]}))
    return folder


def test_jsonl_and_gz(tmp_path: Path) -> None:
    objs = [row_to_json(_row("a", 1)), row_to_json(_row("b", 0))]
    plain = _jsonl(tmp_path / "r.jsonl", objs)
    gz = tmp_path / "r.jsonl.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    assert load_rows(plain) == load_rows(gz) == [_row("a", 1), _row("b", 0)]


@pytest.mark.parametrize(
    ("text", "line", "field", "needle"),
    [
        (
            '{"id": "a", "conversation": "x", "domain": "d", "malign": 0}\n{"id": oops}\n',
            2,
            None,
            "invalid JSON",
        ),
        ('{"id": "a", "domain": "d", "malign": 0}\n', 1, "conversation", "missing"),
        (
            '\n{"id": "a", "conversation": "x", "domain": "d", "malign": 2}\n',
            2,
            "malign",
            "0 (safe) or 1",
        ),
        ('{"id": "a", "conversation": "x", "domain": "", "malign": 0}\n', 1, "domain", "non-empty"),
        (
            '{"id": "a", "conversation": [], "domain": "d", "malign": 0}\n',
            1,
            "conversation",
            "non-empty",
        ),
    ],
)
def test_bad_jsonl_names_file_line_field(
    tmp_path: Path, text: str, line: int, field: str | None, needle: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(AlignlabError) as info:
        load_rows(path)
    assert (info.value.file, info.value.line, info.value.field) == (str(path), line, field)
    assert needle in str(info.value)


def test_empty_missing_and_unknown_files(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(AlignlabError, match="no rows"):
        load_rows(tmp_path / "empty.jsonl")
    with pytest.raises(AlignlabError, match="not found"):
        load_rows(tmp_path / "nope.jsonl")
    (tmp_path / "rows.csv").write_text("id\n")
    with pytest.raises(AlignlabError, match="unknown file type"):
        load_rows(tmp_path / "rows.csv")


def test_parquet_round_trip_both_conversation_forms(tmp_path: Path) -> None:
    rows = [_row("a", 1, split="train"), _row("b", 0, split="train")]
    pq.write_table(pa.Table.from_pylist([row_to_json(r) for r in rows]), tmp_path / "t.parquet")
    assert load_rows(tmp_path / "t.parquet") == rows
    official = [
        {
            "id": 3,
            "conversation": "Human: hi\n\nAssistant: hey",
            "domain": "d",
            "malign": 1,
            "extra": 0.5,
        }
    ]
    pq.write_table(pa.Table.from_pylist(official), tmp_path / "o.parquet")
    (row,) = load_rows(tmp_path / "o.parquet")
    assert row.id == "3" and row.conversation == (Turn("user", "hi"), Turn("assistant", "hey"))


def test_parquet_missing_column_and_bad_value(tmp_path: Path) -> None:
    pq.write_table(
        pa.Table.from_pylist([{"id": "a", "conversation": "x", "malign": 0}]),
        tmp_path / "m.parquet",
    )
    with pytest.raises(AlignlabError) as info:
        load_rows(tmp_path / "m.parquet")
    assert info.value.field == "domain" and "missing column" in str(info.value)
    bad = [
        {"id": "a", "conversation": "x", "domain": "d", "malign": 0},
        {"id": "b", "conversation": "x", "domain": "d", "malign": 5},
    ]
    pq.write_table(pa.Table.from_pylist(bad), tmp_path / "b.parquet")
    with pytest.raises(AlignlabError) as info:
        load_rows(tmp_path / "b.parquet")
    assert (info.value.line, info.value.field) == (2, "malign")


def test_carve_calib_is_seeded_and_stratified() -> None:
    rows = [_row(f"r{i}", int(i < 30), split="train") for i in range(100)]
    train, calib = carve_calib(rows, ("chat",), seed=3)
    assert [r.id for r in carve_calib(rows, ("chat",), seed=3)[1]] == [r.id for r in calib]
    assert [r.id for r in carve_calib(rows, ("chat",), seed=4)[1]] != [r.id for r in calib]
    assert sum(r.malign for r in calib) == 6 and len(calib) == 20
    assert {r.split for r in calib} == {"calib"} and len(train) == 80
    assert not {r.id for r in train} & {r.id for r in calib}


def test_load_benchmark_dir_with_and_without_calib(tmp_path: Path) -> None:
    data = load_benchmark_dir(_bench_dir(tmp_path))
    assert len(data.calib) == 4 and len(data.train) == 40 and data.id_domains == ("chat",)
    assert data.ood_domains() == ("code",)
    carved = load_benchmark_dir(_bench_dir(tmp_path / "b", calib=False))
    assert len(carved.calib) == 8 and len(carved.train) == 32
    assert sum(r.malign for r in carved.calib) == 4
    assert carved.manifest["calib"]["carved_from_train"] == 0.2


def test_load_benchmark_dir_missing_test(tmp_path: Path) -> None:
    folder = _bench_dir(tmp_path)
    (folder / "test.jsonl").unlink()
    with pytest.raises(AlignlabError, match="missing test.jsonl"):
        load_benchmark_dir(folder)


def test_extra_test_domain(tmp_path: Path) -> None:
    data = load_benchmark_dir(_bench_dir(tmp_path))
    extra = _jsonl(
        tmp_path / "mine.jsonl", [row_to_json(_row("m1", 1, "x")), row_to_json(_row("m2", 0, "y"))]
    )
    out = add_extra_test(data, extra, domain="mine")
    assert out.ood_domains() == ("code", "mine")
    assert out.counts()["test"]["mine"] == {"safe": 1, "unsafe": 1}
    assert len(data.test) == 11  # the input is not modified
    assert out.manifest["extra_test"][0]["file"] == str(extra)


def test_extra_test_errors(tmp_path: Path) -> None:
    data = load_benchmark_dir(_bench_dir(tmp_path))
    clash = _jsonl(
        tmp_path / "clash.jsonl",
        [row_to_json(_row("m1", 1, "x")), row_to_json(_row("te3", 1, "x"))],
    )
    with pytest.raises(AlignlabError) as info:
        add_extra_test(data, clash)
    assert (info.value.file, info.value.line, info.value.field) == (str(clash), 2, "id")
    safe_only = _jsonl(tmp_path / "safe.jsonl", [row_to_json(_row("m1", 0, "x"))])
    with pytest.raises(AlignlabError, match="no unsafe rows") as info:
        add_extra_test(data, safe_only)
    assert info.value.file == str(safe_only)
    with pytest.raises(AlignlabError, match="in-distribution"):
        add_extra_test(data, _jsonl(tmp_path / "id.jsonl", [row_to_json(_row("m1", 1))]))


def test_hub_offline_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setitem(sys.modules, "datasets", None)  # importing it would fail the test
    with pytest.raises(AlignlabError, match="HF_HUB_OFFLINE") as info:
        load_mood_bench("hub")
    assert "local" in str(info.value) and "mood-bench/mood-bench" in str(info.value)


def test_hub_unreachable_fails_before_the_datasets_client(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    import alignlab.models

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(alignlab.models, "hub_reachable", lambda timeout=3.0: False)
    monkeypatch.setitem(sys.modules, "datasets", None)  # its retry loop is never entered
    with pytest.raises(AlignlabError, match="seems offline") as info:
        load_mood_bench("hub")
    assert info.value.field == "source" and "--data mood-bench:DIR" in str(info.value)


def test_mood_bench_local_shards(tmp_path: Path) -> None:
    def conv(i: int) -> str:
        return f"Human: q{i}\n\nAssistant: a{i}"

    train = [
        {
            "id": i,
            "conversation": conv(i),
            "domain": "hh-rlhf-harmless" if i % 3 else "function-calling",
            "malign": i % 2,
        }
        for i in range(40)
    ]
    test = [
        {"id": i, "conversation": conv(i), "domain": d, "malign": m}
        for i, (d, m) in enumerate(
            [
                ("hh-rlhf-harmless", 0),
                ("hh-rlhf-harmless", 1),
                ("scheming", 1),
                ("function-calling", 0),
            ]
        )
    ]
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    for k in range(2):
        pq.write_table(pa.Table.from_pylist(train[k::2]), data_dir / f"train-0000{k}.parquet")
    pq.write_table(pa.Table.from_pylist(test), data_dir / "test-00000.parquet")
    data = load_mood_bench(str(tmp_path), seed=1)
    assert data.id_domains == ("hh-rlhf-harmless", "function-calling")
    assert len(data.train) + len(data.calib) == 40 and len(data.calib) == 8
    assert data.ood_domains() == ("scheming",)
    # ids 0..3 occur in both official splits, so they are prefixed to stay unique
    assert data.test[0].id == "test:0" and data.test[0].text == "User: q0\n\nAssistant: a0"


def test_mood_bench_local_missing(tmp_path: Path) -> None:
    with pytest.raises(AlignlabError, match="no train files"):
        load_mood_bench(str(tmp_path))


def test_hub_unreachable_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    def load_dataset(name: str) -> None:
        raise ConnectionError(f"could not reach {name}")

    import alignlab.models

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(alignlab.models, "hub_reachable", lambda timeout=3.0: True)
    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    with pytest.raises(AlignlabError, match="ConnectionError: could not reach") as info:
        load_mood_bench("hub")
    assert "local" in str(info.value)
