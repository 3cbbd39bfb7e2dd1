"""Background music synthesised from the template's score: a melody instrument over a soft pad,
with an optional drum, so each festival sounds like itself without shipping recordings."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from engine._templates import Score

_PLUCK_DECAY = 0.996
_PAD_ATTACK_S = 0.8
_RING_S = 2.5  # longest tail a note or chord rings on past its loop


def render_music(score: Score, duration_s: float, rate: int) -> npt.NDArray[np.float32]:
    """Loop the melody and the pad chords to ``duration_s``; deterministic for a given score.

    One pass of each is synthesised and repeated: a long greeting costs no more synthesis than
    a short one.
    """
    total = round(duration_s * rate)
    beat_s = 60.0 / score.tempo_bpm
    rng = np.random.default_rng(0)
    melody_s = sum(note.beats for note in score.melody) * beat_s
    melody = np.zeros(int((melody_s + _RING_S) * rate), np.float64)
    clock = 0.0
    for note in score.melody:
        if note.degree is not None:
            start = int(clock * rate)
            length = int((note.beats * beat_s + 1.5) * rate)
            tone = _INSTRUMENTS[score.instrument](_frequency(score, note.degree), length, rate, rng)
            melody[start : start + length] += tone[: len(melody) - start]
        clock += note.beats * beat_s
    bar = int(4 * beat_s * rate)
    pad = np.zeros(bar * len(score.pad_chords) + int(_RING_S * rate), np.float64)
    for bar_index, chord in enumerate(score.pad_chords):
        start = bar_index * bar
        pad[start : start + bar + rate] += _pad_chord(
            [_frequency(score, d - 5) for d in chord], bar + rate, rate
        )
        for beat in score.drum_beats:
            hit = start + int(beat * beat_s * rate)
            drum = _drum(rate)[: max(0, len(pad) - hit)]
            pad[hit : hit + len(drum)] += 2.0 * drum
    mix = score.melody_gain * _repeat(melody, int(melody_s * rate), total) + (
        score.pad_gain * _repeat(pad, bar * len(score.pad_chords), total)
    )
    return _fade_out(mix.astype(np.float32), int(1.5 * rate))


def _repeat(segment: npt.NDArray[np.float64], period: int, total: int) -> npt.NDArray[np.float64]:
    """Overlap-add copies of ``segment`` every ``period`` samples, so ringing tails carry over."""
    out = np.zeros(total + len(segment), np.float64)
    for start in range(0, total, period):
        out[start : start + len(segment)] += segment
    return out[:total]


def _frequency(score: Score, degree: int) -> float:
    octave, step = divmod(degree, len(score.scale_semitones))
    semitones = 12 * octave + score.scale_semitones[step]
    return score.tonic_hz * 2 ** (semitones / 12)


def _pluck(
    frequency: float, length: int, rate: int, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """Karplus-Strong string: a noise burst through a damped, averaging delay-line loop.

    y[n] = x[n] + g * (y[n - D] + y[n - D - 1]) only looks back a whole period, so it is
    computed one period at a time in numpy rather than sample by sample (or by a sparse
    ``lfilter``, whose cost grows with the delay).
    """
    delay = max(2, round(rate / frequency))
    excitation = np.zeros(length)
    excitation[:delay] = rng.uniform(-1.0, 1.0, delay)
    gain = 0.5 * _PLUCK_DECAY
    past = np.zeros(length + 1)  # past[n + 1] is y[n]; past[0] is the silence before
    past[1 : delay + 1] = excitation[:delay]
    for start in range(delay, length, delay):
        end = min(start + delay, length)
        past[start + 1 : end + 1] = excitation[start:end] + gain * (
            past[start - delay + 1 : end - delay + 1] + past[start - delay : end - delay]
        )
    tone = past[1:]
    return tone / max(float(np.max(np.abs(tone))), 1e-9)


def _bell(
    frequency: float, length: int, rate: int, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """Struck bell: inharmonic partials that die away at different speeds."""
    t = np.arange(length) / rate
    tone = np.zeros(length)
    for ratio, gain, decay in (
        (1.0, 1.0, 1.6),
        (2.76, 0.45, 3.0),
        (5.4, 0.25, 5.0),
        (8.9, 0.1, 8.0),
    ):
        tone += gain * np.sin(2 * np.pi * frequency * ratio * t) * np.exp(-decay * t)
    shaped: npt.NDArray[np.float64] = tone / 1.8
    return shaped


def _flute(
    frequency: float, length: int, rate: int, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """Breathy flute: a soft-attack sine with vibrato, a little second harmonic and air noise."""
    t = np.arange(length) / rate
    phase = 2 * np.pi * frequency * t + 0.004 * frequency * np.sin(2 * np.pi * 5.0 * t)
    tone = np.sin(phase) + 0.2 * np.sin(2 * phase) + 0.04 * rng.standard_normal(length)
    envelope = np.minimum(1.0, t / 0.08) * np.exp(-1.2 * t)
    shaped: npt.NDArray[np.float64] = tone * envelope
    return shaped


def _drum(rate: int) -> npt.NDArray[np.float64]:
    """A low skin drum: a falling sine thump, short enough to stay under speech."""
    t = np.arange(int(0.35 * rate)) / rate
    frequency = 60 + 90 * np.exp(-t * 25)
    thump: npt.NDArray[np.float64] = np.sin(2 * np.pi * np.cumsum(frequency) / rate) * np.exp(
        -t * 9
    )
    return thump


_INSTRUMENTS = {"pluck": _pluck, "bell": _bell, "flute": _flute}


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
