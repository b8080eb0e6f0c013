"""Drawing primitives of the synthetic benchmark: pictures whose content is known exactly.

Three kinds of picture, each a frozen value that :func:`draw` renders with PIL:
  - :class:`Scene`: flat-coloured circles, squares and triangles, one per cell of a
    ``grid × grid`` layout (objects never touch, so each is one connected blob of its colour);
  - :class:`Word`: a short upper-case word in black, in PIL's bitmap font;
  - :class:`Chart`: a bar chart, bars of distinct colours standing on light-grey grid lines one
    unit apart (values 1..5).
Shapes are drawn without anti-aliasing and saved as PNG, so every pixel is white, black, grid
grey or exactly one palette colour.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 160, 60),
    "blue": (40, 70, 220),
    "yellow": (240, 200, 20),
    "purple": (140, 50, 180),
    "orange": (245, 130, 20),
}
SHAPES = ("circle", "square", "triangle")
WHITE = (255, 255, 255)
BLACK = (0, 0, 0)
GRID_GREY = (200, 200, 200)
CHART_MAX = 5  # the chart's top grid line; bar values are 1..CHART_MAX
MIN_SIZE = 32


@dataclass(frozen=True)
class Item:
    """One object of a scene: ``shape`` of ``colour`` in grid cell ``(row, col)``."""

    shape: str
    colour: str
    cell: tuple[int, int]


@dataclass(frozen=True)
class Scene:
    grid: int
    items: tuple[Item, ...]

    def count(self, colour: str | None, shape: str | None) -> int:
        return sum(colour in (None, it.colour) and shape in (None, it.shape) for it in self.items)

    def find(self, colour: str, shape: str) -> Item:
        """The one item of ``colour`` and ``shape`` (relations name unique objects)."""
        (item,) = [it for it in self.items if (it.colour, it.shape) == (colour, shape)]
        return item


@dataclass(frozen=True)
class Word:
    text: str


@dataclass(frozen=True)
class Chart:
    """Bars left to right as ``(colour, value)``, values in 1..:data:`CHART_MAX`."""

    bars: tuple[tuple[str, int], ...]

    def value(self, colour: str) -> int:
        return dict(self.bars)[colour]


Picture = Scene | Word | Chart


def draw(picture: Picture, size: int) -> Image.Image:
    """Render ``picture`` as a ``size × size`` RGB image (``size >= 32``)."""
    if size < MIN_SIZE:
        raise ValueError(f"image size must be >= {MIN_SIZE}, not {size}")
    im = Image.new("RGB", (size, size), WHITE)
    if isinstance(picture, Scene):
        _draw_scene(im, picture)
    elif isinstance(picture, Word):
        _draw_word(im, picture.text)
    else:
        _draw_chart(im, picture)
    return im


def cell_box(grid: int, cell: tuple[int, int], size: int) -> tuple[int, int, int, int]:
    """Inclusive pixel box ``(x0, y0, x1, y1)`` an object in ``cell`` is drawn in."""
    step = size // grid
    offset = (size - step * grid) // 2
    inset = max(1, step // 6)
    row, col = cell
    x0 = offset + col * step + inset
    y0 = offset + row * step + inset
    return x0, y0, x0 + step - 1 - 2 * inset, y0 + step - 1 - 2 * inset


def _draw_scene(im: Image.Image, scene: Scene) -> None:
    d = ImageDraw.Draw(im)
    for it in scene.items:
        x0, y0, x1, y1 = cell_box(scene.grid, it.cell, im.width)
        fill = PALETTE[it.colour]
        if it.shape == "circle":
            d.ellipse((x0, y0, x1, y1), fill=fill)
        elif it.shape == "square":
            d.rectangle((x0, y0, x1, y1), fill=fill)
        else:
            d.polygon([(x0, y1), (x1, y1), ((x0 + x1) // 2, y0)], fill=fill)


def _draw_word(im: Image.Image, text: str) -> None:
    font = ImageFont.load_default_imagefont()
    left, top, right, bottom = font.getbbox(text)
    small = Image.new("RGB", (right - left, bottom - top), WHITE)
    ImageDraw.Draw(small).text((-left, -top), text, fill=BLACK, font=font)
    # whole-pixel upscaling keeps the glyphs crisp (two colours only) on larger canvases
    scale = max(1, min(im.width // 64, (im.width - 4) // small.width))
    if scale > 1:
        small = small.resize((small.width * scale, small.height * scale), Image.Resampling.NEAREST)
    if small.width > im.width:
        raise ValueError(f"word {text!r} is too wide for a {im.width}-pixel image")
    im.paste(small, ((im.width - small.width) // 2, (im.height - small.height) // 2))


def chart_layout(size: int, n_bars: int) -> tuple[int, int, list[tuple[int, int]]]:
    """``(baseline_row, unit_px, [(x0, x1) per bar])`` of a chart on a ``size`` canvas."""
    margin = max(2, size // 16)
    unit = (size - 2 * margin) // CHART_MAX
    baseline = margin + unit * CHART_MAX
    slot = (size - 2 * margin) // n_bars
    gap = max(1, slot // 4)
    spans = [(margin + i * slot + gap, margin + (i + 1) * slot - gap) for i in range(n_bars)]
    return baseline, unit, spans


def _draw_chart(im: Image.Image, chart: Chart) -> None:
    d = ImageDraw.Draw(im)
    baseline, unit, spans = chart_layout(im.width, len(chart.bars))
    for k in range(CHART_MAX + 1):
        y = baseline - k * unit
        d.line((0, y, im.width - 1, y), fill=GRID_GREY)
    for (colour, value), (x0, x1) in zip(chart.bars, spans, strict=True):
        # rows baseline - value*unit + 1 .. baseline: exactly value*unit pixels tall, with the
        # value's grid line left visible just above the bar's top
        d.rectangle((x0, baseline - value * unit + 1, x1, baseline), fill=PALETTE[colour])
