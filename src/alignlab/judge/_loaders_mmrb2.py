"""MMRB2 (Multimodal RewardBench 2, arXiv 2512.16899) from a user's copy, in either of its two
layouts.

- **Local JSON** (what its build scripts write): ``t2i.json``, ``edit.json``,
  ``interleaved.json``, ``reasoning.json``, each ``{"pairs": [...]}`` with ``pair_id`` (or
  ``id``), ``prompt_content`` and each response's ``response_content`` as lists of
  ``["text", TEXT]`` / ``["image", PATH]``, ``chosen`` (or ``human_preference``) ``"A"``/``"B"``;
  image paths are relative to the JSON file's folder (``images/``, ``input_images/``).
- **Hugging Face columns** (parquet, one config per task): ``pair_id``, ``prompt_text``,
  ``prompt_images``, ``response_a_text``, ``response_a_images``, ``response_b_text``,
  ``response_b_images``, ``chosen``, and optionally ``prompt_source``, ``prompt_metadata`` and
  ``human_annotations`` (JSON strings), ``response_a_model``, ``response_b_model``. Texts mark
  where images go with ``<image_N>`` placeholders; images fill them in order, and images left
  over follow the text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from alignlab.core import AlignlabError, read_json
from alignlab.judge._loaders_common import (
    Ids,
    Where,
    gold_label,
    image_segment,
    pil_to_png,
    text_of,
)
from alignlab.judge._pair import Pair, Segment

MMRB2_TASKS = ("t2i", "edit", "interleaved", "reasoning")
_PLACEHOLDER = re.compile(r"<image_\d+>")


def _local_image(value: Any, root: Path, where: Where, check: bool) -> Segment:
    """A local image path; a bare file name is also looked for in ``images/`` and
    ``input_images/`` (the response-only files name images without their folder)."""
    text = text_of(value, where)
    if check and not (root / text).is_file():
        for folder in ("images", "input_images"):
            if (root / folder / text).is_file():
                return image_segment(f"{folder}/{text}", root, where, check=True)
    return image_segment(text, root, where, check=check)


def _local_content(value: Any, root: Path, where: Where, check: bool) -> tuple[Segment, ...]:
    if not isinstance(value, list):
        where.fail('expected a list of ["text", TEXT] / ["image", PATH] items')
    out = []
    for j, item in enumerate(value):
        w = where.at(f"[{j}]")
        if not (isinstance(item, list) and len(item) == 2 and item[0] in ("text", "image")):
            w.fail(f'expected ["text", TEXT] or ["image", PATH], not {item!r}'[:200])
        if item[0] == "text":
            out.append(Segment.text(text_of(item[1], w)))
        else:
            out.append(_local_image(item[1], root, w, check))
    return tuple(out)


def _local_pair(obj: Any, root: Path, task: str, where: Where, check: bool) -> Pair:
    if not isinstance(obj, dict):
        where.fail("expected a JSON object")
    pair_id = obj.get("pair_id", obj.get("id"))
    if not isinstance(pair_id, str) or not pair_id:
        where.at("pair_id").fail("missing pair id ('pair_id' or 'id')")
    if "prompt_content" not in obj:
        where.at("prompt_content").fail(
            "missing: a response-only file? Build the full benchmark first (MMRB2's "
            "benchmark/build_from_hf.py or run_release.sh)"
        )
    responses = []
    for side in ("response_a", "response_b"):
        r = obj.get(side)
        if not isinstance(r, dict) or "response_content" not in r:
            where.at(side).fail("expected an object with 'response_content'")
        responses.append(
            _local_content(r["response_content"], root, where.at(f"{side}.response_content"), check)
        )
    key = "human_preference" if "chosen" not in obj and "human_preference" in obj else "chosen"
    meta = {
        k: obj[k] for k in ("prompt_source", "prompt_metadata", "human_annotations") if k in obj
    }
    meta["models"] = [
        obj[s].get("model", obj[s].get("model_name")) for s in ("response_a", "response_b")
    ]
    return Pair(
        id=pair_id,
        task=task,
        prompt=_local_content(obj["prompt_content"], root, where.at("prompt_content"), check),
        response_a=responses[0],
        response_b=responses[1],
        gold=gold_label(obj.get(key), where.at(key)),
        metadata={"source": "mmrb2", **meta},
        root=root,
    )


def load_mmrb2_json(
    path: str | Path, *, task: str | None = None, check_images: bool = True
) -> list[Pair]:
    """Pairs from one MMRB2 task file in the local layout. ``task`` defaults to the file's
    name (``t2i.json`` → ``t2i``)."""
    path = Path(path)
    data = read_json(path)
    rows = data.get("pairs") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise AlignlabError(
            'expected {"pairs": [...]} (an MMRB2 task file)', file=path, field="pairs"
        )
    name = task or path.name.removesuffix(".json")
    ids = Ids()
    out = []
    for i, obj in enumerate(rows):
        where = Where(path, None, f"pairs[{i}]")
        pair = _local_pair(obj, path.parent, name, where, check_images)
        ids.add(pair.id, where.at("pair_id"))
        out.append(pair)
    return out


def _hf_image(value: Any, name: str, where: Where) -> Segment:
    if isinstance(value, Mapping):
        data = value.get("bytes")
    elif isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    elif hasattr(value, "save"):  # a PIL image, as `datasets` decodes the column
        data = pil_to_png(value)
    else:
        where.fail(
            f"expected an image (bytes, {{'bytes': ...}} or a PIL image), got "
            f"{type(value).__name__}"
        )
    if not data:
        where.fail("image has no bytes")
    return Segment.image(name, bytes(data))


def _hf_content(
    row: Mapping[str, Any], prefix: str, pair_id: str, where: Where
) -> tuple[Segment, ...]:
    text = row.get(f"{prefix}_text") or ""
    text = text_of(text, where.at(f"{prefix}_text"))
    images = row.get(f"{prefix}_images") or []
    if not isinstance(images, list):
        where.at(f"{prefix}_images").fail("expected a list of images")
    segs = [
        _hf_image(im, f"{pair_id}/{prefix}_{k}", where.at(f"{prefix}_images[{k}]"))
        for k, im in enumerate(images)
    ]
    pieces = _PLACEHOLDER.split(text)
    if len(pieces) - 1 > len(segs):
        where.at(f"{prefix}_text").fail(
            f"{len(pieces) - 1} <image_N> placeholders but {len(segs)} images"
        )
    out: list[Segment] = []
    for k, piece in enumerate(pieces):
        if piece.strip():
            out.append(Segment.text(piece.strip()))
        if k < len(pieces) - 1:
            out.append(segs[k])
    return tuple(out + segs[len(pieces) - 1 :])


def _json_column(row: Mapping[str, Any], key: str, where: Where) -> Any:
    value = row.get(key)
    if not isinstance(value, str) or not value:
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as err:
        where.at(key).fail(f"invalid JSON ({err.msg})")


def pairs_from_hf_rows(
    rows: Iterable[Mapping[str, Any]], *, task: str, source: str | Path = "<rows>"
) -> list[Pair]:
    """Pairs from rows in MMRB2's Hugging Face columns (from parquet, or from
    ``datasets.load_dataset(...)`` with images decoded to PIL); ``source`` names them in
    errors."""
    ids = Ids()
    out = []
    for i, row in enumerate(rows):
        where = Where(Path(source), None, f"rows[{i}]")
        pair_id = row.get("pair_id")
        if not isinstance(pair_id, str) or not pair_id:
            where.at("pair_id").fail("missing pair id")
        meta = {
            "source": "mmrb2",
            "prompt_source": row.get("prompt_source"),
            "prompt_metadata": _json_column(row, "prompt_metadata", where),
            "human_annotations": _json_column(row, "human_annotations", where),
            "models": [row.get("response_a_model"), row.get("response_b_model")],
        }
        pair = Pair(
            id=pair_id,
            task=task,
            prompt=_hf_content(row, "prompt", pair_id, where),
            response_a=_hf_content(row, "response_a", pair_id, where),
            response_b=_hf_content(row, "response_b", pair_id, where),
            gold=gold_label(row.get("chosen"), where.at("chosen")),
            metadata={k: v for k, v in meta.items() if v is not None},
        )
        ids.add(pair.id, where.at("pair_id"))
        out.append(pair)
    return out


def _subset(file: Path, task: str | None) -> str:
    """The task of a parquet file: ``task``, else the first MMRB2 task name that starts one of
    the file's path parts (``t2i/test-00000-of-00001.parquet``), else ``mmrb2``."""
    if task:
        return task
    for part in reversed(file.parts):
        for t in MMRB2_TASKS:
            if part.startswith(t):
                return t
    return "mmrb2"


def load_mmrb2_hf(path: str | Path, *, task: str | None = None) -> list[Pair]:
    """Pairs from MMRB2's parquet files (one file, or every ``*.parquet`` under a folder)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    files = [path] if path.is_file() else sorted(path.rglob("*.parquet"))
    if not files:
        raise AlignlabError("no .parquet files found", file=path)
    out = []
    for f in files:
        try:
            rows = pq.read_table(f).to_pylist()
        except (OSError, pa.ArrowException) as err:
            raise AlignlabError(f"cannot read parquet ({err})", file=f) from None
        out += pairs_from_hf_rows(rows, task=_subset(f, task), source=f)
    return out
