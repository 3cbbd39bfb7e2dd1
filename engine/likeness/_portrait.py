"""The talking photo: one portrait, a mouth that follows the speech, blinks and a living head.

Every frame is the photo resampled through a backward displacement map that is exactly zero
outside an ellipse around the face, so hair, background and clothes stay untouched pixel for
pixel. Inside it three effects add up, all in the face's own upright frame (the photo may be
tilted): a small head rotation and drift that fades out toward the ellipse's edge; upper lids
pulled down over the eyes; and the jaw (lower lip, lower teeth, chin, the cheeks' lower half)
dropped with the mouth opening, the lips narrowed or widened with the vowel, the gap filled with
a shaded mouth interior. Only the ellipse's bounding box is computed per frame.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from engine.likeness._faces import Face, find_face
from engine.likeness._mouth import MouthColours, MouthTrack
from engine.likeness._mouth import smoothstep as _smoothstep

Frame = npt.NDArray[np.uint8]
Grid = npt.NDArray[np.float32]

_LIP_GAP = 0.085  # the lower lip's drop at the widest, in face heights (brow to chin)
_JAW_SHARE = 0.8  # the chin drops this share of it: the lower lip moves with the jaw
_UPPER_LIFT = 0.15  # share of the opening made by the upper lip rising
_LIP_SPREAD = 0.14  # widening of the mouth for fully spread lips, narrowing for rounded ones
_SPREAD_REACH = 1.8  # in half mouth widths: how far into the cheeks the lips pull the skin
_SOFT_EDGE = 0.3  # share of the interior's height over which it fades in at each lip
_TEETH_SHOWN = 0.07  # inner lips this far apart in the photo (face heights): its own teeth show
_UPPER_TEETH = 0.03  # painted teeth, in face heights, where the photo's mouth was shut
_LOWER_TEETH = 0.008
_ROLL_DEG = 1.3
_DRIFT = 0.012  # in face widths
_NOD = 0.008  # head dips slightly with loud speech, in face heights
_BLINK_CLOSE_S, _BLINK_HOLD_S, _BLINK_OPEN_S = 0.07, 0.05, 0.13
_BLINK_MEAN_INTERVAL_S = 3.8  # ~16 a minute, the middle of the 8-25 people do while talking
_BLINK_MIN_INTERVAL_S = 1.6
_BLINK_SHIFT_S = 0.8  # how far a blink may move to land in a pause
_BLINK_STEP_S = 0.02
_BLINK_MAX_OPENING = 0.35  # of the widest: a blink over a mouth open wider waits
_BLINK_S = _BLINK_CLOSE_S + _BLINK_HOLD_S + _BLINK_OPEN_S
# How far past a frame's time the mouth must be known: a blink planned up to one shift later
# may move into that frame, and choosing its spot looks one shift and one blink further on;
# the mouth itself leads the sound by a few tens of milliseconds.
SPEECH_LOOKAHEAD_S = 2 * _BLINK_SHIFT_S + _BLINK_S + 0.1
_LASHES = np.array([42.0, 30.0, 28.0], np.float32)
_LASH_OPACITY = 0.75
_LASH_FADE = 0.08  # of the eye's width: the lash line thins out this far past each corner
# The shut lid's fold: a soft shadow along the open lid's arch, raised by this share of the
# lid's margin, this many lash widths either side of its darkest line, at most this dark, and
# fading out over this share of the eye's width before each corner (an arc, not a ring).
_FOLD_RISE = 0.5
_FOLD_WIDTH = 4.0
_FOLD_OPACITY = 0.5
_FOLD_FADE = 0.08
# Where a shut lid's skin starts to stretch, as a share of the way from the brow's centre line to
# the upper lid: just under the brow's lower edge, found in the photo within these bounds.
_BROW_KEPT = (0.3, 0.85)
# A stretched lid is smoothed along its length (a Gaussian of this many eye widths) and tinted
# toward the lid's own skin colour by this share: whatever fine detail the lid had (stray
# brow hairs, the crease) is otherwise drawn out into vertical streaks.
_LID_BLUR = 0.06
_LID_SKIN = 0.4
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)

_UPPER_LID = ((36, 37, 38, 39), (42, 43, 44, 45))
_LOWER_LID = ((36, 41, 40, 39), (42, 47, 46, 45))
_BROW = ((17, 18, 19, 20, 21), (22, 23, 24, 25, 26))
_LOWER_INNER_LIP = (60, 67, 66, 65, 64)


@dataclass(frozen=True)
class Blink:
    start_s: float

    def closure(self, t: float) -> float:
        """0 open, 1 shut: a quick close, a short hold and a slower opening, eased."""
        x = t - self.start_s
        if x < 0 or x > _BLINK_S:
            return 0.0
        if x < _BLINK_CLOSE_S:
            return math.sin(0.5 * math.pi * x / _BLINK_CLOSE_S) ** 2
        x -= _BLINK_CLOSE_S
        if x < _BLINK_HOLD_S:
            return 1.0
        return math.cos(0.5 * math.pi * (x - _BLINK_HOLD_S) / _BLINK_OPEN_S) ** 2


class _BlinkPlan:
    """Irregular blinks (gamma-distributed gaps, a metronome looks mechanical), each moved to
    the quietest moment within reach: people blink in the pauses of their speech far more than
    mid-word, and shut eyes over a wide-open mouth read as a grimace.

    Blinks are planned as frames ask for them, so a plan never reaches further into the
    speech than ``SPEECH_LOOKAHEAD_S`` past the frame being drawn.
    """

    def __init__(self, seed: int, mouth: MouthTrack) -> None:
        self._rng = np.random.default_rng(seed)
        self._mouth = mouth
        self._clock = float(self._rng.uniform(0.8, 2.5))
        self.blinks: list[Blink] = []

    def until(self, t: float) -> list[Blink]:
        """Every blink that starts before t (a blink planned later may only move to t)."""
        while self._clock < t + _BLINK_SHIFT_S:
            start = _quiet_start(self._mouth, self._clock, self.blinks)
            if start is not None:
                self.blinks.append(Blink(start))
            gap = self._rng.gamma(4.0, _BLINK_MEAN_INTERVAL_S / 4.0)
            self._clock = max(self._clock, start or self._clock) + max(
                _BLINK_MIN_INTERVAL_S, float(gap)
            )
        return [blink for blink in self.blinks if blink.start_s < t]


def _quiet_start(mouth: MouthTrack, planned: float, earlier: list[Blink]) -> float | None:
    """The start near ``planned`` over which the mouth is the least open, nearest on a tie;
    None in a long stretch of speech without a pause, where the blink waits for the next."""
    earliest = earlier[-1].start_s + _BLINK_MIN_INTERVAL_S if earlier else 0.0
    candidates = planned + np.arange(-_BLINK_SHIFT_S, _BLINK_SHIFT_S + 1e-9, _BLINK_STEP_S)
    candidates = candidates[candidates >= earliest]
    if len(candidates) == 0:
        return planned

    def openness(start: float) -> float:
        return max(mouth.opening(start + dt) for dt in np.arange(0, _BLINK_S, _BLINK_STEP_S))

    best = float(min(candidates, key=lambda c: (round(openness(c), 2), abs(c - planned))))
    return best if openness(best) <= _BLINK_MAX_OPENING else None


class TalkingPortrait:
    """``frame(t)`` gives the portrait at time t of the speech's clock, as RGB uint8.

    ``size`` is the output size (the scene's pre-scaled portrait), chosen once so all per-frame
    work happens at display resolution. Raises IngestError when the photo has no face, or
    several and no ``near`` point (in output pixels) to choose among them.
    """

    def __init__(
        self,
        photo: Image.Image,
        mouth: MouthTrack,
        size: tuple[int, int] | None = None,
        seed: int = 0,
        near: tuple[float, float] | None = None,
    ) -> None:
        image = photo.convert("RGB")
        if size is not None and size != image.size:
            image = image.resize(size, Image.Resampling.LANCZOS)
        self._base: Frame = np.asarray(image, dtype=np.uint8).copy()
        self.face: Face = find_face(self._base, near)
        self._mouth = mouth
        self._blinks = _BlinkPlan(seed, mouth)
        phases = np.random.default_rng(seed + 1).uniform(0, 2 * math.pi, 4)
        self._phases = tuple(float(p) for p in phases)
        self._geometry = _Geometry(self.face, self._base)

    def region(self) -> npt.NDArray[np.bool_]:
        """Pixels the animation may change; everything else is the photo, untouched."""
        geometry = self._geometry
        mask = np.zeros(self._base.shape[:2], bool)
        top, bottom, left, right = geometry.crop
        mask[top:bottom, left:right] = geometry.weight > 0
        return mask

    def blinks_until(self, t: float) -> list[Blink]:
        return self._blinks.until(t)

    def opening(self, t: float) -> float:
        return self._mouth.opening(t)

    def closure(self, t: float) -> float:
        # Blinks are further apart than one lasts: only the latest can be under way.
        return max((blink.closure(t) for blink in self._blinks.until(t)[-1:]), default=0.0)

    def frame(self, t: float) -> Frame:
        """A pure function of t: frames can be rendered in any order or split across workers."""
        frame = self._base.copy()
        self.paint(t, frame)
        return frame

    def paint(self, t: float, photo: Frame) -> None:
        """Frame t drawn into ``photo``, a copy of the photo the portrait was made from that
        the caller keeps between frames: only the animated box is written, and the rest of
        the picture never changes, so a render need not copy the whole photo every frame."""
        g = self._geometry
        opening = self.opening(t)
        p = self._phases
        roll = math.radians(_ROLL_DEG) * (
            0.6 * math.sin(2 * math.pi * 0.11 * t + p[0])
            + 0.4 * math.sin(2 * math.pi * 0.27 * t + p[1])
        )
        shift_u = _DRIFT * g.face_width * math.sin(2 * math.pi * 0.07 * t + p[2])
        shift_v = _DRIFT * 0.6 * g.face_width * math.sin(2 * math.pi * 0.17 * t + p[3])
        shift_v += _NOD * g.face_height * self._mouth.loudness(t)
        pose = _Pose(math.cos(roll), math.sin(roll), shift_u, shift_v)
        # Head motion alone over the whole box; the mouth and eyes redo their own windows in
        # the face's frame. Above the nose the mouth moves nothing, so where an eye's window
        # overlaps the mouth's the eye's result is the whole answer.
        x, y = g.moved(pose)
        interior = None
        if opening > 0.01:
            window = g.mouth_window
            u, v = g.moved_face(pose, window)
            u, v, interior = g.mouth.apply(
                u, v, opening, self._mouth.shape(t), g.weight[window], g.spread_box
            )
            g.place(x, y, window, u, v)
        closure = self.closure(t)
        lids = []
        if closure > 0:
            for eye, window in zip(g.eyes, g.eye_windows, strict=True):
                u, v = g.moved_face(pose, window)
                v, smoothing, lash = eye.apply(u, v, closure)
                g.place(x, y, window, u, v)
                lids.append((eye, window, smoothing, lash))
        warped = g.sample(x, y)
        for eye, window, smoothing, lash in lids:
            _paint(warped, window, eye.smoothed(warped[window]), smoothing)
            _paint(warped, window, _LASHES, lash)
        if interior is not None:
            _paint(warped, _within(g.mouth_window, interior.box), interior.colour, interior.opacity)
        top, bottom, left, right = g.crop
        photo[top:bottom, left:right] = warped


@dataclass(frozen=True)
class _Pose:
    """The head at one instant: its roll (as cosine and sine) and drift, in the face's frame."""

    cos: float
    sin: float
    shift_u: float
    shift_v: float


@dataclass(frozen=True)
class _Interior:
    """The open mouth's lining and teeth, in the box of the mouth's window that holds them."""

    box: tuple[slice, slice]
    colour: npt.NDArray[np.float32]
    opacity: Grid


def _within(window: tuple[slice, slice], box: tuple[slice, slice]) -> tuple[slice, slice]:
    """``box``, given relative to ``window``, in the coordinates ``window`` is given in."""
    rows, columns = window
    return (
        slice(rows.start + box[0].start, rows.start + box[0].stop),
        slice(columns.start + box[1].start, columns.start + box[1].stop),
    )


def _inside(window: slice, part: slice) -> slice:
    """``part`` as far as it lies in ``window``, counted from the window's start."""
    start = min(max(part.start, window.start), window.stop)
    return slice(start - window.start, max(start, min(part.stop, window.stop)) - window.start)


def _paint(
    picture: Frame,
    window: tuple[slice, slice],
    colour: npt.NDArray[np.float32],
    opacity: npt.NDArray[np.float32],
) -> None:
    """Blend ``colour`` into the window of ``picture`` in place, ``opacity`` 0..1 per pixel."""
    region = picture[window].astype(np.float32)
    region += (colour - region) * opacity[..., None]
    picture[window] = np.clip(region + 0.5, 0, 255).astype(np.uint8)


def sample_photo(photo: Frame, x: Grid, y: Grid) -> npt.NDArray[np.float32]:
    """The photo at these pixel positions in floating point, its edge repeated beyond it, read
    from the part around them rather than from the whole photo made float. The part is kept
    inside the photo, so points wholly beyond an edge (a brow above a photo cut at the
    forehead) read that edge."""
    height, width = photo.shape[:2]
    left = min(max(0, math.floor(x.min()) - 1), width - 1)
    top = min(max(0, math.floor(y.min()) - 1), height - 1)
    right = max(left + 1, math.ceil(x.max()) + 2)
    bottom = max(top + 1, math.ceil(y.max()) + 2)
    around = photo[top:bottom, left:right].astype(np.float32)
    sampled = cv2.remap(around, x - left, y - top, cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    return np.asarray(sampled, np.float32)


class _Geometry:
    """Everything about the face that does not change between frames."""

    def __init__(self, face: Face, base: Frame) -> None:
        height, width = base.shape[:2]
        points = face.landmarks
        eyes = (points[36:42].mean(axis=0), points[42:48].mean(axis=0))
        self.roll = math.atan2(eyes[1][1] - eyes[0][1], eyes[1][0] - eyes[0][0])
        self.centre = points[list(range(17)) + list(range(17, 27))].mean(axis=0)
        self._cos, self._sin = math.cos(self.roll), math.sin(self.roll)
        local = self._to_face(points[:, 0], points[:, 1])
        self.landmarks = np.stack(local, axis=1)
        lm = self.landmarks
        brow_v = float(lm[17:27, 1].min())
        chin_v = float(lm[8, 1])
        self.face_height = chin_v - brow_v
        self.face_width = float(lm[16, 0] - lm[0, 0])
        # The animated ellipse: the whole face with forehead and the neck just under the chin.
        self._semi_u = 0.62 * self.face_width
        top_v = brow_v - 0.45 * self.face_height
        bottom_v = chin_v + 0.22 * self.face_height
        self._mid_v = 0.5 * (top_v + bottom_v)
        self._semi_v = 0.5 * (bottom_v - top_v)
        self.crop = self._crop_box(width, height)
        top, bottom, left, right = self.crop
        ys, xs = np.mgrid[top:bottom, left:right].astype(np.float32)
        face_u, face_v = self._to_face(xs, ys)
        self.u: Grid = face_u.astype(np.float32)
        self.v: Grid = face_v.astype(np.float32)
        radius = np.sqrt(
            (self.u / self._semi_u) ** 2 + ((self.v - self._mid_v) / self._semi_v) ** 2
        )
        self.weight = _smoothstep(1.0, 0.72, radius.astype(np.float64)).astype(np.float32)
        colours = MouthColours.of(base, points)
        self.mouth = _MouthShape(lm, self.face_width, self.face_height, colours)

        def photo_at(u: Grid, v: Grid) -> npt.NDArray[np.float32]:
            return sample_photo(base, *self.to_pixels(u, v))

        self.eyes = tuple(_EyeShape(lm, side, photo_at) for side in (0, 1))
        # Head motion moves features by a few pixels: windows get that much slack.
        slack = 0.08 * self.face_height
        self.mouth_window = self._window(self.mouth.extent(), slack)
        self.eye_windows = tuple(self._window(eye.extent(), slack) for eye in self.eyes)
        rows, columns = self._window(self.mouth.spread_extent(), slack)
        self.spread_box = (
            _inside(self.mouth_window[0], rows),
            _inside(self.mouth_window[1], columns),
        )
        self._pixels = np.ascontiguousarray(base[top:bottom, left:right])
        # Crop coordinates, and the same from the face's centre, for head motion in pixels.
        self._y, self._x = np.mgrid[0 : bottom - top, 0 : right - left].astype(np.float32)
        self._dx = self._x - np.float32(self.centre[0] - left)
        self._dy = self._y - np.float32(self.centre[1] - top)

    def _window(self, extent: tuple[float, float, float, float], slack: float
                ) -> tuple[slice, slice]:  # fmt: skip
        """The crop's rows and columns whose face coordinates fall within ``extent``."""
        u_min, u_max, v_min, v_max = extent
        inside = (self.u >= u_min - slack) & (self.u <= u_max + slack)
        inside &= (self.v >= v_min - slack) & (self.v <= v_max + slack)
        rows = np.flatnonzero(inside.any(axis=1))
        columns = np.flatnonzero(inside.any(axis=0))
        if len(rows) == 0 or len(columns) == 0:
            return slice(0, 0), slice(0, 0)
        return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(columns[0]), int(columns[-1]) + 1)

    def moved(self, pose: _Pose) -> tuple[Grid, Grid]:
        """Where each pixel of the crop shows the photo from (crop coordinates), under head
        motion alone.

        The motion is a rotation and shift in the face's frame faded by ``weight``; rotations
        commute, so in pixels it is the same rotation about the face's centre and the shift
        turned by the photo's tilt: two multiply-adds a pixel, without the face's frame.
        """
        turn_u = -(pose.cos * pose.shift_u + pose.sin * pose.shift_v)
        turn_v = pose.sin * pose.shift_u - pose.cos * pose.shift_v
        shift_x = self._cos * turn_u - self._sin * turn_v
        shift_y = self._sin * turn_u + self._cos * turn_v
        x = self._dx * (pose.cos - 1)
        x += self._dy * pose.sin
        x += shift_x
        x *= self.weight
        x += self._x
        y = self._dy * (pose.cos - 1)
        y -= self._dx * pose.sin
        y += shift_y
        y *= self.weight
        y += self._y
        return x, y

    def moved_face(self, pose: _Pose, window: tuple[slice, slice]) -> tuple[Grid, Grid]:
        """Face coordinates of the point each pixel of a window shows under head motion."""
        u, v, weight = self.u[window], self.v[window], self.weight[window]
        u0 = u - pose.shift_u
        v0 = v - pose.shift_v
        moved_u = u + weight * (pose.cos * u0 + pose.sin * v0 - u)
        moved_v = v + weight * (-pose.sin * u0 + pose.cos * v0 - v)
        return np.asarray(moved_u, np.float32), np.asarray(moved_v, np.float32)

    def place(self, x: Grid, y: Grid, window: tuple[slice, slice], u: Grid, v: Grid) -> None:
        """Write a window's source points, given in the face's frame, into the crop's maps."""
        top, _, left, _ = self.crop
        window_x, window_y = self.to_pixels(u, v)
        x[window] = window_x - left
        y[window] = window_y - top

    def sample(self, x: Grid, y: Grid) -> Frame:
        """Bilinear lookup of the photo at crop positions, for the crop.

        OpenCV's fixed-point remap is exact at whole-pixel positions, so the pixels the
        animation leaves alone (weight 0) come back unchanged, and it is ~10x faster than
        gathering the four neighbours with numpy.
        """
        picture = cv2.remap(self._pixels, x, y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return np.asarray(picture, np.uint8)

    def _to_face(self, x: npt.NDArray[np.float64] | Grid, y: npt.NDArray[np.float64] | Grid
                 ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:  # fmt: skip
        dx, dy = x - self.centre[0], y - self.centre[1]
        return self._cos * dx + self._sin * dy, -self._sin * dx + self._cos * dy

    def to_pixels(self, u: Grid, v: Grid) -> tuple[Grid, Grid]:
        x = self._cos * u - self._sin * v + self.centre[0]
        y = self._sin * u + self._cos * v + self.centre[1]
        return x.astype(np.float32), y.astype(np.float32)

    def _crop_box(self, width: int, height: int) -> tuple[int, int, int, int]:
        corners_u = np.array([-1, 1, 1, -1]) * self._semi_u
        corners_v = self._mid_v + np.array([-1, -1, 1, 1]) * self._semi_v
        x, y = self.to_pixels(corners_u.astype(np.float32), corners_v.astype(np.float32))
        left, right = max(0, math.floor(x.min())), min(width, math.ceil(x.max()) + 1)
        top, bottom = max(0, math.floor(y.min())), min(height, math.ceil(y.max()) + 1)
        return top, bottom, left, right


class _MouthShape:
    """The jaw dropping: lower lip, lower teeth, chin and the cheeks' lower half move down
    together, the upper lip rises a little and the upper teeth stay with it.

    The lips part along the line between the photo's inner lips: on a smiling photo that runs
    between the two rows of teeth, so the photo's own lower teeth go down with the jaw. The gap
    is filled with a shaded interior (dark at the back, lighter toward the lips, edges faded
    over a few pixels), with teeth painted in only where the photo's mouth was shut.
    """

    def __init__(self, lm: npt.NDArray[np.float64], face_width: float, face_height: float,
                 colours: MouthColours) -> None:  # fmt: skip
        self._colours = colours
        upper = lm[[60, 61, 62, 63, 64]]
        lower = lm[[60, 67, 66, 65, 64]]
        split = 0.5 * (upper + lower)
        # A smooth curve through them: straight pieces make a gap with an angular "V" edge.
        self._split = np.polyfit(split[:, 0], split[:, 1], 2)
        self._corners = (float(split[:, 0].min()), float(split[:, 0].max()))
        self._left, self._right = float(lm[48, 0]), float(lm[54, 0])
        self._centre_u = 0.5 * (self._left + self._right)
        self._half = 0.5 * (self._right - self._left)
        self._jaw_half = 0.5 * float(lm[12, 0] - lm[4, 0])
        self._nose_v = float(lm[33, 1])
        self._chin_v = float(lm[8, 1])
        self._lip_depth = max(2.0, float(lm[57, 1] - lm[66, 1]))
        self._fade = 0.2 * face_height
        self._gap = _LIP_GAP * face_height
        self._teeth_shown = float(lm[66, 1] - lm[62, 1]) > _TEETH_SHOWN * face_height
        self._upper_teeth = _UPPER_TEETH * face_height
        self._lower_teeth = _LOWER_TEETH * face_height

    def extent(self) -> tuple[float, float, float, float]:
        half = 1.2 * self._jaw_half
        return self._centre_u - half, self._centre_u + half, self._nose_v, self._chin_v + self._fade

    def spread_extent(self) -> tuple[float, float, float, float]:
        """Where rounding or spreading the lips moves the skin at all: the lips' reach across,
        from the nose to three lips' depths under the line between them."""
        reach = _SPREAD_REACH * self._half
        line = np.polyval(self._split, np.linspace(*self._corners, 64))
        bottom = float(line.max()) + 3 * self._lip_depth
        return self._centre_u - reach, self._centre_u + reach, self._nose_v, bottom

    def apply(self, u: Grid, v: Grid, opening: float, shape: float, weight: Grid,
              spread_box: tuple[slice, slice]) -> tuple[Grid, Grid, _Interior | None]:  # fmt: skip
        """Source columns and rows for the mouth's window, and the interior where it shows.

        ``shape`` (-1 rounded .. 1 spread) narrows or widens the lips and the skin around them
        about the mouth's centre, within ``spread_box`` of the window (``spread_extent``).
        ``weight`` (the head-motion falloff) also fades the jaw out before the region's edge,
        which under the chin is narrower than the jaw.
        Everything is float32 and the interior is shaded only in the rows and columns the gap
        reaches: the window spans nose to chin, the gap a few lips' heights.
        """
        line = _polyval(self._split, np.clip(u, *self._corners))
        spread = _LIP_SPREAD * shape
        from_centre = u - np.float32(self._centre_u)
        source_u = u.copy()
        box = spread_box
        source_u[box] = self._spread(from_centre[box], v[box], line[box], spread, weight[box])
        x = from_centre / (self._half * (1 + spread))
        lens = _power(np.clip(1 - np.square(x), 0, 1), 0.7)  # widest in the middle
        across = np.cos(np.clip(from_centre * np.float32(0.5 * np.pi / (1.15 * self._jaw_half)),
                                -0.5 * np.pi, 0.5 * np.pi))  # fmt: skip
        amount = (self._gap * opening) * weight
        opened = amount * lens  # the lips' parting at the line
        jaw = amount * np.square(across)
        jaw *= _JAW_SHARE
        lips = opened - jaw
        lip_reach = line + 2 * self._lip_depth
        chin, below_chin = self._chin_v, self._chin_v + self._fade

        def drop(at: Grid) -> Grid:
            """The jaw's drop at face row ``at``: the lower lip's near the line, the chin's
            share below, faded out under the chin."""
            moved = _smoothstep(lip_reach, line, at)
            moved *= lips
            moved += jaw
            moved *= _smoothstep(below_chin, chin, at)
            return moved

        # Backward map: the source row whose moved position is v, by two fixed-point steps.
        lower = v - drop(v - drop(v))
        if self._teeth_shown:  # upper teeth are fixed to the skull: the upper lip stays
            lift, upper, top_edge = None, v, line
        else:
            lift = _UPPER_LIFT * opened
            rise = _smoothstep(self._nose_v, line, v)
            rise *= lift
            upper = v + _smoothstep(self._nose_v, line, v + rise) * lift
            top_edge = line - lift
        bottom_edge = line + opened * _smoothstep(below_chin, chin, line)
        middle = 0.5 * (top_edge + bottom_edge)
        inside = line + np.where(v < middle, np.float32(-0.5), np.float32(0.5))
        source = np.where(v < top_edge, upper, np.where(v > bottom_edge, lower, inside))
        gap = (v > top_edge) & (v < bottom_edge)
        rows, columns = np.flatnonzero(gap.any(axis=1)), np.flatnonzero(gap.any(axis=0))
        if len(rows) == 0:
            return source_u, source, None
        box = slice(int(rows[0]), int(rows[-1]) + 1), slice(int(columns[0]), int(columns[-1]) + 1)
        colour, opacity = self._interior(v[box], top_edge[box], bottom_edge[box], lens[box],
                                         x[box])  # fmt: skip
        return source_u, source, _Interior(box, colour, opacity)

    def _spread(self, from_centre: Grid, v: Grid, line: Grid, spread: float, weight: Grid
                ) -> Grid:  # fmt: skip
        """Source columns where the lips round or spread: the skin about the mouth's centre
        squeezed or stretched, most at the lips, fading toward the nose and below the lip."""
        around = np.clip(np.square(from_centre / (_SPREAD_REACH * self._half)), 0, 1)
        # Above the line the skin follows the lips from the nose down, below it for 3 lips.
        height_wise = _smoothstep(np.where(v < line, self._nose_v, line + 3 * self._lip_depth),
                                  line, v)  # fmt: skip
        scale = np.square(1 - around)
        scale *= height_wise
        scale *= weight
        scale *= spread
        scale += 1
        source_u: Grid = from_centre / scale
        source_u += np.float32(self._centre_u)
        return source_u

    def _interior(self, v: Grid, top_edge: Grid, bottom_edge: Grid, lens: Grid, x: Grid
                  ) -> tuple[npt.NDArray[np.float32], Grid]:  # fmt: skip
        """The gap's colour and opacity: a shaded lining, faded in over a share of its height
        at both lips (never a hard edge), with teeth where the photo's mouth was shut."""
        height = bottom_edge - top_edge
        from_top, from_bottom = v - top_edge, bottom_edge - v
        soft = np.maximum(1.5, _SOFT_EDGE * height)
        opacity = _smoothstep(0, soft, from_top) * _smoothstep(0, soft, from_bottom)
        opacity *= np.clip(height / 2, 0, 1)
        teeth = None if self._teeth_shown else (self._upper_teeth, self._lower_teeth)
        colour = self._colours.interior(from_top, from_bottom, x, lens, teeth)
        return colour, opacity


class _EyeShape:
    """The upper lid pulled down to the lower one, stretching the skin under the brow into a
    smooth lid."""

    def __init__(self, lm: npt.NDArray[np.float64], side: int,
                 photo_at: Callable[[Grid, Grid], npt.NDArray[np.float32]]) -> None:  # fmt: skip
        upper = lm[list(_UPPER_LID[side])]
        lower = lm[list(_LOWER_LID[side])]
        brow = lm[list(_BROW[side])]
        # Lids as smooth curves through their four landmarks: straight pieces between them
        # make a shut eye's lash line an angular "V" that reads as drawn, not as a lid.
        self._upper = np.polyfit(upper[:, 0], upper[:, 1], 2)
        self._lower = np.polyfit(lower[:, 0], lower[:, 1], 2)
        self._corners = (float(upper[:, 0].min()), float(upper[:, 0].max()))
        self._brow = brow[np.argsort(brow[:, 0])]
        self._centre = float(upper[:, 0].mean())
        self._width = self._corners[1] - self._corners[0]
        self._half = 0.5 * self._width * 1.4
        height = float(np.max(lower[:, 1]) - np.min(upper[:, 1]))
        # Landmarks often sit a little inside the visible eye; a lid that stops at them leaves
        # slivers of iris showing, so the shut lid covers a margin on both sides.
        self._pad_above = 0.3 * height
        self._pad_below = 0.3 * height
        self._bottom = float(np.max(lower[:, 1])) + self._pad_below
        self._lash_width = max(1.2, 0.12 * height)
        self._kept, self._skin = self._read_lid(photo_at)

    def _read_lid(self, photo_at: Callable[[Grid, Grid], npt.NDArray[np.float32]]
                  ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float32]]:  # fmt: skip
        """Where the brow's hair gives way to the lid's skin, as a curve across the eye of the
        share of the way from the brow's centre line to the upper lid, and the skin's colour.

        A shut lid stretches only the skin below the brow: brow hair pulled down over the eye
        reads as streaks. The colour is the middle of the skin's brightness range, clear of
        stray hairs and the crease's shadow below and of highlights above."""
        u = np.linspace(*self._corners, 9, dtype=np.float32)
        centre_line = np.interp(u, self._brow[:, 0], self._brow[:, 1]).astype(np.float32)
        upper = _polyval(self._upper, u) - np.float32(self._pad_above)
        shares = np.linspace(*_BROW_KEPT, 24, dtype=np.float32)
        v = centre_line + shares[:, None] * (upper - centre_line)
        colours = photo_at(np.broadcast_to(u, v.shape).copy(), v)
        lightening = np.diff(colours @ _LUMA, axis=0)  # dark hair above, lighter skin below
        found = np.argmax(lightening, axis=0) + 1
        skin = np.concatenate([colours[k:, column] for column, k in enumerate(found)])
        order = np.argsort(skin @ _LUMA)
        middle = skin[order[3 * len(order) // 10 : 7 * len(order) // 10]]
        return np.polyfit(u, shares[found], 2), middle.mean(axis=0)

    def extent(self) -> tuple[float, float, float, float]:
        top = float(self._brow[:, 1].min())
        return self._centre - self._half, self._centre + self._half, top, self._bottom

    def apply(self, u: Grid, v: Grid, closure: float) -> tuple[Grid, Grid, Grid]:
        """Source rows for the eye region, how much of the smoothed lid to lay over the
        stretched skin, and where to draw the lashes along the lid's edge and its fold.

        The lid's own lash line is squeezed away with the eye under it, so the closing lid gets
        a drawn one: a shut eye without lashes reads as a blank face. The smoothing erases the
        photo's crease too, and a lid smooth from brow to lashes still reads as no eye at all
        (dlib took test faces B and D with their eyes shut for other people: 0.44 and 0.51
        from themselves). So the lid gets its fold back: the eyeball's curve under it shades a
        soft arc along the open lid's arch, a little above it, as a shut eye shows it.
        """
        x = (u - self._centre) / self._half
        across = np.sqrt(np.clip(1 - x**4, 0, 1))  # flat in the middle: lids shut fully
        along = np.clip(u, *self._corners)  # beyond the corners the lids hold their level
        upper = _polyval(self._upper, along) - self._pad_above * across
        lower = _polyval(self._lower, along) + self._pad_below * across
        # The skin stretches from the brow's lower edge: the brow itself (its landmarks run
        # along its middle) stays put instead of smearing down with the lid.
        centre_line = np.interp(u, self._brow[:, 0], self._brow[:, 1]).astype(np.float32)
        kept = np.clip(_polyval(self._kept, along), *_BROW_KEPT)
        brow = centre_line + kept * (upper - centre_line)
        lid = upper + closure * across * (lower - upper)
        lid_span = np.maximum(lid - brow, 1e-3)
        above = brow + (v - brow) * (upper - brow) / lid_span
        below = upper + (v - lid) * (lower - upper) / np.maximum(lower - lid, 1e-3)
        inside = (v >= brow) & (v <= lower) & (across > 0) & (brow < upper)
        source = np.where(v < lid, above, below)
        short_of_corners = np.clip(4 * across, 0, 1)  # smoothing fades out there
        # The lid covers a margin beyond the corners, but its lashes end with the eye: drawn
        # across the margin too, a shut eye's lash line is wider than the open eye was.
        fade = _LASH_FADE * self._width
        inside_by = np.minimum(u - self._corners[0], self._corners[1] - u)
        within_corners = np.clip(inside_by / fade + 1, 0, 1)
        edge = np.clip(self._lash_width - np.abs(v - lid), 0, 1) * within_corners
        lash = _LASH_OPACITY * min(1.0, 2 * closure) * edge
        fold_at = upper + (1 - _FOLD_RISE) * self._pad_above * across
        fold = np.clip(1 - np.abs(v - fold_at) / (_FOLD_WIDTH * self._lash_width), 0, 1)
        fold *= np.clip(inside_by / (_FOLD_FADE * self._width), 0, 1)
        fold *= _FOLD_OPACITY * closure * (v < lid - self._lash_width)
        lash = np.maximum(lash, fold)
        # Smoothed as far as the skin is stretched (fully from twice its height), fading in
        # under the brow so the brow's edge keeps its detail.
        smoothing = np.clip(lid_span / np.maximum(upper - brow, 1e-3) - 1, 0, 1)
        smoothing *= _smoothstep(brow, brow + 0.4 * lid_span, v) * (v < lid) * inside
        smoothing *= short_of_corners
        return (
            np.where(inside, source, v).astype(np.float32),
            smoothing.astype(np.float32),
            lash.astype(np.float32),
        )

    def smoothed(self, window: Frame) -> npt.NDArray[np.float32]:
        """The eye's window as a stretched lid should look: blurred along the lid (not across,
        where the stretch has already smoothed it) and tinted toward the lid's skin."""
        sigma = _LID_BLUR * self._width
        blurred = cv2.GaussianBlur(window.astype(np.float32), (0, 0), sigmaX=sigma, sigmaY=0.5)
        return _LID_SKIN * self._skin + (1 - _LID_SKIN) * blurred


def _power(base: Grid, exponent: float) -> Grid:
    """``base ** exponent`` for ``base`` >= 0, as exp(exponent * log(base)): numpy's float32
    power is not vectorised (0.53 ms over a mouth's window, against 0.06 ms), and the two agree
    to within float32's last digits, far finer than a remap's 1/32 of a pixel."""
    with np.errstate(divide="ignore"):  # log(0) is -inf, and exp(-inf) the 0 it should be
        return np.exp(np.log(base) * np.float32(exponent))


def _polyval(coefficients: npt.NDArray[np.float64], x: Grid) -> Grid:
    """``np.polyval`` in float32: its float64 coefficients would turn a float32 map float64."""
    result = np.full_like(x, np.float32(coefficients[0]))
    for coefficient in coefficients[1:]:
        result *= x
        result += np.float32(coefficient)
    return result


def portrait_face(photo: Image.Image) -> Face:
    """The face a portrait would animate: for ingest, which must reject unusable photos early."""
    return find_face(np.asarray(photo.convert("RGB"), dtype=np.uint8))
