"""A synthetic face, drawn from a parametric model, for previews, benchmarks, the demo and tests.

Nobody's likeness: an ellipsoid head lit from the upper left, with shaded eye sockets, brows,
eyes, nose and mouth placed where real faces have them. Those light-dark relations are what face
detectors key on, so this drawing passes the same face checks a family photo must pass.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageFilter

_HAIR = (45, 35, 30)
_JACKET = (50, 60, 85)


def stand_in_portrait(
    size: tuple[int, int] = (600, 800),
    *,
    centre: tuple[float, float] = (0.5, 0.45),
    face_width: float = 0.3,
    skin: tuple[int, int, int] = (224, 178, 146),
    eyes_open: bool = True,
    hair: tuple[int, int, int] = _HAIR,
    seed: int = 0,
) -> Image.Image:
    """A head-and-shoulders portrait; ``face_width`` is the head's half-width as a share of
    the image's shorter side, ``centre`` the face centre as fractions."""
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    shade_down = (ys / height)[..., None]
    image = (
        np.array([150, 160, 175], np.float32) * (1 - shade_down)
        + np.array([90, 100, 115], np.float32) * shade_down
    )
    half_w = face_width * min(width, height)
    half_h = half_w * 1.32
    fx, fy = centre[0] * width, centre[1] * height
    u = (xs - fx) / half_w
    v = (ys - fy) / half_h
    skin_colour = np.array(skin, np.float32)
    body = ((xs - fx) / (half_w * 2.4)) ** 2 + ((ys - (fy + half_h * 2.2)) / (half_h * 1.3)) ** 2
    image[body < 1] = _JACKET
    image[(np.abs(xs - fx) < half_w * 0.42) & (ys > fy) & (ys < fy + half_h * 1.35)] = (
        skin_colour * 0.7
    )
    image[(u / 1.08) ** 2 + ((v + 0.12) / 1.05) ** 2 < 1] = hair
    head = u**2 + v**2 < 1
    depth = np.sqrt(np.clip(1 - u**2 - v**2, 0, 1))
    light = np.array([-0.35, -0.45, 0.82]) / np.linalg.norm([-0.35, -0.45, 0.82])
    lambert = 0.45 + 0.6 * np.clip(u * light[0] + v * light[1] + depth * light[2], 0, 1)
    image[head] = (skin_colour[None, None, :] * lambert[..., None])[head]
    image[head & (v < -0.62 + 0.08 * np.cos(u * 3))] = hair

    def patch(
        cx: float, cy: float, rx: float, ry: float, colour: npt.ArrayLike, opacity: float = 1.0,
        softness: float = 0.0,
    ) -> None:  # fmt: skip
        distance = ((u - cx) / rx) ** 2 + ((v - cy) / ry) ** 2
        weight = np.exp(-distance * softness) if softness else (distance < 1).astype(np.float32)
        weight = (weight * opacity)[..., None]
        image[...] = image * (1 - weight) + np.asarray(colour, np.float32) * weight

    for side in (-1, 1):
        ex = side * 0.36
        patch(ex, -0.12, 0.30, 0.16, skin_colour * 0.55, 0.6, softness=2.0)  # eye socket
        patch(ex, -0.33, 0.25, 0.05, (50, 38, 32))  # brow
        if eyes_open:
            patch(ex, -0.1, 0.17, 0.075, (235, 230, 225))
            patch(ex, -0.1, 0.075, 0.075, (70, 45, 30))
            patch(ex, -0.1, 0.035, 0.035, (10, 8, 8))
            patch(ex + 0.02, -0.12, 0.012, 0.012, (250, 250, 250))
        else:
            patch(ex, -0.09, 0.17, 0.02, (80, 55, 45))  # a closed lid's line
    patch(0.0, 0.08, 0.07, 0.28, skin_colour * 1.08, 0.5, softness=1.5)  # lit nose bridge
    patch(0.09, 0.12, 0.06, 0.22, skin_colour * 0.6, 0.45, softness=2.0)  # its shadow side
    for side in (-1, 1):
        patch(side * 0.05, 0.30, 0.04, 0.025, (90, 55, 45))  # nostrils
    patch(0.0, 0.52, 0.22, 0.045, (150, 70, 65))  # lips
    patch(0.0, 0.50, 0.22, 0.012, (70, 30, 30))
    grain = np.random.default_rng(seed).normal(0, 3, image.shape).astype(np.float32)
    drawn = Image.fromarray(np.clip(image + grain, 0, 255).astype(np.uint8))
    return drawn.filter(ImageFilter.GaussianBlur(max(1.0, width / 600)))
