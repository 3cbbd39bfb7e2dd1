"""Whether a found face makes a usable portrait: sharp, lit, eyes open and uncovered, big enough.

Each measure is taken on the face itself (its box and dlib's 68 landmarks), so the light or the
blur of the rest of the photo does not decide. The thresholds live here and nowhere else; they
were calibrated with `tuanyuan bench portraits` (engine/_portrait_bench.py) on real and drawn
faces degraded on purpose, and BENCHMARKS.md records them with the false-reject rate on good
photos. The first problem found is the one reported, in the order a family should fix them.

Closed eyes are judged by OpenCV's eye cascade (FaceBox.eyes_open), not by the landmarks' eye
aspect ratio: dlib's predictor, trained on open eyes, draws a shut eye's contour open (0.32 on a
real photo with its eyes painted shut against 0.22 on the same face with them open).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from engine._errors import IngestError
from engine._models import FaceBox

MIN_FACE_PX = 100  # face width in the photo; smaller faces look soft once the render frames them
MIN_SHARPNESS = 1.0  # Laplacian variance per 100 units of intensity variance, face 200 px wide
MIN_HIGHLIGHT = 60.0  # 95th percentile luma of the inner face; below it the face is lost in dark
BACKLIT_FACE = 60.0  # mean luma of the inner face, against...
BACKLIT_BACKGROUND = 200.0  # ...the brightest tenth of everything around it
MIN_EYE_LIGHT = 0.35  # the eyes' mean luma over the cheeks'; sunglasses are far darker
MIN_MOUTH_TEXTURE = 0.05  # the mouth region's luma spread over the face's mean; a mask is flat
_NORMAL_WIDTH = 200

Luma = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PortraitQuality:
    """The measures one face's verdict is made of (the benchmark prints them)."""

    face_px: int
    sharpness: float
    highlight: float
    face_light: float
    background_light: float
    eye_light: float
    mouth_texture: float
    eyes_open: bool

    def problem(self) -> str | None:
        """The IngestError code of the first thing wrong with this face, or None."""
        if self.face_px < MIN_FACE_PX:
            return "face_too_small"
        if self.face_light < BACKLIT_FACE and self.background_light >= BACKLIT_BACKGROUND:
            return "backlit"
        if self.highlight < MIN_HIGHLIGHT:
            return "too_dark"
        if self.sharpness < MIN_SHARPNESS:
            return "blurry"
        if self.eye_light < MIN_EYE_LIGHT:
            return "eyes_covered"
        if self.mouth_texture < MIN_MOUTH_TEXTURE:
            return "face_covered"
        if not self.eyes_open:
            return "eyes_closed"
        return None


def measure(rgb: npt.NDArray[np.uint8], face: FaceBox) -> PortraitQuality:
    # Imported here: engine.likeness imports engine._ingest, which imports this module.
    from engine.likeness._faces import landmarks_in

    gray: Luma = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float64)
    points = landmarks_in(rgb, (face.x, face.y, face.x + face.width, face.y + face.height))
    inner = _region(gray, points[36:68])
    eye_distance = float(np.linalg.norm(points[36:42].mean(0) - points[42:48].mean(0)))
    cheeks = [
        _square(gray, points[31] + (-0.35 * eye_distance, -0.1 * eye_distance), eye_distance),
        _square(gray, points[35] + (0.35 * eye_distance, -0.1 * eye_distance), eye_distance),
    ]
    cheek_light = max(1.0, float(np.mean([cheek.mean() for cheek in cheeks])))
    eyes = [_region(gray, points[start : start + 6], grow=0.3) for start in (36, 42)]
    face_light = max(1.0, float(inner.mean()))
    crop = gray[face.y : face.y + face.height, face.x : face.x + face.width]
    size = (_NORMAL_WIDTH, max(1, round(_NORMAL_WIDTH * crop.shape[0] / max(1, crop.shape[1]))))
    normal = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    outside = np.ones(gray.shape, bool)
    outside[face.y : face.y + face.height, face.x : face.x + face.width] = False
    return PortraitQuality(
        face_px=face.width,
        sharpness=round(100 * float(cv2.Laplacian(normal, cv2.CV_64F).var())
                        / max(1.0, float(normal.var())), 2),
        highlight=round(float(np.percentile(inner, 95)), 1),
        face_light=round(face_light, 1),
        background_light=round(float(np.percentile(gray[outside], 90)), 1)
        if outside.any() else 0.0,
        eye_light=round(float(np.mean([eye.mean() for eye in eyes])) / cheek_light, 2),
        mouth_texture=round(float(_region(gray, points[48:60], grow=0.2).std()) / face_light, 3),
        eyes_open=face.eyes_open,
    )  # fmt: skip


def require_good_portrait(rgb: npt.NDArray[np.uint8], face: FaceBox, name: str) -> None:
    """Raise the IngestError the bot turns into one line of advice when the face falls short."""
    quality = measure(rgb, face)
    code = quality.problem()
    if code is not None:
        raise IngestError(code, f"{name}: {code} ({quality})", face_px=quality.face_px,
                          minimum=MIN_FACE_PX)  # fmt: skip


def too_dark_to_tell(rgb: npt.NDArray[np.uint8]) -> bool:
    """A photo where no face was found and even its brightest parts are dark: the advice is
    light, not "no face"."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return float(np.percentile(gray, 95)) < MIN_HIGHLIGHT


def _region(gray: Luma, points: npt.NDArray[np.float64], grow: float = 0.0) -> Luma:
    (left, top), (right, bottom) = points.min(axis=0), points.max(axis=0)
    pad_x, pad_y = grow * (right - left), grow * (bottom - top)
    height, width = gray.shape
    top_i, bottom_i = max(0, int(top - pad_y)), min(height, int(bottom + pad_y) + 1)
    left_i, right_i = max(0, int(left - pad_x)), min(width, int(right + pad_x) + 1)
    region = gray[top_i:bottom_i, left_i:right_i]
    return region if region.size else np.zeros(1)


def _square(gray: Luma, centre: npt.NDArray[np.float64], eye_distance: float) -> Luma:
    half = 0.12 * eye_distance
    return _region(gray, np.array([centre - half, centre + half]))
