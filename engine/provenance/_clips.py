"""Synthetic greeting-like clips for the watermark benchmark and tests, drawn on the spot.

Each seed gives a different mix of what real greetings hold (gradient or textured backgrounds,
a drawn portrait, text, moving lanterns, a slow camera drift), so a result measured on many
seeds is not tuned to one picture. Nothing is downloaded; ffmpeg comes from imageio-ffmpeg.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter

from engine._text import font

Frame = npt.NDArray[np.uint8]
FPS = 25
_MARGIN = 0.08  # the drawn canvas is this much larger than the frame so the camera can drift


def clip_frames(seed: int, width: int, height: int, seconds: float) -> Iterator[Frame]:
    """Frames of one synthetic greeting; the style follows from the seed."""
    rng = np.random.default_rng(seed)
    canvas_w, canvas_h = round(width * (1 + _MARGIN)), round(height * (1 + _MARGIN))
    still = np.asarray(_still(rng, seed, canvas_w, canvas_h), np.uint8)
    lanterns = [
        (rng.uniform(0, width), rng.uniform(0, height), rng.uniform(-60, 60), rng.uniform(-40, 10),
         int(rng.integers(12, 40)), tuple(int(c) for c in rng.integers(120, 256, 3)))
        for _ in range(int(rng.integers(0, 7)))
    ]  # fmt: skip
    drift_x, drift_y = rng.uniform(-1, 1, 2)
    count = round(seconds * FPS)
    for index in range(count):
        t = index / FPS
        swing = index / max(count - 1, 1) - 0.5  # -0.5 .. 0.5 over the clip
        left = round((canvas_w - width) * (0.5 + drift_x * swing))
        top = round((canvas_h - height) * (0.5 + drift_y * swing))
        frame = still[top : top + height, left : left + width].copy()
        for x0, y0, vx, vy, radius, colour in lanterns:
            cx, cy = int(x0 + vx * t) % width, int(y0 + vy * t) % height
            frame[max(cy - radius, 0) : cy + radius, max(cx - radius, 0) : cx + radius] = colour
        yield frame


def _still(rng: np.random.Generator, seed: int, width: int, height: int) -> Image.Image:
    style = seed % 4
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    a, b = rng.integers(20, 236, (2, 3)).astype(np.float32)
    if style == 0:  # linear gradient
        mix = (xs / width * rng.uniform(0.2, 1) + ys / height * rng.uniform(0.2, 1)) / 2
    elif style == 1:  # radial glow
        mix = np.hypot(xs - width * 0.5, ys - height * 0.4) / max(width, height)
    elif style == 2:  # smooth noise texture (clouds, paper)
        coarse = rng.uniform(0, 1, (height // 40 + 2, width // 40 + 2)).astype(np.float32)
        mix = np.asarray(Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC))
    else:  # fine grain texture over a gradient (fabric, film grain)
        mix = ys / height + rng.normal(0, 0.08, (height, width)).astype(np.float32)
    mix = np.clip(mix, 0, 1)[..., None]
    image = Image.fromarray(np.clip(a * (1 - mix) + b * mix, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    if rng.uniform() < 0.8:
        _portrait(draw, rng, width, height)
    if rng.uniform() < 0.7:
        size = max(height // 14, 12)
        text = ["中秋快樂", "Happy Mid-Autumn", "新年快樂 萬事如意", "團圓"][
            int(rng.integers(0, 4))
        ]
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.text((width * 0.1, height * 0.78), text, font=font("zh-Hant", size), fill=colour)
    if seed % 3 == 0:
        image = image.filter(ImageFilter.GaussianBlur(0.6))
    return image


def _portrait(draw: ImageDraw.ImageDraw, rng: np.random.Generator, width: int, height: int) -> None:
    cx, cy = width * rng.uniform(0.35, 0.65), height * rng.uniform(0.35, 0.5)
    r = min(width, height) * rng.uniform(0.18, 0.3)
    skin = tuple(int(c) for c in rng.integers(150, 245, 3))
    hair = tuple(int(c) for c in rng.integers(10, 90, 3))
    draw.ellipse((cx - r * 1.1, cy - r * 1.25, cx + r * 1.1, cy + r * 0.6), fill=hair)
    draw.ellipse((cx - r * 0.85, cy - r, cx + r * 0.85, cy + r), fill=skin)
    for side in (-1, 1):
        ex = cx + side * r * 0.35
        draw.ellipse((ex - r * 0.12, cy - r * 0.25, ex + r * 0.12, cy - r * 0.1), fill=(30, 25, 25))
    draw.arc((cx - r * 0.4, cy + r * 0.1, cx + r * 0.4, cy + r * 0.55), 20, 160, fill=(150, 50, 50),
             width=max(int(r * 0.05), 2))  # fmt: skip
    draw.rectangle((cx - r * 1.3, cy + r * 1.05, cx + r * 1.3, height), fill=hair)


def encode_frames(
    frames: Iterator[Frame],
    width: int,
    height: int,
    destination: Path,
    *extra: str,
    audio: Path | None = None,
) -> Path:
    """x264 crf 18 (+ AAC 128k from ``audio``) into MP4, the way a render would be."""
    sound = ("-i", str(audio), "-c:a", "aac", "-b:a", "128k", "-shortest") if audio else ()
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
        "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", str(FPS),
        "-i", "pipe:0", *sound, "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
        "-pix_fmt", "yuv420p", *extra, str(destination),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdin=subprocess.PIPE)
    assert process.stdin is not None
    for frame in frames:
        process.stdin.write(frame.tobytes())
    process.stdin.close()
    if process.wait() != 0:
        raise RuntimeError(f"ffmpeg could not encode {destination}")
    return destination


def greeting_audio(seed: int, seconds: float, rate: int = 48_000) -> npt.NDArray[np.float32]:
    """Music (plucked pentatonic notes over a drone) with a voiced, formant-shaped 'speaker'."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * rate)) / rate
    music = 0.2 * np.sin(2 * np.pi * rng.uniform(90, 160) * t)
    pentatonic = (1.0, 9 / 8, 5 / 4, 3 / 2, 5 / 3, 2.0)
    base = rng.uniform(220, 330)
    for start in np.arange(0, seconds, rng.uniform(0.25, 0.5)):
        pitch = base * pentatonic[int(rng.integers(0, 6))]
        tail = np.clip(t - start, 0, None)
        music += (t >= start) * np.exp(-tail * 4) * np.sin(2 * np.pi * pitch * tail) * 0.3
    f0 = rng.uniform(90, 240) * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 30))
    syllables = (np.sin(2 * np.pi * rng.uniform(3, 5) * t) > -0.2) * (t > 0.8) * (t < seconds - 0.5)
    noise = rng.normal(0, 1, len(t))
    speech = 0.3 * voice * syllables + 0.05 * noise * syllables
    mix = 0.5 * music / max(np.max(np.abs(music)), 1e-9) + 0.5 * speech / max(
        np.max(np.abs(speech)), 1e-9
    )
    return np.asarray(0.8 * mix / np.max(np.abs(mix)), np.float32)
