"""The video mark: invisible, survives a reduced attack suite, never fires on unmarked video.

The full suite (20 videos, 9 attacks, unmarked corpus) is `tuanyuan bench watermark`.
"""

from pathlib import Path

import cv2
import numpy as np
import pytest

from engine.provenance import VideoWatermarker, make_payload, read_video_mark
from engine.provenance._clips import clip_frames
from engine.provenance.bench import attack
from tests.auxil.provenance import KEY, marked_greeting, unmarked_greeting


@pytest.fixture(scope="module")
def greeting(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    directory = tmp_path_factory.mktemp("video")
    path, payload = marked_greeting(directory, seed=2)  # noise texture: the hardest style
    return path, payload.token


@pytest.mark.parametrize("name", ["crf28", "480p+crf28", "crop10%+crf23", "portrait-1Mbps"])
def test_payload_survives_recompression(
    greeting: tuple[Path, int], tmp_path: Path, name: str
) -> None:
    path, token = greeting
    reading = read_video_mark(attack(path, tmp_path / "attacked.mp4", name), KEY)
    assert reading.mac_valid
    assert reading.payload is not None and reading.payload.token == token


def test_portrait_video_keeps_its_mark_at_360_wide(tmp_path: Path) -> None:
    path, payload = marked_greeting(tmp_path, seed=5, size=(720, 1280), seconds=3.0)
    reading = read_video_mark(attack(path, tmp_path / "small.mp4", "360p+crf30"), KEY)
    assert reading.mac_valid and reading.payload == payload


def test_wrong_key_finds_nothing(greeting: tuple[Path, int]) -> None:
    assert not read_video_mark(greeting[0], bytes(32)).mac_valid


def test_unmarked_videos_are_not_claimed(tmp_path: Path) -> None:
    for seed, size in ((40, (1280, 720)), (41, (720, 1280)), (42, (640, 360))):
        plain = unmarked_greeting(tmp_path, seed, size, seconds=2.0)
        assert not read_video_mark(plain, KEY).mac_valid
        assert not read_video_mark(
            attack(plain, tmp_path / "a.mp4", "crop10%+crf23"), KEY
        ).mac_valid


def test_marked_frames_keep_psnr_40_db() -> None:
    marker = VideoWatermarker(make_payload(1, KEY), KEY, 1280, 720)
    for seed in range(4):
        frame = next(clip_frames(seed, 1280, 720, 0.04))
        error = np.mean((marker(frame).astype(np.float64) - frame) ** 2)
        assert 10 * np.log10(255**2 / error) >= 40.0


def test_flat_areas_change_by_at_most_one_or_two_levels() -> None:
    """On a flat wall the mark must not show as a pattern: tiny, smooth, no colour shift."""
    marker = VideoWatermarker(make_payload(1, KEY), KEY, 1280, 720)
    flat = np.full((720, 1280, 3), (128, 110, 96), np.uint8)
    delta = marker(flat).astype(np.int16) - flat
    assert np.abs(delta).max() <= 2
    assert (delta[..., 0] == delta[..., 1]).all() and (delta[..., 1] == delta[..., 2]).all()
    assert np.abs(delta).mean() < 1.0


def test_frames_of_the_wrong_size_are_refused() -> None:
    marker = VideoWatermarker(make_payload(1, KEY), KEY, 1280, 720)
    with pytest.raises(ValueError, match="720x1280x3"):
        marker(np.zeros((1280, 720, 3), np.uint8))


@pytest.mark.parametrize("size", [(1280, 720), (720, 1280), (854, 480)])
def test_marked_frames_are_exactly_the_plain_formula(size: tuple[int, int]) -> None:
    """The per-frame marker is tuned for speed; this is what it must compute, written plainly:
    texture of every other green sample in 8x8 blocks, a bilinear amplitude mask, the PSNR cap,
    rounding half to even, and the same step on R, G and B, clipped to 0-255."""
    width, height = size
    marker = VideoWatermarker(make_payload(3, KEY), KEY, width, height)
    flat = np.full((height, width, 3), (250, 5, 128), np.uint8)
    for frame in [flat, *(next(clip_frames(seed, width, height, 0.04)) for seed in range(4))]:
        rows, cols = height // 8, width // 8
        blocks = frame[: rows * 8 : 2, : cols * 8 : 2, 1].astype(np.float64)
        blocks = blocks.reshape(rows, 4, cols, 4)
        mean = blocks.mean(axis=(1, 3))
        std = np.sqrt(np.maximum((blocks**2).mean(axis=(1, 3)) - mean**2, 0.0))
        amplitude = np.clip(1.2 + 0.5 * std, 1.2, 8.0).astype(np.float32)
        mask = cv2.resize(amplitude, (width, height), interpolation=cv2.INTER_LINEAR)
        delta = marker._pattern.astype(np.float64) * mask
        mse_max = 255.0**2 / 10 ** (40.3 / 10)
        delta *= min(1.0, np.sqrt(mse_max / np.mean(delta**2)))
        expected = np.clip(frame + np.rint(delta)[..., None], 0, 255).astype(np.uint8)
        assert np.array_equal(marker(frame), expected)


@pytest.mark.parametrize("size", [(1280, 720), (720, 1280), (640, 360)])
def test_frames_marked_where_they_changed_equal_frames_marked_whole(
    size: tuple[int, int],
) -> None:
    """A greeting's frames: a still backdrop, a portrait that moves, a subtitle that comes and
    goes, a frame repeated, a transition over everything. Each must come out exactly as a
    marker that has seen no earlier frame marks it."""
    width, height = size
    payload = make_payload(9, KEY)
    backdrop = next(clip_frames(1, width, height, 0.04))
    portrait = next(clip_frames(2, width // 3, height // 2, 0.04))
    frames = []
    for index in range(12):
        frame = backdrop.copy()
        x, y = width // 3 + 3 * index, height // 8 + index
        frame[y : y + height // 2, x : x + width // 3] = np.roll(portrait, index, axis=0)
        if 4 <= index < 8:
            frame[height - 60 : height - 20, 40 : width - 40] = 255 - frame[:40, 40 : width - 40]
        frames.append(frame)
    frames.insert(6, frames[5])
    frames.insert(10, (frames[9] * 0.5 + backdrop[::-1] * 0.5).astype(np.uint8))
    marker = VideoWatermarker(payload, KEY, width, height)
    in_place = VideoWatermarker(payload, KEY, width, height, in_place=True)
    for frame in frames:
        whole = VideoWatermarker(payload, KEY, width, height)(frame)
        assert np.array_equal(marker(frame), whole)
        assert np.array_equal(in_place(frame), whole)


def test_one_changed_byte_anywhere_in_a_block_is_marked() -> None:
    """Changed blocks are found from 8-byte words: a single byte changed in the first, middle
    or last word of a block's row, in its first or last row, still re-marks the block and its
    neighbours (720 px rows are not a whole number of 64-byte lines)."""
    width, height = 720, 1280
    payload = make_payload(6, KEY)
    frame = next(clip_frames(7, width, height, 0.04))
    marker = VideoWatermarker(payload, KEY, width, height)
    marker(frame)
    # (row, byte in the row): a block spans 8 rows and 24 bytes (3 words) of each.
    for row, byte in ((8, 24), (15, 47), (16, 24 * 5 + 8), (height - 1, 3 * width - 1), (0, 0)):
        frame = frame.copy()
        flat = frame.reshape(height, -1)
        flat[row, byte] = flat[row, byte] ^ 0x40
        whole = VideoWatermarker(payload, KEY, width, height)(frame)
        assert np.array_equal(marker(frame), whole), (row, byte)


def test_frames_that_are_views_of_one_reused_buffer_are_marked_like_fresh_ones() -> None:
    """The marker keeps a frame of its own as it is (read-only, for comparing the next with)
    but copies a view of a caller's buffer, which the caller may overwrite with the next."""
    payload = make_payload(4, KEY)
    backdrop = next(clip_frames(5, 640, 360, 0.04))
    buffer = np.zeros((2, 360, 640, 3), np.uint8)
    marker = VideoWatermarker(payload, KEY, 640, 360)
    for index in range(4):  # a square moving over a still backdrop: marked where it changed
        buffer[0] = backdrop
        buffer[0, 100:180, 40 * index : 40 * index + 80] = 255
        whole = VideoWatermarker(payload, KEY, 640, 360)(buffer[0].copy())
        assert np.array_equal(marker(buffer[0]), whole), index
    own = backdrop.copy()
    marker(own)
    assert not own.flags.writeable
