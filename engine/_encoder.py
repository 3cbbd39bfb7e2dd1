"""Streams frames into ffmpeg (libx264 + AAC) so no more than one frame is ever held in memory.

Piping raw RGB ourselves measured as fast as moviepy's write_videofile (encoding dominates
either way) while giving direct control of the colour conversion, tagging and MP4 layout.
"""

from __future__ import annotations

import subprocess
import tempfile
import wave
from collections.abc import Iterable
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import numpy.typing as npt

from engine._errors import RenderError
from engine._mixing import MIX_RATE
from engine._painter import HEIGHT, WIDTH

FPS = 25
_VIDEO_ARGS = (
    "-c:v",
    "libx264",
    "-preset",
    "veryfast",
    "-crf",
    "21",
    "-profile:v",
    "high",
    "-maxrate",
    "6M",
    "-bufsize",
    "12M",
    # RGB in, BT.709 limited-range YUV out, and the stream says so: players then show true colours.
    "-vf",
    "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p",
    "-color_range",
    "tv",
    "-colorspace",
    "bt709",
    "-color_primaries",
    "bt709",
    "-color_trc",
    "bt709",
)
_AUDIO_ARGS = ("-c:a", "aac", "-b:a", "128k", "-ar", str(MIX_RATE))


def encode(
    frames: Iterable[npt.NDArray[np.uint8]], audio: npt.NDArray[np.float32], destination: Path
) -> None:
    """Write an MP4 with the moov atom first (``+faststart``) so playback starts while loading."""
    with tempfile.TemporaryDirectory(prefix="tuanyuan-") as scratch:
        audio_path = Path(scratch) / "audio.wav"
        _write_wav(audio, audio_path)
        command = [
            imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{WIDTH}x{HEIGHT}", "-r", str(FPS),
            "-i", "pipe:0", "-i", str(audio_path), "-map", "0:v", "-map", "1:a",
            *_VIDEO_ARGS, *_AUDIO_ARGS, "-shortest", "-movflags", "+faststart",
            "-f", "mp4", str(destination),
        ]  # fmt: skip
        errors = Path(scratch) / "ffmpeg.log"
        with errors.open("wb") as log:
            process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=log)
            assert process.stdin is not None
            try:
                for frame in frames:
                    process.stdin.write(frame.tobytes())
            except BrokenPipeError:
                pass  # ffmpeg died; its exit code and log below say why
            finally:
                process.stdin.close()
                code = process.wait()
        if code != 0:
            raise RenderError(
                f"ffmpeg failed ({code}): {errors.read_text(errors='replace')[-800:]}"
            )


def _write_wav(audio: npt.NDArray[np.float32], path: Path) -> None:
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(MIX_RATE)
        out.writeframes(pcm.tobytes())
