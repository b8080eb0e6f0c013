from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from alignlab.core import (
    AlignlabError,
    ArrayCache,
    JsonCache,
    Run,
    atomic_write_text,
    read_jsonl,
    write_jsonl,
)
from alignlab.core.compare import compare_runs, flatten, rerender


def test_read_jsonl_reports_file_and_line(tmp_path: Path) -> None:
    p = tmp_path / "x.jsonl"
    p.write_text('{"a": 1}\n\n{"a": 2\n')
    with pytest.raises(AlignlabError) as err:
        list(read_jsonl(p))
    assert f"{p}:3" in str(err.value) and "invalid JSON" in str(err.value)
    p.write_text('{"a": 1}\n[1, 2]\n')
    with pytest.raises(AlignlabError, match=":2: expected a JSON object"):
        list(read_jsonl(p))
    with pytest.raises(AlignlabError, match="file not found"):
        list(read_jsonl(tmp_path / "missing.jsonl"))


def test_jsonl_roundtrip_and_gzip(tmp_path: Path) -> None:
    rows = [{"a": i, "v": np.float32(i) / 2} for i in range(5)]
    assert write_jsonl(tmp_path / "r.jsonl", rows) == 5
    assert [o["a"] for _, o in read_jsonl(tmp_path / "r.jsonl")] == list(range(5))
    with gzip.open(tmp_path / "r.jsonl.gz", "wt") as fh:
        fh.write('{"b": 1}\n')
    assert list(read_jsonl(tmp_path / "r.jsonl.gz")) == [(1, {"b": 1})]


def test_atomic_write_leaves_old_file_on_failure(tmp_path: Path) -> None:
    p = tmp_path / "f.txt"
    atomic_write_text(p, "old")

    def rows():  # type: ignore[no-untyped-def]
        yield {"a": 1}
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        write_jsonl(p, rows())
    assert p.read_text() == "old"
    assert [x.name for x in tmp_path.iterdir()] == ["f.txt"]  # no temp file left


def test_run_folder_appears_only_on_success(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), Run("monitor", "bench", {"x": 1}, root=tmp_path):
        raise RuntimeError("boom")
    assert not any((tmp_path / "monitor-bench").iterdir())
    with Run("monitor", "bench", {"x": 1}, root=tmp_path) as run:
        run.write_metrics({"m": {"overall": {"value": 0.5, "low": 0.4, "high": 0.6}}})
        run.write_records([{"id": "a"}])
        run.report.table(["a", "b"], [["x", 1.5]], caption="cap")
    d = run.final_dir
    for name in ("config.json", "metrics.json", "records.jsonl", "report.md", "report.html"):
        assert (d / name).is_file(), name
    assert "| x | 1.5 |" in (d / "report.md").read_text()
    assert "<table>" in (d / "report.html").read_text()
    (d / "report.md").unlink()
    rerender(d)
    assert (d / "report.md").is_file()


def test_compare_runs_table(tmp_path: Path) -> None:
    dirs = []
    for i in range(2):
        d = tmp_path / f"r{i}"
        d.mkdir()
        (d / "metrics.json").write_text(
            json.dumps({"a": {"overall": {"value": i, "low": 0, "high": 1}}})
        )
        dirs.append(str(d))
    table = compare_runs(dirs, contains="overall")
    assert "| a/overall | 0 | 1 |" in table
    assert flatten({"x": {"y": 2, "z": True}}) == {"x/y": 2.0}


def test_array_and_json_cache(tmp_path: Path) -> None:
    c = ArrayCache(tmp_path / "c.sqlite")
    c.put_many({f"k{i}": np.arange(i + 1, dtype=np.float32) for i in range(600)})
    got = c.get_many([f"k{i}" for i in range(600)] + ["nope"])
    assert len(got) == 600 and got["k599"].shape == (600,) and "nope" not in got
    c.close()
    assert len(ArrayCache(tmp_path / "c.sqlite")) == 600  # persisted
    j = JsonCache(tmp_path / "j.sqlite")
    j.put("a", {"x": [1, 2]})
    assert j.get("a") == {"x": [1, 2]} and j.get("b") is None


def test_json_is_strict(tmp_path: Path) -> None:
    from alignlab.core import atomic_write_json

    atomic_write_json(tmp_path / "m.json", {"a": float("nan"), "b": [1.0, float("inf")]})
    assert json.loads((tmp_path / "m.json").read_text()) == {"a": None, "b": [1.0, None]}


def test_report_command_rerenders_and_compares(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from alignlab.cli import main

    dirs = []
    for i in range(2):
        with Run("monitor", "bench", {"i": i}, root=tmp_path) as run:
            run.write_metrics({"g": {"overall": {"value": 0.1 * i, "low": 0, "high": 1}}})
            run.report.text(f"run {i}")
        dirs.append(str(run.final_dir))
        (run.final_dir / "report.html").unlink()
    assert main(["report", *dirs]) == 0
    out = capsys.readouterr().out
    assert "| g/overall | 0 | 0.1 |" in out
    assert all((Path(d) / "report.html").is_file() for d in dirs)
    assert main(["report", str(tmp_path)]) == 2  # not a run folder


def test_atomic_writes_get_ordinary_permissions(tmp_path: Path) -> None:
    """The temp file behind an atomic write is made 0600 by mkstemp; the result must get what
    ``open()`` would give (a report or viewer page served to others must stay readable)."""
    import stat

    from alignlab.core import io

    atomic_write_text(tmp_path / "page.html", "<p>hi</p>")
    mode = stat.S_IMODE((tmp_path / "page.html").stat().st_mode)
    assert mode == 0o666 & ~io._UMASK


def test_atomic_folder_replaces_on_success_and_keeps_the_old_folder_on_error(
    tmp_path: Path,
) -> None:
    from alignlab.core import atomic_folder

    out = tmp_path / "bench"
    with atomic_folder(out) as tmp:
        (tmp / "a.txt").write_text("first")
        assert not out.exists()  # nothing visible until the block ends
    assert (out / "a.txt").read_text() == "first"

    with pytest.raises(RuntimeError), atomic_folder(out) as tmp:
        (tmp / "a.txt").write_text("half")
        raise RuntimeError("killed mid-write")
    assert (out / "a.txt").read_text() == "first"  # the previous folder stays

    with atomic_folder(out) as tmp:
        (tmp / "b.txt").write_text("second")
    assert sorted(p.name for p in out.iterdir()) == ["b.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["bench"]  # no temp or old folders left
