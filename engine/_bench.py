"""The composition benchmark: a full render against ffmpeg encoding a still at the same settings.

The baseline pipes raw frames exactly as the render does (ffmpeg's own ``-loop 1`` over a PNG
would decode the PNG once per frame and flatter the ratio).

Both run in the same process on the same machine, so the ratio cancels most of the machine's
speed and load; the absolute seconds do not, and are reported only alongside it.
"""

from __future__ import annotations

import itertools
import resource
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from engine._encoder import FPS, encode
from engine._mixing import MIX_RATE
from engine._models import Aspect, RenderSpec
from engine._render import Stages, render_template
from engine._stand_in import stand_in_portrait
from engine._templates import load_template

_BENCH_TEMPLATE = "mid-autumn"
_PRESET = "veryfast"  # what full renders use


@dataclass(frozen=True)
class BenchResult:
    width: int
    height: int
    frames: int
    repeats: int
    render_s: float  # fastest of the repeats
    encode_only_s: float  # fastest of the repeats
    render_cpu_s: float  # processor time, this process and its ffmpeg, fastest repeat
    encode_only_cpu_s: float
    peak_rss_mb: float  # this process, composition included
    # The largest child; a child counts the parent's memory until ffmpeg replaces it, so this
    # is an upper bound that cannot fall below the renderer's own figure at the time.
    peak_ffmpeg_rss_mb: float

    @property
    def ratio(self) -> float:
        return self.render_s / self.encode_only_s

    @property
    def cpu_ratio(self) -> float:
        """Less sensitive than wall time to other work sharing the machine."""
        return self.render_cpu_s / self.encode_only_cpu_s


def bench_render(
    seconds: float = 30.0, aspect: Aspect = "16:9", scale: float = 1.0, repeats: int = 3
) -> BenchResult:
    """Render a ``seconds``-long greeting with a moving portrait, then pipe as many copies of one
    of its frames through the same encoder at the same settings; ``scale`` 1.5 makes 1080p.

    Render and baseline alternate ``repeats`` times and the fastest of each counts, so a burst
    of other work on a shared machine skews one sample rather than the result.
    """
    template = load_template(_BENCH_TEMPLATE)
    template = template.model_copy(
        update={
            "duration": template.duration.model_copy(
                update={"min_s": seconds, "max_s": seconds + 0.01}
            )
        }
    )
    renders: list[tuple[float, float]] = []
    baselines: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="tuanyuan-bench-") as scratch:
        folder = Path(scratch)
        portrait = folder / "portrait.jpg"
        stand_in_portrait().save(portrait, quality=90)
        spec = RenderSpec(
            render_id="bench", template_id=_BENCH_TEMPLATE, language="zh-Hant", portrait=portrait,
            recipient="外婆", sender="小明", output_dir=folder, aspect=aspect,
        )  # fmt: skip
        for _ in range(repeats):
            with _timed(renders):
                result = render_template(spec, template, Stages(), scale=scale)
            frames = round(result.duration_s * FPS)
            with av.open(str(result.video)) as container:
                still = next(
                    np.asarray(frame.to_ndarray(format="rgb24"), np.uint8)
                    for frame in container.decode(video=0)
                    if frame.time is not None and frame.time >= result.duration_s / 3
                )
            # The same pipe, encoder, settings and audio length, with no composition at all.
            with _timed(baselines):
                encode(
                    itertools.repeat(still, frames),
                    _silence(result.duration_s),
                    folder / "encode-only.mp4",
                    (result.width, result.height),
                    _PRESET,
                )
    return BenchResult(
        width=result.width,
        height=result.height,
        frames=frames,
        repeats=repeats,
        render_s=min(wall for wall, _ in renders),
        encode_only_s=min(wall for wall, _ in baselines),
        render_cpu_s=min(cpu for _, cpu in renders),
        encode_only_cpu_s=min(cpu for _, cpu in baselines),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        peak_ffmpeg_rss_mb=resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    )


@contextmanager
def _timed(samples: list[tuple[float, float]]) -> Iterator[None]:
    """Append (wall seconds, processor seconds of this process and finished children)."""
    wall, cpu = time.perf_counter(), _cpu_seconds()
    yield
    samples.append((time.perf_counter() - wall, _cpu_seconds() - cpu))


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _silence(seconds: float) -> npt.NDArray[np.float32]:
    """The baseline still gets an AAC track too, so both runs pay for audio encoding."""
    return np.zeros(round(seconds * MIX_RATE), np.float32)
