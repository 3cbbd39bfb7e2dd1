"""Decoding what the service produced, as a viewer's player would, to check it."""

from __future__ import annotations

import struct
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt


def frame_at(video: Path, seconds: float) -> npt.NDArray[np.uint8]:
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time >= seconds - 1e-3:
                return np.asarray(frame.to_ndarray(format="rgb24"))
    raise AssertionError(f"no frame at {seconds} s")


def audio_track(video: Path) -> tuple[npt.NDArray[np.float32], int]:
    with av.open(str(video)) as container:
        rate = container.streams.audio[0].codec_context.sample_rate
        frames = [f.to_ndarray() for f in container.decode(audio=0)]
    planar = np.concatenate(frames, axis=1)
    return planar.mean(axis=0).astype(np.float32), rate


def rms(samples: npt.NDArray[np.float32]) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def top_level_boxes(path: Path) -> list[str]:
    boxes = []
    data = path.read_bytes()
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            (size,) = struct.unpack(">Q", data[offset + 8 : offset + 16])
        elif size == 0:
            size = len(data) - offset
        boxes.append(kind.decode("latin-1"))
        offset += size
    return boxes
