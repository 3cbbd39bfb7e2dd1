"""The video's clock while the voice is still speaking: what is settled, and the camera's plan.

A render composes each sentence as soon as the voice has spoken it, so the timeline grows: the
intro and where speech starts are known from the template; each sentence's cue is added once
it is settled; the length and the outro only when the last one is. The camera move spans the
whole greeting, so it runs on an estimate of the length, refined at every settled sentence
from how fast this voice has spoken so far. Each refinement bends the move from where the
camera is, keeping it continuous: it changes speed, never jumps.

Everything here changes only at the frame the render says (``at_s``), never with how fast a
backend happens to run, so one greeting renders to the same frames however its speech arrives.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from engine._models import Language
from engine._speech import Cue

# Before a sentence is settled there is nothing to measure: the embedded voice's pace, pauses
# included, in seconds per character (measured on the twelve templates' greetings: 0.30-0.33
# for Chinese, 0.070-0.090 for English). Only the camera's first plan uses it.
_SECONDS_PER_CHARACTER: dict[Language, float] = {"zh-Hant": 0.31, "zh-Hans": 0.31, "en": 0.079}
_OUTRO_GAP_S = 0.3  # between the last word and the outro's transition


@dataclass(frozen=True)
class _Knot:
    """From ``at_s`` on, the camera heads from ``progress`` to 1 at ``duration_s``."""

    at_s: float
    progress: float
    duration_s: float


class Timeline:
    """Times on the video, in seconds; speech cues are added on the speech's own clock."""

    def __init__(
        self,
        *,
        intro_s: float,
        transition_s: float,
        speech_start_s: float,
        outro_s: float,
        length_s: tuple[float, float],
        sentences: Sequence[str],
        language: Language,
        fps: int,
    ) -> None:
        self.intro_s = intro_s
        self.transition_s = transition_s
        self.speech_start_s = speech_start_s
        self._outro_s = outro_s
        self._length_s = length_s
        self._characters = [len(sentence) for sentence in sentences]
        self._default_pace = _SECONDS_PER_CHARACTER[language]
        self._fps = fps
        self.cues: tuple[Cue, ...] = ()
        self.duration_s: float | None = None  # known once the last sentence is settled
        self.outro_start_s = math.inf
        self.finished_at_s: float | None = None  # the frame that learned the length
        self._knots = [_Knot(0.0, 0.0, self._estimate())]

    @property
    def frame_count(self) -> int | None:
        return None if self.duration_s is None else round(self.duration_s * self._fps)

    @property
    def planned_frame_count(self) -> int:
        """The frames the camera's current plan spans: an estimate refined at each settled
        sentence, ``frame_count`` once the length is known. A render's progress counts on it."""
        return round(self._knots[-1].duration_s * self._fps)

    def add(self, cue: Cue, at_s: float) -> None:
        """One more settled sentence (times on the speech clock), known from frame ``at_s`` on."""
        start = self.speech_start_s
        self.cues = (*self.cues, Cue(cue.text, start + cue.start_s, start + cue.end_s))
        self._replan(at_s, self._estimate())

    def finish(self, at_s: float) -> None:
        """No sentence follows: the length is now exact, and so is the outro's start."""
        if not self.cues:
            raise ValueError("a greeting needs at least one spoken sentence")
        speech_end = self.cues[-1].end_s
        self.duration_s = round(self._bounded(speech_end + self._outro_s) * self._fps) / self._fps
        self.outro_start_s = max(speech_end + _OUTRO_GAP_S, self.duration_s - self._outro_s)
        self.finished_at_s = at_s
        self._replan(at_s, self.duration_s)

    def progress(self, t: float) -> float:
        """How far along its move the camera is at t, 0 to 1."""
        knot = next(k for k in reversed(self._knots) if k.at_s <= t or k is self._knots[0])
        remaining = max(knot.duration_s - knot.at_s, 1e-6)
        return min(1.0, knot.progress + (1.0 - knot.progress) * (t - knot.at_s) / remaining)

    def _estimate(self) -> float:
        """The greeting's length if the rest is spoken as fast as what was settled so far."""
        said = len(self.cues)
        spoken_s = self.cues[-1].end_s - self.speech_start_s if said else 0.0
        pace = spoken_s / sum(self._characters[:said]) if said else self._default_pace
        speech_s = spoken_s + pace * sum(self._characters[said:])
        return self._bounded(self.speech_start_s + speech_s + self._outro_s)

    def _bounded(self, length_s: float) -> float:
        """Within the template's shortest and longest greeting."""
        low, high = self._length_s
        return min(max(length_s, low), high)

    def _replan(self, at_s: float, duration_s: float) -> None:
        self._knots.append(_Knot(at_s, self.progress(at_s), duration_s))
