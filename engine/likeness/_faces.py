"""Face detection, 68 landmarks and identity descriptors from dlib and the models its PyPI
companion package ships (face_recognition_models): nothing is downloaded.

Licence note for operators: the 68-point predictor was trained on iBUG 300-W, whose terms allow
research use only.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import dlib
import numpy as np
import numpy.typing as npt
from PIL import Image

from engine._errors import IngestError

# HOG finds faces down to ~80 px; photos are searched at this size so a phone picture costs
# ~0.1 s, and coordinates are scaled back to the photo.
_SEARCH_SIDE = 640
_DESCRIPTOR_JITTERS = 1

Points = npt.NDArray[np.float64]
_lock = threading.Lock()  # dlib's detectors are not documented as thread-safe


@dataclass(frozen=True)
class Face:
    """One face: its detection box (left, top, right, bottom) and 68 (x, y) landmarks."""

    box: tuple[float, float, float, float]
    landmarks: Points

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]


def _models_dir() -> Path:
    # Located without importing the package: its __init__ needs pkg_resources (setuptools<81).
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or spec.origin is None:
        raise RuntimeError("face_recognition_models is not installed")
    return Path(spec.origin).parent / "models"


@cache
def _detector() -> Any:
    return dlib.get_frontal_face_detector()


@cache
def _predictor() -> Any:
    return dlib.shape_predictor(str(_models_dir() / "shape_predictor_68_face_landmarks.dat"))


@cache
def _encoder() -> Any:
    return dlib.face_recognition_model_v1(
        str(_models_dir() / "dlib_face_recognition_resnet_model_v1.dat")
    )


def detect_faces(pixels: npt.NDArray[np.uint8], upsample: int = 0) -> list[Face]:
    """Every frontal face in an RGB image, largest first."""
    pixels = _dense(pixels)
    height, width = pixels.shape[:2]
    scale = min(1.0, _SEARCH_SIDE / max(height, width))
    small = pixels
    if scale < 1.0:
        size = (round(width * scale), round(height * scale))
        small = np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR))
    with _lock:
        boxes = _detector()(small, upsample)
        faces = []
        for box in boxes:
            shape = _predictor()(small, box)
            points = np.array([(p.x, p.y) for p in shape.parts()], np.float64) / scale
            edges = (box.left(), box.top(), box.right(), box.bottom())
            left, top, right, bottom = (float(v) / scale for v in edges)
            faces.append(Face(box=(left, top, right, bottom), landmarks=points))
    return sorted(faces, key=lambda face: -face.width)


def find_face(pixels: npt.NDArray[np.uint8], near: tuple[float, float] | None = None) -> Face:
    """The one face a talking portrait can animate; IngestError when there is none or several.

    ``near`` (x, y) picks, among several, the face whose centre is closest: the one the member
    chose in a group photo, whose neighbours may show at the edge of its crop.
    """
    faces = detect_faces(pixels) or detect_faces(pixels, upsample=1)
    if not faces:
        raise IngestError("no_face", "no face found in the photo")
    if len(faces) > 1 and near is None:
        raise IngestError("several_faces", "more than one face in the photo", faces=len(faces))
    if near is None:
        return faces[0]
    return min(faces, key=lambda f: math.dist(near, _centre(f)))


def _centre(face: Face) -> tuple[float, float]:
    left, top, right, bottom = face.box
    return 0.5 * (left + right), 0.5 * (top + bottom)


def landmarks_in(pixels: npt.NDArray[np.uint8], box: tuple[int, int, int, int]) -> Points:
    """dlib's 68 landmarks inside a face box (left, top, right, bottom) another detector found."""
    with _lock:
        shape = _predictor()(_dense(pixels), dlib.rectangle(*box))
    return np.array([(p.x, p.y) for p in shape.parts()], np.float64)


def descriptor(pixels: npt.NDArray[np.uint8], face: Face) -> npt.NDArray[np.float64]:
    """dlib's 128-d identity embedding; distances below 0.6 mean "same person" to dlib."""
    left, top, right, bottom = (round(v) for v in face.box)
    pixels = _dense(pixels)
    with _lock:
        shape = _predictor()(pixels, dlib.rectangle(left, top, right, bottom))
        vector = _encoder().compute_face_descriptor(pixels, shape, _DESCRIPTOR_JITTERS)
    return np.array(vector, np.float64)


def _dense(pixels: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """dlib reads an image as packed rows and ignores numpy's strides. A decoded video frame
    is often a view with padded rows (PyAV keeps FFmpeg's aligned line size: a 360-pixel-wide
    frame has 1088-byte rows, not 1080), which dlib would read skewed and find no face in."""
    return np.ascontiguousarray(pixels)
