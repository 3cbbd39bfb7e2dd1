"""The render benchmark: a greeting as delivered against ffmpeg encoding a still at the same
settings, and where the greeting's time goes.

The render is the whole delivered pipeline: the adapted default voice (a cached speaker
profile, as a family's second order has), the talking portrait under the camera move,
composition, the watermarks in picture and sound, the AIGC metadata and the C2PA signature.
The baseline pipes raw frames exactly as the render does (ffmpeg's own ``-loop 1`` over a PNG
would decode the PNG once per frame and flatter the ratio).

Both run in the same process on the same machine, so the ratio cancels most of the machine's
speed and load; the absolute seconds do not, and are reported only alongside it. The stage
shares come from two more renders under cProfile, on every thread the render starts: one
counting each thread's processor time, one counting wall time on the render's own thread.
Profiling slows Python a little, so those renders are not among the timed ones.
"""

from __future__ import annotations

import cProfile
import itertools
import os
import pstats
import resource
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from engine._encoder import FPS, encode, fit_to_limit, mux, write_wav
from engine._ingest import load_subject
from engine._marking import Marks
from engine._mixing import MIX_RATE, mix
from engine._models import Aspect, ConsentReference, Marking, RenderSpec
from engine._music import render_music
from engine._painter import paint_backdrop
from engine._render import Stages, render_template, write_thumbnail
from engine._scene import KenBurns, Scene
from engine._speaking import speak_while
from engine._stand_in import stand_in_portrait
from engine._subject import TalkingKenBurns
from engine._templates import load_template
from engine.likeness import EspeakWorldVoice, MouthTrack, TalkingPortrait, _world, enrolled_profile
from engine.likeness._synthetic import ENROLMENT_SAMPLES, SPEAKERS, speaker_sample
from engine.provenance import (
    DetectionReport,
    VideoWatermarker,
    detect,
    embed_audio_watermark,
    sign_mp4,
    signing_identity,
)

_BENCH_TEMPLATE = "mid-autumn"
_PRESET = "veryfast"  # what full renders use
_SPEAKER = SPEAKERS[3]  # "young man, Mandarin": the greeting is zh-Hant
_TOKEN = 0x5EED_0F_BE9C

_Function = Callable[..., Any]
# Where the processor time goes: each stage is the cumulative time of its functions less that
# of the functions nested inside them that are stages of their own.
_CPU_STAGES: tuple[tuple[str, tuple[_Function, ...], tuple[_Function, ...]], ...] = (
    ("voice: espeak + WORLD", (EspeakWorldVoice.stream,), ()),
    ("set-up: photo, face, landmarks, backdrop",
     (load_subject, paint_backdrop, TalkingKenBurns.__init__, Scene.__init__), ()),
    ("talking portrait: mouth, blinks, head", (TalkingPortrait.paint, MouthTrack.extend), ()),
    ("camera move", (KenBurns.frame_at,), (TalkingPortrait.paint,)),
    ("composition: cards, subtitles, transitions", (Scene.frame_at,), (KenBurns.frame_at,)),
    ("video watermark", (VideoWatermarker.__call__,), ()),
    ("music and mix", (render_music, mix), ()),
    ("audio watermark", (embed_audio_watermark,), ()),
    ("C2PA signing", (sign_mp4,), ()),
    ("thumbnail", (write_thumbnail,), ()),
)  # fmt: skip
# Along the render's own thread, in order; composition, x264 and the sound (music, mix, audio
# watermark, AAC) run inside "voice, picture and sound".
_WALL_STAGES: tuple[tuple[str, tuple[_Function, ...]], ...] = (
    ("voice, picture and sound, overlapped", (speak_while,)),
    ("mux: picture, sound, AIGC metadata", (mux, fit_to_limit)),
    ("C2PA signing", (Marks.sign,)),
    ("thumbnail", (write_thumbnail,)),
)


@dataclass(frozen=True)
class StageTime:
    name: str
    seconds: float


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
    # From the order handed to a render process to the signed MP4 and thumbnail on disk: the
    # process's first render (dlib and espeak's references load then) and the fastest later one.
    first_render_s: float
    peak_rss_mb: float  # this process, composition included
    # The largest child; a child counts the parent's memory until ffmpeg replaces it, so this
    # is an upper bound that cannot fall below the renderer's own figure at the time.
    peak_ffmpeg_rss_mb: float
    detection: DetectionReport  # the marks read back from the last timed render
    cpu_stages: tuple[StageTime, ...]  # processor seconds of one profiled render, all threads
    wall_stages: tuple[StageTime, ...]  # wall seconds along the render's own thread

    @property
    def ratio(self) -> float:
        return self.render_s / self.encode_only_s

    @property
    def cpu_ratio(self) -> float:
        """Less sensitive than wall time to other work sharing the machine."""
        return self.render_cpu_s / self.encode_only_cpu_s


def bench_render(
    seconds: float = 30.0,
    aspect: Aspect = "16:9",
    scale: float = 1.0,
    repeats: int = 3,
    profile: bool = True,
) -> BenchResult:
    """Render a marked ``seconds``-long greeting with a talking portrait and an adapted voice,
    then pipe as many copies of one of its frames through the same encoder at the same
    settings; ``scale`` 1.5 makes 1080p.

    Render and baseline alternate ``repeats`` times and the fastest of each counts, so a burst
    of other work on a shared machine skews one sample rather than the result. ``profile``
    adds the two profiled renders that give the stage shares.
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
        spec = _spec(folder, aspect)
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
        assert spec.marking is not None
        detection = detect(
            result.video,
            spec.marking.watermark_key.get_secret_value(),
            signing_identity(spec.marking.signing_dir).trust_anchor,
        )
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        peak_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        cpu_stages: tuple[StageTime, ...] = ()
        wall_stages: tuple[StageTime, ...] = ()
        if profile:
            cpu_stages = _cpu_stages(lambda: render_template(spec, template, Stages(), scale))
            wall_stages = _wall_stages(lambda: render_template(spec, template, Stages(), scale))
    return BenchResult(
        width=result.width,
        height=result.height,
        frames=frames,
        repeats=repeats,
        render_s=min(wall for wall, _ in renders),
        encode_only_s=min(wall for wall, _ in baselines),
        render_cpu_s=min(cpu for _, cpu in renders),
        encode_only_cpu_s=min(cpu for _, cpu in baselines),
        first_render_s=renders[0][0],
        peak_rss_mb=peak_rss,
        peak_ffmpeg_rss_mb=peak_child,
        detection=detection,
        cpu_stages=cpu_stages,
        wall_stages=wall_stages,
    )


def _spec(folder: Path, aspect: Aspect) -> RenderSpec:
    """What the bot hands a render process for a family's second greeting: the photo, the voice
    notes and the speaker profile cached from the first, and the order's marking."""
    portrait = folder / "portrait.jpg"
    stand_in_portrait().save(portrait, quality=90)
    samples = tuple(
        write_wav(folder / f"voice-{index}.wav", speaker_sample(_SPEAKER, index), _world.RATE)
        for index in range(ENROLMENT_SAMPLES)
    )
    profile, _ = enrolled_profile(None, samples, EspeakWorldVoice())
    assert profile is not None, "the test speaker's samples hold enough voiced speech"
    cached = folder / "speaker.profile"
    cached.write_bytes(profile.to_bytes())
    return RenderSpec(
        render_id="bench", template_id=_BENCH_TEMPLATE, language="zh-Hant", portrait=portrait,
        voice_samples=samples, speaker_profile=cached, recipient="外婆", sender="小明",
        output_dir=folder, aspect=aspect, consent=ConsentReference.for_synthetic_media(),
        marking=Marking(token=_TOKEN, watermark_key=os.urandom(32), signing_dir=folder / "c2pa"),
    )  # fmt: skip


def _cpu_stages(run: Callable[[], object]) -> tuple[StageTime, ...]:
    """Processor seconds per stage over every thread, then the rest of this process and ffmpeg.

    A thread blocked on the pipe or a lock costs no processor time, so the stages add up to
    the process's own time; ffmpeg's (x264, AAC and the mux) comes from its rusage.
    """
    own, children = _rusage_seconds()
    with _profiled(time.thread_time) as profiles:
        run()
    total_own, total_children = _rusage_seconds()
    stats = _cumulative(profiles)
    rows = [
        StageTime(name, _sum(stats, functions) - _sum(stats, inside))
        for name, functions, inside in _CPU_STAGES
    ]
    counted = sum(row.seconds for row in rows)
    rows.append(StageTime("other Python: timeline, pipe, glue", total_own - own - counted))
    rows.append(StageTime("ffmpeg: x264, AAC, mux", total_children - children))
    return tuple(rows)


def _wall_stages(run: Callable[[], object]) -> tuple[StageTime, ...]:
    """Wall seconds along the render's own thread, from the order to the file ready."""
    started = time.perf_counter()
    with _profiled(time.perf_counter) as profiles:
        run()
    total = time.perf_counter() - started
    stats = _cumulative(profiles[:1])  # the calling thread's only
    rows = [StageTime(name, _sum(stats, functions)) for name, functions in _WALL_STAGES]
    before = StageTime("set-up: photo, face, backdrop, profile", 0.0)
    rows.insert(0, StageTime(before.name, total - sum(row.seconds for row in rows)))
    return tuple(rows)


@contextmanager
def _profiled(timer: Callable[[], float]) -> Iterator[list[cProfile.Profile]]:
    """cProfile on this thread and on every thread started meanwhile (composition, set-up)."""
    profiles = [cProfile.Profile(timer)]

    def start(_frame: FrameType, _event: str, _arg: object) -> None:
        profile = cProfile.Profile(timer)
        profiles.append(profile)
        profile.enable()  # replaces this hook on the new thread

    threading.setprofile(start)
    profiles[0].enable()
    try:
        yield profiles
    finally:
        profiles[0].disable()
        threading.setprofile(None)


def _cumulative(profiles: list[cProfile.Profile]) -> dict[tuple[str, int, str], float]:
    """Cumulative seconds per function (file, first line, name), summed over the threads."""
    merged = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        merged.add(profile)
    table: dict[tuple[str, int, str], tuple[int, int, float, float, object]] = merged.stats  # type: ignore[attr-defined]
    return {key: value[3] for key, value in table.items()}


def _sum(stats: dict[tuple[str, int, str], float], functions: tuple[_Function, ...]) -> float:
    codes = (f.__code__ for f in functions)
    keys = {(code.co_filename, code.co_firstlineno, code.co_name) for code in codes}
    return sum(seconds for key, seconds in stats.items() if key in keys)


@contextmanager
def _timed(samples: list[tuple[float, float]]) -> Iterator[None]:
    """Append (wall seconds, processor seconds of this process and finished children)."""
    wall, cpu = time.perf_counter(), sum(_rusage_seconds())
    yield
    samples.append((time.perf_counter() - wall, sum(_rusage_seconds()) - cpu))


def _rusage_seconds() -> tuple[float, float]:
    """Processor seconds of this process, and of its children that have finished."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def _silence(seconds: float) -> npt.NDArray[np.float32]:
    """The baseline still gets an AAC track too, so both runs pay for audio encoding."""
    return np.zeros(round(seconds * MIX_RATE), np.float32)
