"""Marked and unmarked greeting files for the provenance tests, made the way a render makes them.

The render pipeline is being restructured while the provenance package lands, so these build
the final file from the same pieces the pipeline will call: marked frames, a marked mix, the
AIGC metadata on the encoding ffmpeg run.
"""

from __future__ import annotations

from pathlib import Path

from engine import write_wav
from engine.provenance import (
    Payload,
    aigc_label,
    embed_audio_watermark,
    ffmpeg_metadata_args,
    make_payload,
    watermark_frames,
)
from engine.provenance._clips import clip_frames, encode_frames, greeting_audio

# A test-only key; a real one comes from TUANYUAN_WATERMARK_KEY(_FILE).
KEY = bytes.fromhex("5f0c7ab1e2d34f8899aabbccddeeff00112233445566778899aabbccddeeff01")


def marked_greeting(
    directory: Path, seed: int, size: tuple[int, int] = (1280, 720), seconds: float = 4.0
) -> tuple[Path, Payload]:
    """A greeting with video mark, audio mark and the AIGC label (not yet C2PA-signed)."""
    width, height = size
    payload = make_payload(10_000 + seed, KEY)
    mix = embed_audio_watermark(greeting_audio(seed, seconds), payload, KEY)
    audio = write_wav(directory / f"mix-{seed}.wav", mix, 48_000)
    frames = watermark_frames(clip_frames(seed, width, height, seconds), payload, KEY)
    label = aigc_label(f"render-{seed}", payload.hex)
    destination = directory / f"greeting-{seed}.mp4"
    encode_frames(frames, width, height, destination, *ffmpeg_metadata_args(label), audio=audio)
    return destination, payload


def unmarked_greeting(
    directory: Path, seed: int, size: tuple[int, int] = (1280, 720), seconds: float = 4.0
) -> Path:
    """The same kind of file with no mark at all: what must never be claimed as ours."""
    width, height = size
    audio = write_wav(directory / f"plain-{seed}.wav", greeting_audio(seed, seconds), 48_000)
    destination = directory / f"plain-{seed}.mp4"
    return encode_frames(
        clip_frames(seed, width, height, seconds), width, height, destination, audio=audio
    )
