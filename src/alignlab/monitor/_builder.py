"""Build a MOOD-style benchmark from public raw sources, and write it as one atomic folder.

Designs (:data:`DESIGNS`):

- ``absolute`` (default): in-distribution domains ``xstest-completions`` and ``moderation``,
  whose labels are absolute (this conversation is safe / is not), split by opening turn into
  train, calib and test; OOD test domains ``_sources.ABSOLUTE_OOD``, of which
  ``_sources.UNTOUCHED`` are the held-out ones.
- ``hh-preference``: in-distribution ``hh-rlhf-harmless`` chosen/rejected dialogues. Those
  labels are relative preferences between two replies, not safety labels, so guards sit at
  chance in distribution; kept to reproduce older runs, and labelled so in the manifest.

The output folder holds ``train.jsonl``, ``calib.jsonl``, ``test.jsonl`` and ``manifest.json``;
the same seed gives byte-identical files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alignlab.core import AlignlabError, atomic_folder, read_json, sha256_file
from alignlab.monitor import _sources as src
from alignlab.monitor._builder_splits import cap_per_label, grouped_splits, hh_splits, rng_for
from alignlab.monitor._schema import MoodData, MoodRow, row_to_json

FORMAT = "alignlab-mood-benchmark/1"
DESIGNS = ("absolute", "hh-preference")
ID_FRACTIONS = (0.5, 0.2, 0.3)  # train, calib, test share of each in-distribution domain
LABEL_KINDS = {
    "absolute": "absolute: each row is labelled safe or unsafe on its own",
    "hh-preference": "relative preference: HH-RLHF chosen = safe, rejected = unsafe, although "
    "both replies of a pair are often harmful or both harmless; guards trained on it sit at "
    "chance in distribution",
}


def _absolute(raw: Path, seed: int, max_per_domain: int | None) -> tuple[list[list[MoodRow]], dict]:
    splits: list[list[MoodRow]] = [[], [], []]
    for domain, reader in src.ABSOLUTE_ID.items():
        for part, rows in zip(
            splits, grouped_splits(reader(raw), ID_FRACTIONS, rng_for(seed, domain)), strict=True
        ):
            part += rows
    train, calib, test = (sorted(p, key=lambda r: r.id) for p in splits)
    for domain, reader in src.ABSOLUTE_OOD.items():
        test += cap_per_label(reader(raw), max_per_domain, rng_for(seed, domain))
    info = {
        "id_domains": list(src.ABSOLUTE_ID),
        "ood_domains": list(src.ABSOLUTE_OOD),
        "untouched_domains": list(src.UNTOUCHED),
        "id_fractions": dict(zip(("train", "calib", "test"), ID_FRACTIONS, strict=True)),
    }
    return [train, calib, test], info


def _hh_preference(
    raw: Path, seed: int, max_per_domain: int | None, sizes: tuple[int, int, int]
) -> tuple[list[list[MoodRow]], dict]:
    train, calib, test = hh_splits(raw, seed, sizes)
    for domain, reader in src.OOD_READERS.items():
        test += cap_per_label(reader(raw), max_per_domain, rng_for(seed, domain))
    sizes_info = dict(zip(("id_train", "id_calib", "id_test"), sizes, strict=True))
    info = {"id_domains": ["hh-rlhf-harmless"], "ood_domains": list(src.OOD_READERS), **sizes_info}
    return [train, calib, test], info


def build_benchmark(
    raw_dir: str | Path,
    *,
    design: str = "absolute",
    seed: int = 0,
    max_per_domain: int | None = 400,
    id_train: int = 1200,
    id_calib: int = 300,
    id_test: int = 400,
) -> MoodData:
    """Build the public MOOD-style benchmark in memory from ``raw_dir``.

    ``raw_dir`` holds the public sources in their published layout (HH-RLHF, XSTest, OpenAI
    moderation samples, SimpleSafetyTests, HarmBench, StrongREJECT, AdvBench, the
    emergent-misalignment code and evaluation files). ``max_per_domain`` caps each OOD domain
    per label (seeded); ``id_*`` are the row counts of the ``hh-preference`` design's
    in-distribution splits (the absolute design splits by :data:`ID_FRACTIONS`).

    Raises:
        AlignlabError: an unknown design, a missing source file (named) or malformed rows.
    """
    if design not in DESIGNS:
        raise AlignlabError(
            f"unknown design {design!r}; known: {', '.join(DESIGNS)}", field="design"
        )
    raw = Path(raw_dir)
    gone = src.missing_files(raw)
    if gone:
        raise AlignlabError(
            f"missing raw source files: {', '.join(gone)}. The folder should hold the public "
            "sources in their published layout (hh-rlhf, xstest, openai-moderation, "
            "simple-safety-tests, harmbench, strongreject, advbench, insecure-code, "
            "em-evaluation)",
            file=raw,
        )
    if design == "absolute":
        (train, calib, test), info = _absolute(raw, seed, max_per_domain)
    else:
        (train, calib, test), info = _hh_preference(
            raw, seed, max_per_domain, (id_train, id_calib, id_test)
        )
    domains = set(info["id_domains"]) | set(info["ood_domains"])
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "name": "public" if design == "absolute" else "public-hh-preference",
        "design": design,
        "labels": LABEL_KINDS[design],
        "seed": seed,
        "caps": {"max_per_domain": max_per_domain},
        **info,
        "domains": {d: n for d, n in src.DOMAIN_NOTES.items() if d in domains},
        "sources": {rel: sha256_file(raw / rel) for rel in src.source_files(raw)},
    }
    data = MoodData(train, calib, test, tuple(info["id_domains"]), manifest)
    data.manifest["counts"] = data.counts()
    return data.validate()


def _dump_rows(path: Path, rows: Sequence[MoodRow]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for r in rows:
            fh.write(json.dumps(row_to_json(r), ensure_ascii=False) + "\n")


def _write_files(data: MoodData, folder: Path) -> None:
    for name, rows in data.splits().items():
        _dump_rows(folder / f"{name}.jsonl", rows)
    manifest = {**data.manifest, "id_domains": list(data.id_domains), "counts": data.counts()}
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    (folder / "manifest.json").write_text(text, encoding="utf-8")


def write_benchmark(data: MoodData, out_dir: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``train/calib/test.jsonl`` and ``manifest.json`` into ``out_dir`` as one unit.

    Files are written in a temp folder beside ``out_dir`` and renamed into place, so a failure
    leaves no half-written benchmark. An existing non-empty ``out_dir`` is replaced only with
    ``overwrite=True``, and only when it holds a built benchmark (its ``manifest.json`` names
    this format): a folder of anything else is never deleted. The manifest's counts are
    recomputed from ``data``.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise AlignlabError("exists and is not a folder", file=out)
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise AlignlabError(
                "folder exists and is not empty; --overwrite (overwrite=True from Python) "
                "replaces a folder that holds a built benchmark",
                file=out,
            )
        _check_is_benchmark(out)
    data.validate()
    with atomic_folder(out) as tmp:
        _write_files(data, tmp)
    return out


def _check_is_benchmark(folder: Path) -> None:
    """Refuses to let ``overwrite`` delete a folder that is not a benchmark this module wrote."""
    manifest = folder / "manifest.json"
    ok = False
    if manifest.is_file():
        try:
            got = read_json(manifest)
        except AlignlabError:
            got = None
        ok = isinstance(got, dict) and got.get("format") == FORMAT
    if not ok:
        raise AlignlabError(
            f"refusing to overwrite: the folder holds no benchmark manifest (manifest.json with "
            f'"format": "{FORMAT}"), so its files are not a built benchmark; choose another '
            "--out or empty the folder yourself",
            file=folder,
        )
