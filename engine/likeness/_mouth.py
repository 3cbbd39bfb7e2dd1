"""How far the mouth is open at each moment, from the speech audio itself.

The audio envelope works for every voice backend alike (espeak's phoneme events exist only for
espeak), and loudness of speech tracks jaw opening well: open vowels are the loud segments,
closures and pauses are quiet.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

_HOP_S = 0.01
_WINDOW_S = 0.03
_RANGE_DB = 30.0  # from closed to fully open
_ATTACK_S = 0.02
_RELEASE_S = 0.07
_LEAD_S = 0.04  # lips move slightly before the sound they make
_SWAY_S = 0.6  # the slow loudness that drives head nods


@dataclass(frozen=True)
class MouthTrack:
    """Opening (0 closed .. 1 widest) every 10 ms from ``start_s`` on the portrait's clock."""

    start_s: float
    openings: npt.NDArray[np.float64]
    sway: npt.NDArray[np.float64]

    @classmethod
    def from_speech(
        cls, samples: npt.NDArray[np.float32], rate: int, start_s: float = 0.0
    ) -> MouthTrack:
        hop = round(_HOP_S * rate)
        window = round(_WINDOW_S * rate)
        count = max(0, (len(samples) - window) // hop + 1)
        if count == 0:
            return cls(start_s, np.zeros(1), np.zeros(1))
        frames = samples[np.arange(count)[:, None] * hop + np.arange(window)].astype(np.float64)
        level = 10 * np.log10(np.mean(frames * frames, axis=1) + 1e-12)
        loud = level[level > level.max() - 50]
        reference = float(np.percentile(loud, 90))
        target = np.clip((level - (reference - _RANGE_DB)) / _RANGE_DB, 0.0, 1.0)
        openings = _follow(target, _ATTACK_S, _RELEASE_S)
        sway = _follow(openings, _SWAY_S, _SWAY_S)
        return cls(start_s - _LEAD_S, openings, sway)

    @classmethod
    def silent(cls) -> MouthTrack:
        return cls(0.0, np.zeros(1), np.zeros(1))

    def opening(self, t: float) -> float:
        return self._at(self.openings, t)

    def loudness(self, t: float) -> float:
        return self._at(self.sway, t)

    def _at(self, track: npt.NDArray[np.float64], t: float) -> float:
        position = (t - self.start_s) / _HOP_S
        if position < 0 or position > len(track) - 1:
            return 0.0
        return float(np.interp(position, np.arange(len(track)), track))


def _follow(target: npt.NDArray[np.float64], attack_s: float, release_s: float
            ) -> npt.NDArray[np.float64]:  # fmt: skip
    """A peak follower: opens quickly, closes a little slower, as a jaw does."""
    rise = 1 - np.exp(-_HOP_S / attack_s)
    fall = 1 - np.exp(-_HOP_S / release_s)
    out = np.empty_like(target)
    state = 0.0
    for index, value in enumerate(target):
        state += (rise if value > state else fall) * (value - state)
        out[index] = state
    return out
