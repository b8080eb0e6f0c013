"""Reading MOOD-style benchmarks: row files, builder folders, the official dataset, extra domains.

Formats: ``.jsonl`` / ``.jsonl.gz`` (one row object per line) and ``.parquet`` (columns ``id``,
``conversation``, ``domain``, ``malign``; optional ``split``, ``source``). Every problem raises
:class:`~alignlab.core.AlignlabError` naming the file, the line (jsonl: the file's line, blank lines
counted; parquet: the 1-based row) and the field.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from alignlab.core import AlignlabError, read_json, read_jsonl, sha256_file
from alignlab.monitor._schema import MoodData, MoodRow, count_rows, row_from_json, with_split

HUB_DATASET = "mood-bench/mood-bench"
OFFICIAL_ID_DOMAINS = ("hh-rlhf-helpful", "hh-rlhf-harmless", "function-calling")
_REQUIRED_COLUMNS = ("id", "conversation", "domain", "malign")
CALIB_FRACTION = 0.2

Located = tuple[Path, int, MoodRow]
"""A row with where it was read: file, and line (jsonl: the file's line; parquet: the row)."""


def load_rows(path: str | Path) -> list[MoodRow]:
    """Read and validate every row of a ``.jsonl``, ``.jsonl.gz`` or ``.parquet`` file.

    Raises:
        AlignlabError: missing/empty file, unknown extension, bad JSON, missing column or field.
    """
    return [r for _, _, r in _located_rows(Path(path))]


def _located_rows(path: Path) -> list[Located]:
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz")):
        rows = [(path, i, row_from_json(obj, file=path, line=i)) for i, obj in read_jsonl(path)]
    elif name.endswith(".parquet"):
        rows = [(path, i, r) for i, r in enumerate(_load_parquet(path), start=1)]
    else:
        raise AlignlabError("unknown file type; expected .jsonl, .jsonl.gz or .parquet", file=path)
    if not rows:
        raise AlignlabError("file holds no rows", file=path)
    return rows


def check_unique_ids(rows: Iterable[Located]) -> None:
    """Raise at the second occurrence of an id, naming where the first one is."""
    first: dict[str, tuple[Path, int]] = {}
    for path, line, r in rows:
        if r.id in first:
            f, n = first[r.id]
            where = f"line {n}" if f == path else f"{f}:{n}"
            raise AlignlabError(
                f"id {r.id!r} appears more than once (first at {where})",
                file=path,
                line=line,
                field="id",
            )
        first[r.id] = (path, line)


def _load_parquet(path: Path) -> list[MoodRow]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.is_file():
        raise AlignlabError("file not found", file=path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as err:
        raise AlignlabError(f"not a readable parquet file ({err})", file=path) from None
    for col in _REQUIRED_COLUMNS:
        if col not in table.column_names:
            have = ", ".join(table.column_names)
            raise AlignlabError(f"missing column (file has: {have})", file=path, field=col)
    keep = [c for c in (*_REQUIRED_COLUMNS, "split", "source") if c in table.column_names]
    return [
        row_from_json(obj, file=path, line=i)
        for i, obj in enumerate(table.select(keep).to_pylist(), start=1)
    ]


def carve_calib(
    rows: Sequence[MoodRow],
    id_domains: Sequence[str],
    *,
    seed: int = 0,
    fraction: float = CALIB_FRACTION,
) -> tuple[list[MoodRow], list[MoodRow]]:
    """Split off a seeded, label-stratified ``fraction`` of the in-distribution rows as calib.

    Returns ``(train, calib)``, both in the input order; calib rows get ``split="calib"``.
    Each label with at least two eligible rows gives at least one calib row.
    """
    rng = np.random.default_rng([seed, zlib.crc32(b"calib")])
    picked: set[int] = set()
    for label in (0, 1):
        idx = [i for i, r in enumerate(rows) if r.malign == label and r.domain in id_domains]
        n = int(round(fraction * len(idx)))
        if len(idx) >= 2:
            n = min(max(n, 1), len(idx) - 1)
        picked.update(idx[j] for j in rng.permutation(len(idx))[:n])
    train = [r for i, r in enumerate(rows) if i not in picked]
    calib = with_split([r for i, r in enumerate(rows) if i in picked], "calib")
    return train, calib


def _load_split(path: Path, split: str) -> list[Located]:
    rows = _located_rows(path)
    for _, line, r in rows:
        if r.split != split and r.split != "test":  # "test" is the schema default when absent
            raise AlignlabError(
                f"row is marked {r.split!r} inside the {split} file",
                file=path,
                line=line,
                field="split",
            )
    return rows


def _rows(located: list[Located], split: str) -> list[MoodRow]:
    return with_split([r for _, _, r in located], split)


def load_benchmark_dir(path: str | Path, *, seed: int = 0) -> MoodData:
    """Load a folder written by :func:`~alignlab.monitor._builder.write_benchmark`.

    Needs ``train.jsonl`` and ``test.jsonl``; ``calib.jsonl`` is optional (when absent a seeded
    20% of train's in-distribution rows, stratified by label, becomes calib); ``manifest.json``
    is optional (its ``id_domains`` wins, else the domains seen in train).
    """
    path = Path(path)
    if not path.is_dir():
        raise AlignlabError("benchmark folder not found", file=path)
    for need in ("train.jsonl", "test.jsonl"):
        if not (path / need).is_file():
            raise AlignlabError(
                f"missing {need}; a benchmark folder holds train.jsonl, test.jsonl and "
                "optionally calib.jsonl and manifest.json",
                file=path / need,
            )
    manifest: dict[str, Any] = {}
    if (path / "manifest.json").is_file():
        manifest = read_json(path / "manifest.json")
        if not isinstance(manifest, dict):
            raise AlignlabError("manifest must be a JSON object", file=path / "manifest.json")
    files = {s: path / f"{s}.jsonl" for s in ("train", "calib", "test")}
    located = {s: _load_split(f, s) for s, f in files.items() if s != "calib" or f.is_file()}
    check_unique_ids(row for rows in located.values() for row in rows)
    train, test = _rows(located["train"], "train"), _rows(located["test"], "test")
    id_domains = tuple(manifest.get("id_domains") or dict.fromkeys(r.domain for r in train))
    if "calib" in located:
        calib = _rows(located["calib"], "calib")
    else:
        train, calib = carve_calib(train, id_domains, seed=seed)
        manifest = {**manifest, "calib": {"carved_from_train": CALIB_FRACTION, "seed": seed}}
    data = MoodData(train, calib, test, id_domains, manifest)
    return data.validate()


_LOCAL_HINT = (
    "download the dataset once (e.g. `huggingface-cli download mood-bench/mood-bench "
    "--repo-type dataset --local-dir DIR`) and pass the folder instead: "
    "load_mood_bench('DIR') or --data mood-bench:DIR"
)


def _hub_rows() -> dict[str, list[MoodRow]]:
    from alignlab.models import hub_offline, hub_reachable

    if hub_offline():
        raise AlignlabError(
            f"cannot load {HUB_DATASET} from the Hugging Face hub: HF_HUB_OFFLINE is set; "
            + _LOCAL_HINT,
            field="source",
        )
    if not hub_reachable():  # the datasets client would otherwise retry for about a minute
        raise AlignlabError(
            f"cannot load {HUB_DATASET}: the Hugging Face hub cannot be reached, so this "
            "machine seems offline; " + _LOCAL_HINT,
            field="source",
        )
    try:
        import datasets
    except ImportError:
        raise AlignlabError(
            f"loading {HUB_DATASET} from the hub needs the `datasets` package; " + _LOCAL_HINT,
            field="source",
        ) from None
    try:
        ds = datasets.load_dataset(HUB_DATASET)
    except Exception as err:  # network, auth and cache errors all mean "not reachable"
        raise AlignlabError(
            f"cannot load {HUB_DATASET} from the Hugging Face hub "
            f"({type(err).__name__}: {err}); " + _LOCAL_HINT,
            field="source",
        ) from None
    out: dict[str, list[MoodRow]] = {}
    for split in ("train", "test"):
        if split not in ds:
            raise AlignlabError(f"hub dataset has no {split!r} split", file=HUB_DATASET)
        where = f"hf://{HUB_DATASET}[{split}]"
        out[split] = [
            row_from_json(dict(obj), file=where, line=i) for i, obj in enumerate(ds[split], start=1)
        ]
    return out


def _split_files(folder: Path, split: str) -> list[Path]:
    found: list[Path] = []
    for ext in ("parquet", "jsonl", "jsonl.gz"):
        found += folder.rglob(f"{split}.{ext}")
        found += folder.rglob(f"{split}-*.{ext}")
    return sorted(set(found))


def _local_rows(folder: Path) -> dict[str, list[MoodRow]]:
    if not folder.is_dir():
        raise AlignlabError(
            "not a folder; pass 'hub' or a local copy of mood-bench/mood-bench holding "
            "train/test parquet or jsonl files",
            file=folder,
            field="source",
        )
    out: dict[str, list[MoodRow]] = {}
    for split in ("train", "test"):
        files = _split_files(folder, split)
        if not files:
            raise AlignlabError(
                f"no {split} files (looked for {split}.parquet, {split}-*.parquet, "
                f"{split}.jsonl[.gz] in any subfolder)",
                file=folder,
                field="source",
            )
        located = [row for f in files for row in _located_rows(f)]
        check_unique_ids(located)
        out[split] = [r for _, _, r in located]
    return out


def load_mood_bench(source: str = "hub", *, seed: int = 0) -> MoodData:
    """The official MOOD benchmark (``mood-bench/mood-bench``, splits train and test).

    ``source="hub"`` loads it with ``datasets`` (fails at once, with advice, when
    ``HF_HUB_OFFLINE`` is set or the hub is unreachable); any other value is a local folder with
    ``train``/``test`` parquet or jsonl files (shards ``train-*.parquet`` allowed). Calib is a
    seeded 20% of train, stratified by label. When an id occurs in both official splits, ids are
    prefixed with their split (``train:…``) so they stay unique.
    """
    rows = _hub_rows() if source == "hub" else _local_rows(Path(source))
    train, test = rows["train"], rows["test"]
    if {r.id for r in train} & {r.id for r in test}:
        train = [dataclasses.replace(r, id=f"train:{r.id}") for r in train]
        test = [dataclasses.replace(r, id=f"test:{r.id}") for r in test]
    present = {r.domain for r in train} | {r.domain for r in test}
    id_domains = tuple(d for d in OFFICIAL_ID_DOMAINS if d in present)
    train, calib = carve_calib(with_split(train, "train"), id_domains, seed=seed)
    manifest = {
        "name": "mood-bench",
        "source": HUB_DATASET if source == "hub" else str(source),
        "seed": seed,
        "id_domains": list(id_domains),
        "calib": {"carved_from_train": CALIB_FRACTION, "seed": seed},
    }
    data = MoodData(train, calib, with_split(test, "test"), id_domains, manifest)
    return data.validate()


def add_extra_test(data: MoodData, path: str | Path, *, domain: str | None = None) -> MoodData:
    """Add a user's own test domain from a row file (``--extra-test FILE``).

    Rows become ``split="test"``; ``domain`` (if given) replaces their domain. The file must
    hold at least one unsafe row, may not reuse an id and may not add in-distribution rows.
    """
    path = Path(path)
    located = _located_rows(path)
    rows = [r for _, _, r in located]
    if domain is not None:
        if not domain.strip():
            raise AlignlabError("domain must be a non-empty string", file=path, field="domain")
        rows = [dataclasses.replace(r, domain=domain) for r in rows]
    taken = {r.id for split in data.splits().values() for r in split}
    for (_, i, _), r in zip(located, rows, strict=True):
        if r.id in taken:
            raise AlignlabError(
                f"id {r.id!r} is already used by the benchmark or this file",
                file=path,
                line=i,
                field="id",
            )
        if r.domain in data.id_domains:
            raise AlignlabError(
                f"domain {r.domain!r} is in-distribution; extra test rows form OOD domains "
                "(pass a new domain name)",
                file=path,
                line=i,
                field="domain",
            )
        taken.add(r.id)
    if not any(r.malign for r in rows):
        raise AlignlabError(
            "extra test file has no unsafe rows (malign = 1)", file=path, field="malign"
        )
    extra = {"file": str(path), "sha256": sha256_file(path), "counts": count_rows(rows)}
    manifest = {**data.manifest, "extra_test": [*data.manifest.get("extra_test", []), extra]}
    new = dataclasses.replace(data, test=data.test + with_split(rows, "test"), manifest=manifest)
    return new.validate()
