"""Makers of test media: real files, drawn or synthesised on the spot, never downloaded."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from PIL import Image

from bot import hostile
from bot.demo.samples import encode_voice_note
from engine import stand_in_portrait, write_wav
from engine._espeak import synthesize


def portrait(path: Path, size: tuple[int, int] = (600, 800), fmt: str = "JPEG") -> Path:
    """One synthetic face that the face detector accepts, head and shoulders."""
    stand_in_portrait(size).save(path, format=fmt)
    return path


def two_faces(path: Path) -> Path:
    """Two people side by side, the left one lighter-skinned, as in a couple's photo."""
    left = np.asarray(stand_in_portrait((1200, 800), centre=(0.27, 0.45), face_width=0.2))
    right = np.asarray(
        stand_in_portrait((1200, 800), centre=(0.73, 0.45), face_width=0.2, skin=(170, 120, 95))
    )
    Image.fromarray(np.concatenate([left[:, :600], right[:, 600:]], axis=1)).save(path)
    return path


def landscape(path: Path) -> Path:
    """A sky-and-hills picture with no one in it."""
    ys = np.linspace(0, 1, 600, dtype=np.float32)[:, None, None]
    sky = np.array([120, 170, 230], np.float32) * (1 - ys) + np.array([60, 140, 70]) * ys
    image = np.broadcast_to(sky, (600, 800, 3)).astype(np.uint8)
    Image.fromarray(image).save(path)
    return path


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG that claims huge dimensions but holds almost no data: a decompression bomb's shape."""
    path.write_bytes(hostile.png_header_only(width, height))
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


def phone_recording(directory: Path, name: str, text: str, voice: str) -> Path:
    """Speech as a phone's recorder app keeps it, and a family keeps it for years: AAC in M4A."""
    utterance = synthesize(text, voice)
    recording = directory / f"{name}.m4a"
    with av.open(str(recording), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=utterance.rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            utterance.samples.astype(np.float32)[None, :], format="flt", layout="mono"
        )
        frame.rate = utterance.rate
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return recording


def video(
    path: Path,
    frames: Sequence[npt.NDArray[np.uint8]],
    times: Sequence[float],
    *,
    rotation: int = 0,
    full_range: bool = False,
    transfer: int | None = None,
    audio: tuple[npt.NDArray[np.float32], int] | None = None,
) -> Path:
    """An H.264 MP4 as a phone might write it: frames at the given times (so possibly a
    variable rate), stored sideways with a rotation tag, full range, HDR-tagged, with sound."""
    # faststart puts the index first, as a messenger's re-encode does; a cut file then still opens
    with av.open(str(path), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=25)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuvj420p" if full_range else "yuv420p"
        stream.time_base = stream.codec_context.time_base = Fraction(1, 1000)
        if full_range:
            stream.codec_context.color_range = 2
        if transfer is not None:
            stream.codec_context.color_trc = transfer
        if rotation:
            stream.set_display_rotation(rotation)
        sound = None
        if audio is not None:
            sound = container.add_stream("aac", rate=audio[1])
            sound.layout = "mono"
        for picture, seconds in zip(frames, times, strict=True):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
            frame.pts, frame.time_base = round(seconds * 1000), Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        if sound is not None and audio is not None:
            samples, rate = audio
            pcm = av.AudioFrame.from_ndarray(samples[None, :].astype(np.float32), format="fltp",
                                             layout="mono")  # fmt: skip
            pcm.sample_rate = rate
            container.mux(sound.encode(pcm))
            container.mux(sound.encode(None))
    return path


def steady_times(seconds: float, fps: float = 25.0) -> list[float]:
    return [i / fps for i in range(round(seconds * fps))]
