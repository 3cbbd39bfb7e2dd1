"""Background music synthesised from the template's score: plucked melody over a soft pad."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

from engine._templates import Score

_PLUCK_DECAY = 0.996
_PAD_ATTACK_S = 0.8


def render_music(score: Score, duration_s: float, rate: int) -> npt.NDArray[np.float32]:
    """Loop the melody and the pad chords to ``duration_s``; deterministic for a given score."""
    total = round(duration_s * rate)
    beat_s = 60.0 / score.tempo_bpm
    melody = np.zeros(total + rate * 4, np.float64)
    pad = np.zeros_like(melody)
    rng = np.random.default_rng(0)
    clock = 0.0
    while int(clock * rate) < total:
        for note in score.melody:
            start = int(clock * rate)
            if start >= total:
                break
            if note.degree is not None:
                length = int((note.beats * beat_s + 1.5) * rate)
                pluck = _pluck(_frequency(score, note.degree), length, rate, rng)
                melody[start : start + length] += pluck[: len(melody) - start]
            clock += note.beats * beat_s
    bar = int(4 * beat_s * rate)
    for bar_index, start in enumerate(range(0, total, bar)):
        chord = score.pad_chords[bar_index % len(score.pad_chords)]
        pad[start : start + bar + rate] += _pad_chord(
            [_frequency(score, d - 5) for d in chord], bar + rate, rate
        )[: len(pad) - start]
    mix = score.melody_gain * melody[:total] + score.pad_gain * pad[:total]
    return _fade_out(mix.astype(np.float32), int(1.5 * rate))


def _frequency(score: Score, degree: int) -> float:
    octave, step = divmod(degree, len(score.scale_semitones))
    semitones = 12 * octave + score.scale_semitones[step]
    return score.tonic_hz * 2 ** (semitones / 12)


def _pluck(
    frequency: float, length: int, rate: int, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """Karplus-Strong string: a noise burst through a damped, averaging delay-line loop."""
    delay = max(2, round(rate / frequency))
    excitation = np.zeros(length)
    excitation[:delay] = rng.uniform(-1.0, 1.0, delay)
    feedback = np.zeros(delay + 2)
    feedback[0] = 1.0
    feedback[delay] = feedback[delay + 1] = -0.5 * _PLUCK_DECAY
    tone: npt.NDArray[np.float64] = lfilter([1.0], feedback, excitation)
    return tone / max(float(np.max(np.abs(tone))), 1e-9)


def _pad_chord(frequencies: list[float], length: int, rate: int) -> npt.NDArray[np.float64]:
    t = np.arange(length) / rate
    phase = 2 * np.pi * np.asarray(frequencies)[:, None] * t
    tone = np.sum(np.sin(phase) + 0.3 * np.sin(2 * phase + 0.5), axis=0)
    envelope = np.minimum(1.0, t / _PAD_ATTACK_S) * np.minimum(
        1.0, (length / rate - t) / _PAD_ATTACK_S
    )
    shaped: npt.NDArray[np.float64] = tone * envelope / (1.3 * len(frequencies))
    return shaped


def _fade_out(samples: npt.NDArray[np.float32], length: int) -> npt.NDArray[np.float32]:
    length = min(length, len(samples))
    samples[len(samples) - length :] *= np.linspace(1.0, 0.0, length, dtype=np.float32)
    return samples
