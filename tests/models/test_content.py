"""Message content parts and image data URLs: formats, round trips, bad files named."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image

from alignlab.core import AlignlabError
from alignlab.models import (
    content_parts,
    image_data_url,
    image_part,
    message_images,
    message_text,
    text_part,
    user_message,
)


def _decode(url: str) -> tuple[str, bytes]:
    head, data = url.split(",", 1)
    return head, base64.b64decode(data)


def test_pil_png_round_trips_pixels() -> None:
    img = Image.new("RGBA", (5, 2), (10, 20, 30, 128))
    head, data = _decode(image_data_url(img))
    assert head == "data:image/png;base64"
    back = Image.open(io.BytesIO(data))
    assert back.size == (5, 2) and back.getpixel((4, 1)) == (10, 20, 30, 128)


def test_pil_jpeg_drops_alpha() -> None:
    head, data = _decode(image_data_url(Image.new("RGBA", (8, 8), (200, 0, 0, 255)), format="jpg"))
    assert head == "data:image/jpeg;base64" and data[:3] == b"\xff\xd8\xff"
    assert Image.open(io.BytesIO(data)).mode == "RGB"


def test_files_are_sent_byte_for_byte_typed_by_content(tmp_path: Path) -> None:
    jpeg = tmp_path / "photo.png"  # a JPEG with the wrong suffix: the bytes decide
    Image.new("RGB", (3, 3), (1, 2, 3)).save(jpeg, format="JPEG")
    head, data = _decode(image_data_url(jpeg))
    assert head == "data:image/jpeg;base64" and data == jpeg.read_bytes()
    png = tmp_path / "p.png"
    Image.new("L", (3, 3), 7).save(png)
    assert _decode(image_data_url(str(png))) == ("data:image/png;base64", png.read_bytes())


def test_bad_files_raise_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.png"
    with pytest.raises(AlignlabError, match="image file not found") as err:
        image_data_url(missing)
    assert err.value.file == str(missing)
    with pytest.raises(AlignlabError, match="is a folder") as err:
        image_data_url(tmp_path)
    assert err.value.file == str(tmp_path)
    gif = tmp_path / "anim.gif"
    Image.new("RGB", (2, 2)).save(gif)
    with pytest.raises(AlignlabError, match="unsupported image file; expected PNG or JPEG") as err:
        image_data_url(gif)
    assert err.value.file == str(gif)
    cut = tmp_path / "cut.png"
    full = io.BytesIO()
    Image.new("RGB", (64, 64), (9, 9, 9)).save(full, format="PNG")
    cut.write_bytes(full.getvalue()[:40])  # the PNG signature, then nothing usable
    with pytest.raises(AlignlabError, match="unreadable image/png file") as err:
        image_data_url(cut)
    assert err.value.file == str(cut)
    with pytest.raises(AlignlabError, match="got int") as err:
        image_data_url(3)  # type: ignore[arg-type]
    assert err.value.field == "image"
    with pytest.raises(AlignlabError, match="'GIF' unsupported"):
        image_data_url(Image.new("RGB", (2, 2)), format="GIF")


def test_user_message_interleaves_text_and_images(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    Image.new("RGB", (2, 2)).save(path)
    msg = user_message("left:", path, "right:", image_part("https://x.test/b.png", detail="low"))
    assert msg["role"] == "user"
    parts = msg["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "text", "image_url"]
    assert parts[1]["image_url"]["url"] == image_data_url(path)
    assert parts[3] == {
        "type": "image_url",
        "image_url": {"url": "https://x.test/b.png", "detail": "low"},
    }
    assert message_text(parts) == "left:right:"
    assert message_images([{"role": "system", "content": "x"}, msg]) == [
        (1, image_data_url(path)[:37] + "..."),
        (1, "https://x.test/b.png"),
    ]


def test_content_parts_normalise_and_reject() -> None:
    assert content_parts("hi") == [text_part("hi")] == [{"type": "text", "text": "hi"}]
    assert content_parts(None) == [] and message_text(None) == ""
    with pytest.raises(AlignlabError, match="part 1 is 'input_audio'") as err:
        content_parts([text_part("a"), {"type": "input_audio", "input_audio": {}}], where="m[0]")
    assert err.value.field == "m[0]"
    with pytest.raises(AlignlabError, match="part 0 is 'image_url'"):
        content_parts([{"type": "image_url", "image_url": "data:..."}])  # url not nested
    with pytest.raises(AlignlabError, match="a str or a list of parts, got int"):
        content_parts(5)
