"""Checks the pair loaders share: gold labels, image references, ids, one error per problem
naming the file, line (or row) and field."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, NoReturn

from alignlab.core import AlignlabError
from alignlab.judge._pair import IMAGE_SUFFIXES, Segment, decode_data_url


class Where:
    """Where a value was read: a file, a line (jsonl) and a field path (``pairs[3].chosen``)."""

    def __init__(self, file: Path, line: int | None = None, field: str | None = None) -> None:
        self.file, self.line, self.field = file, line, field

    def at(self, field: str) -> Where:
        if self.field is None:
            return Where(self.file, self.line, field)
        sep = "" if field.startswith("[") else "."
        return Where(self.file, self.line, f"{self.field}{sep}{field}")

    def fail(self, message: str) -> NoReturn:
        raise AlignlabError(message, file=self.file, line=self.line, field=self.field)


def gold_label(value: Any, where: Where, what: str = "gold") -> str:
    """``"A"`` or ``"B"`` (either case); anything else, or nothing, is an error."""
    if value is None or value == "":
        where.fail(f"no {what}: every pair needs a preferred response, 'A' or 'B'")
    if not isinstance(value, str) or value.strip().upper() not in ("A", "B"):
        where.fail(f"{what} must be 'A' or 'B', not {value!r}")
    return value.strip().upper()


def text_of(value: Any, where: Where) -> str:
    if not isinstance(value, str):
        where.fail(f"expected text, got {type(value).__name__}")
    return value


def image_segment(value: Any, root: Path, where: Where, *, check: bool = True) -> Segment:
    """An image given as a path (relative to ``root``) or a ``data:`` URL.

    With ``check``, the file must exist and have a supported suffix (:data:`IMAGE_SUFFIXES`).
    """
    text = text_of(value, where)
    if text.startswith("data:"):
        try:
            return Segment.image(where.field or "image", decode_data_url(text))
        except AlignlabError as err:
            where.fail(err.message)
    if not text:
        where.fail("empty image path")
    path = Path(text)
    if check:
        suffix = path.suffix.lower()
        if suffix not in IMAGE_SUFFIXES:
            where.fail(
                f"unsupported image format {suffix or '(no suffix)'!r} in {text!r} "
                f"(supported: {', '.join(IMAGE_SUFFIXES)})"
            )
        full = path if path.is_absolute() else root / path
        if not full.is_file():
            where.fail(f"image not found: {full}")
    return Segment.image(text)


class Ids:
    """Pair ids seen so far in one load; a repeat is an error where it is found."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def add(self, pair_id: str, where: Where) -> str:
        if pair_id in self.seen:
            where.fail(f"duplicate pair id {pair_id!r}")
        self.seen.add(pair_id)
        return pair_id


def pil_to_png(image: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()
