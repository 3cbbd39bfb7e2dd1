"""The festival backdrop, painted from the template so no binary art ships in the repo.

Each motif is a few Pillow shapes placed by fractions of the frame, so one template looks right
at 16:9, 9:16 and 1:1 and at preview or full size. The layout is painted around: a motif the
subject's window would cut is moved beside it (or left out where nothing fits), one under the
subtitles is moved out of their band, and the band itself is frosted so that what spans it
(waves, mountains, clouds) stays calm behind the words. The title cards show neither window nor
words: their motifs stay where the template puts them, clear of the titles.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter

from engine._templates import Box, Decoration, Layout, Motif, Palette

# Pillow draws shapes without anti-aliasing; drawing large and shrinking smooths them.
_SUPERSAMPLE = 2
_GLOWING: frozenset[Motif] = frozenset({"moon", "lantern", "sun", "firework"})

RGBA = tuple[int, int, int, int]
_Painter = Callable[["_Brush"], None]


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


@dataclass(frozen=True)
class Backdrop:
    """What the title cards show behind their titles, and what the greeting shows behind its
    window and words: the greeting's subtitle band is frosted, a card's is not (where no words
    are, it would be an empty box), and a card's motifs stand clear of its titles, not of the
    window (``paint_backdrop``)."""

    card: npt.NDArray[np.uint8]
    greeting: npt.NDArray[np.uint8]


@lru_cache(maxsize=4)
def festival_backdrop(
    palette: Palette,
    decorations: tuple[Decoration, ...],
    layout: Layout,
    width: int,
    height: int,
    label: PixelBox | None = None,
    titles: PixelBox | None = None,
    circle: bool = False,
) -> Backdrop:
    """The backdrop, read-only and kept for the next render of the same template and size: a
    render process makes many greetings of one festival on its day, and painting costs about
    0.3 s of processor time at 720p for each state painted (12 MB held per backdrop at 1080p)."""
    backdrop = paint_backdrop(palette, decorations, layout, width, height, label, titles, circle)
    backdrop.card.flags.writeable = backdrop.greeting.flags.writeable = False
    return backdrop


def paint_backdrop(
    palette: Palette,
    decorations: tuple[Decoration, ...],
    layout: Layout,
    width: int,
    height: int,
    label: PixelBox | None,
    titles: PixelBox | None = None,
    circle: bool = False,
) -> Backdrop:
    """The greeting's motifs are placed around the window and the subtitles; the cards show
    neither, so with the ``titles``' area their motifs stand where the template puts them,
    clear of the titles and the label only (in 9:16 the window leaves the greeting's moon a
    quarter of its size, and the card had the same small moon above an empty frame)."""
    painting = _painting(palette, placed(decorations, layout, width, height, label), width, height)
    frosted = _frosted(painting.copy(), _pixels(layout.subtitles, width, height))
    if titles is not None:
        on_card = card_placed(decorations, titles, label, width, height, circle)
        painting = _painting(palette, on_card, width, height)
    return Backdrop(card=np.array(painting, dtype=np.uint8), greeting=np.array(frosted, np.uint8))


def paint_background(
    palette: Palette,
    decorations: tuple[Decoration, ...],
    width: int,
    height: int,
    layout: Layout | None = None,
    label: PixelBox | None = None,
) -> npt.NDArray[np.uint8]:
    """Sky gradient, stars, glows and every decoration, as an HxWx3 array; with a layout, the
    decorations placed around it and the AI ``label``'s corner (``placed``) and its subtitle
    band frosted (the greeting's backdrop)."""
    if layout is None:
        return np.array(_painting(palette, decorations, width, height), dtype=np.uint8)
    return paint_backdrop(palette, decorations, layout, width, height, label).greeting


def _painting(
    palette: Palette, decorations: tuple[Decoration, ...], width: int, height: int
) -> Image.Image:
    sky = _sky(palette, width, height)
    unit = min(width, height)
    for item in decorations:
        if item.motif in _GLOWING:
            centre = (item.x * width, item.y * height)
            _add_glow(sky, centre, item.size * unit * 1.3, rgb(item.accent), 0.45)
    scale = _SUPERSAMPLE
    canvas = Image.fromarray(sky).resize((width * scale, height * scale), Image.Resampling.BILINEAR)
    canvas = canvas.convert("RGBA")
    clouds = [item for item in decorations if item.motif == "cloud"]
    if clouds:  # soft-edged, behind everything else, and blurred together in one pass
        soft = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
        for item in clouds:
            _MOTIFS[item.motif](_brush(ImageDraw.Draw(soft), item, palette, decorations, canvas))
        canvas.alpha_composite(soft.filter(ImageFilter.GaussianBlur(3 * scale)))
    draw = ImageDraw.Draw(canvas)
    for item in decorations:
        if item.motif != "cloud":
            _MOTIFS[item.motif](_brush(draw, item, palette, decorations, canvas))
    return canvas.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)


# Each motif's extent around its centre, in motif sizes: (left, top, right, bottom). Lantern
# strings and balloon strings may run behind the window; they hang from outside the picture.
_EXTENT: dict[Motif, tuple[float, float, float, float]] = {
    "moon": (-0.5, -0.5, 0.5, 0.5), "lantern": (-0.62, -0.6, 0.62, 1.0),
    "blossoms": (-1.05, -0.45, 1.05, 0.1), "firework": (-0.52, -0.52, 0.52, 0.52),
    "dragon_boat": (-0.62, -0.24, 0.64, 0.16), "magpie": (-0.72, -0.45, 0.5, 0.14),
    "chrysanthemum": (-0.53, -0.53, 0.53, 0.53), "snowflake": (-0.52, -0.52, 0.52, 0.52),
    "tangyuan": (-0.5, -0.22, 0.5, 0.3), "tree": (-0.45, -0.58, 0.45, 0.55),
    "gift": (-0.3, -0.32, 0.3, 0.3), "balloon": (-0.2, -0.26, 0.2, 0.6),
    "cake": (-0.45, -0.45, 0.45, 0.4), "carnation": (-0.3, -0.2, 0.3, 0.8),
    "heart": (-0.28, -0.2, 0.28, 0.32), "sun": (-0.52, -0.52, 0.52, 0.52),
}  # fmt: skip
# Motifs that span the frame (ground, sky, a scatter): meant to pass behind the window and under
# the band, which the frosting calms.
SPANNING: frozenset[Motif] = frozenset({"cloud", "waves", "star_river", "mountain", "confetti"})
# Room kept between a motif and the window: the frame border and its shadow, at 720 px.
_WINDOW_MARGIN = 0.04
# A video note's circle, as the steps of a staircase in each quarter.
_CIRCLE_STEPS = 8
# Room kept between a card's motif and its titles' glow, at 720 px.
_TITLE_MARGIN = 0.02
# Where a motif has no room at the template's size (a close-up's window leaves little), it is
# tried smaller before it is left out.
_SHRINK_STEPS = (1.0, 0.7, 0.5)
_FROST_BLUR = 0.03  # of the shorter side
_FROST_DIM = 0.8  # the band's brightness: white words with an outline read on it
_FROST_FEATHER = 0.04  # of the shorter side, the band's soft edge

PixelBox = tuple[float, float, float, float]  # left, top, right, bottom


def placed(
    decorations: tuple[Decoration, ...],
    layout: Layout,
    width: int,
    height: int,
    label: PixelBox | None = None,
) -> tuple[Decoration, ...]:
    """The decorations moved as little as possible to stand clear of the subject's window, the
    subtitle band and the AI ``label``, within the frame, shrunk where they fit no other way;
    one with no room at half its size is left out. A motif moved keeps clear of those moved
    before it where there is room, else it may overlap them.

    A motif the window's frame cut in half (the Christmas snowflake), a gift box under the
    words, a lantern peeking out behind the label or two snowflakes moved onto one spot read
    as mistakes; motifs in ``SPANNING`` stay where the template puts them.
    """
    margin = _WINDOW_MARGIN * min(width, height)
    x, y, right, bottom = _pixels(layout.subject, width, height)
    keep_clear = [(x - margin, y - margin, right + margin, bottom + margin)]
    keep_clear.append(_pixels(layout.subtitles, width, height))
    if label is not None:
        keep_clear.append(label)
    return _clear_of(decorations, keep_clear, width, height)


def card_placed(
    decorations: tuple[Decoration, ...],
    titles: PixelBox,
    label: PixelBox | None,
    width: int,
    height: int,
    circle: bool = False,
) -> tuple[Decoration, ...]:
    """The decorations of a title card: ``placed``'s rule around the titles (with room to
    breathe: their glow's edge is faint) and the label; in a ``circle`` (a video note) inside
    it, so no lantern is cut by its edge."""
    room = _TITLE_MARGIN * min(width, height)
    keep_clear = [(titles[0] - room, titles[1] - room, titles[2] + room, titles[3] + room)]
    if label is not None:
        keep_clear.append(label)
    if circle:
        keep_clear += _outside_circle(width, height)
    return _clear_of(decorations, keep_clear, width, height)


def _outside_circle(width: int, height: int) -> list[PixelBox]:
    """The frame outside its inscribed circle, as steps: in each band of rows from the top and
    the bottom, the strips left and right of the circle at its narrowest row in the band."""
    radius = min(width, height) / 2
    centre_x, centre_y = width / 2, height / 2
    boxes: list[PixelBox] = []
    for step in range(_CIRCLE_STEPS):
        near, far = radius * step / _CIRCLE_STEPS, radius * (step + 1) / _CIRCLE_STEPS
        reach = math.sqrt(max(0.0, radius**2 - (radius - near) ** 2))  # the circle's half-width
        for top, bottom in ((centre_y - radius + near, centre_y - radius + far),
                            (centre_y + radius - far, centre_y + radius - near)):  # fmt: skip
            boxes.append((-width, top, centre_x - reach, bottom))
            boxes.append((centre_x + reach, top, 2 * width, bottom))
    return boxes


def _clear_of(
    decorations: tuple[Decoration, ...], keep_clear: list[PixelBox], width: int, height: int
) -> tuple[Decoration, ...]:
    """``placed``'s rule around any areas: each motif moved as little as it can be."""
    result = []
    moved: list[PixelBox] = []
    for item in decorations:
        if item.motif in SPANNING:
            result.append(item)
            continue
        found = _place(item, [keep_clear + moved, keep_clear], width, height)
        if found is not None:
            result.append(found)
            if (found.x, found.y) != (item.x, item.y):
                moved.append(motif_box(found, width, height))
    return tuple(result)


def _place(
    item: Decoration, choices: list[list[PixelBox]], width: int, height: int
) -> Decoration | None:
    """``item`` at the first size and then the first list of areas to keep clear of that leaves
    it room, moved as little as it can be; None where none does."""
    for keep_clear in choices:
        for scale in _SHRINK_STEPS:
            smaller = item.model_copy(update={"size": item.size * scale})
            move = _shortest_move(motif_box(smaller, width, height), keep_clear, width, height)
            if move is not None:
                update = {"x": item.x + move[0] / width, "y": item.y + move[1] / height}
                return smaller.model_copy(update=update)
    return None


def _shortest_move(
    box: PixelBox, keep_clear: list[PixelBox], width: int, height: int
) -> tuple[float, float] | None:
    moves = [(0.0, 0.0)] + [move for clear in keep_clear for move in _moves_clear_of(box, clear)]
    for dx, dy in sorted(moves, key=lambda move: math.hypot(*move)):
        moved = (box[0] + dx, box[1] + dy, box[2] + dx, box[3] + dy)
        if _fits(moved, keep_clear, width, height, 0.75 if dx == dy == 0 else 1.0):
            return dx, dy
    return None


def motif_box(item: Decoration, width: int, height: int) -> PixelBox:
    """Where a (non-spanning) motif draws, in pixels of a frame of that size."""
    left, top, right, bottom = _EXTENT[item.motif]
    size = item.size * min(width, height)
    x, y = item.x * width, item.y * height
    return x + left * size, y + top * size, x + right * size, y + bottom * size


def _pixels(box: Box, width: int, height: int) -> PixelBox:
    return box.x * width, box.y * height, (box.x + box.w) * width, (box.y + box.h) * height


def _overlap(a: PixelBox, b: PixelBox) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _moves_clear_of(box: PixelBox, obstacle: PixelBox) -> list[tuple[float, float]]:
    """The four shortest moves that take ``box`` just past each side of ``obstacle``."""
    return [
        (obstacle[0] - box[2], 0.0),
        (obstacle[2] - box[0], 0.0),
        (0.0, obstacle[1] - box[3]),
        (0.0, obstacle[3] - box[1]),
    ]


def _fits(
    box: PixelBox, keep_clear: list[PixelBox], width: int, height: int, inside: float
) -> bool:
    """Clear of every kept area, and at least ``inside`` of it within the frame: where the
    template put it, the picture's edge may crop a tree (the window's frame may not); a motif
    moved is moved whole into the picture."""
    if any(_overlap(box, clear) for clear in keep_clear):
        return False
    inside_w = min(box[2], width) - max(box[0], 0)
    inside_h = min(box[3], height) - max(box[1], 0)
    area = (box[2] - box[0]) * (box[3] - box[1])
    return inside_w > 0 and inside_h > 0 and inside_w * inside_h >= inside * area - 1e-6


def _frosted(image: Image.Image, band: PixelBox) -> Image.Image:
    """The subtitle band blurred and dimmed, fading in over a soft edge: whatever art spans it
    keeps its colours but loses the detail that would fight the words."""
    unit = min(image.size)
    feather = _FROST_FEATHER * unit
    reach = 2 * feather + 3 * _FROST_BLUR * unit  # the mask's soft edge and the blur's kernel
    left, top = max(0, math.floor(band[0] - reach)), max(0, math.floor(band[1] - reach))
    right = min(image.width, math.ceil(band[2] + reach))
    bottom = min(image.height, math.ceil(band[3] + reach))
    area = image.crop((left, top, right, bottom))
    blurred = area.filter(ImageFilter.GaussianBlur(_FROST_BLUR * unit))
    blurred = Image.eval(blurred, lambda value: round(value * _FROST_DIM))
    mask = Image.new("L", area.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle(
        (band[0] - left - feather, band[1] - top - feather, band[2] - left + feather,
         band[3] - top + feather),
        round(feather),
        fill=255,
    )  # fmt: skip
    mask = mask.filter(ImageFilter.GaussianBlur(feather / 2))
    image.paste(Image.composite(blurred, area, mask), (left, top))
    return image


def _brush(
    draw: ImageDraw.ImageDraw,
    item: Decoration,
    palette: Palette,
    decorations: tuple[Decoration, ...],
    canvas: Image.Image,
) -> _Brush:
    """Place a motif: fractions of the canvas become pixels, sizes follow the shorter side."""
    width, height = canvas.size
    return _Brush(
        draw,
        item.x * width,
        item.y * height,
        item.size * min(width, height),
        (*rgb(item.colour), 255),
        (*rgb(item.accent), 255),
        np.random.default_rng(palette.seed + decorations.index(item)),
        canvas.size,
    )


def _sky(palette: Palette, width: int, height: int) -> npt.NDArray[np.uint8]:
    top = np.array(rgb(palette.sky_top), np.float32)
    bottom = np.array(rgb(palette.sky_bottom), np.float32)
    blend = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None] ** 1.4
    sky = np.broadcast_to(top + (bottom - top) * blend, (height, width, 3)).copy()
    rng = np.random.default_rng(palette.seed)
    count = palette.stars * width * height // (1280 * 720)
    xs = rng.integers(0, width, count)
    ys = rng.integers(0, height * 2 // 3, count)
    brightness = rng.uniform(90, 230, count).astype(np.float32)
    sky[ys, xs] = np.maximum(sky[ys, xs], brightness[:, None])
    return sky.clip(0, 255).astype(np.uint8)


def _add_glow(
    image: npt.NDArray[np.uint8],
    centre: tuple[float, float],
    radius: float,
    colour: tuple[int, int, int],
    strength: float,
) -> None:
    height, width = image.shape[:2]
    ys, xs = np.ogrid[:height, :width]
    distance2 = ((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / (radius * radius)
    weight = (strength * np.exp(-distance2 * 2.0))[..., None].astype(np.float32)
    glow = image.astype(np.float32) * (1 - weight) + np.array(colour, np.float32) * weight
    image[...] = glow.clip(0, 255).astype(np.uint8)


class _Brush:
    """Where and how big one motif is drawn: centre (x, y), size s, two colours, a seeded rng."""

    def __init__(
        self,
        draw: ImageDraw.ImageDraw,
        x: float,
        y: float,
        s: float,
        colour: RGBA,
        accent: RGBA,
        rng: np.random.Generator,
        canvas: tuple[int, int],
    ) -> None:
        self.draw, self.x, self.y, self.s = draw, x, y, s
        self.colour, self.accent, self.rng, self.canvas = colour, accent, rng, canvas

    def disc(self, dx: float, dy: float, r: float, fill: RGBA) -> None:
        """A circle at an offset from the centre; all three in units of the motif size."""
        x, y, radius = self.x + dx * self.s, self.y + dy * self.s, r * self.s
        self.draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=fill)

    def oval(self, dx: float, dy: float, rx: float, ry: float, fill: RGBA) -> None:
        x, y = self.x + dx * self.s, self.y + dy * self.s
        self.draw.ellipse(
            (x - rx * self.s, y - ry * self.s, x + rx * self.s, y + ry * self.s), fill
        )

    def poly(self, points: list[tuple[float, float]], fill: RGBA) -> None:
        self.draw.polygon([(self.x + px * self.s, self.y + py * self.s) for px, py in points], fill)

    def line(self, points: list[tuple[float, float]], fill: RGBA, width: float) -> None:
        self.draw.line(
            [(self.x + px * self.s, self.y + py * self.s) for px, py in points],
            fill=fill,
            width=max(1, round(width * self.s)),
            joint="curve",
        )


def _shade(colour: RGBA, factor: float, alpha: int = 255) -> RGBA:
    return (*(min(255, int(c * factor)) for c in colour[:3]), alpha)  # type: ignore[return-value]


def _moon(b: _Brush) -> None:
    b.disc(0, 0, 0.5, b.colour)
    for dx, dy, r in ((-0.15, -0.1, 0.11), (0.12, 0.05, 0.08), (-0.02, 0.2, 0.06)):
        b.disc(dx, dy, r, _shade(b.colour, 0.9))


def _lantern(b: _Brush) -> None:
    b.line([(0, -3), (0, -0.55)], (40, 30, 40, 255), 0.03)
    b.poly([(-0.3, -0.6), (0.3, -0.6), (0.3, -0.48), (-0.3, -0.48)], b.accent)
    b.oval(0, 0, 0.62, 0.5, b.colour)
    for rx in (0.31, 0.0):
        b.oval(0, 0, max(rx, 0.02), 0.5, _shade(b.accent, 1.0, 150))
    b.poly([(-0.3, 0.48), (0.3, 0.48), (0.3, 0.6), (-0.3, 0.6)], b.accent)
    b.line([(0, 0.6), (0, 1.0)], b.accent, 0.04)


def _cloud(b: _Brush) -> None:
    for dx, factor in ((-0.3, 0.8), (0.0, 1.2), (0.3, 0.9)):
        b.oval(dx, 0, 0.45, 0.18 * factor, _shade(b.colour, 1.0, 130))


def _blossoms(b: _Brush) -> None:
    direction = 1 if b.x < b.canvas[0] / 2 else -1
    path = [(0.0, 0.0), (0.5 * direction, -0.3), (1.0 * direction, -0.38)]
    b.line(path, b.accent, 0.035)
    for _ in range(40):
        along = b.rng.uniform(0, 1)
        bx, by = along * direction, -0.36 * min(1.0, along * 1.6)
        b.disc(bx + b.rng.normal(0, 0.06), by + b.rng.normal(0, 0.05), b.rng.uniform(0.015, 0.03),
               b.colour)  # fmt: skip


def _firework(b: _Brush) -> None:
    for ray in range(24):
        angle = 2 * math.pi * ray / 24
        tip = 0.5 * b.rng.uniform(0.75, 1.0)
        c, s = math.cos(angle), math.sin(angle)
        b.line([(0.12 * c, 0.12 * s), (tip * c, tip * s)], b.colour if ray % 2 else b.accent, 0.012)
        b.disc(tip * c, tip * s, 0.018, b.accent)


def _waves(b: _Brush) -> None:
    width = b.canvas[0] / b.s
    left = -b.x / b.s
    for row, fill in enumerate((b.colour, _shade(b.colour, 1.25), b.accent)):
        top = row * 0.12
        xs = np.linspace(left, left + width, 80)
        crest = [(float(x), top + 0.05 * math.sin(x * 9 + row)) for x in xs]
        b.poly([*crest, (left + width, 3.0), (left, 3.0)], _shade(fill, 1.0, 220))


def _dragon_boat(b: _Brush) -> None:
    b.poly([(-0.5, -0.02), (0.45, -0.02), (0.5, -0.12), (0.38, 0.08), (-0.42, 0.08)], b.colour)
    b.poly([(0.42, -0.02), (0.52, -0.22), (0.62, -0.2), (0.55, -0.1), (0.5, -0.02)], b.colour)
    b.disc(0.56, -0.18, 0.015, b.accent)
    b.poly([(-0.5, -0.02), (-0.6, -0.16), (-0.44, -0.03)], b.accent)
    for rower in range(6):
        rx = -0.33 + rower * 0.13
        b.disc(rx, -0.07, 0.03, b.accent)
        b.line([(rx, -0.05), (rx - 0.08, 0.14)], _shade(b.accent, 0.7), 0.012)


def _star_river(b: _Brush) -> None:
    for _ in range(260):
        along = b.rng.uniform(-1, 1)
        spread = b.rng.normal(0, 0.08)
        radius = b.rng.uniform(0.002, 0.007)
        fill = b.colour if b.rng.uniform() < 0.7 else b.accent
        b.disc(along, along * -0.35 + spread, radius, _shade(fill, 1.0, 200))


def _magpie(b: _Brush) -> None:
    b.oval(0, 0, 0.3, 0.12, b.colour)
    b.poly([(-0.25, 0), (-0.7, -0.05), (-0.72, 0.03)], b.colour)
    b.poly([(-0.05, -0.05), (0.15, -0.45), (0.2, -0.05)], b.accent)
    b.disc(0.3, -0.06, 0.1, b.colour)
    b.poly([(0.38, -0.07), (0.48, -0.04), (0.38, -0.02)], (230, 190, 80, 255))


def _chrysanthemum(b: _Brush) -> None:
    for ring, (radius, count) in enumerate(((0.5, 20), (0.36, 16), (0.22, 12))):
        fill = _shade(b.colour, 0.8 + 0.15 * ring)
        for petal in range(count):
            angle = 2 * math.pi * (petal + 0.5 * ring) / count
            c, s = math.cos(angle), math.sin(angle)
            b.line([(0, 0), (radius * c, radius * s)], fill, 0.06)
    b.disc(0, 0, 0.1, b.accent)


def _mountain(b: _Brush) -> None:
    b.poly([(-1.0, 0.5), (-0.35, -0.45), (0.25, 0.5)], b.colour)
    b.poly([(-0.2, 0.5), (0.45, -0.3), (1.1, 0.5)], _shade(b.colour, 1.2))
    b.poly([(-0.45, -0.32), (-0.35, -0.45), (-0.24, -0.3)], b.accent)


def _snowflake(b: _Brush) -> None:
    for arm in range(6):
        angle = math.pi * arm / 3
        c, s = math.cos(angle), math.sin(angle)
        b.line([(0, 0), (0.5 * c, 0.5 * s)], b.colour, 0.04)
        for along in (0.25, 0.38):
            for turn in (-0.6, 0.6):
                ca, sa = math.cos(angle + turn), math.sin(angle + turn)
                base = (along * c, along * s)
                b.line([base, (base[0] + 0.12 * ca, base[1] + 0.12 * sa)], b.colour, 0.03)


def _tangyuan(b: _Brush) -> None:
    b.poly([(-0.5, 0), (0.5, 0), (0.35, 0.3), (-0.35, 0.3)], b.accent)
    b.oval(0, 0, 0.5, 0.08, _shade(b.accent, 0.7))
    for dx, dy in ((-0.2, -0.06), (0.05, -0.1), (0.25, -0.04)):
        b.disc(dx, dy, 0.12, b.colour)


def _tree(b: _Brush) -> None:
    b.poly([(-0.06, 0.45), (0.06, 0.45), (0.06, 0.55), (-0.06, 0.55)], (90, 60, 40, 255))
    for tier, (top, half) in enumerate(((-0.45, 0.2), (-0.25, 0.3), (-0.02, 0.4))):
        b.poly([(0, top), (half, top + 0.5), (-half, top + 0.5)], _shade(b.colour, 1 + 0.1 * tier))
    b.poly([(0, -0.58), (0.05, -0.47), (0, -0.42), (-0.05, -0.47)], b.accent)
    for _ in range(14):
        depth = b.rng.uniform(-0.2, 0.42)
        b.disc(b.rng.uniform(-1, 1) * (depth + 0.45) * 0.6, depth, 0.025, b.accent)


def _gift(b: _Brush) -> None:
    b.poly([(-0.3, -0.2), (0.3, -0.2), (0.3, 0.3), (-0.3, 0.3)], b.colour)
    b.poly([(-0.05, -0.2), (0.05, -0.2), (0.05, 0.3), (-0.05, 0.3)], b.accent)
    b.oval(-0.1, -0.26, 0.1, 0.06, b.accent)
    b.oval(0.1, -0.26, 0.1, 0.06, b.accent)


def _balloon(b: _Brush) -> None:
    b.line([(0, 0.25), (0.05, 0.6), (-0.02, 1.0)], (230, 230, 230, 255), 0.01)
    b.oval(0, 0, 0.2, 0.26, b.colour)
    b.oval(-0.07, -0.1, 0.04, 0.07, _shade(b.accent, 1.0, 160))


def _cake(b: _Brush) -> None:
    b.poly([(-0.45, 0.05), (0.45, 0.05), (0.45, 0.4), (-0.45, 0.4)], b.colour)
    b.poly([(-0.3, -0.2), (0.3, -0.2), (0.3, 0.05), (-0.3, 0.05)], _shade(b.colour, 1.15))
    b.line([(-0.45, 0.1), (0.45, 0.1)], b.accent, 0.03)
    for cx in (-0.15, 0.0, 0.15):
        b.line([(cx, -0.2), (cx, -0.35)], (250, 250, 250, 255), 0.03)
        b.oval(cx, -0.4, 0.025, 0.045, (255, 200, 60, 255))


def _carnation(b: _Brush) -> None:
    b.line([(0, 0.1), (0.05, 0.8)], (60, 130, 60, 255), 0.03)
    for ring in range(3):
        for petal in range(10):
            angle = 2 * math.pi * (petal + ring * 0.33) / 10
            radius = 0.2 - ring * 0.05
            b.disc(radius * math.cos(angle), radius * math.sin(angle) * 0.7, 0.09,
                   _shade(b.colour, 0.85 + 0.12 * ring))  # fmt: skip
    b.disc(0, 0, 0.06, b.accent)


def _heart(b: _Brush) -> None:
    b.disc(-0.13, -0.05, 0.15, b.colour)
    b.disc(0.13, -0.05, 0.15, b.colour)
    b.poly([(-0.27, 0.02), (0.27, 0.02), (0, 0.32)], b.colour)


def _confetti(b: _Brush) -> None:
    for _ in range(70):
        cx, cy = b.rng.uniform(-1, 1), b.rng.uniform(-0.5, 0.5)
        angle = b.rng.uniform(0, math.pi)
        dx, dy = 0.025 * math.cos(angle), 0.025 * math.sin(angle)
        fill = b.colour if b.rng.uniform() < 0.5 else b.accent
        b.line([(cx - dx, cy - dy), (cx + dx, cy + dy)], fill, 0.014)


def _sun(b: _Brush) -> None:
    for ray in range(16):
        angle = 2 * math.pi * ray / 16
        c, s = math.cos(angle), math.sin(angle)
        b.line([(0.3 * c, 0.3 * s), (0.5 * c, 0.5 * s)], b.accent, 0.03)
    b.disc(0, 0, 0.26, b.colour)


_MOTIFS: dict[Motif, _Painter] = {
    "moon": _moon, "lantern": _lantern, "cloud": _cloud, "blossoms": _blossoms,
    "firework": _firework, "waves": _waves, "dragon_boat": _dragon_boat,
    "star_river": _star_river, "magpie": _magpie, "chrysanthemum": _chrysanthemum,
    "mountain": _mountain, "snowflake": _snowflake, "tangyuan": _tangyuan, "tree": _tree,
    "gift": _gift, "balloon": _balloon, "cake": _cake, "carnation": _carnation, "heart": _heart,
    "confetti": _confetti, "sun": _sun,
}  # fmt: skip
