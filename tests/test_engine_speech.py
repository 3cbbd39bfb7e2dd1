"""espeak-ng through ctypes speaks each language; the pitch estimator the tests measure with."""

from __future__ import annotations

import numpy as np
import pytest

from engine._espeak import synthesize
from tests.auxil.media import tone
from tests.auxil.pitch import median_f0


def _voiced_seconds(samples: np.ndarray, rate: int) -> float:
    window = rate // 50
    count = len(samples) // window
    rms = np.sqrt(np.mean(samples[: count * window].reshape(count, window) ** 2, axis=1))
    return float(np.count_nonzero(rms > 0.01)) * window / rate


def test_mandarin_duration_grows_with_the_number_of_characters() -> None:
    short = synthesize("中秋", "cmn")
    long = synthesize("中秋快樂，祝你闔家團圓，身體健康。", "cmn")
    assert _voiced_seconds(short.samples, short.rate) > 0.2
    ratio = _voiced_seconds(long.samples, long.rate) / _voiced_seconds(short.samples, short.rate)
    assert ratio > 3


def test_traditional_and_simplified_characters_are_both_spoken() -> None:
    traditional = synthesize("闔家團圓", "cmn")
    simplified = synthesize("阖家团圆", "cmn")
    # espeak spells unknown characters out or skips them; both forms must give similar speech.
    assert _voiced_seconds(traditional.samples, traditional.rate) > 0.5
    seconds = [len(u.samples) / u.rate for u in (traditional, simplified)]
    assert abs(seconds[0] - seconds[1]) < 0.3


def test_english_is_spoken() -> None:
    utterance = synthesize("Happy Mid-Autumn Festival, Grandma.", "en")
    assert utterance.rate == 22_050
    assert _voiced_seconds(utterance.samples, utterance.rate) > 1.0


@pytest.mark.parametrize("frequency", [95.0, 150.0, 220.0, 310.0])
def test_pitch_of_a_tone_is_estimated_within_five_percent(frequency: float) -> None:
    estimate = median_f0(tone(frequency, 1.5), 16_000)
    assert estimate is not None
    assert abs(estimate - frequency) / frequency < 0.05


def test_silence_has_no_pitch() -> None:
    assert median_f0(np.zeros(16_000, np.float32), 16_000) is None
