"""Measurements on rendered frames, shared by the benchmark and the tests.

They look only at pixels and at dlib's landmarks of the frame itself, never at the animation's
own parameters, so they can catch the animation doing something other than intended.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from engine.likeness._faces import Face

_BLINK_CONTRAST_RATIO = 0.75  # eye-region contrast below this share of its median: eyes shut


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
