"""``tuanyuan bench voice``: how fast each available voice speaks a greeting, and how soon the
first audio is there for a listener.

Every backend speaks the same greeting after enrolling the same test speaker (about 24 s of
samples). XTTS uses the operator's weights when ``TUANYUAN_XTTS_DIR`` is set; otherwise a
full-size XTTS-v2 with random weights is written to a temporary folder and loaded through the
production path: speed does not depend on the weights' values. Random weights never end a
piece, so each runs to its token budget (a slow reader's time); the ratios are per second of
audio produced, which is what a render waits for. They are taken as a render speaks: each
piece whole. The first-chunk latency is taken apart, streaming the first sentence in chunks as
a listener playing speech as it comes would (``first_chunk_tokens``).

VoxCPM2 is measured the same way, from ``TUANYUAN_VOXCPM_DIR`` or a full-size random VoxCPM2
(about 2B parameters, bf16 as released). It speaks a sentence at a time, as a render takes it,
so its "first chunk" is its first sentence: the latency before a render can compose anything.

The default voice does not stream: its "first chunk" is its whole first sentence.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO, TypeVar

from engine._models import SpokenLanguage
from engine.likeness._enrol import build_profile, enrol_with
from engine.likeness._profile import SpeakerProfile
from engine.likeness._streaming import SpeechChunk
from engine.likeness._synthetic import SAMPLE_TEXTS, SPEAKERS, speaker_sample
from engine.likeness._voice import Clip, EspeakWorldVoice
from engine.likeness._voxcpm import VoxcpmVoice
from engine.likeness._voxcpm_random import RandomVoxcpm, write_random_voxcpm
from engine.likeness._world import RATE as SAMPLE_RATE
from engine.likeness._xtts import FIRST_CHUNK_TOKENS, XttsVoice
from engine.likeness._xtts_random import RandomXtts, write_random_xtts
from engine.likeness.bench import GREETINGS

_WARM_UP: dict[SpokenLanguage, str] = {"zh-Hant": "好。", "zh-Hans": "好。", "en": "Hi."}


@dataclass(frozen=True)
class VoiceSpeed:
    backend: str
    weights: str
    device: str
    load_s: float  # once per process
    enrol_s: float  # once per subject
    audio_s: float  # speech produced, pauses left out
    wall_s: float
    cpu_s: float  # this process's CPU time, all threads
    first_chunk_s: float

    @property
    def real_time_factor(self) -> float:
        return self.wall_s / self.audio_s

    @property
    def cpu_time_factor(self) -> float:
        return self.cpu_s / self.audio_s


_Cloning = TypeVar("_Cloning", XttsVoice, VoxcpmVoice)


def run(
    out: TextIO,
    xtts_dir: Path | None,
    language: SpokenLanguage = "zh-Hant",
    voxcpm_dir: Path | None = None,
    cloning: Sequence[str] = ("xtts", "voxcpm"),
) -> None:
    """Print one row per backend: the default voice and each model named in ``cloning``."""
    if language == "yue":
        raise ValueError("XTTS cannot speak Cantonese: benchmark a language both voices speak")
    speaker = next(s for s in SPEAKERS if s.language == language)
    clips = [(speaker_sample(speaker, i), SAMPLE_RATE) for i in range(len(SAMPLE_TEXTS[language]))]
    sentences = GREETINGS[language]
    rows = [_bench_default(clips, sentences, language)]
    out.write(_header(sentences, clips))
    out.write(_row(rows[0]))
    cloning_voices = (
        ("xtts", xtts_dir, "full-size XTTS-v2 architecture", _random_xtts, _bench_xtts),
        ("voxcpm", voxcpm_dir, "full-size VoxCPM2, bf16", _random_voxcpm, _bench_voxcpm),
    )
    for name, operators, architecture, write_random, bench in cloning_voices:
        if name not in cloning:
            continue
        with tempfile.TemporaryDirectory(prefix="tuanyuan-bench-voice-") as scratch:
            if operators is None:
                folder, weights = Path(scratch) / name, f"random ({architecture})"
                write_random(folder)
            else:
                folder, weights = operators, f"operator's ({operators})"
            rows.append(bench(folder, weights, clips, sentences, language))
        out.write(_row(rows[-1]))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    out.write(f"\nPeak RSS {peak_mb:.0f} MB; load average {load} on {os.cpu_count()} CPUs.\n")


def _random_xtts(folder: Path) -> None:
    write_random_xtts(folder, RandomXtts())


def _random_voxcpm(folder: Path) -> None:
    write_random_voxcpm(folder, RandomVoxcpm())


def _bench_default(
    clips: Sequence[Clip], sentences: Sequence[str], language: SpokenLanguage
) -> VoiceSpeed:
    voice = EspeakWorldVoice()
    started = time.perf_counter()
    profile = enrol_with(voice, build_profile(clips), clips)
    enrol_s = time.perf_counter() - started
    voice.synthesize([_WARM_UP[language]], language, profile)  # espeak's reference, per process

    def chunks() -> Iterator[SpeechChunk]:
        for index, sentence in enumerate(sentences):
            speech = voice.synthesize([sentence], language, profile)
            yield SpeechChunk(index, 0.0, speech.samples, speech.rate, last=True)

    return _timed(voice.name, "embedded", "cpu", 0.0, enrol_s, chunks)


def _bench_xtts(
    folder: Path,
    weights: str,
    clips: Sequence[Clip],
    sentences: Sequence[str],
    language: SpokenLanguage,
) -> VoiceSpeed:
    voice, profile, load_s, enrol_s = _ready(XttsVoice.load, folder, clips, language)
    spoken = _timed(
        voice.name,
        weights,
        voice.device,
        load_s,
        enrol_s,
        lambda: voice.stream(sentences, language, profile),
    )
    # A render takes whole pieces; a listener playing speech as it comes gets the first chunk.
    listening = _timed(
        voice.name, weights, voice.device, load_s, enrol_s,
        lambda: voice.stream(sentences[:1], language, profile,
                             first_chunk_tokens=FIRST_CHUNK_TOKENS),
    )  # fmt: skip
    return replace(spoken, first_chunk_s=listening.first_chunk_s)


def _bench_voxcpm(
    folder: Path,
    weights: str,
    clips: Sequence[Clip],
    sentences: Sequence[str],
    language: SpokenLanguage,
) -> VoiceSpeed:
    voice, profile, load_s, enrol_s = _ready(VoxcpmVoice.load, folder, clips, language)
    return _timed(
        voice.name,
        weights,
        voice.device,
        load_s,
        enrol_s,
        lambda: voice.stream(sentences, language, profile),
    )


def _ready(
    load: Callable[[Path], _Cloning],
    folder: Path,
    clips: Sequence[Clip],
    language: SpokenLanguage,
) -> tuple[_Cloning, SpeakerProfile, float, float]:
    """A cloning voice loaded, the speaker enrolled and the first call's kernels set up, with
    the seconds loading and enrolling took: what both cloning rows measure the same way."""
    started = time.perf_counter()
    voice = load(folder)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    profile = SpeakerProfile(0.0, 0.0, 1.0, (), 0.0, len(clips),
                             extensions={voice.name: voice.enrol(clips)})  # fmt: skip
    enrol_s = time.perf_counter() - started
    voice.synthesize([_WARM_UP[language]], language, profile)  # first-call kernel set-up
    return voice, profile, load_s, enrol_s


def _timed(
    backend: str,
    weights: str,
    device: str,
    load_s: float,
    enrol_s: float,
    chunks: Callable[[], Iterable[SpeechChunk]],
) -> VoiceSpeed:
    started, started_cpu = time.perf_counter(), time.process_time()
    first: float | None = None
    samples = 0
    rate = 1
    for chunk in chunks():
        if first is None and len(chunk.samples):
            first = time.perf_counter() - started
        samples += len(chunk.samples)
        rate = chunk.rate
    wall, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    return VoiceSpeed(backend, weights, device, load_s, enrol_s, samples / rate, wall, cpu,
                      first or wall)  # fmt: skip


def _header(sentences: Sequence[str], clips: Sequence[Clip]) -> str:
    enrolled = sum(len(samples) / rate for samples, rate in clips)
    return (
        f"Greeting: {' '.join(sentences)} ({len(sentences)} sentences); enrolment from "
        f"{enrolled:.1f} s of samples.\n\n"
        "| backend | weights | device | load (s) | enrol (s) | audio (s) | RTF wall | RTF CPU "
        "| first chunk (s) |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    )


def _row(row: VoiceSpeed) -> str:
    return (
        f"| {row.backend} | {row.weights} | {row.device} | {row.load_s:.1f} | {row.enrol_s:.2f} "
        f"| {row.audio_s:.2f} | {row.real_time_factor:.3f} | {row.cpu_time_factor:.3f} "
        f"| {row.first_chunk_s:.2f} |\n"
    )
