"""The spoken greeting: default espeak-ng voice, nudged toward the sender's pitch.

Sentences are synthesised one by one so each subtitle cue starts and ends exactly with its audio.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import structlog

from engine._errors import IngestError
from engine._espeak import synthesize
from engine._ingest import ANALYSIS_RATE, decode_audio
from engine._models import Language
from engine._pitch import median_f0

_log = structlog.get_logger(__name__)

_ESPEAK_VOICE: dict[Language, str] = {"zh-Hant": "cmn", "zh-Hans": "cmn", "en": "en"}
_WORDS_PER_MINUTE: dict[Language, int] = {"zh-Hant": 160, "zh-Hans": 160, "en": 150}
_CALIBRATION_TEXT: dict[str, str] = {
    "cmn": "今晚的月亮又大又圆。",
    "en": "The moon is bright tonight.",
}
# espeak's "+f3" variant is a higher, female-sounding voice; together with the base voice it
# spans roughly 60-330 Hz of speaking pitch, which covers most adult and child voices.
_VARIANTS = ("", "+f3")
_PITCH_GRID = (0, 25, 50, 75, 100)
_DEFAULT_PITCH = 50
_MATCH_TOLERANCE = math.log(1.03)
_SAMPLE_SECONDS_USED = 60.0


@dataclass(frozen=True)
class VoiceChoice:
    espeak_voice: str
    pitch: int
    target_f0_hz: float | None


@dataclass(frozen=True)
class Cue:
    text: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Speech:
    samples: npt.NDArray[np.float32]
    rate: int
    cues: tuple[Cue, ...]

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.rate


def sender_f0(voice_samples: Sequence[Path]) -> float | None:
    """Median pitch over the sender's notes; notes that cannot be decoded are skipped."""
    pieces: list[npt.NDArray[np.float32]] = []
    for path in voice_samples:
        try:
            pieces.append(decode_audio(path, max_seconds=_SAMPLE_SECONDS_USED))
        except IngestError as exc:
            _log.warning("voice_sample_skipped", sample=path.name, code=exc.code)
    if not pieces:
        return None
    return median_f0(np.concatenate(pieces), ANALYSIS_RATE)


def choose_voice(language: Language, target_f0_hz: float | None) -> VoiceChoice:
    base = _ESPEAK_VOICE[language]
    if target_f0_hz is None:
        return VoiceChoice(espeak_voice=base, pitch=_DEFAULT_PITCH, target_f0_hz=None)
    # Any setting within the tolerance counts as a match, so the plain voice wins such ties.
    _, _, espeak_voice, pitch = min(
        (max(abs(math.log(f0 / target_f0_hz)), _MATCH_TOLERANCE), order, base + variant, pitch)
        for order, variant in enumerate(_VARIANTS)
        for pitch, f0 in _pitch_curve(base + variant)
    )
    return VoiceChoice(espeak_voice=espeak_voice, pitch=pitch, target_f0_hz=target_f0_hz)


@cache
def _pitch_curve(espeak_voice: str) -> tuple[tuple[int, float], ...]:
    """Measured F0 per pitch setting, at every integer setting by interpolating the grid.

    Measuring beats trusting a formula: espeak's pitch scale differs per voice and variant.
    """
    text = _CALIBRATION_TEXT[espeak_voice.split("+")[0]]
    measured = []
    for pitch in _PITCH_GRID:
        utterance = synthesize(text, espeak_voice, pitch=pitch)
        f0 = median_f0(utterance.samples, utterance.rate)
        if f0 is not None:
            measured.append((pitch, math.log(f0)))
    if len(measured) < 2:
        return ()
    grid, log_f0 = zip(*measured, strict=True)
    settings = np.arange(0, 101)
    curve = np.exp(np.interp(settings, grid, log_f0))
    return tuple((int(s), float(f)) for s, f in zip(settings, curve, strict=True))


def speak(
    sentences: Sequence[str], language: Language, voice: VoiceChoice, pause_s: float
) -> Speech:
    pieces: list[npt.NDArray[np.float32]] = []
    cues: list[Cue] = []
    rate = 0
    clock = 0.0
    for index, sentence in enumerate(sentences):
        utterance = synthesize(
            sentence, voice.espeak_voice, voice.pitch, _WORDS_PER_MINUTE[language]
        )
        rate = utterance.rate
        spoken = utterance.samples[: round(utterance.end_s * rate) or len(utterance.samples)]
        if index:
            pieces.append(np.zeros(round(pause_s * rate), np.float32))
            clock += pause_s
        pieces.append(spoken)
        duration = len(spoken) / rate
        cues.append(Cue(text=sentence, start_s=clock, end_s=clock + duration))
        clock += duration
    samples = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    return Speech(samples=samples, rate=rate, cues=tuple(cues))


def plain_speech(text: str, language: Language) -> tuple[npt.NDArray[np.float32], int]:
    """The default voice at its default pitch, unadapted: for sample footage and baselines."""
    utterance = synthesize(
        text, _ESPEAK_VOICE[language], _DEFAULT_PITCH, _WORDS_PER_MINUTE[language]
    )
    return utterance.samples, utterance.rate
