"""Streams frames into ffmpeg (libx264 + AAC) so no more than a few frames are ever held in memory.

Piping raw RGB ourselves keeps composition in numpy/OpenCV (fast) and gives direct control of
the colour conversion, tagging and MP4 layout; moviepy's per-frame Pillow work is not needed.
"""

from __future__ import annotations

import contextlib
import queue
import subprocess
import tempfile
import threading
import wave
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

import av
import imageio_ffmpeg
import numpy as np
import numpy.typing as npt

from engine._errors import RenderError
from engine._mixing import MIX_RATE

FPS = 25
# Telegram bots may upload at most 50 MB; a larger render is re-encoded at a bitrate that fits.
MAX_OUTPUT_BYTES = 50_000_000
_AUDIO_BITRATE = 128_000
_FIT_HEADROOM = 0.92  # container overhead and rate-control overshoot
_FIT_ATTEMPTS = 3
_MIN_VIDEO_BITRATE = 50_000  # below this a greeting is mush; better to fail loudly
# Frames drawn ahead of ffmpeg: two keep the drawing thread busy while x264 catches up.
_QUEUED_FRAMES = 2
_COLOUR_ARGS = (
    # RGB in, BT.709 limited-range YUV out, and the stream says so: players then show true colours.
    "-vf", "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p",
    "-color_range", "tv", "-colorspace", "bt709",
    "-color_primaries", "bt709", "-color_trc", "bt709",
)  # fmt: skip
_AUDIO_ARGS = ("-c:a", "aac", "-b:a", str(_AUDIO_BITRATE), "-ar", str(MIX_RATE))


def video_args(preset: str) -> list[str]:
    """H.264 High at a quality target; the same settings serve the render and the benchmark."""
    return [
        "-c:v", "libx264", "-preset", preset, "-crf", "21", "-profile:v", "high",
        "-maxrate", "6M", "-bufsize", "12M", *_COLOUR_ARGS,
    ]  # fmt: skip


def ffmpeg_command(*args: str) -> list[str]:
    return [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
            *args]  # fmt: skip


FASTSTART = ("-movflags", "+faststart")


def encode(
    frames: Iterable[npt.NDArray[np.uint8]],
    audio: npt.NDArray[np.float32],
    destination: Path,
    size: tuple[int, int],
    preset: str,
    container_args: tuple[str, ...] = FASTSTART,
) -> None:
    """Frames and a finished mix to an MP4, exactly as a render writes them: the sound is
    encoded beside the picture, as a render does once its greeting's length is known."""
    with (
        tempfile.TemporaryDirectory(prefix="tuanyuan-", dir=destination.parent) as scratch,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="encode-sound") as sounds,
    ):
        sound = sounds.submit(encode_sound, audio, Path(scratch) / "sound.mp4")
        picture = Path(scratch) / "picture.mp4"
        encode_picture(frames, picture, size, preset)
        mux(picture, sound.result(), destination, container_args)


def encode_picture(
    frames: Iterable[npt.NDArray[np.uint8]], destination: Path, size: tuple[int, int], preset: str
) -> None:
    """The picture alone, encoded as the frames come: the sound is not known until the voice
    has finished, and a render composes while it speaks. At most ``_QUEUED_FRAMES`` frames
    wait for ffmpeg at a time.

    If ``frames`` raises, ffmpeg is stopped and the error propagates; the partial file is the
    caller's to discard.
    """
    width, height = size
    command = ffmpeg_command(
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(FPS),
        "-i", "pipe:0", *video_args(preset), "-an", "-f", "mp4", str(destination),
    )  # fmt: skip
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=log)
        assert process.stdin is not None
        try:
            _feed(frames, process, (height, width, 3))
        finally:
            # Closing flushes what the pipe still buffers; if ffmpeg has exited, that raises a
            # broken pipe (as in subprocess's own communicate), and its exit code and log are
            # what say why.
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
            code = process.wait()
        _check(code, log)


def _feed(
    frames: Iterable[npt.NDArray[np.uint8]], process: subprocess.Popen[bytes],
    shape: tuple[int, int, int],
) -> None:  # fmt: skip
    """Hand the frames to ffmpeg from a thread of its own.

    A write waits whenever x264 is behind; on the drawing thread that wait was a quarter of a
    render's wall time (BENCHMARKS.md, "The pipe on a thread of its own"). Each frame is
    copied into one of a few buffers first, because a caller may change a frame it yielded
    once it is asked for the next (the in-place video watermark does).
    """
    assert process.stdin is not None
    pipe = process.stdin
    free: queue.Queue[npt.NDArray[np.uint8]] = queue.Queue()
    for _ in range(_QUEUED_FRAMES + 1):
        free.put(np.empty(shape, np.uint8))
    full: queue.Queue[npt.NDArray[np.uint8] | None] = queue.Queue()
    stopped = threading.Event()  # ffmpeg stopped reading: its exit code and log say why

    def write() -> None:
        while (buffer := full.get()) is not None:
            if not stopped.is_set():
                try:
                    pipe.write(buffer.data)
                except OSError:  # a broken pipe: ffmpeg exited
                    stopped.set()
            free.put(buffer)

    writer = threading.Thread(target=write, name="encoder-pipe", daemon=True)
    writer.start()
    try:
        for frame in frames:
            if stopped.is_set():
                break
            buffer = free.get()
            np.copyto(buffer, frame)
            full.put(buffer)
    except BaseException:
        process.kill()
        raise
    finally:
        full.put(None)
        writer.join()


def encode_sound(audio: npt.NDArray[np.float32], destination: Path) -> Path:
    """The mix as AAC in an MP4 of its own, to be muxed with the picture later; a render makes
    it while the picture is still being composed."""
    with tempfile.TemporaryDirectory(prefix="tuanyuan-", dir=destination.parent) as scratch:
        sound = write_wav(Path(scratch) / "audio.wav", audio, MIX_RATE)
        command = ffmpeg_command("-i", str(sound), *_AUDIO_ARGS, "-f", "mp4", str(destination))
        with tempfile.TemporaryFile() as log:
            _check(subprocess.run(command, stderr=log, check=False).returncode, log)
    return destination


def mux(
    picture: Path, sound: Path, destination: Path, container_args: tuple[str, ...] = FASTSTART
) -> None:
    """The encoded picture and sound in one MP4, both copied, not re-encoded, with the moov
    atom first (``+faststart``) so playback starts while loading. The sound must be as long as
    the picture.
    """
    command = ffmpeg_command(
        "-i", str(picture), "-i", str(sound), "-map", "0:v", "-map", "1:a",
        "-c", "copy", *container_args, "-f", "mp4", str(destination),
    )  # fmt: skip
    with tempfile.TemporaryFile() as log:
        _check(subprocess.run(command, stderr=log, check=False).returncode, log)


def _check(code: int, log: IO[bytes]) -> None:
    if code != 0:
        log.seek(0)
        text = log.read().decode(errors="replace")
        raise RenderError(f"ffmpeg failed ({code}): {text[-800:]}")


def fit_to_limit(
    video: Path,
    duration_s: float,
    limit: int = MAX_OUTPUT_BYTES,
    container_args: tuple[str, ...] = FASTSTART,
) -> None:
    """Re-encode the picture in place at an average bitrate that lands under ``limit`` bytes.

    Quality-targeted encoding cannot promise a size; a busy 60 s greeting can exceed what
    Telegram accepts, so the rare oversized render gets a second, bitrate-targeted pass. The
    sound is copied, so its share of the budget is taken off first.
    """
    with av.open(str(video)) as container:
        audio_bits = sum(s.bit_rate or _AUDIO_BITRATE for s in container.streams.audio)
    budget = limit * _FIT_HEADROOM
    for _ in range(_FIT_ATTEMPTS):
        if video.stat().st_size <= limit:
            return
        bits_per_second = int(budget * 8 / duration_s - audio_bits)
        if bits_per_second < _MIN_VIDEO_BITRATE:
            break
        shrunk = video.with_name(f".{video.stem}.fit.mp4")
        try:
            subprocess.run(
                ffmpeg_command(
                    "-i", str(video), "-map", "0", "-c:v", "libx264", "-preset", "veryfast",
                    "-profile:v", "high", "-b:v", str(bits_per_second),
                    "-maxrate", str(bits_per_second), "-bufsize", str(2 * bits_per_second),
                    *_COLOUR_ARGS, "-c:a", "copy", *container_args, str(shrunk),
                ),
                check=True,
                capture_output=True,
            )  # fmt: skip
            shrunk.replace(video)
        except subprocess.CalledProcessError as exc:
            raise RenderError(f"ffmpeg re-encode failed: {exc.stderr[-800:]!r}") from exc
        finally:
            shrunk.unlink(missing_ok=True)
        budget *= 0.85
    if video.stat().st_size > limit:
        raise RenderError(f"{video.name} stays above {limit} bytes after re-encoding")


def write_wav(path: Path, samples: npt.NDArray[np.float32], rate: int) -> Path:
    """16-bit mono WAV from float samples in [-1, 1]: ffmpeg's input, and sample footage's."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path
