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
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from engine._ingest import open_media
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
_MOST = 0.6  # of the blocks: a frame changed this much is marked whole
# An update whose summed energy comes this close to the cap is marked whole, where the cap is
# decided on the exact sum rather than on block sums rounded differently.
_CAP_MARGIN = 0.999

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
    """Marks final RGB frames of one size; build once per render, call on every frame.

    Consecutive frames of a greeting differ in a few places (the portrait, a subtitle), and
    the mark on a pixel depends only on its own 8x8 block and the blocks around it. So once a
    frame has been marked whole, the next is marked only where it changed: bit for bit the
    same frame at a fraction of the cost (see ``_mark_changes``).
    """

    def __init__(
        self, payload: Payload, key: bytes, width: int, height: int, *, in_place: bool = False
    ) -> None:
        """With ``in_place`` a frame marked where it changed is updated into the one returned
        last, which is therefore good only until the next call: for a caller that hands each
        frame straight on, as a render does to the encoder, that saves copying a whole frame."""
        self.width, self.height = width, height
        self._in_place = in_place
        bit_of_cell, chips = _layout(key, grid_shape(width, height))
        symbols = 1.0 - 2.0 * encode(payload.bits()).astype(np.float32)
        grid = (chips * symbols[bit_of_cell]).astype(np.float32)
        self._pattern = _resize(grid, width, height)
        self._blocks = (height // 8, width // 8)
        self._last: _Marked | None = None

    def __call__(self, frame: Frame) -> Frame:
        """The frame marked, read-only: the marker keeps it to update for the next frame.

        The marker also keeps ``frame`` to compare the next one with. An array of its own is
        kept as it is, made read-only (a frame is about to be encoded, not changed again);
        a view of another array, which may still change, is copied."""
        if frame.shape != (self.height, self.width, 3):
            raise ValueError(f"expected {self.height}x{self.width}x3 frames, got {frame.shape}")
        last = self._last
        if last is not None:
            marked = self._mark_changes(frame, last)
            if marked is not None:
                return marked
        return self._mark_whole(frame)

    def _mark_whole(self, frame: Frame) -> Frame:
        """Every step is one OpenCV pass over the pixels: bit for bit the plain numpy form
        (block statistics by reshape and mean, ``np.rint``, clipped int16 adds) at under half
        its cost."""
        rows, cols = self._blocks
        # The mask is smooth, so OpenCV's plain bilinear upsampling serves (14x faster than PIL).
        mask = cv2.resize(self._amplitude(frame, 0, rows, 0, cols), (self.width, self.height),
                          interpolation=cv2.INTER_LINEAR)  # fmt: skip
        delta = np.asarray(cv2.multiply(self._pattern, mask), np.float32)
        mse = cv2.norm(delta, cv2.NORM_L2SQR) / delta.size
        scale = float(np.sqrt(_MSE_MAX / mse)) if mse > _MSE_MAX else 1.0
        marked = _add(frame, delta, scale)
        # Only a frame the cap left alone, on a whole grid of blocks, can be updated in parts.
        tiled = (rows * 8, cols * 8) == (self.height, self.width)
        marked.flags.writeable = False
        self._last = None
        if scale == 1.0 and tiled:
            self._last = _Marked(_kept(frame), marked, _block_energy(delta))
        return marked

    def _mark_changes(self, frame: Frame, last: _Marked) -> Frame | None:
        """The last marked frame, updated in the boxes of blocks whose mark may have changed;
        None when most of the frame changed or the PSNR cap might apply (mark it whole)."""
        boxes = self._changed_boxes(frame, last.frame)
        if boxes is None:
            return None
        rows, cols = self._blocks
        energy = last.energy.copy()
        updates = []
        for x, y, width, height in boxes:
            # The amplitude one block beyond the box: bilinear upsampling then gives every
            # pixel inside the box the mask a whole frame's upsampling gives it.
            top, bottom = max(y - 1, 0), min(y + height + 1, rows)
            left, right = max(x - 1, 0), min(x + width + 1, cols)
            amplitude = self._amplitude(frame, top, bottom, left, right)
            mask = cv2.resize(amplitude, ((right - left) * 8, (bottom - top) * 8),
                              interpolation=cv2.INTER_LINEAR)  # fmt: skip
            inner = mask[(y - top) * 8 : (y - top + height) * 8,
                         (x - left) * 8 : (x - left + width) * 8]  # fmt: skip
            window = np.s_[y * 8 : (y + height) * 8, x * 8 : (x + width) * 8]
            delta = np.asarray(cv2.multiply(self._pattern[window], inner), np.float32)
            energy[y : y + height, x : x + width] = _block_energy(delta)
            updates.append((window, delta))
        if energy.sum() / (self.width * self.height) > _MSE_MAX * _CAP_MARGIN:
            return None
        marked = last.marked if self._in_place else last.marked.copy()
        marked.flags.writeable = True
        for window, delta in updates:
            # Read from the frame's box and written straight into the marked frame's: OpenCV
            # takes both views as they are, with no copy on either side.
            _add(frame[window], delta, 1.0, out=marked[window])
        marked.flags.writeable = False
        self._last = _Marked(_kept(frame), marked, energy)
        return marked

    def _changed_boxes(self, frame: Frame, before: Frame) -> list[tuple[int, int, int, int]] | None:
        """Boxes (x, y, width, height, in blocks) around the blocks that differ from
        ``before`` and their neighbours; None when most of the frame differs."""
        rows, cols = self._blocks
        # 8 pixels of RGB are 24 bytes, three 64-bit words: comparing words finds every byte
        # that changed at a fraction of a byte-wise difference's cost.
        current = np.ascontiguousarray(frame).reshape(self.height, -1).view(np.uint64)
        changed = current != before.reshape(self.height, -1).view(np.uint64)
        # A block is 8 rows of 3 words: OR down its rows (whole rows of words at a time), then
        # across its 3 words. A quarter of the cost of averaging the flags by INTER_AREA.
        words = np.logical_or.reduce(changed.reshape(rows, 8, cols * 3), axis=1)
        words = words.reshape(rows, cols, 3)
        blocks = words[..., 0] | words[..., 1] | words[..., 2]
        touched = cv2.dilate(blocks.view(np.uint8), np.ones((3, 3), np.uint8))
        if cv2.countNonZero(touched) > _MOST * rows * cols:
            return None
        count, _, stats, _ = cv2.connectedComponentsWithStats(touched, connectivity=8)
        return [(int(x), int(y), int(w), int(h)) for x, y, w, h, _ in stats[1:count]]

    def _amplitude(self, frame: Frame, top: int, bottom: int, left: int, right: int) -> Floats:
        """Mark amplitude per 8x8 block, for blocks [top, bottom) x [left, right).

        Texture from every other green sample: INTER_AREA at an integer factor is the exact
        4x4 mean, of the samples and of their squares.
        """
        size = (right - left, bottom - top)
        green = frame[top * 8 : bottom * 8 : 2, left * 8 : right * 8 : 2, 1].astype(np.float32)
        mean = cv2.resize(green, size, interpolation=cv2.INTER_AREA)
        square = cv2.resize(green * green, size, interpolation=cv2.INTER_AREA)
        std = np.sqrt(np.maximum(square - mean * mean, 0.0))
        return np.clip(_AMP_FLAT + _AMP_PER_STD * std, _AMP_FLAT, _AMP_MAX).astype(np.float32)


@dataclass(frozen=True)
class _Marked:
    """A frame as it came, as marked, and its mark's energy (sum of squares) per 8x8 block."""

    frame: Frame
    marked: Frame
    energy: npt.NDArray[np.float64]


def _kept(frame: Frame) -> Frame:
    if not frame.flags.owndata:
        return frame.copy()
    frame.flags.writeable = False
    return frame


def _block_energy(delta: Floats) -> npt.NDArray[np.float64]:
    height, width = delta.shape
    mean = cv2.resize(delta * delta, (width // 8, height // 8), interpolation=cv2.INTER_AREA)
    return np.asarray(mean, np.float64) * 64


def _add(frame: Frame, delta: Floats, scale: float, out: Frame | None = None) -> Frame:
    """``frame`` plus ``scale * delta`` rounded half to even (as ``np.rint``) on R, G and B,
    clipped to 0-255: |delta| into uint8 by sign, then saturating uint8 adds, the same result
    as widening to int16, adding and clipping, at a fraction of the memory traffic (an int16
    delta added with OpenCV's mixed-depth add measured 0.45 ms against 0.21 ms a portrait
    window). Written into ``out`` when given (a view of a larger frame is written in place)."""
    _, above = cv2.threshold(delta, 0.0, 0.0, cv2.THRESH_TOZERO)
    _, below = cv2.threshold(delta, 0.0, 0.0, cv2.THRESH_TOZERO_INV)
    raise_by = cv2.cvtColor(cv2.convertScaleAbs(above, alpha=scale), cv2.COLOR_GRAY2RGB)
    lower_by = cv2.cvtColor(cv2.convertScaleAbs(below, alpha=scale), cv2.COLOR_GRAY2RGB)
    raised = cv2.add(frame, raise_by, dst=out)
    return np.asarray(cv2.subtract(raised, lower_by, dst=raised), dtype=np.uint8)


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
    with open_media(path) as container:  # a file sent to /verify is anyone's
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
    # A picture dark and flat all over (a tiny black video) has no bars to find: kept whole.
    if len(rows) < max(1, mean.shape[0] // 4) or len(cols) < max(1, mean.shape[1] // 4):
        return mean
    return mean[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _resize(values: Floats, width: int, height: int) -> Floats:
    image = Image.fromarray(values).resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(image, np.float32)
