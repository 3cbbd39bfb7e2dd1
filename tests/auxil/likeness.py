"""Test media for the likeness package: clips and photos built from the project's own faces."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from PIL import Image

from engine.likeness._synthetic import FACES, face_photo


def write_clip(path: Path, frames: Iterable[npt.NDArray[np.uint8]], fps: int = 10) -> Path:
    """An MPEG-4 clip of the frames, as a phone video would arrive (lossy, yuv420p)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = 4_000_000
        for index, pixels in enumerate(frames):
            if index == 0:
                stream.height, stream.width = pixels.shape[:2]
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def two_faces() -> Image.Image:
    """Two of the test people side by side: a photo the portrait must refuse."""
    left, right = face_photo(FACES[0]), face_photo(FACES[1])
    both = Image.new("RGB", (left.width + right.width, left.height))
    both.paste(left, (0, 0))
    both.paste(right, (left.width, 0))
    return both
