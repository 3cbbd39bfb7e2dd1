"""Finding faces and judging how good a portrait each one makes.

dlib's HOG detector (from the prebuilt ``dlib-bin`` wheel, no model file) finds frontal faces:
a turned head is not found, which is the frontal check. OpenCV's Haar eye cascade, shipped
inside ``opencv-python-headless``, tells open eyes from closed ones. Neither downloads anything;
the 68-point landmark model was not used because it is a 100 MB download with research-only
training data.
"""

from __future__ import annotations

from functools import cache

import cv2
import dlib
import numpy as np
import numpy.typing as npt

from engine._models import FaceBox

_DETECT_SIDE = 800  # faces are searched on a copy at most this large: HOG time grows with area
_MIN_FACE_SHARE = 0.08  # of the shorter side; smaller faces are passers-by, not the subject
_COMPANION_SHARE = 0.5  # a face at least this big next to the largest counts as another subject
_EYE_FACE_WIDTH = 200
_SHARP_LAPLACIAN = 100.0  # variance of the Laplacian where a face starts to look crisp

Gray = npt.NDArray[np.uint8]


@cache
def _detector() -> dlib.fhog_object_detector:
    return dlib.get_frontal_face_detector()


@cache
def _eyes() -> cv2.CascadeClassifier:
    return cv2.CascadeClassifier(f"{cv2.data.haarcascades}haarcascade_eye.xml")  # type: ignore[attr-defined]


def find_faces(rgb: npt.NDArray[np.uint8]) -> list[FaceBox]:
    """Subject-sized faces, best portrait first."""
    gray: Gray = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), np.uint8)
    height, width = gray.shape
    shrink = min(1.0, _DETECT_SIDE / max(width, height))
    small = cv2.resize(
        gray, (round(width * shrink), round(height * shrink)), None, 0, 0, cv2.INTER_AREA
    )
    upsample = 1 if max(small.shape) < 500 else 0
    faces = []
    for found in _detector()(small, upsample):
        x, y = round(found.left() / shrink), round(found.top() / shrink)
        size_w, size_h = round(found.width() / shrink), round(found.height() / shrink)
        if min(size_w, size_h) < _MIN_FACE_SHARE * min(width, height):
            continue
        faces.append(_judge(gray, max(0, x), max(0, y), size_w, size_h))
    faces.sort(key=lambda face: face.score, reverse=True)
    return faces


def subjects(faces: list[FaceBox]) -> list[FaceBox]:
    """The faces big enough, next to the largest, to be someone the sender might mean."""
    if not faces:
        return []
    largest = max(face.width for face in faces)
    return [face for face in faces if face.width >= _COMPANION_SHARE * largest]


def _judge(gray: Gray, x: int, y: int, width: int, height: int) -> FaceBox:
    face = gray[y : y + height, x : x + width]
    scale = _EYE_FACE_WIDTH / max(1, face.shape[1])
    normal = cv2.resize(face, (_EYE_FACE_WIDTH, max(1, round(face.shape[0] * scale))))
    upper = normal[: int(normal.shape[0] * 0.6)]
    eyes = _eyes().detectMultiScale(upper, scaleFactor=1.1, minNeighbors=3, minSize=(20, 20))
    sharpness = float(cv2.Laplacian(normal, cv2.CV_64F).var())
    brightness = float(normal.mean())
    eyes_open = len(eyes) > 0
    lit = 1.0 - min(1.0, abs(brightness - 130.0) / 130.0)
    crisp = sharpness / (sharpness + _SHARP_LAPLACIAN)
    score = (0.45 if eyes_open else 0.0) + 0.35 * crisp + 0.2 * lit
    return FaceBox(
        x=x, y=y, width=width, height=height, eyes_open=eyes_open,
        sharpness=round(sharpness, 1), brightness=round(brightness, 1), score=round(score, 3),
    )  # fmt: skip
