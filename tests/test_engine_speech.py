"""The default voice speaks each language, and its pitch follows the sender's notes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine._espeak import synthesize
from engine._pitch import median_f0
from engine._speech import choose_voice, sender_f0, speak
from tests.auxil.media import spoken_note, tone


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


def test_sentences_become_back_to_back_cues_with_pauses() -> None:
    speech = speak(["你好。", "中秋快乐。"], "zh-Hans", choose_voice("zh-Hans", None), 0.5)
    first, second = speech.cues
    assert first.start_s == 0 and first.end_s > 0.2
    assert second.start_s == pytest.approx(first.end_s + 0.5)
    assert second.end_s == pytest.approx(speech.duration_s)


@pytest.mark.parametrize("frequency", [95.0, 150.0, 220.0, 310.0])
def test_pitch_of_a_tone_is_estimated_within_five_percent(frequency: float) -> None:
    estimate = median_f0(tone(frequency, 1.5), 16_000)
    assert estimate is not None
    assert abs(estimate - frequency) / frequency < 0.05


def test_silence_has_no_pitch() -> None:
    assert median_f0(np.zeros(16_000, np.float32), 16_000) is None


def test_without_samples_the_default_pitch_is_used(tmp_path: Path) -> None:
    assert sender_f0([]) is None
    (tmp_path / "broken.ogg").write_bytes(b"not audio at all" * 10)
    assert sender_f0([tmp_path / "broken.ogg"]) is None
    choice = choose_voice("en", None)
    assert (choice.espeak_voice, choice.pitch) == ("en", 50)


def test_voice_follows_a_low_and_a_high_sample(tmp_path: Path) -> None:
    text = "今天天气很好，我们一起去散步吧。"
    low = sender_f0([spoken_note(tmp_path, "low", text, "cmn", pitch=15)])
    high = sender_f0([spoken_note(tmp_path, "high", text, "cmn+f3", pitch=85)])
    assert low is not None and high is not None and low < 90 < 200 < high

    outputs = {}
    for name, target in (("low", low), ("high", high)):
        choice = choose_voice("zh-Hans", target)
        spoken = synthesize("祝你中秋快乐，身体健康。", choice.espeak_voice, choice.pitch)
        outputs[name] = median_f0(spoken.samples, spoken.rate)
    default = synthesize("祝你中秋快乐，身体健康。", "cmn", 50)
    default_f0 = median_f0(default.samples, default.rate)
    assert outputs["low"] is not None and outputs["high"] is not None and default_f0 is not None
    assert outputs["low"] < default_f0 < outputs["high"]
    assert abs(outputs["low"] - low) / low < 0.15
    assert abs(outputs["high"] - high) / high < 0.15
