"""The record every judge component reads: a prompt and two candidate responses with a gold
preference, each a sequence of text and image segments.

Images are numbered 1, 2, ... in the pair's reading order (:func:`image_order`: the prompt's,
then response A's, then response B's); gold chains cite images by these numbers.
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from PIL import Image, UnidentifiedImageError

from alignlab.core import AlignlabError
from alignlab.judge._gold import GoldChain, render_gold_chain

GOLDS = ("A", "B")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp")


@dataclass(frozen=True)
class Segment:
    """One piece of content: text, or an image.

    An image's ``value`` is its path (relative to the pair's ``root``, or absolute); an image held
    in memory (a Hugging Face row) keeps its encoded bytes in ``data`` and a name in ``value``.
    """

    kind: Literal["text", "image"]
    value: str
    data: bytes | None = field(default=None, repr=False)

    @classmethod
    def text(cls, value: str) -> Segment:
        return cls("text", value)

    @classmethod
    def image(cls, path: str, data: bytes | None = None) -> Segment:
        return cls("image", path, data)

    def to_json(self) -> dict[str, str]:
        if self.kind == "text":
            return {"text": self.value}
        if self.data is not None:
            return {"image": "data:image;base64," + base64.b64encode(self.data).decode("ascii")}
        return {"image": self.value}


@dataclass(frozen=True)
class Pair:
    """A prompt, two responses and which one is better (``gold``: ``"A"`` or ``"B"``).

    ``task`` names the family (MMRB2's ``t2i``, ``edit``, ``interleaved``, ``reasoning``, or a
    loader's own); ``metadata`` is JSON. Synthetic pairs keep their structured gold chain in
    ``metadata["gold_chain"]`` (see :class:`GoldChain`) and its default text in
    ``metadata["gold_chain_text"]``. ``root`` is the folder relative image paths resolve in.
    """

    id: str
    task: str
    prompt: tuple[Segment, ...]
    response_a: tuple[Segment, ...]
    response_b: tuple[Segment, ...]
    gold: str
    metadata: Mapping[str, Any] = field(default_factory=dict)
    root: Path | None = None

    def __post_init__(self) -> None:
        if self.gold not in GOLDS:
            raise AlignlabError(f"gold must be 'A' or 'B', not {self.gold!r}", field="gold")
        if not self.id:
            raise AlignlabError("a pair needs a non-empty id", field="id")

    def images(self) -> tuple[Segment, ...]:
        """The image segments in reading order; image ``k`` is ``images()[k - 1]``."""
        return image_order(self)

    def image_path(self, seg: Segment) -> Path:
        path = Path(seg.value)
        return path if path.is_absolute() or self.root is None else self.root / path

    def open_image(self, seg: Segment) -> Image.Image:
        """The segment's image decoded, as RGB.

        Raises:
            AlignlabError: the file is missing or is not an image PIL can read.
        """
        if seg.kind != "image":
            raise AlignlabError(f"segment is text, not an image: {seg.value[:40]!r}")
        if seg.data is not None:
            return _decode(io.BytesIO(seg.data), seg.value)
        path = self.image_path(seg)
        if not path.is_file():
            raise AlignlabError(f"image not found (pair {self.id})", file=path)
        with path.open("rb") as fh:
            return _decode(fh, path)

    def to_json(self) -> dict[str, Any]:
        """The plain jsonl row (image paths as stored; in-memory images as data URLs)."""
        return {
            "id": self.id,
            "task": self.task,
            "prompt": [s.to_json() for s in self.prompt],
            "response_a": [s.to_json() for s in self.response_a],
            "response_b": [s.to_json() for s in self.response_b],
            "gold": self.gold,
            "metadata": dict(self.metadata),
        }


def _decode(fh: Any, name: str | Path) -> Image.Image:
    try:
        with Image.open(fh) as im:
            return im.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise AlignlabError(f"not a readable image ({type(err).__name__})", file=name) from None


def decode_data_url(url: str) -> bytes:
    """The bytes of a ``data:...;base64,...`` image URL."""
    head, _, payload = url.partition(",")
    if not head.startswith("data:") or not head.endswith(";base64"):
        raise AlignlabError("image data URLs must be base64 ('data:image/png;base64,...')")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise AlignlabError("image data URL is not valid base64") from None


def image_order(pair: Pair) -> tuple[Segment, ...]:
    """The pair's image segments numbered 1, 2, ...: the prompt's, then A's, then B's."""
    return tuple(
        s
        for part in (pair.prompt, pair.response_a, pair.response_b)
        for s in part
        if s.kind == "image"
    )


def _swap_image_map(pair: Pair) -> dict[int, int]:
    """Old image number → number once A and B trade places."""
    n = [
        sum(s.kind == "image" for s in part)
        for part in (pair.prompt, pair.response_a, pair.response_b)
    ]
    p, ka, kb = n
    moved = {p + i: p + kb + i for i in range(1, ka + 1)}
    moved.update({p + ka + j: p + j for j in range(1, kb + 1)})
    return moved


def swapped(pair: Pair) -> Pair:
    """The same pair with the candidates in the other order: A and B trade places, the gold
    label follows its response, and a gold chain in the metadata is renumbered and relabelled
    (its text re-rendered). ``metadata["swapped"]`` marks the swapped order;
    ``swapped(swapped(p)) == p``."""
    meta = dict(pair.metadata)
    if meta.pop("swapped", False) is False:
        meta["swapped"] = True
    if "gold_chain" in meta:
        chain = GoldChain.from_json(meta["gold_chain"]).swapped(_swap_image_map(pair))
        meta["gold_chain"] = chain.to_json()
        meta["gold_chain_text"] = render_gold_chain(chain)
    return replace(
        pair,
        response_a=pair.response_b,
        response_b=pair.response_a,
        gold="B" if pair.gold == "A" else "A",
        metadata=meta,
    )
