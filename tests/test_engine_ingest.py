"""Each IngestError code, provoked by a real malformed file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.demo.samples import encode_voice_note, write_wav
from engine import IngestError, check_portrait, check_voice
from tests.auxil.media import png_header_only, portrait, spoken_note, tone


def _code(check: object, path: Path) -> IngestError:
    with pytest.raises(IngestError) as caught:
        check(path)  # type: ignore[operator]
    return caught.value


def test_portrait_accepts_jpeg_png_and_webp(tmp_path: Path) -> None:
    for fmt, suffix in (("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp")):
        info = check_portrait(portrait(tmp_path / f"face.{suffix}", fmt=fmt))
        assert (info.width, info.height) == (600, 800)


def test_portrait_size_follows_exif_orientation(tmp_path: Path) -> None:
    image = Image.new("RGB", (800, 600), "grey")
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    image.save(tmp_path / "rotated.jpg", exif=exif)
    info = check_portrait(tmp_path / "rotated.jpg")
    assert (info.width, info.height) == (600, 800)


def test_empty_portrait(tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").touch()
    assert _code(check_portrait, tmp_path / "empty.jpg").code == "empty_file"


def test_text_renamed_to_jpg_is_not_an_image(tmp_path: Path) -> None:
    (tmp_path / "note.jpg").write_text("definitely not a photo\n" * 20)
    assert _code(check_portrait, tmp_path / "note.jpg").code == "not_an_image"


def test_truncated_jpeg_is_not_an_image(tmp_path: Path) -> None:
    whole = portrait(tmp_path / "whole.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(whole[:300])
    assert _code(check_portrait, tmp_path / "cut.jpg").code == "not_an_image"


def test_oversized_side_is_too_large(tmp_path: Path) -> None:
    error = _code(check_portrait, png_header_only(tmp_path / "wide.png", 9000, 400))
    assert error.code == "too_large_dimensions"
    assert error.details["width"] == 9000


def test_decompression_bomb_is_rejected_from_its_header(tmp_path: Path) -> None:
    bomb = png_header_only(tmp_path / "bomb.png", 30_000, 30_000)
    assert bomb.stat().st_size < 1000
    assert _code(check_portrait, bomb).code == "too_large_dimensions"


def test_too_many_pixels_within_side_limit(tmp_path: Path) -> None:
    error = _code(check_portrait, png_header_only(tmp_path / "big.png", 7600, 7600))
    assert error.code == "too_large_dimensions"


def test_tiny_portrait_is_too_small(tmp_path: Path) -> None:
    error = _code(check_portrait, portrait(tmp_path / "tiny.jpg", size=(200, 300)))
    assert error.code == "too_small"
    assert error.details == {"width": 200, "height": 300, "minimum": 256}


def test_voice_note_reports_duration_and_speech(tmp_path: Path) -> None:
    note = spoken_note(tmp_path, "hello", "中秋节快乐，我想你了。", "cmn", pitch=50)
    info = check_voice(note)
    assert 1.5 < info.duration_s < 6
    assert 0.5 * info.duration_s < info.speech_s <= info.duration_s


def test_speech_estimate_ignores_silence(tmp_path: Path) -> None:
    rate = 16_000
    samples = np.concatenate([np.zeros(3 * rate, np.float32), tone(200, 1.0, rate)])
    info = check_voice(
        encode_voice_note(write_wav(tmp_path / "s.wav", samples, rate), tmp_path / "s.ogg")
    )
    assert abs(info.duration_s - 4.0) < 0.1
    assert 0.7 < info.speech_s < 1.4


def test_empty_voice_note(tmp_path: Path) -> None:
    (tmp_path / "empty.ogg").touch()
    assert _code(check_voice, tmp_path / "empty.ogg").code == "empty_file"


@pytest.mark.parametrize("content", [b"OggS" + bytes(range(256)) * 8, b"\x00\x01garbage" * 100])
def test_garbage_audio_is_unreadable(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "voice.ogg").write_bytes(content)
    assert _code(check_voice, tmp_path / "voice.ogg").code == "unreadable_audio"


def test_photo_sent_as_voice_is_unreadable(tmp_path: Path) -> None:
    assert _code(check_voice, portrait(tmp_path / "face.jpg")).code == "unreadable_audio"


def test_short_voice_note(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "short.wav", tone(180, 0.4), 16_000)
    error = _code(check_voice, encode_voice_note(wav, tmp_path / "short.ogg"))
    assert error.code == "too_short"
    assert error.details["minimum"] == 1.0
    assert 0.3 <= float(error.details["seconds"]) <= 0.5


def test_long_voice_note(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "long.wav", tone(180, 125, rate=8000), 8000)
    error = _code(check_voice, wav)
    assert error.code == "too_long"
    assert error.details["maximum"] == 120.0
