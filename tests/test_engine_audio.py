"""Generated music and the voice-over mix: deterministic, ducked under speech, never clipped."""

from __future__ import annotations

import numpy as np

from engine._mixing import MIX_RATE, mix, to_mix_rate
from engine._music import render_music
from engine._templates import load_template

SCORE = load_template("mid-autumn").music


def _level_at(signal: np.ndarray, frequency: float, start_s: float, end_s: float) -> float:
    """Amplitude of one frequency in a window (lock-in), so voice and music can be told apart."""
    segment = signal[int(start_s * MIX_RATE) : int(end_s * MIX_RATE)]
    t = np.arange(len(segment)) / MIX_RATE
    return float(2 * abs(np.mean(segment * np.exp(-2j * np.pi * frequency * t))))


def test_music_is_deterministic_audible_and_fades_out() -> None:
    first = render_music(SCORE, 10.0, MIX_RATE)
    assert len(first) == 10 * MIX_RATE
    assert np.array_equal(first, render_music(SCORE, 10.0, MIX_RATE))
    assert np.sqrt(np.mean(first[: 5 * MIX_RATE] ** 2)) > 0.05
    assert abs(first[-1]) < 1e-6


def test_music_is_ducked_while_speech_plays_and_the_mix_never_clips() -> None:
    seconds = 10.0
    t = np.arange(int(seconds * MIX_RATE)) / MIX_RATE
    music = (0.9 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    voice = (0.9 * np.sin(2 * np.pi * 1000 * t[: 3 * MIX_RATE])).astype(np.float32)
    mixed = mix(voice, 4.0, [(4.0, 7.0)], music)
    alone = _level_at(mixed, 220, 1.0, 3.0)
    under_speech = _level_at(mixed, 220, 4.5, 6.5)
    assert under_speech < alone / 4  # at least 12 dB of ducking
    assert _level_at(mixed, 1000, 4.5, 6.5) > 5 * under_speech  # the voice stands clear
    assert float(np.max(np.abs(mixed))) <= 10 ** (-1 / 20) + 1e-6


def test_espeak_rate_is_resampled_to_48k() -> None:
    one_second = np.zeros(22_050, np.float32)
    assert len(to_mix_rate(one_second, 22_050)) == MIX_RATE


def test_music_makes_room_in_the_voice_band_only_while_speech_plays() -> None:
    """Under speech the music's voice band (300 Hz-3.4 kHz) drops further than its bass; with
    the music alone its colour is untouched."""
    seconds = 10.0
    t = np.arange(int(seconds * MIX_RATE)) / MIX_RATE
    music = (0.4 * np.sin(2 * np.pi * 100 * t) + 0.4 * np.sin(2 * np.pi * 1000 * t)).astype(
        np.float32
    )
    voice = (0.5 * np.sin(2 * np.pi * 2500 * t[: 3 * MIX_RATE])).astype(np.float32)
    mixed = mix(voice, 4.0, [(4.0, 7.0)], music)
    bass_alone, band_alone = _level_at(mixed, 100, 1.0, 3.0), _level_at(mixed, 1000, 1.0, 3.0)
    bass_under, band_under = _level_at(mixed, 100, 4.5, 6.5), _level_at(mixed, 1000, 4.5, 6.5)
    assert abs(band_alone / bass_alone - 1) < 0.05
    assert band_alone / band_under > 3 * (bass_alone / bass_under)  # 10 dB more in the band
    assert bass_under > 0.02 * bass_alone  # the music is still there under the voice
