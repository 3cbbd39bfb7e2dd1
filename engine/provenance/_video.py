"""Invisible video mark: a keyed +-1 pattern on a resolution-normalised grid of 9216 luma cells.

Why this shape (measured in the feasibility prototype, FACTS "Provenance and watermarks"):
per-pixel block watermarks die under x264 at crf 28 or a 480p downscale, but a pattern whose
cells are ~10 px wide at 720p is low-frequency enough to survive both, and because the frame
grid is defined relative to the frame (128x72 cells for 16:9, 72x128 for 9:16, 96x96 for 1:1)
any rescale lands on the same cells. The same pattern sits in every frame, so the detector
averages frames: moving content averages out, the mark adds up. Each of the 210 coded bits is
spread over ~44 keyed cells with keyed chip signs. Amplitude follows local texture (stronger
where texture hides it, ~1 code value on flat areas) and is capped so every frame keeps
PSNR >= 40 dB. The delta is added equally to R, G and B: luma only, no colour shift.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from engine.provenance._payload import (
    CODED_BITS,
    MarkReading,
    Payload,
    decode_confidence,
    encode,
    keyed_rng,
)

GRID_CELLS = 9216
_GRIDS = ((72, 128), (128, 72), (96, 96))  # (rows, cols) for 16:9, 9:16, 1:1
_AMP_FLAT = 1.2
_AMP_MAX = 8.0
_AMP_PER_STD = 0.5
# PSNR 40.3 dB as mean squared error over 8-bit values; 40 dB is the acceptance bar.
_MSE_MAX = 255.0**2 / 10 ** (40.3 / 10)
_SUPERSAMPLE = 4  # detector canvas pixels per grid cell when mapping a crop back
_MAX_FRAMES = 1500
_BAR_LUMA = 24.0
_EIGHT_BIT_Y_FIRST = frozenset(
    ("yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "nv12")
)
_SCALES = (0.95, 0.9, 0.85, 0.8)

Frame = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float32]


def grid_shape(width: int, height: int) -> tuple[int, int]:
    """The grid whose aspect is nearest the frame's, so cells stay roughly square."""
    aspect = np.log(width / height)
    return min(_GRIDS, key=lambda rc: abs(np.log(rc[1] / rc[0]) - aspect))


@lru_cache(maxsize=8)
def _layout(key: bytes, shape: tuple[int, int]) -> tuple[npt.NDArray[np.intp], Floats]:
    """Which coded bit each cell carries and its chip sign; depends on the key only."""
    rng = keyed_rng(key, "video-layout-v1")
    order = rng.permutation(GRID_CELLS)
    chips = rng.choice(np.array([-1.0, 1.0], np.float32), GRID_CELLS)
    bit_of_cell = (order % CODED_BITS).reshape(shape)
    return bit_of_cell, chips.reshape(shape)


class VideoWatermarker:
    """Marks final RGB frames of one size; build once per render, call on every frame."""

    def __init__(self, payload: Payload, key: bytes, width: int, height: int) -> None:
        self.width, self.height = width, height
        bit_of_cell, chips = _layout(key, grid_shape(width, height))
        symbols = 1.0 - 2.0 * encode(payload.bits()).astype(np.float32)
        grid = (chips * symbols[bit_of_cell]).astype(np.float32)
        self._pattern = _resize(grid, width, height)
        self._blocks = (height // 8, width // 8)

    def __call__(self, frame: Frame) -> Frame:
        """The frame with the mark added; every step is one OpenCV pass over the pixels.

        The render pays this on every frame, so it is written for speed without changing the
        result: the output is bit for bit what the plain numpy form (block statistics by
        reshape and mean, ``np.rint`` and clipped int16 adds) gives, at under half its cost.
        """
        if frame.shape != (self.height, self.width, 3):
            raise ValueError(f"expected {self.height}x{self.width}x3 frames, got {frame.shape}")
        rows, cols = self._blocks
        # Texture per 8x8 block from every other green sample: INTER_AREA at an integer factor
        # is the exact 4x4 mean, of the samples and of their squares.
        green = np.ascontiguousarray(frame[: rows * 8 : 2, : cols * 8 : 2, 1]).astype(np.float32)
        mean = cv2.resize(green, (cols, rows), interpolation=cv2.INTER_AREA)
        square = cv2.resize(green * green, (cols, rows), interpolation=cv2.INTER_AREA)
        std = np.sqrt(np.maximum(square - mean * mean, 0.0))
        amplitude = np.clip(_AMP_FLAT + _AMP_PER_STD * std, _AMP_FLAT, _AMP_MAX)
        # The mask is smooth, so OpenCV's plain bilinear upsampling serves (14x faster than PIL).
        mask = cv2.resize(amplitude.astype(np.float32), (self.width, self.height),
                          interpolation=cv2.INTER_LINEAR)  # fmt: skip
        delta = cv2.multiply(self._pattern, mask)
        mse = cv2.norm(delta, cv2.NORM_L2SQR) / delta.size
        scale = float(np.sqrt(_MSE_MAX / mse)) if mse > _MSE_MAX else 1.0
        # |delta| rounded half to even (as np.rint) into uint8, split by sign, then saturating
        # uint8 adds on all three channels: the same result as widening to int16, adding and
        # clipping, at a fraction of the memory traffic.
        _, above = cv2.threshold(delta, 0.0, 0.0, cv2.THRESH_TOZERO)
        _, below = cv2.threshold(delta, 0.0, 0.0, cv2.THRESH_TOZERO_INV)
        raise_by = cv2.convertScaleAbs(above, alpha=scale)
        lower_by = cv2.convertScaleAbs(below, alpha=scale)
        raised = cv2.add(frame, cv2.cvtColor(raise_by, cv2.COLOR_GRAY2RGB))
        return np.asarray(
            cv2.subtract(raised, cv2.cvtColor(lower_by, cv2.COLOR_GRAY2RGB)), dtype=np.uint8
        )


def watermark_frames(frames: Iterable[Frame], payload: Payload, key: bytes) -> Iterator[Frame]:
    """Wraps the encoder's frame iterator; the marker is built from the first frame's size."""
    marker: VideoWatermarker | None = None
    for frame in frames:
        if marker is None:
            marker = VideoWatermarker(payload, key, frame.shape[1], frame.shape[0])
        yield marker(frame)


def read_video_mark(path: Path, key: bytes) -> MarkReading:
    """Average the luma of (up to 60 s of) frames, then look for the mark under crop hypotheses."""
    mean = mean_luma(path)
    if mean is None:
        return MarkReading.nothing()
    return read_mark_from_luma(mean, key)


def mean_luma(path: Path) -> Floats | None:
    total: npt.NDArray[np.float64] | None = None
    count = 0
    with av.open(str(path)) as container:
        if not container.streams.video:
            return None
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            luma = _luma(frame)
            total = luma.astype(np.float64) if total is None else total + luma
            count += 1
            if count >= _MAX_FRAMES:
                break
    return None if total is None else (total / count).astype(np.float32)


def _luma(frame: av.VideoFrame) -> npt.NDArray[np.uint8]:
    if frame.format.name in _EIGHT_BIT_Y_FIRST:  # read Y in place: no colour conversion per frame
        plane = frame.planes[0]
        rows = np.frombuffer(memoryview(plane), np.uint8).reshape(-1, plane.line_size)
        return rows[: frame.height, : frame.width]
    return np.asarray(frame.to_ndarray(format="gray"))


def read_mark_from_luma(mean: Floats, key: bytes) -> MarkReading:
    """Try the whole frame first (the common, uncropped case), then crops of 5-20 %.

    Every hypothesis is one more 2**-24 chance for noise to pass the MAC: 37 of them keep the
    false-positive rate near 2e-6 per unmarked video.
    """
    trimmed = _trim_bars(mean)
    best = MarkReading.nothing()
    for hypothesis in _hypotheses():
        reading = _read_hypothesis(trimmed, key, *hypothesis)
        if reading.mac_valid:
            return reading
        if reading.confidence > best.confidence:
            best = MarkReading(reading.payload, False, reading.confidence)
    return best


def _hypotheses() -> Iterator[tuple[float, float, float, float]]:
    """(scale x, scale y, offset x, offset y): which part of the original frame is visible."""
    yield 1.0, 1.0, 0.0, 0.0
    for scale in _SCALES:
        for offset_y in (0.5, 0.0, 1.0):
            for offset_x in (0.5, 0.0, 1.0):
                yield scale, scale, (1 - scale) * offset_x, (1 - scale) * offset_y


def _read_hypothesis(
    mean: Floats, key: bytes, sx: float, sy: float, ox: float, oy: float
) -> MarkReading:
    height, width = mean.shape
    shape = grid_shape(round(width / sx), round(height / sy))
    rows, cols = shape
    canvas_h, canvas_w = rows * _SUPERSAMPLE, cols * _SUPERSAMPLE
    left, top = round(ox * canvas_w), round(oy * canvas_h)
    region_w = min(round(sx * canvas_w), canvas_w - left)
    region_h = min(round(sy * canvas_h), canvas_h - top)
    canvas = np.zeros((canvas_h, canvas_w), np.float32)
    covered = np.zeros((canvas_h, canvas_w), np.float32)
    canvas[top : top + region_h, left : left + region_w] = _resize(mean, region_w, region_h)
    covered[top : top + region_h, left : left + region_w] = 1.0
    grid = canvas.reshape(rows, _SUPERSAMPLE, cols, _SUPERSAMPLE).mean(axis=(1, 3))
    valid = covered.reshape(rows, _SUPERSAMPLE, cols, _SUPERSAMPLE).min(axis=(1, 3))
    soft = _soft_bits(grid, valid, key, shape)
    payload, confidence = decode_confidence(soft)
    return MarkReading(payload, payload.verifies(key), confidence)


def _soft_bits(
    grid: Floats, valid: Floats, key: bytes, shape: tuple[int, int]
) -> npt.NDArray[np.float64]:
    """Remove the image (cell minus its 8 neighbours' mean), weight cells by how quiet they are."""
    padded = np.pad(grid, 1, mode="edge")
    rows, cols = grid.shape
    neighbours = sum(
        padded[1 + dy : 1 + dy + rows, 1 + dx : 1 + dx + cols]
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
        if dy or dx
    )
    residual = grid - neighbours / 8.0
    energy = _box(residual * residual, 2)
    weight = valid / np.sqrt(energy + 0.05)
    bit_of_cell, chips = _layout(key, shape)
    votes = np.bincount(
        bit_of_cell.ravel(), weights=(residual * chips * weight).ravel(), minlength=CODED_BITS
    )
    return np.asarray(votes, np.float64)


def _box(values: Floats, radius: int) -> Floats:
    size = 2 * radius + 1
    padded = np.pad(values, radius, mode="edge")
    summed = np.cumsum(np.cumsum(np.pad(padded, ((1, 0), (1, 0))), axis=0), axis=1)
    box = (
        summed[size:, size:]
        - summed[:-size, size:]
        - summed[size:, :-size]
        + summed[:-size, :-size]
    )
    return (box / (size * size)).astype(np.float32)


def _trim_bars(mean: Floats) -> Floats:
    """Drop black borders (letterbox/pillarbox bars a re-encoder adds) around the picture.

    Only flat *and* dark lines count as bars: a flat sky along the top edge is picture.
    """
    rows = np.flatnonzero((mean.std(axis=1) > 1.0) | (mean.mean(axis=1) > _BAR_LUMA))
    cols = np.flatnonzero((mean.std(axis=0) > 1.0) | (mean.mean(axis=0) > _BAR_LUMA))
    if len(rows) < mean.shape[0] // 4 or len(cols) < mean.shape[1] // 4:
        return mean
    return mean[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _resize(values: Floats, width: int, height: int) -> Floats:
    image = Image.fromarray(values).resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(image, np.float32)
