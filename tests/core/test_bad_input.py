"""Bad input to the core (jsonl, caches, run folders, reports, the CLI) ends in one clear error."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from alignlab.cli import main
from alignlab.core import AlignlabError, ArrayCache, JsonCache, Report, Run, read_jsonl


def _run(tmp_path: Path, system: str = "monitor", verb: str = "bench", value: float = 0.5) -> Path:
    with Run(system, verb, {"x": 1}, root=tmp_path / "runs") as run:
        run.write_metrics({"overall": {"value": value, "low": 0.0, "high": 1.0}})
        run.report.table(["domain", "recall"], [["chat", value]])
    return run.final_dir


# --- jsonl -------------------------------------------------------------------------------------


def test_non_utf8_jsonl_names_file_line_and_byte(tmp_path: Path) -> None:
    p = tmp_path / "rows.jsonl"
    p.write_bytes(b'{"a": 1}\n\n{"a": "caf\xe9"}\n')
    with pytest.raises(AlignlabError) as err:
        list(read_jsonl(p))
    assert err.value.file == str(p) and err.value.line == 3
    assert "not UTF-8" in str(err.value) and "0xe9" in str(err.value)


def test_jsonl_line_numbers_count_file_lines(tmp_path: Path) -> None:
    p = tmp_path / "rows.jsonl"
    # blank lines, a whitespace-only line and a lone carriage return inside a row's whitespace:
    # line numbers stay the ones an editor shows
    p.write_bytes(b'\n\n{"a": 1}\n   \n{"a":\r 2}\n\n{"a": 3\n')
    rows = []
    with pytest.raises(AlignlabError) as err:
        rows.extend(read_jsonl(p))
    assert rows == [(3, {"a": 1}), (5, {"a": 2})]
    assert err.value.line == 7 and f"{p}:7: invalid JSON" in str(err.value)


def test_jsonl_utf8_bom_on_the_first_line_is_accepted(tmp_path: Path) -> None:
    p = tmp_path / "rows.jsonl"
    p.write_bytes(b'\xef\xbb\xbf{"a": 1}\n{"b": 2}\n')
    assert list(read_jsonl(p)) == [(1, {"a": 1}), (2, {"b": 2})]


def test_truncated_gzip_is_a_clear_error(tmp_path: Path) -> None:
    p = tmp_path / "rows.jsonl.gz"
    p.write_bytes(gzip.compress(b'{"a": 1}\n' * 1000)[:60])
    with pytest.raises(AlignlabError, match="cannot read file") as err:
        list(read_jsonl(p))
    assert err.value.file == str(p)


# --- caches ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [ArrayCache, JsonCache])
def test_corrupt_or_unopenable_cache_names_the_file(tmp_path: Path, cls: type) -> None:
    bad = tmp_path / "cache.sqlite"
    bad.write_bytes(b"this is not a sqlite database, just some bytes " * 40)
    with pytest.raises(AlignlabError, match="unusable cache file") as err:
        cls(bad)
    assert err.value.file == str(bad) and "delete it" in str(err.value)
    with pytest.raises(AlignlabError, match="is a folder") as err:
        cls(tmp_path)
    assert err.value.file == str(tmp_path)


def test_cache_entry_that_is_not_an_array(tmp_path: Path) -> None:
    cache = ArrayCache(tmp_path / "c.sqlite")
    cache.put_many({"ok": np.arange(3)})
    with cache._db:
        cache._db.execute("INSERT INTO arrays VALUES ('bad', ?)", (b"garbage",))
    assert cache.get_many(["ok"])["ok"].tolist() == [0, 1, 2]
    with pytest.raises(AlignlabError, match="'bad' is not a stored array"):
        cache.get_many(["ok", "bad"])


# --- run folders -------------------------------------------------------------------------------


def test_out_naming_a_file_fails_before_anything_is_written(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    out.write_text("not a folder")
    with pytest.raises(AlignlabError, match="names an existing file") as err:
        Run("monitor", "bench", {}, root=out)
    assert err.value.field == "out" and err.value.file == str(out)
    with pytest.raises(AlignlabError, match=f"sits under the file {out}"):
        Run("monitor", "bench", {}, root=out / "deeper")
    assert out.read_text() == "not a folder" and sorted(tmp_path.iterdir()) == [out]


def test_run_records_which_command_wrote_it(tmp_path: Path) -> None:
    from alignlab.core.compare import run_kind

    run = _run(tmp_path, "assist", "rollout")
    meta = json.loads((run / "run.json").read_text())
    assert meta == {"system": "assist", "verb": "rollout", "name": run.name}
    assert run_kind(run) == "assist-rollout"
    (run / "run.json").unlink()  # runs written before run.json: the report title says it
    assert run_kind(run) == "assist-rollout"


# --- reports -----------------------------------------------------------------------------------


def test_markdown_tables_escape_pipes_and_newlines() -> None:
    r = Report("t")
    r.table(["domain | name", "multi\nline"], [["a|b", "x\ny"], ["c\r\nd", 1.5]], "cap\ntion")
    md = r.to_markdown()
    lines = md.splitlines()
    assert "| domain \\| name | multi line |" in lines
    assert "| a\\|b | x y |" in lines and "| c d | 1.5 |" in lines
    assert "*cap tion*" in lines
    table = [ln for ln in lines if ln.startswith("|")]
    # every table line has the same number of unescaped cell separators as the header
    assert len({ln.replace("\\|", "").count("|") for ln in table}) == 1 and len(table) == 4


def test_html_escaping_stays_correct() -> None:
    r = Report("<b>title</b>")
    r.heading("a <h>")
    r.table(["<th>"], [["a|b & <script>alert(1)</script>"]], caption="<i>")
    page = r.to_html()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "a|b &amp;" in page  # no Markdown escapes in HTML
    assert "&lt;b&gt;title&lt;/b&gt;" in page and "<th>&lt;th&gt;</th>" in page


@pytest.mark.parametrize(
    ("content", "match", "field"),
    [
        ("{bad", "invalid JSON", None),
        ("[1, 2]", "must be a JSON object", None),
        ('{"title": 3, "blocks": []}', "not a string", "title"),
        ('{"title": "t"}', "not a list", "blocks"),
        ('{"title": "t", "blocks": [{"kind": "chart"}]}', "not a block", "blocks[0]"),
        ('{"title": "t", "blocks": [{"kind": "table", "rows": []}]}', "list", "blocks[0].columns"),
        (
            '{"title": "t", "blocks": [{"kind": "table", "columns": ["a"], "rows": [[{}]]}]}',
            "rows lists of",
            "blocks[0]",
        ),
    ],
)
def test_bad_report_json_is_one_clear_error(
    tmp_path: Path, content: str, match: str, field: str | None
) -> None:
    (tmp_path / "report.json").write_text(content)
    with pytest.raises(AlignlabError, match=match) as err:
        Report.load(tmp_path)
    assert err.value.file == str(tmp_path / "report.json") and err.value.field == field


def test_report_command_on_a_corrupt_run_rewrites_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad = _run(tmp_path), _run(tmp_path)
    (bad / "report.json").write_text("[1, 2]")
    (good / "report.md").write_text("old")
    assert main(["report", str(good), str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"alignlab: error: {bad / 'report.json'}: a report must be a JSON object"]
    assert (good / "report.md").read_text() == "old"  # checked all before rewriting any


def test_report_refuses_to_compare_runs_of_different_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench, rollout = _run(tmp_path), _run(tmp_path, "assist", "rollout")
    (bench / "report.md").write_text("old")
    assert main(["report", str(bench), str(rollout)]) == 2
    err = capsys.readouterr().err
    assert "cannot compare a assist-rollout run with a monitor-bench run" in err
    assert str(rollout) in err and (bench / "report.md").read_text() == "old"
    other = _run(tmp_path, value=0.25)
    assert main(["report", str(bench), str(other)]) == 0
    assert "| overall | 0.5 | 0.25 |" in capsys.readouterr().out


def test_report_into_a_closed_pipe_exits_quietly(tmp_path: Path) -> None:
    run = _run(tmp_path)
    (run / "report.md").unlink()
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader (`| head`) has gone before anything is written
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "alignlab.cli", "report", str(run), str(run)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert proc.stderr == "" and proc.returncode == 141
    assert (run / "report.md").is_file()  # the work was done; only the printing stopped


# --- the CLI stays light -----------------------------------------------------------------------


def test_building_the_cli_imports_no_system() -> None:
    code = (
        "import sys\n"
        "from alignlab.cli import build_parser, main\n"
        "build_parser()\n"
        "light = not {'sklearn', 'matplotlib'} & set(sys.modules)\n"
        "try:\n"
        "    main(['assist', 'rollout', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(light, 'sklearn' in sys.modules, 'matplotlib' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert "--horizon" in proc.stdout  # the verb's flags were still built for its help
    assert proc.stdout.splitlines()[-1] == "True False False"
