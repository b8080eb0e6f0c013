from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from alignlab.core import AlignlabError, sha256_file
from alignlab.monitor import _builder
from alignlab.monitor._builder import build_benchmark, write_benchmark
from alignlab.monitor._loaders import load_benchmark_dir
from alignlab.monitor._schema import MoodData, count_rows

RAW = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "raw"
pytestmark = pytest.mark.skipif(not RAW.is_dir(), reason="shared raw data not present")


@pytest.fixture(scope="module")
def built() -> MoodData:
    return build_benchmark(RAW, design="hh-preference", seed=0)


@pytest.fixture(scope="module")
def absolute() -> MoodData:
    return build_benchmark(RAW, seed=0)


@pytest.fixture(scope="module")
def written(built: MoodData, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_benchmark(built, tmp_path_factory.mktemp("w") / "bench")


def test_domains_and_train_restriction(built: MoodData) -> None:
    ood = built.ood_domains()
    assert len(ood) >= 6
    counts = built.counts()
    assert all(counts["test"][d]["unsafe"] >= 1 for d in ood)
    assert {r.domain for r in built.train + built.calib} == {"hh-rlhf-harmless"}
    assert built.id_domains == ("hh-rlhf-harmless",)
    assert counts["train"]["hh-rlhf-harmless"] == {"safe": 600, "unsafe": 600}
    assert counts["calib"]["hh-rlhf-harmless"] == {"safe": 150, "unsafe": 150}
    assert all(c["safe"] <= 400 and c["unsafe"] <= 400 for c in counts["test"].values())


def test_ids_unique_and_readable(built: MoodData) -> None:
    ids = [r.id for r in built.train + built.calib + built.test]
    assert len(ids) == len(set(ids))
    assert all(
        i.startswith("hh-harmless-") and i.endswith(("-chosen", "-rejected"))
        for i in (r.id for r in built.train)
    )


def test_hh_pairs_and_prompts_never_cross_splits(built: MoodData) -> None:
    def pair(rid: str) -> str:
        return rid.rsplit("-", 1)[0]

    def opening(row) -> str:  # type: ignore[no-untyped-def]
        return " ".join(row.conversation[0].content.lower().split())

    splits = [built.train, built.calib, [r for r in built.test if r.domain in built.id_domains]]
    pairs = [{pair(r.id) for r in s} for s in splits]
    prompts = [{opening(r) for r in s} for s in splits]
    for a in range(3):
        for b in range(a + 1, 3):
            assert not pairs[a] & pairs[b] and not prompts[a] & prompts[b]
    # one side per pair: no pair gives both a safe and an unsafe row
    assert sum(len(p) for p in pairs) == sum(len(s) for s in splits)
    assert all(r.conversation[-1].role == "assistant" for r in built.train)


def test_manifest_counts_match_files(written: Path) -> None:
    manifest = json.loads((written / "manifest.json").read_text())
    for split in ("train", "calib", "test"):
        lines = (written / f"{split}.jsonl").read_text().splitlines()
        rows = [json.loads(x) for x in lines]
        counts: dict = {}
        for r in rows:
            c = counts.setdefault(r["domain"], {"safe": 0, "unsafe": 0})
            c["unsafe" if r["malign"] else "safe"] += 1
        assert manifest["counts"][split] == counts
    for rel, digest in manifest["sources"].items():
        assert sha256_file(RAW / rel) == digest
    assert manifest["seed"] == 0 and manifest["caps"]["max_per_domain"] == 400


def test_written_folder_loads_back(built: MoodData, written: Path) -> None:
    back = load_benchmark_dir(written)
    assert back.train == built.train and back.calib == built.calib and back.test == built.test
    assert back.id_domains == built.id_domains


def test_same_seed_same_bytes(written: Path, tmp_path: Path) -> None:
    again = write_benchmark(build_benchmark(RAW, design="hh-preference"), tmp_path / "again")
    for name in ("train.jsonl", "calib.jsonl", "test.jsonl", "manifest.json"):
        assert (again / name).read_bytes() == (written / name).read_bytes()
    other = build_benchmark(
        RAW,
        design="hh-preference",
        seed=1,
        max_per_domain=50,
        id_train=100,
        id_calib=20,
        id_test=30,
    )
    assert [r.id for r in other.train] != [r.id for r in load_benchmark_dir(again).train][:100]
    assert count_rows(other.train)["hh-rlhf-harmless"] == {"safe": 50, "unsafe": 50}
    assert all(c["unsafe"] <= 50 for c in other.counts()["test"].values())


def test_write_refuses_non_empty_then_overwrites(built: MoodData, tmp_path: Path) -> None:
    out = tmp_path / "bench"
    write_benchmark(built, out)
    (out / "old.txt").write_text("stale")
    with pytest.raises(AlignlabError, match="--overwrite"):
        write_benchmark(built, out)
    assert (out / "old.txt").exists()
    write_benchmark(built, out, overwrite=True)
    assert not (out / "old.txt").exists() and (out / "manifest.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench"]


@pytest.mark.parametrize("manifest", [None, "{not json", '{"format": "something-else"}', "[]"])
def test_overwrite_never_deletes_a_folder_that_is_not_a_benchmark(
    built: MoodData, tmp_path: Path, manifest: str | None
) -> None:
    out = tmp_path / "my-files"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    if manifest is not None:
        (out / "manifest.json").write_text(manifest)
    with pytest.raises(AlignlabError, match="no benchmark manifest") as info:
        write_benchmark(built, out, overwrite=True)
    assert info.value.file == str(out)
    assert (out / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my-files"]


def test_failure_mid_write_leaves_nothing(
    built: MoodData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}
    real = _builder.row_to_json

    def flaky(row):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] > 1500:  # past train and calib, inside test.jsonl
            raise OSError("disk full")
        return real(row)

    monkeypatch.setattr(_builder, "row_to_json", flaky)
    with pytest.raises(OSError, match="disk full"):
        write_benchmark(built, tmp_path / "bench")
    assert list(tmp_path.iterdir()) == []
    # with an old benchmark in place, a failed overwrite keeps the old one intact
    monkeypatch.setattr(_builder, "row_to_json", real)
    write_benchmark(built, tmp_path / "bench")
    before = (tmp_path / "bench" / "test.jsonl").read_bytes()
    calls["n"] = 0
    monkeypatch.setattr(_builder, "row_to_json", flaky)
    with pytest.raises(OSError):
        write_benchmark(built, tmp_path / "bench", overwrite=True)
    assert (tmp_path / "bench" / "test.jsonl").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["bench"]


def test_missing_source_names_path(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw, ignore=shutil.ignore_patterns("craftassist*", "mbag*"))
    (raw / "advbench" / "harmful_behaviors.csv").unlink()
    with pytest.raises(AlignlabError, match="advbench/harmful_behaviors.csv") as info:
        build_benchmark(raw)
    assert "published layout" in str(info.value) and info.value.file == str(raw)


def test_bad_source_column_is_named(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw, ignore=shutil.ignore_patterns("craftassist*", "mbag*"))
    (raw / "advbench" / "harmful_behaviors.csv").write_text("goal,aim\nx,y\n")
    with pytest.raises(AlignlabError) as info:
        build_benchmark(raw, design="hh-preference")
    assert info.value.field == "target" and info.value.file.endswith("harmful_behaviors.csv")


def test_too_few_prompts_is_an_error() -> None:
    with pytest.raises(AlignlabError, match="distinct HH prompts"):
        build_benchmark(RAW, design="hh-preference", id_train=5000)
    with pytest.raises(AlignlabError, match="unknown design") as info:
        build_benchmark(RAW, design="relative")
    assert info.value.field == "design"
