"""``tuanyuan bench likeness``: independent measurements of how much the defaults look and sound
like the subject, on test speakers and faces the project makes (see ``_synthetic``).

Independent means measured with models the engine does not use to decide anything: speaker
similarity with resemblyzer's embeddings (bench-only dependency), identity and landmarks with
dlib on the rendered frames, not the landmarks the animation was driven from.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt

from engine._models import SpokenLanguage
from engine._speech import Speech
from engine.likeness import _world
from engine.likeness._enrol import build_profile
from engine.likeness._faces import descriptor, detect_faces
from engine.likeness._measure import count_blinks, eye_boxes, eye_contrast, lip_gap
from engine.likeness._mouth import MouthTrack
from engine.likeness._portrait import TalkingPortrait
from engine.likeness._synthetic import (
    ENROLMENT_SAMPLES,
    FACES,
    SAMPLE_TEXTS,
    SPEAKERS,
    TestSpeaker,
    face_photo,
    speaker_sample,
)
from engine.likeness._voice import ESPEAK_VOICE, EspeakWorldVoice, espeak_samples, reference

FPS = 25
PORTRAIT_SIZE = (394, 526)  # the scene's pre-scaled window for a 3:4 photo
GREETINGS: dict[SpokenLanguage, tuple[str, ...]] = {
    "en": ("Happy Mid-Autumn Festival, my dear.", "I miss you, and I wish you good health."),
    "zh-Hans": ("中秋节快乐，我的宝贝。", "我很想你，祝你身体健康。"),
    "zh-Hant": ("中秋節快樂，我的寶貝。", "我很想你，祝你身體健康。"),
    "yue": ("中秋節快樂，我嘅寶貝。", "我好掛住你，祝你身體健康。"),
}


@dataclass(frozen=True)
class VoiceResult:
    speaker: str
    same_speaker: float  # enrolment vs held-back samples: the ceiling for this speaker
    plain: float
    adapted: float
    warp_alpha: float
    real_time_factor: float  # wall clock, on a machine shared with other work
    cpu_time_factor: float  # CPU seconds of this process per second of speech


@dataclass(frozen=True)
class FaceResult:
    face: str
    frames: int
    detected: float
    distance_mean: float
    distance_max: float
    distance_max_open: float  # the same, leaving out frames taken mid-blink
    identified: float  # share of measured frames whose nearest test-face source is their own
    mouth_correlation: float
    blinks_per_minute: float
    scheduled_per_minute: float
    ms_per_frame: float


def run(out: TextIO, seconds: float = 30.0) -> tuple[list[VoiceResult], list[FaceResult]]:
    """Print both tables; ``seconds`` of portrait video are rendered and measured per face."""
    encoder = _encoder()
    voices = [_bench_voice(speaker, encoder) for speaker in SPEAKERS]
    _print_voices(voices, out)
    sources = _source_descriptors()
    faces = [_bench_face(index, seconds, sources) for index in range(len(FACES))]
    _print_faces(faces, out)
    strangers = min(
        float(np.linalg.norm(a - b)) for i, a in enumerate(sources) for b in sources[i + 1 :]
    )
    out.write(
        f"Smallest dlib distance between two different test faces' photos: {strangers:.3f}. "
        "Distances to the source mean little unless they sit well below this.\n"
    )
    return voices, faces


def _encoder() -> Callable[[npt.NDArray[np.float32]], npt.NDArray[np.float64]]:
    from resemblyzer import VoiceEncoder, preprocess_wav

    model: Any = VoiceEncoder("cpu", verbose=False)

    def embed(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        wav = preprocess_wav(samples.astype(np.float32), source_sr=_world.RATE)
        vector = np.asarray(model.embed_utterance(wav), np.float64)
        return vector / np.linalg.norm(vector)

    return embed


def _bench_voice(
    speaker: TestSpeaker, embed: Callable[[npt.NDArray[np.float32]], npt.NDArray[np.float64]]
) -> VoiceResult:
    count = len(SAMPLE_TEXTS[speaker.language])
    enrolment = [speaker_sample(speaker, i) for i in range(ENROLMENT_SAMPLES)]
    held_back = [speaker_sample(speaker, i) for i in range(ENROLMENT_SAMPLES, count)]
    target = _mean_embedding([embed(s) for s in held_back])
    profile = build_profile([(samples, _world.RATE) for samples in enrolment])
    sentences = GREETINGS[speaker.language]
    voice = EspeakWorldVoice()
    reference(ESPEAK_VOICE[speaker.language])  # measured once per process, not per greeting
    started, started_cpu = time.perf_counter(), time.process_time()
    adapted = voice.synthesize(sentences, speaker.language, profile)
    elapsed, elapsed_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    plain = np.concatenate([espeak_samples(s, ESPEAK_VOICE[speaker.language]) for s in sentences])
    return VoiceResult(
        speaker=speaker.name,
        same_speaker=float(_mean_embedding([embed(s) for s in enrolment]) @ target),
        plain=float(embed(plain.astype(np.float32)) @ target),
        adapted=float(embed(adapted.samples) @ target),
        warp_alpha=profile.warp_alpha,
        real_time_factor=elapsed / adapted.duration_s,
        cpu_time_factor=elapsed_cpu / adapted.duration_s,
    )


def _mean_embedding(vectors: Sequence[npt.NDArray[np.float64]]) -> npt.NDArray[np.float64]:
    mean = np.mean(vectors, axis=0)
    return np.asarray(mean / np.linalg.norm(mean), np.float64)


def _bench_face(
    index: int, seconds: float, sources: Sequence[npt.NDArray[np.float64]]
) -> FaceResult:
    face = FACES[index]
    speaker = SPEAKERS[index % len(SPEAKERS)]
    speech = EspeakWorldVoice().synthesize(SAMPLE_TEXTS[speaker.language], speaker.language, None)
    photo = face_photo(face).resize(PORTRAIT_SIZE)
    source_vector = sources[index]
    identified = 0
    boxes = eye_boxes(detect_faces(np.asarray(photo, dtype=np.uint8))[0])
    portrait = TalkingPortrait(
        photo, MouthTrack.from_speech(speech.samples, speech.rate), seed=index
    )
    frames = round(seconds * FPS)
    distances: list[float] = []
    open_eyed: list[float] = []
    openings: list[float] = []
    loudness: list[float] = []
    eyes: list[float] = []
    found = 0
    render_s = 0.0
    for number in range(frames):
        t = number / FPS
        started = time.perf_counter()
        frame = portrait.frame(t)
        render_s += time.perf_counter() - started
        eyes.append(eye_contrast(frame, boxes))
        faces = detect_faces(frame)
        if not faces:
            continue
        found += 1
        measured = faces[0]
        if t < speech.duration_s:
            openings.append(lip_gap(measured))
            loudness.append(_envelope(speech, t))
        if number % 5 == 0:
            vector = descriptor(frame, measured)
            distances.append(float(np.linalg.norm(vector - source_vector)))
            if portrait.closure(t) == 0:
                open_eyed.append(distances[-1])
            nearest = min(range(len(sources)), key=lambda i: np.linalg.norm(vector - sources[i]))
            identified += nearest == index
    minutes = seconds / 60
    return FaceResult(
        face=face.name,
        frames=frames,
        detected=found / frames,
        distance_mean=statistics.fmean(distances),
        distance_max=max(distances),
        distance_max_open=max(open_eyed),
        identified=identified / len(distances),
        mouth_correlation=float(np.corrcoef(openings, loudness)[0, 1]),
        blinks_per_minute=count_blinks(eyes) / minutes,
        scheduled_per_minute=len(portrait.blinks_until(seconds)) / minutes,
        ms_per_frame=1000 * render_s / frames,
    )


def _source_descriptors() -> list[npt.NDArray[np.float64]]:
    vectors = []
    for face in FACES:
        pixels = np.asarray(face_photo(face).resize(PORTRAIT_SIZE), dtype=np.uint8)
        vectors.append(descriptor(pixels, detect_faces(pixels)[0]))
    return vectors


def _envelope(speech: Speech, t: float) -> float:
    """RMS of the speech in 40 ms around t: the plain envelope, not the portrait's driver."""
    centre = round(t * speech.rate)
    half = round(0.02 * speech.rate)
    window = speech.samples[max(0, centre - half) : centre + half]
    return float(np.sqrt(np.mean(np.square(window)))) if len(window) else 0.0


def _print_voices(results: Sequence[VoiceResult], out: TextIO) -> None:
    out.write(
        "Voice: resemblyzer cosine similarity to each speaker's held-back samples\n\n"
        "| test speaker | same speaker | plain espeak | adapted "
        "| gain vs plain | warp alpha | RTF wall (CPU) |\n"
        "| --- | --- | --- | --- | --- | --- | --- |\n"
    )
    for r in results:
        out.write(
            f"| {r.speaker} | {r.same_speaker:.3f} | {r.plain:.3f} | {r.adapted:.3f} "
            f"| {r.adapted - r.plain:+.3f} | {r.warp_alpha:.2f} | {r.real_time_factor:.3f} "
            f"({r.cpu_time_factor:.3f}) |\n"
        )
    gains = [r.adapted - r.plain for r in results]
    out.write(
        f"\nmean gain {statistics.fmean(gains):+.3f}, smallest {min(gains):+.3f}; "
        f"worst RTF {max(r.real_time_factor for r in results):.3f} wall, "
        f"{max(r.cpu_time_factor for r in results):.3f} CPU\n\n"
    )


def _print_faces(results: Sequence[FaceResult], out: TextIO) -> None:
    out.write(
        "Talking portrait: dlib on the rendered frames "
        f"({PORTRAIT_SIZE[0]}x{PORTRAIT_SIZE[1]}, {FPS} fps)\n\n"
        "| face | frames | face found | distance mean / max (max outside blinks) "
        "| identified as itself "
        "| mouth-speech r | blinks/min measured (scheduled) | ms/frame |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |\n"
    )
    for r in results:
        out.write(
            f"| {r.face} | {r.frames} | {100 * r.detected:.1f}% | {r.distance_mean:.3f} / "
            f"{r.distance_max:.3f} ({r.distance_max_open:.3f}) | {100 * r.identified:.0f}% "
            f"| {r.mouth_correlation:.2f} "
            f"| {r.blinks_per_minute:.1f} "
            f"({r.scheduled_per_minute:.1f}) | {r.ms_per_frame:.1f} |\n"
        )
    out.write("\n")
