"""Bad flags and bad benchmark files for ``alignlab monitor bench``: one clear error, exit 2,
no run folder; and the values that must keep working."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from alignlab.cli import main
from alignlab.core import AlignlabError
from alignlab.monitor import (
    BenchConfig,
    MoodRow,
    add_extra_test,
    load_benchmark_dir,
    load_data,
    run_bench,
)

TINY = ("tiny-encoder",)


def _cfg(tmp_path: Path, **kw: Any) -> BenchConfig:
    base: dict[str, Any] = dict(
        data="demo",
        models=TINY,
        ppl_model="tiny-lm",
        text_guards=(),
        n_boot=20,
        out=str(tmp_path / "runs"),
    )
    base.update(kw)
    return BenchConfig(**base)


@pytest.mark.parametrize(
    ("kw", "field", "message"),
    [
        ({"n_boot": -1}, "n_boot", "--n-boot must be >= 1"),
        ({"n_boot": 0}, "n_boot", "--n-boot must be >= 1"),
        ({"max_rows": -5}, "max_rows", "--max-rows must be >= 0"),
        ({"max_train": -5}, "max_train", "--max-train must be >= 0"),
        ({"max_tokens": 0}, "max_tokens", "--max-tokens must be >= 1"),
        ({"seed": -1}, "seed", "--seed must be >= 0"),
        ({"fprs": (0.0, 0.01)}, "fprs", "--fprs 0 is not a rate strictly between 0 and 1"),
        ({"fprs": (1.5,)}, "fprs", "--fprs 1.5 is not a rate"),
        ({"fprs": (float("nan"),)}, "fprs", "--fprs nan is not a rate"),
        ({"fprs": ()}, "fprs", "at least one rate"),
        ({"models": ()}, "models", "at least one feature model"),
        ({"no_cache": True, "cache": "f.sqlite"}, "cache", "contradict"),
        ({"ppl_finetune": True, "detectors": ("mahalanobis",)}, "ppl_finetune", "--detectors"),
        ({"raw_dir": "/data/raw"}, "raw_dir", "only read by --data public, not --data demo"),
    ],
)
def test_bench_config_rejects(tmp_path: Path, kw: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(AlignlabError) as err:
        _cfg(tmp_path, **kw)
    assert err.value.field == field and message in err.value.message


def test_bench_config_keeps_what_is_legitimate(tmp_path: Path) -> None:
    assert _cfg(tmp_path, max_rows=0, max_train=0).max_rows == 0  # 0 = no cap
    # the report's headline is recall at 1% FPR, so 0.01 always joins the requested rates
    assert _cfg(tmp_path, fprs=(0.05,)).fprs == (0.01, 0.05)
    assert _cfg(tmp_path, fprs=(0.02, 0.01, 0.005)).fprs == (0.005, 0.01, 0.02)
    assert _cfg(tmp_path, models=(), text_guards=("zeroshot:tiny-lm",)).models == ()
    assert _cfg(tmp_path, data="public", raw_dir="/data/raw").raw_dir == "/data/raw"
    assert _cfg(tmp_path, ppl_finetune=True, detectors=("excess-surprise",)).ppl_finetune


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--n-boot", "-1"], "field 'n_boot': --n-boot must be >= 1"),
        (["--n-boot", "0"], "field 'n_boot': --n-boot must be >= 1"),
        (["--models"], "field 'models': --models needs at least one feature model"),
        (["--fprs", "0.05", "1.5"], "field 'fprs': --fprs 1.5 is not a rate"),
        (["--max-tokens", "0"], "field 'max_tokens': --max-tokens must be >= 1"),
        (["--no-cache", "--cache", "f.sqlite"], "field 'cache': --cache and --no-cache"),
        (["--ppl-finetune", "--detectors", "mahalanobis"], "field 'ppl_finetune'"),
        (["--raw-dir", "elsewhere"], "field 'raw_dir': --raw-dir is only read by --data public"),
    ],
)
def test_cli_bad_flags_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], expected: str
) -> None:
    out = tmp_path / "runs"
    # tiny models throughout, so a flag that slipped through would still end quickly
    base = ["monitor", "bench", "--out", str(out), "--models", *TINY, "--ppl-model", "tiny-lm"]
    assert main([*base, "--detectors", "mahalanobis", "--text-guards", *flags]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("alignlab: error: ") and expected in err[0]
    assert not out.exists()


def test_cli_demo_rejects_bad_n_boot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["monitor", "demo", "--out", str(tmp_path), "--n-boot", "-1"]) == 2
    assert "--n-boot must be >= 1" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_cli_out_naming_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "results.txt"
    out.write_text("keep me")
    argv = ["monitor", "bench", "--models", *TINY, "--detectors", "mahalanobis", "--text-guards"]
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{out}: field 'out': " in err and "names an existing file" in err
    assert out.read_text() == "keep me"


def test_cli_corrupt_cache_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "features.sqlite"
    cache.write_bytes(b"definitely not sqlite " * 50)
    out = tmp_path / "runs"
    argv = ["monitor", "bench", "--models", *TINY, "--detectors", "mahalanobis", "--text-guards"]
    assert main([*argv, "--cache", str(cache), "--out", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and f"{cache}: unusable cache file" in err[0]
    assert not out.exists()


def test_other_fprs_and_odd_domain_names_make_a_readable_report(tmp_path: Path) -> None:
    extra = tmp_path / "odd.jsonl"
    rows = [
        {
            "id": f"odd-{i}",
            "conversation": [{"role": "user", "content": f"odd request {i}"}],
            "domain": "odd | domain\nname",
            "malign": 1,
        }
        for i in range(10)
    ]
    extra.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = run_bench(
        _cfg(tmp_path, fprs=(0.05,), detectors=("mahalanobis",), extra_test=(str(extra),))
    )
    overall = json.loads((run / "metrics.json").read_text())["monitors"]
    groups = next(iter(overall.values()))["groups"]
    assert {"tpr@fpr0.05", "tpr@fpr0.01"} <= set(groups["overall"])
    assert "odd | domain\nname" in groups
    md = (run / "report.md").read_text().splitlines()
    assert any("odd \\| domain name" in ln for ln in md)
    for table in _tables(md):  # every row has as many cells as its header
        assert len({ln.replace("\\|", "").count("|") for ln in table}) == 1
    assert "odd | domain\nname" in (run / "report.html").read_text()


def _tables(lines: list[str]) -> list[list[str]]:
    tables: list[list[str]] = []
    prev = False
    for ln in lines:
        is_row = ln.startswith("|")
        if is_row and not prev:
            tables.append([])
        if is_row:
            tables[-1].append(ln)
        prev = is_row
    assert tables
    return tables


# --- benchmark files ---------------------------------------------------------------------------


def _row_json(r: MoodRow) -> str:
    turns = [{"role": t.role, "content": t.content} for t in r.conversation]
    obj = {"id": r.id, "conversation": turns, "domain": r.domain, "malign": r.malign}
    return json.dumps({**obj, "split": r.split})


def _write_bench(folder: Path) -> dict[str, list[str]]:
    data = load_data("demo")
    lines = {s: [_row_json(r) for r in rows] for s, rows in data.splits().items()}
    _save(folder, lines)
    return lines


def _save(folder: Path, lines: dict[str, list[str]]) -> None:
    folder.mkdir(exist_ok=True)
    for split, rows in lines.items():
        (folder / f"{split}.jsonl").write_text("\n".join(rows) + "\n")


def test_duplicate_id_across_files_names_both_places(tmp_path: Path) -> None:
    lines = _write_bench(tmp_path)
    lines["test"][4] = lines["train"][2].replace('"split": "train"', '"split": "test"')
    _save(tmp_path, lines)
    with pytest.raises(AlignlabError) as err:
        load_benchmark_dir(tmp_path)
    e = err.value
    assert (e.file, e.line, e.field) == (str(tmp_path / "test.jsonl"), 5, "id")
    assert f"first at {tmp_path / 'train.jsonl'}:3" in e.message


def test_duplicate_id_in_one_file_counts_blank_lines(tmp_path: Path) -> None:
    lines = _write_bench(tmp_path)
    lines["test"] = ["", "", *lines["test"][:3], "", lines["test"][1], *lines["test"][3:]]
    _save(tmp_path, lines)
    with pytest.raises(AlignlabError) as err:
        load_benchmark_dir(tmp_path)
    assert err.value.line == 7 and "first at line 4" in err.value.message


def test_split_mismatch_reports_the_file_line(tmp_path: Path) -> None:
    lines = _write_bench(tmp_path)
    lines["test"] = ["", "", *lines["test"]]
    lines["test"][4] = lines["test"][4].replace('"split": "test"', '"split": "train"')
    _save(tmp_path, lines)
    with pytest.raises(AlignlabError, match="marked 'train' inside the test file") as err:
        load_benchmark_dir(tmp_path)
    assert (err.value.file, err.value.line) == (str(tmp_path / "test.jsonl"), 5)


def test_non_utf8_benchmark_row_is_located(tmp_path: Path) -> None:
    _write_bench(tmp_path)
    raw = (tmp_path / "calib.jsonl").read_bytes().split(b"\n")
    raw[3] = raw[3].replace(b"user", b"us\xffer", 1)
    (tmp_path / "calib.jsonl").write_bytes(b"\n".join(raw))
    with pytest.raises(AlignlabError, match="not UTF-8") as err:
        load_benchmark_dir(tmp_path)
    assert (err.value.file, err.value.line) == (str(tmp_path / "calib.jsonl"), 4)


def test_extra_test_errors_use_file_lines(tmp_path: Path) -> None:
    data = load_data("demo")
    row = {"conversation": [{"role": "user", "content": "hm"}], "domain": "mine", "malign": 1}
    text = "\n\n" + json.dumps({"id": "a", **row}) + "\n\n" + json.dumps({"id": "a", **row})
    (tmp_path / "extra.jsonl").write_text(text + "\n")
    with pytest.raises(AlignlabError, match="already used") as err:
        add_extra_test(data, tmp_path / "extra.jsonl")
    assert err.value.line == 5
