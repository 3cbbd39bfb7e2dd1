"""The video's clock while the voice speaks: the camera moves smoothly on an estimate of the
length that each settled sentence corrects, and ends its move exactly where the video ends."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine._speech import Cue
from engine._timeline import _SECONDS_PER_CHARACTER, Timeline

FPS = 25
SENTENCES = ["外婆，中秋快樂！", "今晚的月亮又大又圓，我很想念你。", "祝你身體健康。"]


def _timeline(length_s: tuple[float, float] = (8.0, 40.0)) -> Timeline:
    return Timeline(
        intro_s=1.5, transition_s=0.5, speech_start_s=1.8, outro_s=2.0, length_s=length_s,
        sentences=SENTENCES, language="zh-Hant", fps=FPS,
    )  # fmt: skip


def _camera(timeline: Timeline, until_s: float) -> np.ndarray:
    return np.array([timeline.progress(i / FPS) for i in range(round(until_s * FPS))])


def test_the_length_and_outro_are_known_once_the_last_sentence_is() -> None:
    timeline = _timeline()
    timeline.add(Cue(SENTENCES[0], 0.0, 2.0), at_s=0.0)
    assert (timeline.duration_s, timeline.frame_count, timeline.outro_start_s) == (
        None, None, math.inf,
    )  # fmt: skip
    timeline.add(Cue(SENTENCES[1], 2.6, 6.7), at_s=2.6)
    timeline.add(Cue(SENTENCES[2], 7.3, 9.013), at_s=7.2)
    assert timeline.cues[2] == Cue(SENTENCES[2], 9.1, 10.813)  # on the video's clock
    timeline.finish(at_s=9.0)
    assert timeline.duration_s == pytest.approx(12.8) and timeline.frame_count == 320
    assert timeline.outro_start_s == pytest.approx(10.813 + 0.3)  # after the last word
    with pytest.raises(ValueError, match="at least one spoken sentence"):
        _timeline().finish(at_s=0.0)


def test_the_camera_moves_smoothly_and_arrives_at_the_end_whatever_the_estimate() -> None:
    """The voice speaks far slower than the estimate assumed: the move slows, never jumps."""
    timeline = _timeline()
    timeline.add(Cue(SENTENCES[0], 0.0, 4.0), at_s=0.0)
    timeline.add(Cue(SENTENCES[1], 4.6, 12.0), at_s=4.0)
    timeline.add(Cue(SENTENCES[2], 12.6, 16.0), at_s=11.0)
    timeline.finish(at_s=15.0)
    assert timeline.duration_s is not None
    camera = _camera(timeline, timeline.duration_s)
    steps = np.diff(camera)
    assert camera[0] == 0.0 and np.all(steps > 0)
    assert camera[-1] == pytest.approx(1.0, abs=1.5 / (timeline.duration_s * FPS))
    assert steps.max() < 2.5 * steps.mean()  # a jump would be one step far above the rest


def test_a_voice_speaking_as_estimated_moves_the_camera_evenly() -> None:
    timeline = _timeline(length_s=(1.0, 40.0))
    characters = sum(len(s) for s in SENTENCES)
    pace = _SECONDS_PER_CHARACTER["zh-Hant"]  # the estimate's own: every correction is nil
    ends = np.cumsum([len(s) * pace for s in SENTENCES])
    for sentence, start, end in zip(SENTENCES, [0.0, *ends[:-1]], ends, strict=True):
        timeline.add(Cue(sentence, float(start), float(end)), at_s=float(start))
    timeline.finish(at_s=float(ends[-1]))
    duration = timeline.duration_s
    assert duration == pytest.approx(1.8 + characters * pace + 2.0, abs=0.02)
    assert duration is not None
    camera = _camera(timeline, duration)
    even = np.arange(len(camera)) / FPS / duration
    assert np.abs(camera - even).max() < 0.01
