"""How far the mouth is open, and how rounded or spread the lips are, from the speech audio.

The audio works for every voice backend alike (espeak's phoneme events exist only for espeak,
and the adapted default voice re-times espeak's audio), and it carries both: loudness of speech
tracks jaw opening well (open vowels are the loud segments, closures and pauses are quiet), and
the balance between the first and second formant regions tracks the lips: rounding (/u/, /o/)
lowers the second formant, spreading (/i/, /e/) raises it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_HOP_S = 0.01
_WINDOW_S = 0.03
_RANGE_DB = 30.0  # from closed to fully open
_ATTACK_S = 0.02
_RELEASE_S = 0.07
_LEAD_S = 0.04  # lips move slightly before the sound they make
_SWAY_S = 0.6  # the slow loudness that drives head nods
_SILENCE_DB = -80.0  # no frame louder than this: nothing to calibrate on yet
_LOW_BAND_HZ = (250.0, 1000.0)  # where the first formant of every vowel lies
_HIGH_BAND_HZ = (1000.0, 3000.0)  # the second formant: high for spread lips, low for rounded
_SHAPE_RANGE_DB = 5.0  # band balance from the speaker's own middle to fully rounded or spread
_SHAPE_S = 0.05


class MouthTrack:
    """Opening (0 closed .. 1 widest) every 10 ms from ``start_s`` on the portrait's clock.

    The track grows as the speech arrives (``extend``), so a render can animate the first
    sentence while the voice is still speaking the next. Loudness is calibrated on the first
    stretch that holds speech: every backend speaks its sentences at one level (see
    ``_streaming``), so the first sentence's loud vowels stand for all of them.
    """

    def __init__(self, start_s: float = 0.0) -> None:
        self.start_s = start_s - _LEAD_S
        self.openings: npt.NDArray[np.float64] = np.zeros(0)
        self.sway: npt.NDArray[np.float64] = np.zeros(0)
        self.shapes: npt.NDArray[np.float64] = np.zeros(0)  # -1 rounded .. 1 spread
        self._samples: npt.NDArray[np.float32] = np.zeros(0, np.float32)
        self._rate = 0
        self._reference: float | None = None
        self._balance: float | None = None
        self._states = (0.0, 0.0, 0.0)

    @classmethod
    def from_speech(
        cls, samples: npt.NDArray[np.float32], rate: int, start_s: float = 0.0
    ) -> MouthTrack:
        track = cls(start_s)
        track.extend(samples, rate)
        return track

    @classmethod
    def silent(cls) -> MouthTrack:
        return cls()

    @property
    def heard_s(self) -> float:
        """How much speech the track holds, on the speech's own clock."""
        return len(self._samples) / self._rate if self._rate else 0.0

    def extend(self, samples: npt.NDArray[np.float32], rate: int) -> None:
        """Append the speech that follows what the track holds, at the same rate throughout."""
        if self._rate and rate != self._rate:
            raise ValueError(f"speech at {rate} Hz cannot continue a track at {self._rate} Hz")
        self._rate = rate
        self._samples = np.concatenate([self._samples, np.asarray(samples, np.float32)])
        hop = round(_HOP_S * rate)
        window = round(_WINDOW_S * rate)
        done = len(self.openings)
        count = max(0, (len(self._samples) - window) // hop + 1) - done
        if count <= 0:
            return
        starts = (done + np.arange(count))[:, None] * hop
        frames = self._samples[starts + np.arange(window)].astype(np.float64)
        level = 10 * np.log10(np.mean(frames * frames, axis=1) + 1e-12)
        balance = _band_balance(frames, rate)
        if self._reference is None and level.max() > _SILENCE_DB:
            loud = level[level > level.max() - 50]
            self._reference = float(np.percentile(loud, 90))
            self._balance = float(np.median(balance[level > self._reference - 10]))
        if self._reference is None or self._balance is None:
            target = shape = np.zeros(count)
        else:
            target = np.clip((level - (self._reference - _RANGE_DB)) / _RANGE_DB, 0.0, 1.0)
            # Only voiced, open sounds shape the lips; between them they relax to neutral.
            shape = np.clip((balance - self._balance) / _SHAPE_RANGE_DB, -1, 1) * target
        opening_state, sway_state, shape_state = self._states
        openings = _follow(target, _ATTACK_S, _RELEASE_S, opening_state)
        sway = _follow(openings, _SWAY_S, _SWAY_S, sway_state)
        shapes = _follow(shape, _SHAPE_S, _SHAPE_S, shape_state)
        self._states = (float(openings[-1]), float(sway[-1]), float(shapes[-1]))
        self.openings = np.concatenate([self.openings, openings])
        self.sway = np.concatenate([self.sway, sway])
        self.shapes = np.concatenate([self.shapes, shapes])

    def opening(self, t: float) -> float:
        return self._at(self.openings, t)

    def loudness(self, t: float) -> float:
        return self._at(self.sway, t)

    def shape(self, t: float) -> float:
        """The lips at t: -1 rounded, 0 neutral, 1 spread."""
        return self._at(self.shapes, t)

    def _at(self, track: npt.NDArray[np.float64], t: float) -> float:
        """Linear between the 10 ms steps, in numpy.interp's exact arithmetic: blinks are
        placed by thousands of these look-ups a render, too many to build its grid for each."""
        position = (t - self.start_s) / _HOP_S
        if position < 0 or position > len(track) - 1:
            return 0.0
        index = int(position)
        if index == position:
            return float(track[index])
        before = float(track[index])
        return (float(track[index + 1]) - before) * (position - index) + before


def _band_balance(frames: npt.NDArray[np.float64], rate: int) -> npt.NDArray[np.float64]:
    """Second-formant over first-formant band energy of each frame, in dB."""
    power = np.abs(np.fft.rfft(frames * np.hanning(frames.shape[1]), axis=1)) ** 2
    frequencies = np.fft.rfftfreq(frames.shape[1], 1 / rate)

    def band(edges: tuple[float, float]) -> npt.NDArray[np.float64]:
        inside = (frequencies >= edges[0]) & (frequencies < edges[1])
        return np.asarray(power[:, inside].sum(axis=1) + 1e-12, np.float64)

    return np.asarray(10 * np.log10(band(_HIGH_BAND_HZ) / band(_LOW_BAND_HZ)), np.float64)


def _follow(
    target: npt.NDArray[np.float64], attack_s: float, release_s: float, state: float
) -> npt.NDArray[np.float64]:
    """A peak follower from ``state``: opens quickly, closes a little slower, as a jaw does."""
    rise = 1 - np.exp(-_HOP_S / attack_s)
    fall = 1 - np.exp(-_HOP_S / release_s)
    out = np.empty_like(target)
    for index, value in enumerate(target):
        state += (rise if value > state else fall) * (value - state)
        out[index] = state
    return out
