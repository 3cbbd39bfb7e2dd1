"""The festival backdrop, painted from the template palette so no binary art ships in the repo."""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter

from engine._templates import Palette

WIDTH, HEIGHT = 1280, 720
_SUPERSAMPLE = (
    2  # Pillow draws shapes without anti-aliasing; drawing large and shrinking smooths them
)
_MOON_CENTRE = (1060, 150)
_MOON_RADIUS = 78
# (x, top of string, body height) for each lantern; they hang on the left, clear of the label.
_LANTERNS = ((95, 150, 92), (190, 90, 70), (1170, 330, 80))
_CLOUDS = ((930, 205, 190, 34), (1140, 120, 150, 26), (250, 420, 230, 30), (1050, 470, 210, 30))
_OSMANTHUS_BRANCHES = (((0, 700), (150, 610), (260, 585)), ((1280, 690), (1150, 620), (1030, 600)))


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def paint_background(palette: Palette) -> npt.NDArray[np.uint8]:
    """Night sky, moon with glow, clouds, lanterns and osmanthus, as an HxWx3 array."""
    sky = _sky(palette)
    _add_glow(sky, _MOON_CENTRE, _MOON_RADIUS * 3.2, rgb(palette.moon_glow), 0.55)
    for x, top, height in _LANTERNS:
        _add_glow(sky, (x, top + height // 2 + 10), height * 1.1, rgb(palette.lantern_trim), 0.35)
    scale = _SUPERSAMPLE
    canvas = Image.fromarray(sky).resize((WIDTH * scale, HEIGHT * scale), Image.Resampling.BILINEAR)
    canvas = canvas.convert("RGBA")
    _draw_moon(canvas, palette, scale)
    canvas.alpha_composite(_clouds(palette, scale))
    draw = ImageDraw.Draw(canvas)
    for x, top, height in _LANTERNS:
        _draw_lantern(draw, palette, x * scale, top * scale, height * scale, scale)
    _draw_osmanthus(draw, palette, scale)
    small = canvas.convert("RGB").resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)
    return np.asarray(small, dtype=np.uint8).copy()


def _sky(palette: Palette) -> npt.NDArray[np.uint8]:
    top = np.array(rgb(palette.sky_top), np.float32)
    bottom = np.array(rgb(palette.sky_bottom), np.float32)
    blend = np.linspace(0.0, 1.0, HEIGHT, dtype=np.float32)[:, None, None] ** 1.4
    sky = np.broadcast_to(top + (bottom - top) * blend, (HEIGHT, WIDTH, 3)).copy()
    rng = np.random.default_rng(palette.star_seed)
    count = 140
    xs = rng.integers(0, WIDTH, count)
    ys = rng.integers(0, HEIGHT * 2 // 3, count)
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
    ys, xs = np.ogrid[:HEIGHT, :WIDTH]
    distance2 = ((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / (radius * radius)
    weight = (strength * np.exp(-distance2 * 2.0))[..., None].astype(np.float32)
    glow = image.astype(np.float32) * (1 - weight) + np.array(colour, np.float32) * weight
    image[...] = glow.clip(0, 255).astype(np.uint8)


def _draw_moon(canvas: Image.Image, palette: Palette, scale: int) -> None:
    cx, cy = (c * scale for c in _MOON_CENTRE)
    r = _MOON_RADIUS * scale
    draw = ImageDraw.Draw(canvas)
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*rgb(palette.moon), 255))
    shade = tuple(int(c * 0.9) for c in rgb(palette.moon))
    for dx, dy, size in (
        (-0.3, -0.2, 0.22),
        (0.25, 0.1, 0.16),
        (-0.05, 0.4, 0.12),
        (0.4, -0.35, 0.09),
    ):
        mx, my, mr = cx + dx * r, cy + dy * r, size * r
        draw.ellipse((mx - mr, my - mr, mx + mr, my + mr), fill=(*shade, 255))


def _clouds(palette: Palette, scale: int) -> Image.Image:
    layer = Image.new("RGBA", (WIDTH * scale, HEIGHT * scale), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    colour = (*rgb(palette.cloud), 120)
    for x, y, width, height in _CLOUDS:
        for offset, factor in ((-0.3, 0.8), (0.0, 1.2), (0.3, 0.9)):
            cx, cy = (x + offset * width) * scale, y * scale
            w, h = width * 0.45 * scale, height * factor * scale
            draw.ellipse((cx - w, cy - h, cx + w, cy + h * 0.6), fill=colour)
    return layer.filter(ImageFilter.GaussianBlur(6 * scale))


def _draw_lantern(
    draw: ImageDraw.ImageDraw, palette: Palette, x: int, top: int, height: int, scale: int
) -> None:
    trim = (*rgb(palette.lantern_trim), 255)
    body_top = top + 30 * scale
    half_width = int(height * 0.62)
    draw.line((x, 0, x, body_top), fill=(40, 30, 40, 255), width=2 * scale)
    cap = int(height * 0.12)
    draw.rectangle((x - half_width // 2, body_top - cap, x + half_width // 2, body_top), fill=trim)
    draw.ellipse(
        (x - half_width, body_top, x + half_width, body_top + height),
        fill=(*rgb(palette.lantern), 255),
    )
    for rib in (-0.5, 0.0, 0.5):
        rx = int(half_width * abs(rib))
        draw.ellipse(
            (x - rx, body_top, x + rx, body_top + height),
            outline=(*rgb(palette.lantern_trim), 150),
            width=scale,
        )
    bottom = body_top + height
    draw.rectangle((x - half_width // 2, bottom, x + half_width // 2, bottom + cap), fill=trim)
    draw.line((x, bottom + cap, x, bottom + cap + height // 2), fill=trim, width=3 * scale)


def _draw_osmanthus(draw: ImageDraw.ImageDraw, palette: Palette, scale: int) -> None:
    rng = np.random.default_rng(palette.star_seed + 1)
    blossom = (*rgb(palette.osmanthus), 255)
    for branch in _OSMANTHUS_BRANCHES:
        points = [(x * scale, y * scale) for x, y in branch]
        draw.line(points, fill=(70, 45, 35, 255), width=5 * scale, joint="curve")
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            for _ in range(14):
                along = rng.uniform(0, 1)
                bx = x0 + (x1 - x0) * along + rng.normal(0, 14 * scale)
                by = y0 + (y1 - y0) * along + rng.normal(0, 12 * scale)
                radius = rng.uniform(2.5, 4.5) * scale
                draw.ellipse((bx - radius, by - radius, bx + radius, by + radius), fill=blossom)
