"""Test media for the likeness package: clips and photos built from the project's own faces."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from PIL import Image

from engine.likeness._synthetic import FACES, face_photo


def write_clip(
    path: Path,
    frames: Iterable[npt.NDArray[np.uint8]],
    fps: int = 10,
    sound: tuple[npt.NDArray[np.float32], int] | None = None,
) -> Path:
    """An MPEG-4 clip of the frames, as a phone video would arrive (lossy, yuv420p), with
    ``sound`` (mono samples and their rate) as its AAC track if given."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = 4_000_000
        track = None if sound is None else container.add_stream("aac", rate=sound[1], layout="mono")
        for index, pixels in enumerate(frames):
            if index == 0:
                stream.height, stream.width = pixels.shape[:2]
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if track is not None and sound is not None:
            samples = av.AudioFrame.from_ndarray(sound[0][None, :], format="flt", layout="mono")
            samples.rate = sound[1]
            container.mux([*track.encode(samples), *track.encode(None)])
    return path


def two_faces() -> Image.Image:
    """Two of the test people side by side: a photo the portrait must refuse."""
    left, right = face_photo(FACES[0]), face_photo(FACES[1])
    both = Image.new("RGB", (left.width + right.width, left.height))
    both.paste(left, (0, 0))
    both.paste(right, (left.width, 0))
    return both
