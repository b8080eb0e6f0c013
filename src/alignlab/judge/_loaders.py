"""Loading judge pairs: the plain jsonl format (what ``make-bench`` writes and users write),
VL-RewardBench's jsonl, MMRB2's local JSON files and its Hugging Face columns, and
:func:`load_pairs`, which tells the layouts apart.

Every loader checks all it reads before returning: a missing or unsupported image, a pair
without gold, a malformed line or field raises one :class:`AlignlabError` naming the file, the
line (or row) and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from alignlab.core import AlignlabError, read_jsonl
from alignlab.judge._loaders_common import Ids, Where, gold_label, image_segment, text_of
from alignlab.judge._loaders_mmrb2 import MMRB2_TASKS, load_mmrb2_hf, load_mmrb2_json
from alignlab.judge._pair import Pair, Segment

PLAIN_FIELDS = ("id", "task", "prompt", "response_a", "response_b", "gold", "metadata")
# VL-RewardBench's source datasets (the second folder of image_path) → its three groups
VLRB_GROUPS = {
    "vlfeedback": "general",
    "wildvision-battle": "general",
    "povid": "hallucination",
    "rlhf-v": "hallucination",
    "rlaif-v": "hallucination",
    "reasoning_tasks": "reasoning",
}
VLRB_FIELDS = ("id", "image_path", "query", "response", "human_ranking")


def content(value: Any, root: Path, where: Where, check: bool) -> tuple[Segment, ...]:
    """Plain-format content: a string (one text segment) or a list of ``{"text": ...}`` and
    ``{"image": PATH_OR_DATA_URL}`` objects."""
    if isinstance(value, str):
        return (Segment.text(value),)
    if not isinstance(value, list) or not value:
        where.fail("expected text or a non-empty list of {'text': ...} / {'image': ...} objects")
    out = []
    for j, seg in enumerate(value):
        w = where.at(f"[{j}]")
        if not isinstance(seg, dict) or len(seg) != 1 or next(iter(seg)) not in ("text", "image"):
            w.fail("a segment is one object with one key, 'text' or 'image'")
        ((kind, v),) = seg.items()
        if kind == "text":
            out.append(Segment.text(text_of(v, w.at("text"))))
        else:
            out.append(image_segment(v, root, w.at("image"), check=check))
    return tuple(out)


def plain_pair(obj: Mapping[str, Any], root: Path, where: Where, check: bool = True) -> Pair:
    """One row of the plain format (see ``docs/judge.md``)."""
    unknown = sorted(set(obj) - set(PLAIN_FIELDS))
    if unknown:
        where.at(unknown[0]).fail(
            f"unknown field (known: {', '.join(PLAIN_FIELDS)}; put anything else under 'metadata')"
        )
    for key in ("id", "prompt", "response_a", "response_b"):
        if key not in obj:
            where.at(key).fail("missing field")
    pair_id = obj["id"]
    if isinstance(pair_id, bool) or not isinstance(pair_id, (str, int)) or pair_id == "":
        where.at("id").fail(f"id must be a non-empty string or an int, not {pair_id!r}")
    meta = obj.get("metadata", {})
    if not isinstance(meta, dict):
        where.at("metadata").fail("metadata must be a JSON object")
    task = obj.get("task", "pairs")
    return Pair(
        id=str(pair_id),
        task=text_of(task, where.at("task")),
        prompt=content(obj["prompt"], root, where.at("prompt"), check),
        response_a=content(obj["response_a"], root, where.at("response_a"), check),
        response_b=content(obj["response_b"], root, where.at("response_b"), check),
        gold=gold_label(obj.get("gold"), where.at("gold")),
        metadata=meta,
        root=root,
    )


def load_plain_jsonl(path: str | Path, *, check_images: bool = True) -> list[Pair]:
    """Pairs from a plain jsonl file; image paths are relative to the file's folder."""
    path = Path(path)
    ids = Ids()
    out = []
    for line, obj in read_jsonl(path):
        where = Where(path, line)
        pair = plain_pair(obj, path.parent, where, check_images)
        ids.add(pair.id, where.at("id"))
        out.append(pair)
    return out


def _vlrb_pair(obj: Mapping[str, Any], root: Path, where: Where, check: bool) -> Pair:
    for key in VLRB_FIELDS:
        if key not in obj:
            where.at(key).fail("missing field")
    responses, ranking = obj["response"], obj["human_ranking"]
    if not isinstance(responses, list) or len(responses) != 2:
        where.at("response").fail("expected a list of two responses")
    # rank 0 is the better response (the benchmark's own scoring reads it so)
    if ranking not in ([0, 1], [1, 0]):
        where.at("human_ranking").fail(
            f"no gold: expected [0, 1] (first better) or [1, 0], not {ranking!r}"
        )
    image = image_segment(obj["image_path"], root, where.at("image_path"), check=check)
    parts = Path(obj["image_path"]).parts
    source = parts[1] if len(parts) > 2 else ""
    meta = {
        k: obj[k]
        for k in ("models", "query_source", "judge", "human_error_analysis", "meta")
        if k in obj
    }
    return Pair(
        id=str(obj["id"]),
        task=VLRB_GROUPS.get(source, "vl-rewardbench"),
        prompt=(image, Segment.text(text_of(obj["query"], where.at("query")))),
        response_a=(Segment.text(text_of(responses[0], where.at("response[0]"))),),
        response_b=(Segment.text(text_of(responses[1], where.at("response[1]"))),),
        gold="A" if ranking == [0, 1] else "B",
        metadata={"source": "vl-rewardbench", "dataset": source, **meta},
        root=root,
    )


def load_vlrewardbench(
    path: str | Path, *, images_root: str | Path | None = None, check_images: bool = True
) -> list[Pair]:
    """Pairs from VL-RewardBench's jsonl (``id``, ``image_path``, ``query``, ``response`` of
    two, ``human_ranking`` with 0 for the better one). Image paths are relative to
    ``images_root`` (default: the file's folder, where the benchmark keeps ``images/``)."""
    path = Path(path)
    root = Path(images_root) if images_root is not None else path.parent
    ids = Ids()
    out = []
    for line, obj in read_jsonl(path):
        where = Where(path, line)
        pair = _vlrb_pair(obj, root, where, check_images)
        ids.add(pair.id, where.at("id"))
        out.append(pair)
    return out


def _first_row(path: Path) -> dict[str, Any]:
    for _, obj in read_jsonl(path):
        return obj
    raise AlignlabError("no pairs in the file", file=path)


def _load_jsonl(path: Path, check_images: bool) -> list[Pair]:
    keys = set(_first_row(path))
    if "human_ranking" in keys:
        return load_vlrewardbench(path, check_images=check_images)
    if "response_a" in keys:
        return load_plain_jsonl(path, check_images=check_images)
    raise AlignlabError(
        "unrecognised jsonl layout: expected the plain format (id, prompt, response_a, "
        f"response_b, gold) or VL-RewardBench's (id, image_path, query, response, "
        f"human_ranking); the first row has {sorted(keys)}",
        file=path,
        line=1,
    )


def _load_folder(path: Path, task: str | None, check_images: bool) -> list[Pair]:
    if (path / "pairs.jsonl").is_file():
        return load_plain_jsonl(path / "pairs.jsonl", check_images=check_images)
    tasks = [path / f"{t}.json" for t in MMRB2_TASKS if (path / f"{t}.json").is_file()]
    if tasks:
        return [p for f in tasks for p in load_mmrb2_json(f, check_images=check_images)]
    if any(path.rglob("*.parquet")):
        return load_mmrb2_hf(path, task=task)
    if (path / "data.jsonl").is_file():
        return _load_jsonl(path / "data.jsonl", check_images)
    raise AlignlabError(
        "no pair layout found in the folder: expected pairs.jsonl (plain, or a make-bench "
        "bench), MMRB2's t2i/edit/interleaved/reasoning.json, MMRB2's parquet files from the "
        "hub, or VL-RewardBench's data.jsonl",
        file=path,
    )


def load_pairs(
    path: str | Path, *, task: str | None = None, check_images: bool = True
) -> list[Pair]:
    """Pairs from a file or folder in any supported layout, told apart by name and content.

    - a folder: ``pairs.jsonl`` (a bench from ``alignlab judge make-bench``, or plain pairs),
      MMRB2's ``t2i.json``/``edit.json``/``interleaved.json``/``reasoning.json``, parquet files
      (MMRB2's Hugging Face dataset), or ``data.jsonl`` (VL-RewardBench);
    - ``.json``: one MMRB2 task file; ``.parquet``: MMRB2's Hugging Face columns;
    - ``.jsonl`` / ``.jsonl.gz``: plain or VL-RewardBench, by the first row's fields.
    ``task`` names the task where the layout does not (MMRB2 files with other names).

    Raises:
        AlignlabError: no such path, an unknown layout, or any bad row (file, line, field).
    """
    path = Path(path)
    if not path.exists():
        raise AlignlabError("not found", file=path)
    if path.is_dir():
        return _load_folder(path, task, check_images)
    name = path.name.lower()
    if name.endswith(".json"):
        return load_mmrb2_json(path, task=task, check_images=check_images)
    if name.endswith(".parquet"):
        return load_mmrb2_hf(path, task=task)
    if name.endswith((".jsonl", ".jsonl.gz")):
        return _load_jsonl(path, check_images)
    raise AlignlabError(
        "unsupported file type: expected .jsonl, .jsonl.gz, .json (MMRB2) or .parquet, or a folder",
        file=path,
    )
