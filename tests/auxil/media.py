"""Makers of test media: real files, drawn or synthesised on the spot, never downloaded."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from bot.demo.samples import encode_voice_note, write_wav
from engine._espeak import synthesize


def portrait(path: Path, size: tuple[int, int] = (600, 800), fmt: str = "JPEG") -> Path:
    """A cartoon face: enough structure that the Ken Burns crop and frame are visible."""
    width, height = size
    image = Image.new("RGB", size, (196, 170, 140))
    draw = ImageDraw.Draw(image)
    draw.ellipse((width * 0.25, height * 0.18, width * 0.75, height * 0.65), fill=(240, 202, 172))
    for eye_x in (0.4, 0.6):
        draw.ellipse(
            (width * eye_x - 16, height * 0.36, width * eye_x + 16, height * 0.4), fill=(40, 30, 30)
        )
    draw.arc(
        (width * 0.38, height * 0.42, width * 0.62, height * 0.55),
        20,
        160,
        fill=(150, 50, 50),
        width=8,
    )
    image.save(path, format=fmt)
    return path


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that claims huge dimensions but holds almost no data: a decompression bomb's shape."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = zlib.compress(b"\x00" * 16)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )
    return path


def tone(
    frequency: float, seconds: float, rate: int = 16_000, level: float = 0.4
) -> npt.NDArray[np.float32]:
    t = np.arange(int(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def spoken_note(directory: Path, name: str, text: str, voice: str, pitch: int) -> Path:
    """A voice note from espeak at a chosen pitch, so tests know roughly what F0 it carries."""
    utterance = synthesize(text, voice, pitch=pitch)
    wav = write_wav(directory / f"{name}.wav", utterance.samples, utterance.rate)
    return encode_voice_note(wav, directory / f"{name}.ogg")
