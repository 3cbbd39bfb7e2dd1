"""The picture is encoded while it is composed and the sound added after: what comes out plays
as one H.264 + AAC file, streamable from its first bytes, and a failing composition stops it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from engine._encoder import FPS, encode_picture, encode_sound, mux
from engine._errors import RenderError
from engine._mixing import MIX_RATE
from tests.auxil.video import top_level_boxes

SIZE = (160, 96)
FRAMES = 50


def _frames(count: int) -> Iterator[np.ndarray]:
    for index in range(count):
        yield np.full((SIZE[1], SIZE[0], 3), index * 5 % 256, np.uint8)


def test_the_picture_and_the_mix_make_one_streamable_video(tmp_path: Path) -> None:
    picture = tmp_path / "picture.mp4"
    encode_picture(_frames(FRAMES), picture, SIZE, "superfast")
    tone = np.sin(np.arange(2 * MIX_RATE) * 2 * np.pi * 440 / MIX_RATE).astype(np.float32) * 0.3
    video = tmp_path / "video.mp4"
    mux(picture, encode_sound(tone, tmp_path / "sound.mp4"), video)
    with av.open(str(video)) as container:
        kinds = {s.type: s.codec_context.name for s in container.streams}
        assert kinds == {"video": "h264", "audio": "aac"}
        frames = sum(1 for _ in container.decode(video=0))
    with av.open(str(video)) as container:
        sound = np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)
    assert frames == FRAMES
    assert sound.shape[1] / MIX_RATE == pytest.approx(FRAMES / FPS, abs=0.05)
    assert float(np.sqrt(np.mean(sound**2))) > 0.1
    boxes = top_level_boxes(video)
    assert boxes.index("moov") < boxes.index("mdat")


def test_a_composition_that_fails_stops_the_encoder_with_its_own_error(tmp_path: Path) -> None:
    def failing() -> Iterator[np.ndarray]:
        yield from _frames(10)
        raise RuntimeError("the voice went silent")

    with pytest.raises(RuntimeError, match="the voice went silent"):
        encode_picture(failing(), tmp_path / "picture.mp4", SIZE, "superfast")


def test_a_frame_changed_after_it_was_handed_on_is_encoded_as_it_was_handed_on(
    tmp_path: Path,
) -> None:
    """The render's watermark updates the frame it returned last in place for the next frame;
    the encoder must keep each frame as it was when handed over, however far ffmpeg lags."""

    def one_buffer() -> Iterator[np.ndarray]:
        frame = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
        for index in range(FRAMES):
            frame[:] = index * 5
            yield frame

    picture = tmp_path / "picture.mp4"
    encode_picture(one_buffer(), picture, SIZE, "superfast")
    with av.open(str(picture)) as container:
        luma = [float(f.to_ndarray(format="gray").mean()) for f in container.decode(video=0)]
    # A flat grey g is Y = 16 + 219 g / 255 in BT.709 limited range; the gray decode maps it back.
    assert luma == pytest.approx([index * 5 for index in range(FRAMES)], abs=2.0)


def test_an_encoder_that_fails_is_reported_in_ffmpegs_words_not_waited_on(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="ffmpeg failed"):
        encode_picture(_frames(FRAMES), tmp_path / "picture.mp4", SIZE, "no-such-preset")
