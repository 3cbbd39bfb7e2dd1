"""How far the mouth is open, and how rounded or spread the lips are, from the speech audio.

The audio works for every voice backend alike (espeak's phoneme events exist only for espeak,
and the adapted default voice re-times espeak's audio), and it carries both: loudness of speech
tracks jaw opening well (open vowels are the loud segments, closures and pauses are quiet), and
the balance between the first and second formant regions tracks the lips: rounding (/u/, /o/)
lowers the second formant, spreading (/i/, /e/) raises it.

What the opened mouth shows is coloured from the photo itself (``MouthColours``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
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
# The inside of the mouth as shares of the photo's own lip colour: lit just inside the lips,
# darkest at the back. Fixed colours looked right on drawn faces and wrong on photos, where a
# saturated red lining is far redder than pale lips and reads as paint, not as a mouth.
_LINING_OF_LIP = 0.55
_THROAT_OF_LIP = 0.28
_TEETH_OF_SKIN = 0.95  # teeth in the mouth's shade: about as bright as the lit cheek
_TEETH_TINT = 0.25  # how much of the cheeks' hue the teeth take: the light's colour, not white
_TONGUE = 0.55  # how much of the lining's light the tongue catches, low in the middle
_UPPER_TEETH_SHARE = 0.3  # of the gap's height at most: a hint of teeth under the lip
_LOWER_TEETH_SHARE = 0.12


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


@dataclass(frozen=True)
class MouthColours:
    """The open mouth's colours (RGB, 0-255), taken from the photo's own lips and cheeks.

    Lining and throat are the lips' own hue darkened, so pale lips open onto a dim, warm
    cavity, painted ones onto a deep red and a black-and-white photo's onto grey; the teeth are
    an off-white lit like the cheeks, so they never glow whiter than the face on a dim photo.
    """

    lining: npt.NDArray[np.float32]  # just inside the lips
    throat: npt.NDArray[np.float32]  # the back of the mouth
    teeth: npt.NDArray[np.float32]

    @classmethod
    def of(cls, pixels: npt.NDArray[np.uint8], landmarks: npt.NDArray[np.float64]) -> MouthColours:
        """From a photo and its 68 dlib landmarks (image coordinates)."""
        lips = _inside(pixels, [landmarks[48:60]], [landmarks[60:68]])
        # Under each eye, between the eye's lower lid, the nose and the jaw: the cheeks are
        # lit skin even on a bearded face.
        cheeks = _inside(pixels, [landmarks[[1, 41, 31]], landmarks[[15, 46, 35]]], [])
        lip = np.median(lips, axis=0)
        skin = np.median(cheeks, axis=0)
        light = max(float(skin.max()), 1.0)
        teeth = _TEETH_OF_SKIN * light * (1 - _TEETH_TINT + _TEETH_TINT * skin / light)
        return cls(
            lining=(_LINING_OF_LIP * lip).astype(np.float32),
            throat=(_THROAT_OF_LIP * lip).astype(np.float32),
            teeth=teeth.astype(np.float32),
        )

    def interior(
        self,
        from_top: npt.NDArray[np.floating],
        from_bottom: npt.NDArray[np.floating],
        across: npt.NDArray[np.floating],
        lens: npt.NDArray[np.floating],
        teeth: tuple[float, float] | None,
    ) -> npt.NDArray[np.float32]:
        """The colour of each pixel of the parted lips' gap.

        ``from_top`` and ``from_bottom`` are pixels below the upper lip and above the lower,
        ``across`` runs -1..1 between the mouth's corners and ``lens`` is how far each column
        opens (0 at the corners). The back is darkest where the gap is deepest; the tongue
        catches a little light low in the middle; ``teeth`` (upper and lower heights in
        pixels) paints a hint of teeth in the middle of the mouth, None where the photo's
        own teeth move with the lips.
        """
        height = from_top + from_bottom
        depth = np.clip(from_top / np.maximum(height, 1e-3), 0, 1)
        # The throat darkest, far from the lips (float32's pi is past pi: sin dips below 0).
        back = lens * np.maximum(np.sin(np.float32(np.pi) * depth), 0) ** np.float32(0.6)
        colour = self.lining + (self.throat - self.lining) * back[..., None]
        middle = np.abs(across)
        tongue = _TONGUE * lens * smoothstep(0.45, 0.95, depth) * smoothstep(0.9, 0.3, middle)
        colour += (self.lining - colour) * tongue[..., None]
        if teeth is not None:
            upper_band = np.minimum(teeth[0], _UPPER_TEETH_SHARE * height)
            lower_band = np.minimum(teeth[1], _LOWER_TEETH_SHARE * height)
            # Tips fade into the dark over a few pixels, as translucent enamel in shadow does.
            tips = np.maximum(1.5, 0.5 * upper_band)
            sides = smoothstep(0.7, 0.25, middle)  # the front teeth; the sides are in shadow
            shown = (
                np.maximum(
                    smoothstep(upper_band + tips, upper_band - tips, from_top),
                    smoothstep(lower_band + tips, lower_band - tips, from_bottom)
                    * smoothstep(0.6, 0.3, middle),
                )
                * sides
                * (height > 4)
            )
            # The upper lip shades the teeth's roots; the middle ones catch the most light.
            lit = 0.7 + 0.3 * smoothstep(0, np.maximum(upper_band, 1.0), from_top) * sides
            shaded = self.teeth * lit[..., None]
            colour += (shaded - colour) * shown[..., None]
        return colour.astype(np.float32)


def smoothstep(
    zero_at: float | npt.NDArray[np.floating],
    one_at: float | npt.NDArray[np.floating],
    x: npt.NDArray[np.floating],
) -> npt.NDArray[np.floating]:
    """0 at ``zero_at``, 1 at ``one_at``, eased between; the edges may vary per pixel.

    In the precision of ``x`` (per-frame maps are float32: half the memory traffic of float64,
    far below a remap's 1/32-pixel steps), and in place on one array: it is the portrait's
    most frequent operation.
    """
    t = x - zero_at
    t /= one_at - zero_at
    np.clip(t, 0.0, 1.0, out=t)
    eased = t * t
    t *= -2
    t += 3
    t *= eased
    return t


def _inside(
    pixels: npt.NDArray[np.uint8],
    shapes: list[npt.NDArray[np.float64]],
    holes: list[npt.NDArray[np.float64]],
) -> npt.NDArray[np.float64]:
    """The pixels inside the polygons and outside the holes, one RGB row each; the whole
    picture's when the polygons hold none (a face too small to have lips a pixel thick)."""
    mask = np.zeros(pixels.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(p).astype(np.int32) for p in shapes], 1)
    if holes:
        cv2.fillPoly(mask, [np.round(p).astype(np.int32) for p in holes], 0)
    chosen = pixels[mask.astype(bool)]
    return np.asarray(chosen if len(chosen) else pixels.reshape(-1, 3), np.float64)
