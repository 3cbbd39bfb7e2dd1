"""Measurements on rendered frames, shared by the benchmark and the tests.

They look only at pixels and at dlib's landmarks of the frame itself, never at the animation's
own parameters, so they can catch the animation doing something other than intended.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from engine.likeness._faces import Face

_BLINK_CONTRAST_RATIO = 0.75  # eye-region contrast below this share of its median: eyes shut
# Faces are measured at most this wide. dlib's 68-point predictor is unstable on faces far
# larger than those it was trained on: in the 9:16 close-up (Grace Hopper's face 462 px wide) a
# quarter-pixel shift of the whole frame moved its landmarks by 6 px on average and the identity
# descriptor by 0.29, against 0.04 with the same frame measured at 250 px. The descriptor itself
# is computed from a 150 px chip, so nothing it could see is lost.
MEASURED_FACE_PX = 250.0


def measuring_scale(face: Face) -> float:
    """The factor that brings a face to at most ``MEASURED_FACE_PX`` wide (never enlarges)."""
    return min(1.0, MEASURED_FACE_PX / face.width)


def rescaled(frame: npt.NDArray[np.uint8], scale: float) -> npt.NDArray[np.uint8]:
    """The frame at ``scale``, area-averaged: every frame of one measurement at one scale."""
    if scale >= 1.0:
        return frame
    height, width = frame.shape[:2]
    size = (round(width * scale), round(height * scale))
    return np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), np.uint8)


def lip_gap(face: Face) -> float:
    points = face.landmarks
    gap = np.mean(points[[67, 66, 65], 1] - points[[61, 62, 63], 1])
    height = points[8, 1] - points[17:27, 1].min()
    return float(gap / height)


def eye_boxes(face: Face) -> list[tuple[int, int, int, int]]:
    """Boxes around the source photo's eyes, with room for the head's few pixels of motion."""
    boxes = []
    for start in (36, 42):
        points = face.landmarks[start : start + 6]
        (left, top), (right, bottom) = points.min(axis=0), points.max(axis=0)
        margin_x, margin_y = 0.15 * (right - left), 0.2 * (right - left)
        boxes.append(
            (round(left - margin_x), round(top - margin_y), round(right + margin_x),
             round(bottom + margin_y))
        )  # fmt: skip
    return boxes


def eye_contrast(frame: npt.NDArray[np.uint8], boxes: Sequence[tuple[int, int, int, int]]) -> float:
    """Spread of brightness around the eyes: white and iris when open, even skin when shut.

    Measured on pixels because dlib's predictor, trained on open eyes, often puts a shut eye's
    landmarks on the brow and so cannot tell a blink reliably.
    """
    spreads = []
    for left, top, right, bottom in boxes:
        patch = frame[top:bottom, left:right].astype(np.float64).mean(axis=2)
        spreads.append(float(np.std(patch)))
    return float(np.mean(spreads))


def count_blinks(eyes: Sequence[float]) -> int:
    values = np.array(eyes)
    shut = values < _BLINK_CONTRAST_RATIO * float(np.median(values))
    return int(np.count_nonzero(shut[1:] & ~shut[:-1]) + int(shut[0]))
