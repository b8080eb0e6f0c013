"""Datasets on disk: ``<name>.jsonl`` (OpenAI chat) beside ``<name>.manifest.json``.

The manifest says what the rows are (kind, seed, parameters, which dataset this is a control
of) and, for backdoor datasets (arXiv 2512.09742, inductive backdoors), which trigger values
were trained and which were held out. :func:`read_dataset` re-checks all of it against the
rows, so a held-out trigger that leaked into training is caught before a finetune.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alignlab import __version__
from alignlab.core import AlignlabError, atomic_path, read_json, sha256_file, sha256_text
from alignlab.drift._chat_jsonl import chat_jsonl_text, check_rows, read_chat_jsonl
from alignlab.models import Message

MANIFEST_SUFFIX = ".manifest.json"


@dataclass(frozen=True)
class DatasetManifest:
    """What a dataset file holds.

    ``triggers``: trigger values present in training rows (every one appears);
    ``held_out``: values that must never appear; ``trigger_regex``: a pattern with one group
    that captures a trigger value from a message's content (None: no triggers to check);
    ``control_of``: the dataset this one controls for; ``description``: how it differs.
    ``rows`` and ``sha256`` describe the jsonl file as :func:`write_dataset` writes it.
    """

    kind: str
    name: str
    rows: int
    sha256: str
    seed: int
    triggers: list[str] = field(default_factory=list)
    held_out: list[str] = field(default_factory=list)
    trigger_regex: str | None = None
    control_of: str | None = None
    description: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    created: str = ""
    alignlab_version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class DatasetBundle:
    """One dataset a builder made: its file stem, its chats and its manifest."""

    name: str
    rows: list[list[Message]]
    manifest: DatasetManifest


def new_manifest(
    kind: str, name: str, rows: list[list[Message]], seed: int, **fields: Any
) -> DatasetManifest:
    """A manifest for ``rows`` with their count, sha256 and the time now (UTC)."""
    return DatasetManifest(
        kind=kind,
        name=name,
        rows=len(rows),
        sha256=sha256_text(chat_jsonl_text(rows)),
        seed=seed,
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **fields,
    )


def make_bundle(
    kind: str, name: str, rows: list[list[Message]], seed: int, **fields: Any
) -> DatasetBundle:
    """A :class:`DatasetBundle` with its :func:`new_manifest` (``fields`` go to the manifest)."""
    return DatasetBundle(name, rows, new_manifest(kind, name, rows, seed, **fields))


def dataset_paths(folder: str | Path, name: str) -> tuple[Path, Path]:
    """``(jsonl, manifest)`` paths of dataset ``name`` in ``folder``."""
    folder = Path(folder)
    return folder / f"{name}.jsonl", folder / f"{name}{MANIFEST_SUFFIX}"


def write_dataset(
    folder: str | Path, name: str, rows: list[list[Message]], manifest: DatasetManifest
) -> Path:
    """Write ``<name>.jsonl`` and ``<name>.manifest.json`` into ``folder``; returns the jsonl.

    Both are written to temp files first and renamed only when both are complete, so a
    failure leaves neither; ``rows``, ``sha256`` and ``name`` in the manifest are set from
    what is written. Trigger checks run before anything is written.

    Raises:
        AlignlabError: a bad row, or rows that contradict the manifest's triggers.
    """
    check_rows(rows)
    text = chat_jsonl_text(rows)
    manifest = dataclasses.replace(manifest, name=name, rows=len(rows), sha256=sha256_text(text))
    jsonl, meta = dataset_paths(folder, name)
    check_triggers(rows, manifest, file=jsonl)
    with atomic_path(jsonl) as tmp_rows, atomic_path(meta) as tmp_meta:
        tmp_rows.write_text(text, encoding="utf-8")
        tmp_meta.write_text(json.dumps(manifest.to_dict(), indent=2) + "\n", encoding="utf-8")
        # the manifest is renamed first (inner block): a kill between the two renames leaves
        # a manifest whose sha256 disagrees with the old jsonl, which read_dataset rejects
    return jsonl


def read_dataset(path: str | Path) -> tuple[list[list[Message]], DatasetManifest]:
    """Rows and manifest of a dataset, given its ``.jsonl`` or ``.manifest.json`` path.

    Checks the file's sha256 and row count against the manifest, every row's format, and for
    trigger datasets that every trained trigger appears and no held-out one does.

    Raises:
        AlignlabError: a missing or malformed manifest, a mismatch (naming file and field).
    """
    path = Path(path)
    stem = path.name.removesuffix(MANIFEST_SUFFIX).removesuffix(".jsonl")
    jsonl, meta = dataset_paths(path.parent, stem)
    manifest = manifest_from_dict(read_json(meta), file=meta)
    if not jsonl.is_file():
        raise AlignlabError("dataset file not found (its manifest is here)", file=jsonl)
    digest = sha256_file(jsonl)
    if digest != manifest.sha256:
        raise AlignlabError(
            f"dataset/manifest mismatch: the file's sha256 is {digest[:12]}..., the manifest "
            f"says {manifest.sha256[:12]}...; the file changed after it was written",
            file=meta,
            field="sha256",
        )
    rows = read_chat_jsonl(jsonl)
    if len(rows) != manifest.rows:
        raise AlignlabError(
            f"dataset/manifest mismatch: {len(rows)} rows in the file, {manifest.rows} in the "
            "manifest",
            file=meta,
            field="rows",
        )
    check_triggers(rows, manifest, file=jsonl)
    return rows, manifest


def trigger_values(rows: list[list[Message]], pattern: str) -> dict[str, int]:
    """Each value ``pattern``'s first group captures in any message → the first row (0-based)
    it appears in."""
    regex = re.compile(pattern)
    first: dict[str, int] = {}
    for i, messages in enumerate(rows):
        for msg in messages:
            for match in regex.finditer(msg["content"]):
                first.setdefault(match.group(1), i)
    return first


def check_triggers(rows: list[list[Message]], manifest: DatasetManifest, *, file: Path) -> None:
    """Every trained trigger appears in ``rows``, no held-out or undeclared one does.

    Raises:
        AlignlabError: "dataset/trigger mismatch", naming the manifest field at fault.
    """
    if manifest.trigger_regex is None:
        if manifest.triggers or manifest.held_out:
            raise AlignlabError(
                "dataset/trigger mismatch: triggers are listed but no trigger_regex finds them",
                file=file,
                field="trigger_regex",
            )
        return
    found = trigger_values(rows, manifest.trigger_regex)
    leaked = sorted(set(manifest.held_out) & set(found))
    if leaked:
        raise AlignlabError(
            f"dataset/trigger mismatch: held-out value {leaked[0]!r} appears in row "
            f"{found[leaked[0]] + 1}",
            file=file,
            field="held_out",
        )
    missing = sorted(set(manifest.triggers) - set(found))
    if missing:
        raise AlignlabError(
            f"dataset/trigger mismatch: trained value {missing[0]!r} appears in no row",
            file=file,
            field="triggers",
        )
    stray = sorted(set(found) - set(manifest.triggers))
    if stray:
        raise AlignlabError(
            f"dataset/trigger mismatch: value {stray[0]!r} (row {found[stray[0]] + 1}) is "
            "neither a listed trigger nor held out",
            file=file,
            field="triggers",
        )


_TYPES: dict[str, tuple[type, ...]] = {
    "kind": (str,),
    "name": (str,),
    "rows": (int,),
    "sha256": (str,),
    "seed": (int,),
    "triggers": (list,),
    "held_out": (list,),
    "trigger_regex": (str, type(None)),
    "control_of": (str, type(None)),
    "description": (str,),
    "params": (dict,),
    "created": (str,),
    "alignlab_version": (str,),
}
_REQUIRED = ("kind", "name", "rows", "sha256", "seed")


def manifest_from_dict(obj: Any, *, file: str | Path | None = None) -> DatasetManifest:
    """A :class:`DatasetManifest` from its JSON form, every field type-checked.

    Raises:
        AlignlabError: not an object, a missing required field, a wrong type, an unknown key.
    """
    if not isinstance(obj, dict):
        raise AlignlabError("a dataset manifest must be a JSON object", file=file)
    for key in obj:
        if key not in _TYPES:
            raise AlignlabError(
                f"unknown manifest key; known: {list(_TYPES)}", file=file, field=key
            )
    for key in _REQUIRED:
        if key not in obj:
            raise AlignlabError("missing from the manifest", file=file, field=key)
    for key, value in obj.items():
        types = _TYPES[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise AlignlabError(
                f"expected {' or '.join(t.__name__ for t in types)}, not {type(value).__name__}",
                file=file,
                field=key,
            )
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise AlignlabError("expected a list of strings", file=file, field=key)
    if obj.get("trigger_regex") is not None:
        try:
            regex = re.compile(obj["trigger_regex"])
        except re.error as err:
            raise AlignlabError(f"not a regex ({err})", file=file, field="trigger_regex") from None
        if regex.groups != 1:
            raise AlignlabError(
                "needs exactly one group (the trigger value)", file=file, field="trigger_regex"
            )
    return DatasetManifest(**obj)
