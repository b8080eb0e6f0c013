"""Multimodal message content: text and image parts, images as data URLs.

Messages stay plain OpenAI chat dicts (``content`` a str or a list of parts), so every
existing caller keeps working; these helpers build and read the part lists.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alignlab.core import AlignlabError
from alignlab.models._protocols import ContentPart, ImagePart, Message, TextPart

if TYPE_CHECKING:
    from PIL.Image import Image

_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}


def _is_pil(obj: object) -> bool:
    try:
        from PIL.Image import Image
    except ImportError:  # pillow comes with matplotlib; without it no object is a PIL image
        return False
    return isinstance(obj, Image)


def _file_data_url(path: Path) -> str:
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "not found"
        raise AlignlabError(f"image file {what}", file=path)
    data = path.read_bytes()
    mime = next((m for magic, m in _MAGIC.items() if data.startswith(magic)), None)
    if mime is None:
        raise AlignlabError("unsupported image file; expected PNG or JPEG", file=path)
    try:
        from PIL import Image as PILImage

        with PILImage.open(io.BytesIO(data)) as img:
            img.verify()  # a truncated or corrupt file fails here, not at the server
    except ImportError:
        pass  # without pillow the magic bytes are all we check
    except Exception as err:  # noqa: BLE001 - pillow raises many types for corrupt files
        raise AlignlabError(f"unreadable {mime} file ({err})", file=path) from None
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _pil_data_url(image: Image, fmt: str) -> str:
    buf = io.BytesIO()
    img = image
    if fmt == "JPEG" and img.mode not in ("RGB", "L"):
        img = img.convert("RGB")  # JPEG has no alpha or palette
    img.save(buf, format=fmt)
    return f"data:{_FORMATS[fmt]};base64,{base64.b64encode(buf.getvalue()).decode('ascii')}"


def image_data_url(image: Image | str | Path, *, format: str = "PNG") -> str:
    """A ``data:image/...;base64,...`` URL for a PIL image or a PNG/JPEG file.

    A PIL image is encoded as ``format`` (``"PNG"``, lossless, or ``"JPEG"``); a file is sent
    byte for byte with the MIME type its first bytes say (the suffix is not trusted).

    Raises:
        AlignlabError: the file is missing, a folder, not PNG/JPEG or corrupt (naming the file);
            ``format`` is not PNG/JPEG; ``image`` is neither a PIL image nor a path.
    """
    fmt = format.upper().replace("JPG", "JPEG")
    if fmt not in _FORMATS:
        raise AlignlabError(f"image format '{format}' unsupported; use PNG or JPEG", field="format")
    if isinstance(image, str | Path):
        return _file_data_url(Path(image).expanduser())
    if _is_pil(image):
        return _pil_data_url(image, fmt)
    raise AlignlabError(
        f"expected a PIL image or a path to a PNG/JPEG file, got {type(image).__name__}",
        field="image",
    )


def text_part(text: str) -> TextPart:
    return {"type": "text", "text": text}


def image_part(image: Image | str | Path, *, detail: str | None = None) -> ImagePart:
    """An OpenAI ``image_url`` part; PIL images and files become data URLs, a string that is
    already a ``data:`` or ``http(s):`` URL is used as it is."""
    if isinstance(image, str) and image.startswith(("data:image/", "http://", "https://")):
        url = image
    else:
        url = image_data_url(image)
    part: ImagePart = {"type": "image_url", "image_url": {"url": url}}
    if detail is not None:
        part["image_url"]["detail"] = detail
    return part


def user_message(*segments: str | Path | Image | ContentPart, role: str = "user") -> Message:
    """One message of interleaved text and images: a ``str`` is text, a ``Path`` or PIL image is
    an image (as a data URL), a dict is taken as a ready content part.

    ``user_message("Which is safer?", Path("a.png"), Path("b.png"))``
    """
    parts: list[ContentPart] = []
    for seg in segments:
        if isinstance(seg, str):
            parts.append(text_part(seg))
        elif isinstance(seg, dict):
            parts.extend(content_parts([seg]))
        else:
            parts.append(image_part(seg))
    return {"role": role, "content": parts}


def content_parts(content: Any, *, where: str = "content") -> list[ContentPart]:
    """``content`` (a str, ``None`` or a list of parts) as a checked list of parts.

    Raises:
        AlignlabError: a part that is not a text or ``image_url`` part (``field`` = ``where``).
    """
    if content is None:
        return []
    if isinstance(content, str):
        return [text_part(content)]
    if not isinstance(content, list):
        raise AlignlabError(
            f"content must be a str or a list of parts, got {type(content).__name__}", field=where
        )
    out: list[ContentPart] = []
    for i, p in enumerate(content):
        kind = p.get("type") if isinstance(p, dict) else None
        if not _well_formed(p, kind):
            shown = repr(kind) if kind is not None else type(p).__name__
            raise AlignlabError(
                f"part {i} is {shown}; expected a 'text' or 'image_url' part", field=where
            )
        out.append(p)
    return out


def _well_formed(part: Any, kind: object) -> bool:
    if kind == "text":
        return isinstance(part.get("text"), str)
    if kind == "image_url":
        inner = part.get("image_url")
        return isinstance(inner, dict) and isinstance(inner.get("url"), str)
    return False


def message_images(messages: Iterable[Message]) -> list[tuple[int, str]]:
    """``(message index, url)`` of every image part, in order (URLs cut to 40 characters)."""
    found = []
    for i, m in enumerate(messages):
        for p in content_parts(m.get("content"), where=f"messages[{i}].content"):
            if p["type"] == "image_url":
                url = p["image_url"]["url"]  # type: ignore[typeddict-item]
                found.append((i, url if len(url) <= 40 else url[:37] + "..."))
    return found


def message_text(content: Any, *, where: str = "content") -> str:
    """The text parts of ``content`` joined; images are not text (callers decide about them)."""
    return "".join(
        p["text"]  # type: ignore[typeddict-item]
        for p in content_parts(content, where=where)
        if p["type"] == "text"
    )
