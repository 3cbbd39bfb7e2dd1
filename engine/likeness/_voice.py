"""The voice interface every backend implements, and the default one: espeak-ng adapted by WORLD.

espeak-ng speaks each sentence with its default voice, at the pitch setting nearest the subject's
speaking pitch; WORLD then maps the log-F0 distribution onto the subject's, scales the formants
by the subject's warp factor, equalises the long-term spectrum, and finally gives each frame the
spectral shape of the subject's nearest frames (``FrameBank``, learnt once at enrolment and kept
in the profile). Speaking from one fixed voice keeps the warp factor in the profile meaningful
for every language; starting near the subject's pitch leaves WORLD a smaller shift; the frame
conversion moved real speakers' similarity further (BENCHMARKS.md, Likeness).
"""

from __future__ import annotations

import struct
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Protocol

import numpy as np
import numpy.typing as npt

from engine._espeak import synthesize as espeak_synthesize
from engine._models import SpokenLanguage
from engine._speech import Speech
from engine.likeness import _world
from engine.likeness._profile import SpeakerProfile
from engine.likeness._streaming import SpeechChunk, assemble

ESPEAK_VOICE: dict[SpokenLanguage, str] = {
    "zh-Hant": "cmn",
    "zh-Hans": "cmn",
    "yue": "yue",
    "en": "en",
}
_WORDS_PER_MINUTE: dict[str, int] = {"cmn": 160, "yue": 160, "en": 150}
_ESPEAK_PITCH = 50  # espeak's own default, spoken when there is no profile
# espeak's median F0 rises ~1.05% per step of its pitch setting (en: 83 Hz at 30, 100 Hz at 50,
# 162 Hz at 95). Settings come in steps of 5, so a process measures few reference readings;
# below 30 espeak's voice turned creaky and the warp search went astray on a real man's voice.
_F0_PER_PITCH_STEP = 0.0105
_PITCH_STEP = 5
_PITCH_RANGE = (30, 95)
# Reading matter for measuring espeak's own voice: enough varied vowels for stable statistics.
_REFERENCE_TEXT: dict[str, tuple[str, ...]] = {
    "cmn": ("今晚的月亮又大又圆，我们一家人坐在一起吃月饼。", "祝你身体健康，万事如意，天天开心。"),
    "yue": ("今晚個月亮又大又圓，我哋一家人坐埋一齊食月餅。", "祝你身體健康，萬事如意。"),
    "en": (
        "The moon is bright tonight, and the whole family is sitting together.",
        "I wish you good health, good luck and a happy new year.",
    ),
}
_EQ_LIMIT_DB = 15.0
_FINAL_SPEECH_S = 0.22
_FINAL_STRETCH = 1.35
_MIN_INNER_PAUSE_S = 0.32
_PAUSE_FRAMES = 12  # silences this long (60 ms) inside a sentence are phrase breaks, not stops
_PAUSE_AFTER: dict[str, float] = {"，": 0.32, ",": 0.32, "、": 0.25, "；": 0.4, ";": 0.4}
_SENTENCE_PAUSE_S = 0.6
# Frame conversion (BENCHMARKS.md, Likeness): each frame moves toward its single nearest subject
# frame's shape, 0.7 of the way there. Further (1.0, 1.3) sounded more like the real speakers to
# resemblyzer but raised pocketsphinx's word error rate: intelligibility comes first. At
# most 30 s of the subject's loud frames are kept (evenly thinned beyond that), each band shape
# to an eighth of a neper (0.54 dB) in one signed byte, 1.2 KB per second; a band more than
# 69 dB from its frame's mean, inaudible beside it, is kept at that limit.
_NEIGHBOURS = 1
_CONVERSION = 0.7
_BANK_FRAMES = 6000
_BANK_STEP = 8.0  # byte units per neper
_BANK_MAGIC = b"TUANYUAN-FRAME-BANK\n"
_BANK_VERSION = 1


Clip = tuple[npt.NDArray[np.float32], int]  # mono samples in -1..1 and their rate


class VoiceBackend(Protocol):
    """Text in, sentence-timed speech out, in the subject's voice as far as the backend can.

    ``enrol`` sees every accepted sample of the subject once and returns what this backend
    needs of them beyond the classical profile (a cloning model's speaker latents), or None;
    ``enrolled_profile`` keeps it in ``SpeakerProfile.extensions[name]`` so it is stored,
    encrypted and deleted with the rest of the subject's derived data, and never computed twice.

    ``synthesize`` with ``profile`` None (no usable samples) speaks in the backend's own
    default voice. Cues carry each sentence's start and end so subtitles match the audio.
    ``stream`` yields the same speech as ``SpeechChunk``s in order, each sentence closed by a
    chunk marked ``last``: a render composes each sentence as soon as it is spoken.
    """

    name: str

    def enrol(self, clips: Sequence[Clip]) -> bytes | None: ...

    def synthesize(
        self, sentences: Sequence[str], language: SpokenLanguage, profile: SpeakerProfile | None
    ) -> Speech: ...

    def stream(
        self, sentences: Sequence[str], language: SpokenLanguage, profile: SpeakerProfile | None
    ) -> Iterator[SpeechChunk]: ...


class StreamingVoice(ABC):
    """A backend that only has to ``stream``: the whole speech is the stream assembled."""

    def synthesize(
        self, sentences: Sequence[str], language: SpokenLanguage, profile: SpeakerProfile | None
    ) -> Speech:
        return assemble(sentences, self.stream(sentences, language, profile))

    @abstractmethod
    def stream(
        self, sentences: Sequence[str], language: SpokenLanguage, profile: SpeakerProfile | None
    ) -> Iterator[SpeechChunk]: ...


@dataclass(frozen=True)
class Reference:
    """espeak's own voice for one language, measured once per process."""

    analyses: tuple[_world.Analysis, ...]
    log_f0: tuple[float, float]


@dataclass(frozen=True)
class FrameBank:
    """The subject's loud frames as spectral shapes (``_world.band_shapes``) and whether each is
    voiced: what the frame conversion looks up. Kept, as bytes, in the profile's extensions
    under the default voice's name; a profile from before it is enrolled again."""

    shapes: _world.Array
    voiced: npt.NDArray[np.bool_]

    @classmethod
    def learn(cls, clips: Sequence[Clip]) -> FrameBank:
        shapes, voiced = [], []
        for samples, rate in clips:
            analysis = _world.analyse(_world.to_rate(samples, rate))
            loud = analysis.loud()
            shapes.append(_world.band_shapes(analysis.envelope[loud]))
            voiced.append(analysis.voiced[loud])
        if not shapes:
            return cls(np.zeros((0, 0)), np.zeros(0, np.bool_))
        every = np.concatenate(shapes)
        kept = np.linspace(0, len(every) - 1, min(len(every), _BANK_FRAMES)).round().astype(int)
        return cls(every[kept], np.concatenate(voiced)[kept])

    def to_bytes(self) -> bytes:
        count, bands = self.shapes.shape if len(self.shapes) else (0, 0)
        quantised = np.clip(np.round(self.shapes * _BANK_STEP), -127, 127).astype(np.int8)
        return (
            _BANK_MAGIC
            + struct.pack("<BII", _BANK_VERSION, count, bands)
            + np.packbits(self.voiced).tobytes()
            + quantised.tobytes()
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> FrameBank | None:
        """None for anything this version did not write (an empty blob from before banks)."""
        header = len(_BANK_MAGIC) + struct.calcsize("<BII")
        if not data.startswith(_BANK_MAGIC) or len(data) < header:
            return None
        version, count, bands = struct.unpack_from("<BII", data, len(_BANK_MAGIC))
        flags = (count + 7) // 8
        if version != _BANK_VERSION or len(data) != header + flags + count * bands:
            return None
        voiced = np.unpackbits(np.frombuffer(data, np.uint8, flags, header), count=count)
        shapes = np.frombuffer(data, np.int8, count * bands, header + flags)
        return cls(shapes.reshape(count, bands) / _BANK_STEP, voiced.astype(np.bool_))


class EspeakWorldVoice(StreamingVoice):
    """The embedded default: no weights, ~0.06x real time on one core."""

    name = "espeak-world"

    def enrol(self, clips: Sequence[Clip]) -> bytes | None:
        """The subject's frame bank; the rest of what this voice needs is the classical
        profile itself."""
        return FrameBank.learn(clips).to_bytes()

    def is_enrolled(self, profile: SpeakerProfile) -> bool:
        """A profile enrolled before frame banks (empty bytes) is enrolled again."""
        return FrameBank.from_bytes(profile.extensions.get(self.name, b"")) is not None

    def stream(
        self, sentences: Sequence[str], language: SpokenLanguage, profile: SpeakerProfile | None
    ) -> Iterator[SpeechChunk]:
        """One chunk per sentence: espeak and WORLD work on whole sentences."""
        voice = ESPEAK_VOICE[language]
        bank = FrameBank.from_bytes(profile.extensions.get(self.name, b"") if profile else b"")
        clock = 0.0
        for index, sentence in enumerate(sentences):
            if index:
                clock += pause_after(sentences[index - 1])
            samples = speak_sentence(sentence, voice, profile, bank)
            yield SpeechChunk(index, clock, samples, _world.RATE, last=True)
            clock += len(samples) / _world.RATE


def pause_after(sentence: str) -> float:
    """A comma-like ending is a short breath; a full stop, question or exclamation a longer one."""
    stripped = sentence.rstrip()
    return _PAUSE_AFTER.get(stripped[-1:], _SENTENCE_PAUSE_S)


def espeak_samples(text: str, voice: str, pitch: int = _ESPEAK_PITCH) -> npt.NDArray[np.float64]:
    """espeak's plain reading at the analysis rate, trimmed where espeak says speech ends."""
    utterance = espeak_synthesize(text, voice, pitch, _WORDS_PER_MINUTE[voice.split("+")[0]])
    spoken = utterance.samples[: round(utterance.end_s * utterance.rate) or len(utterance.samples)]
    return _world.to_rate(spoken, utterance.rate)


def plain_speech(text: str, language: SpokenLanguage) -> tuple[npt.NDArray[np.float32], int]:
    """espeak's own reading, unadapted: the demo's sample voice note and benchmarks' baseline."""
    return espeak_samples(text, ESPEAK_VOICE[language]).astype(np.float32), _world.RATE


def speak_sentence(
    text: str, voice: str, profile: SpeakerProfile | None, bank: FrameBank | None = None
) -> npt.NDArray[np.float32]:
    pitch = base_pitch(voice, profile)
    source = espeak_samples(text, voice, pitch)
    analysis = phrase_timing(_world.analyse(source))
    if profile is not None:
        analysis = adapt(analysis, voice, pitch, profile.warp_alpha, profile)
    if bank is not None and len(bank.shapes):
        analysis = _world.convert(analysis, bank.shapes, bank.voiced, _NEIGHBOURS, _CONVERSION)
    output = _world.synthesise(analysis)
    # WORLD resynthesis changes the level with the envelope; keep espeak's loudness.
    gain = _rms(source) / max(_rms(output), 1e-9)
    return np.asarray(np.clip(output * gain, -1.0, 1.0), dtype=np.float32)


def base_pitch(voice: str, profile: SpeakerProfile | None) -> int:
    """espeak's pitch setting whose speaking pitch is nearest the subject's, in steps of 5."""
    if profile is None:
        return _ESPEAK_PITCH
    steps = (profile.log_f0_mean - reference(voice).log_f0[0]) / _F0_PER_PITCH_STEP
    pitch = _PITCH_STEP * round((_ESPEAK_PITCH + steps) / _PITCH_STEP)
    return int(np.clip(pitch, *_PITCH_RANGE))


def adapt(
    analysis: _world.Analysis, voice: str, pitch: int, alpha: float, profile: SpeakerProfile
) -> _world.Analysis:
    """espeak's frames (spoken at ``pitch``) moved toward the subject: pitch distribution,
    formant scale, colour."""
    source_f0 = reference(voice, pitch).log_f0
    f0 = _world.map_f0(analysis.f0, source_f0, (profile.log_f0_mean, profile.log_f0_std))
    envelope = _world.warp(analysis.envelope, alpha)
    envelope = _world.equalise(
        envelope,
        warped_spectrum(voice, pitch, alpha),
        np.asarray(profile.spectrum_db),
        _EQ_LIMIT_DB,
    )
    return replace(analysis, f0=f0, envelope=envelope)


@cache
def warped_spectrum(voice: str, pitch: int, alpha: float) -> _world.Array:
    """Long-term spectrum of espeak's voice after the warp: what the equaliser corrects from.

    Measured on the reference reading rather than the sentence at hand, so every sentence of a
    greeting gets the same correction and the voice does not change colour between sentences.
    """
    warped = []
    for analysis in reference(voice, pitch).analyses:
        loud = analysis.loud()
        envelope = _world.warp(analysis.envelope[loud], alpha)
        warped.append(_world.Analysis(analysis.f0[loud], envelope, analysis.aperiodicity[loud]))
    return _world.long_term_spectrum_db(warped)


@cache
def reference(voice: str, pitch: int = _ESPEAK_PITCH) -> Reference:
    analyses = tuple(
        _world.analyse(espeak_samples(text, voice, pitch)) for text in _REFERENCE_TEXT[voice]
    )
    log_f0 = _world.log_f0_stats(list(analyses))
    if log_f0 is None:
        raise RuntimeError(f"espeak voice {voice} produced no voiced speech")
    return Reference(analyses=analyses, log_f0=log_f0)


def phrase_timing(analysis: _world.Analysis) -> _world.Analysis:
    """Natural phrasing: inner pauses at least a breath long, phrase-final syllables drawn out.

    espeak pauses ~0.2 s at a comma and does not slow down before it; people do both. Each
    frame gets a duration weight and the frames are resampled along the new time axis.
    """
    loud = analysis.loud()
    count = len(loud)
    weights = np.ones(count)
    final_frames = round(_FINAL_SPEECH_S * 1000 / _world.FRAME_MS)
    ramp = np.linspace(1.0, _FINAL_STRETCH, final_frames)
    for start, end in _silent_runs(loud):
        if end - start >= _PAUSE_FRAMES and start > 0 and end < count:
            weights[start:end] = max(
                1.0, _MIN_INNER_PAUSE_S * 1000 / _world.FRAME_MS / (end - start)
            )
            _stretch_before(weights, start, ramp)
    last_sound = int(np.flatnonzero(loud)[-1]) + 1 if loud.any() else count
    _stretch_before(weights, last_sound, ramp)
    return _retime(analysis, weights)


def _stretch_before(weights: _world.Array, end: int, ramp: _world.Array) -> None:
    start = max(0, end - len(ramp))
    weights[start:end] *= ramp[len(ramp) - (end - start) :]


def _silent_runs(loud: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], (~loud).astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _retime(analysis: _world.Analysis, weights: _world.Array) -> _world.Analysis:
    """Resample every frame track so input frame i lasts ``weights[i]`` output frames."""
    boundaries = np.concatenate([[0.0], np.cumsum(weights)])
    output_frames = np.arange(int(boundaries[-1]))
    position = np.interp(output_frames + 0.5, boundaries, np.arange(len(weights) + 1)) - 0.5
    position = np.clip(position, 0, len(weights) - 1)
    lower = np.minimum(position.astype(np.int64), len(weights) - 1)
    upper = np.minimum(lower + 1, len(weights) - 1)
    weight = (position - lower)[:, None]
    nearest = np.rint(position).astype(np.int64)
    log_env = np.log(analysis.envelope + 1e-20)
    envelope = np.exp(log_env[lower] * (1 - weight) + log_env[upper] * weight)
    aperiodicity = (
        analysis.aperiodicity[lower] * (1 - weight) + analysis.aperiodicity[upper] * weight
    )
    return _world.Analysis(
        f0=analysis.f0[nearest], envelope=envelope, aperiodicity=np.ascontiguousarray(aperiodicity)
    )


def _rms(samples: npt.NDArray[np.floating]) -> float:
    loud = samples[np.abs(samples) > 1e-4]
    return float(np.sqrt(np.mean(np.square(loud)))) if len(loud) else 0.0
