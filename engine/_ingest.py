"""Vetting of the sender's photo and voice notes before they cost a render."""

from __future__ import annotations

import warnings
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from engine._errors import IngestError
from engine._models import PortraitInfo, VoiceInfo

MIN_PORTRAIT_SIDE = 256
MAX_PORTRAIT_SIDE = 7680  # 8K UHD width
MAX_PORTRAIT_PIXELS = 50_000_000
MIN_VOICE_S = 1.0
MAX_VOICE_S = 120.0
ANALYSIS_RATE = 16_000


def check_portrait(path: Path) -> PortraitInfo:
    width, height = load_portrait(path).size
    return PortraitInfo(width=width, height=height)


def load_portrait(path: Path) -> Image.Image:
    """The photo upright and in RGB, after every check that makes it safe and usable.

    Dimensions are checked from the header before any pixel is decoded, so a decompression
    bomb costs nothing.
    """
    _require_non_empty(path)
    with _open_image(path) as image:
        try:
            upright = ImageOps.exif_transpose(image).convert("RGB")
        except (OSError, ValueError, SyntaxError) as exc:
            raise IngestError("not_an_image", f"{path.name}: image data is corrupt") from exc
    width, height = upright.size
    if min(width, height) < MIN_PORTRAIT_SIDE:
        raise IngestError(
            "too_small",
            f"{path.name}: {width}x{height} is too small",
            width=width,
            height=height,
            minimum=MIN_PORTRAIT_SIDE,
        )
    return upright


def _open_image(path: Path) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; our own limit is lower.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Image.DecompressionBombError as exc:
        raise _too_large(path, 0, 0) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise IngestError("not_an_image", f"{path.name}: not a readable image") from exc
    width, height = image.size
    if max(width, height) > MAX_PORTRAIT_SIDE or width * height > MAX_PORTRAIT_PIXELS:
        image.close()
        raise _too_large(path, width, height)
    return image


def _too_large(path: Path, width: int, height: int) -> IngestError:
    return IngestError(
        "too_large_dimensions",
        f"{path.name}: image dimensions are too large",
        width=width,
        height=height,
        maximum=MAX_PORTRAIT_SIDE,
    )


def check_voice(path: Path) -> VoiceInfo:
    samples = decode_audio(path, max_seconds=MAX_VOICE_S + 1)
    duration = len(samples) / ANALYSIS_RATE
    if duration < MIN_VOICE_S:
        raise IngestError(
            "too_short",
            f"{path.name}: {duration:.1f} s of audio is too short",
            seconds=round(duration, 1),
            minimum=MIN_VOICE_S,
        )
    if duration > MAX_VOICE_S:
        raise IngestError(
            "too_long",
            f"{path.name}: audio is longer than {MAX_VOICE_S:.0f} s",
            seconds=round(duration, 1),
            maximum=MAX_VOICE_S,
        )
    return VoiceInfo(duration_s=round(duration, 2), speech_s=round(_speech_seconds(samples), 2))


def decode_audio(path: Path, max_seconds: float) -> npt.NDArray[np.float32]:
    """Mono float samples at ANALYSIS_RATE, whatever the container or codec.

    Decoding stops shortly after ``max_seconds`` so a huge upload cannot tie up the worker.
    """
    _require_non_empty(path)
    limit = int(max_seconds * ANALYSIS_RATE)
    chunks: list[npt.NDArray[np.float32]] = []
    decoded = 0
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise IngestError("unreadable_audio", f"{path.name}: no audio stream")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=ANALYSIS_RATE)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunks.append(_mono(out))
                    decoded += len(chunks[-1])
                if decoded > limit:
                    break
            else:
                chunks.extend(_mono(out) for out in resampler.resample(None))
    except av.FFmpegError as exc:
        raise IngestError("unreadable_audio", f"{path.name}: cannot decode audio") from exc
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


def _mono(frame: av.AudioFrame) -> npt.NDArray[np.float32]:
    return np.asarray(frame.to_ndarray(), dtype=np.float32).reshape(-1)


def _speech_seconds(samples: npt.NDArray[np.float32]) -> float:
    """Seconds of 30 ms windows well above the recording's own noise floor."""
    window = int(0.03 * ANALYSIS_RATE)
    count = len(samples) // window
    if count == 0:
        return 0.0
    rms = np.sqrt(np.mean(samples[: count * window].reshape(count, window) ** 2, axis=1))
    floor = float(np.percentile(rms, 10))
    threshold = max(floor * 4.0, 10 ** (-45 / 20))
    return float(np.count_nonzero(rms > threshold)) * window / ANALYSIS_RATE


def _require_non_empty(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IngestError("unreadable_file", f"{path.name}: cannot be read") from exc
    if size == 0:
        raise IngestError("empty_file", f"{path.name}: file is empty")
