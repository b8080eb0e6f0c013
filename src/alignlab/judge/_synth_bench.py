"""The synthetic grounded benchmark: generate pairs by seed, write them as one atomic folder.

Folder layout::

    pairs.jsonl     one pair per line, the plain format (see ``docs/judge.md``)
    images/         <pair id>-<k>.png, image k of the pair in reading order
    manifest.json   format, seed, settings, counts per family, sha256 of pairs.jsonl and images

Pair ``i`` depends only on ``(seed, i)`` and the settings: a bench of ``n`` pairs is the first
``n`` pairs of any larger one with the same seed. Families take turns in the order given.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from alignlab.core import AlignlabError, atomic_folder, read_json, sha256_file, track
from alignlab.judge import _synth_edit, _synth_interleaved, _synth_reasoning, _synth_t2i
from alignlab.judge._pair import Pair
from alignlab.judge._synth_assemble import GENERATOR, assemble
from alignlab.judge._synth_common import LEVELS, Draft, Level

FORMAT = "alignlab.judge.bench/1"
FAMILIES: dict[str, Callable[[np.random.Generator, Level], Draft]] = {
    "t2i": _synth_t2i.make,
    "edit": _synth_edit.make,
    "interleaved": _synth_interleaved.make,
    "reasoning": _synth_reasoning.make,
}


def generate_pairs(
    n: int,
    families: Sequence[str] = tuple(FAMILIES),
    *,
    seed: int = 0,
    image_size: int = 64,
    difficulty: int = 1,
    start: int = 0,
) -> Iterator[tuple[Pair, dict[str, Image.Image]]]:
    """Pairs ``start .. start + n - 1`` with their drawn images (relative path → image)."""
    level = LEVELS[difficulty]
    for i in range(start, start + n):
        family = families[i % len(families)]
        rng = np.random.default_rng([seed, i])
        draft = FAMILIES[family](rng, level)
        gold = "A" if rng.integers(2) == 0 else "B"
        yield assemble(
            draft, gold=gold, pair_id=f"{family}-{i:06d}", size=image_size, difficulty=difficulty
        )


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _images_digest(hashes: dict[str, str]) -> str:
    """One sha256 over every image: of the lines ``<path> <sha256>`` in path order."""
    lines = "".join(f"{p} {h}\n" for p, h in sorted(hashes.items()))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def _write_into(folder: Path, settings: dict[str, Any]) -> dict[str, Any]:
    (folder / "images").mkdir()
    counts = dict.fromkeys(settings["families"], 0)
    hashes: dict[str, str] = {}
    pairs = generate_pairs(
        settings["n"],
        settings["families"],
        seed=settings["seed"],
        image_size=settings["image_size"],
        difficulty=settings["difficulty"],
    )
    with (folder / "pairs.jsonl").open("w", encoding="utf-8") as fh:
        for pair, images in track(pairs, total=settings["n"], desc="judge make-bench"):
            for rel, image in images.items():
                data = _png(image)
                (folder / rel).write_bytes(data)
                hashes[rel] = hashlib.sha256(data).hexdigest()
            fh.write(json.dumps(pair.to_json(), ensure_ascii=False) + "\n")
            counts[pair.task] += 1
    manifest = {
        "format": FORMAT,
        "generator": GENERATOR,
        **settings,
        "counts": counts,
        "n_images": len(hashes),
        "sha256": {
            "pairs.jsonl": sha256_file(folder / "pairs.jsonl"),
            "images": _images_digest(hashes),
        },
    }
    text = json.dumps(manifest, indent=2) + "\n"
    (folder / "manifest.json").write_text(text, encoding="utf-8")
    return manifest


def write_bench(
    out: str | Path,
    *,
    n: int,
    families: Sequence[str] = tuple(FAMILIES),
    seed: int = 0,
    image_size: int = 64,
    difficulty: int = 1,
    overwrite: bool = False,
) -> Path:
    """Generate ``n`` pairs into the folder ``out``, as one unit.

    Everything is written into a temp folder beside ``out`` and renamed into place, so a
    failure or a kill leaves no half-written bench. An existing non-empty ``out`` is replaced
    only with ``overwrite=True`` and only when it holds a bench this module wrote.

    Raises:
        AlignlabError: ``out`` is a file, or a non-empty folder that may not be replaced.
    """
    out = Path(out)
    _check_target(out, overwrite)
    settings = {
        "seed": seed,
        "n": n,
        "families": list(families),
        "image_size": image_size,
        "difficulty": difficulty,
    }
    with atomic_folder(out) as tmp:
        _write_into(tmp, settings)
    return out


def _check_target(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise AlignlabError("exists and is not a folder", file=out)
    if not (out.is_dir() and any(out.iterdir())):
        return
    if not overwrite:
        raise AlignlabError(
            "folder exists and is not empty; --overwrite replaces a folder that holds a bench "
            "written by 'alignlab judge make-bench'",
            file=out,
        )
    manifest = out / "manifest.json"
    try:
        ok = manifest.is_file() and read_json(manifest).get("format") == FORMAT
    except (AlignlabError, AttributeError):
        ok = False
    if not ok:
        raise AlignlabError(
            f'refusing to overwrite: no manifest.json with "format": "{FORMAT}" here, so the '
            "folder is not a bench this command wrote; choose another --out",
            file=out,
        )


def verify_bench(folder: str | Path) -> dict[str, Any]:
    """The bench's manifest, after checking ``pairs.jsonl`` and every image against its
    sha256.

    Raises:
        AlignlabError: no manifest, a different format, or a file that does not match.
    """
    folder = Path(folder)
    manifest = read_json(folder / "manifest.json")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise AlignlabError(
            f"not a bench manifest (format {FORMAT})", file=folder / "manifest.json"
        )
    sums = manifest.get("sha256", {})
    if sha256_file(folder / "pairs.jsonl") != sums.get("pairs.jsonl"):
        raise AlignlabError("sha256 differs from the manifest's", file=folder / "pairs.jsonl")
    images = sorted((folder / "images").glob("*.png"))
    hashes = {f"images/{p.name}": sha256_file(p) for p in images}
    if len(hashes) != manifest.get("n_images") or _images_digest(hashes) != sums.get("images"):
        raise AlignlabError("images differ from the manifest's sha256", file=folder / "images")
    return manifest
