"""Frame composition: everything static is drawn once, each frame is one affine and a few blends.

Pillow drawing and resizing per frame would dominate render time (it is moviepy's hot spot), so
backdrop, frame border, label and cards are prepared up front and each subtitle cue once, when
the timeline first holds it; per frame
there is one OpenCV affine of the pre-scaled portrait and small premultiplied blends, and only
transition frames touch the whole picture in floating point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol, get_args

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from engine._models import Aspect, FaceBox, Language, Shot
from engine._painter import Backdrop, PixelBox, rgb
from engine._speech import Cue
from engine._templates import Box, Layout, Motion, Template, Transition
from engine._text import font, screenfuls, text_layer, wrap
from engine._timeline import Timeline

Frame = npt.NDArray[np.uint8]

AI_LABEL: dict[Language, str] = {"zh-Hant": "AI生成", "zh-Hans": "AI生成", "en": "AI-generated"}
# Sizes at a shorter side of 720 px; everything scales with the frame.
FULL_SIZE: dict[Aspect, tuple[int, int]] = {
    "16:9": (1280, 720),
    "9:16": (720, 1280),
    "1:1": (720, 720),
}
_REFERENCE_SIDE = 720
_LABEL_MARGIN = (18, 14)
_LABEL_FONT_SIZE = 44  # where the search for the label's size starts (see _label_font)
# GB 45438-2025: the visible label's text at least 5% of the frame's shorter side tall.
LABEL_MIN_HEIGHT = 0.05
_SUBTITLE_FONT_SIZE = {"zh-Hant": 46, "zh-Hans": 46, "en": 42}
_TITLE_FONT_SIZE = {"zh-Hant": 104, "zh-Hans": 104, "en": 72}
_SUBTITLE_MAX_LINES = 2
_FRAME_BORDER = 10
_KEN_BURNS_MARGIN = 1.12  # the pre-scaled portrait is this much larger than its window
# The crop's width in face widths: head and shoulders, or a close-up as in a video call.
FACE_WIDTHS: dict[Shot, float] = {"portrait": 2.4, "close_up": 1.6}
_CUE_FADE_S = 0.12


def canvas_size(aspect: Aspect, scale: float) -> tuple[int, int]:
    """Frame size for an aspect at a scale of the 720-class size, rounded to even for yuv420p."""
    width, height = FULL_SIZE[aspect]
    return 2 * round(width * scale / 2), 2 * round(height * scale / 2)


class PortraitLayer(Protocol):
    """Produces the subject's picture for each frame, exactly the size of its window.

    The default is a slow camera move over a still photo; a talking portrait plugs in here.
    """

    def frame_at(self, t: float, progress: float) -> Frame: ...


@dataclass(frozen=True)
class _Layer:
    """A premultiplied RGBA patch: blending is then one multiply-add per pixel of the patch."""

    x: int
    y: int
    premultiplied: npt.NDArray[np.float32]
    alpha: npt.NDArray[np.float32]

    @classmethod
    def from_image(cls, image: Image.Image, x: int, y: int) -> _Layer:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / np.float32(255.0)
        alpha = rgba[..., 3:4]
        return cls(x=x, y=y, premultiplied=rgba[..., :3] * alpha * np.float32(255.0), alpha=alpha)

    @classmethod
    def centred_in(cls, image: Image.Image, box: tuple[int, int, int, int]) -> _Layer:
        x, y, width, height = box
        return cls.from_image(
            image, x + (width - image.width) // 2, y + (height - image.height) // 2
        )

    def draw_onto(self, frame: Frame, opacity: float = 1.0) -> None:
        region = self.region(frame)
        region[...] = self.blended(region, opacity)

    def region(self, frame: Frame) -> Frame:
        """The part of ``frame`` the layer covers (a view), clipped at the frame's edges."""
        height, width = self.alpha.shape[:2]
        return frame[self.y : self.y + height, self.x : self.x + width]

    def blended(self, region: Frame, opacity: float) -> Frame:
        alpha = self.alpha[: region.shape[0], : region.shape[1]]
        colour = self.premultiplied[: region.shape[0], : region.shape[1]]
        blended: npt.NDArray[np.float32] = region * (1.0 - alpha * opacity) + colour * opacity
        return blended.astype(np.uint8)

    def overlaps(self, box: tuple[int, int, int, int]) -> bool:
        x, y, width, height = box
        bottom, right = self.y + self.alpha.shape[0], self.x + self.alpha.shape[1]
        return self.x < x + width and x < right and self.y < y + height and y < bottom


@dataclass(frozen=True)
class _TimedLayer:
    layer: _Layer
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Look:
    """What the template decides about the picture, resolved for one language and aspect."""

    layout: Layout
    frame_colour: str
    title_glow: str
    language: Language
    titles: tuple[str, str]
    transitions: tuple[Transition, Transition]
    circle: bool = False  # shown in a circle (a video note): the label inside it, over the portrait

    @classmethod
    def of(
        cls, template: Template, layout: Layout, language: Language, *, circle: bool = False
    ) -> Look:
        """The template's look in ``layout`` and ``language``: a render and a preview still
        must show a template alike."""
        return cls(
            layout=layout,
            frame_colour=template.palette.frame,
            title_glow=template.palette.title_glow,
            language=language,
            titles=(template.intro_title.pick(language), template.outro_title.pick(language)),
            transitions=(template.transitions.intro, template.transitions.outro),
            circle=circle,
        )


def pixel_box(box: Box, size: tuple[int, int]) -> tuple[int, int, int, int]:
    width, height = size
    return round(box.x * width), round(box.y * height), round(box.w * width), round(box.h * height)


def portrait_window(
    layout: Layout, size: tuple[int, int], footage_aspect: float | None = None
) -> tuple[int, int, int, int]:
    """The subject's window: for a photo, the layout's whole subject box; for the family's
    clips, the largest window of the clip's shape (3:4 portrait to 4:3 landscape at most)
    centred in it.

    The camera crops a photo to the window's shape around the face, so the face's size on
    screen follows the box and the shot (``face_share``), not the photo's proportions (a
    window shrunk to a 3:4 photo left the face about 16 % of a 16:9 frame's width); a clip is
    shown whole, as the family filmed it, so its window keeps the clip's shape.
    """
    x, y, box_w, box_h = pixel_box(layout.subject, size)
    if footage_aspect is None:
        return x, y, box_w, box_h
    aspect = min(max(footage_aspect, 0.75), 4 / 3)
    width = min(box_w, round(box_h * aspect))
    height = min(box_h, round(width / aspect))
    return x + (box_w - width) // 2, y + (box_h - height) // 2, width, height


def face_share(layout: Layout, size: tuple[int, int], framing: float) -> float:
    """The smallest the featured face is drawn, in face widths per shorter side of the frame,
    over every camera move and any take's ``framing`` up to the one given.

    The crop spans at most ``FACE_WIDTHS[shot] * framing`` face widths of the photo (fewer when
    the photo is smaller) and the camera shows at most ``_MOST_VISIBLE`` of it, so the face is
    never narrower than this on screen: the one number that decides whether a layout keeps a
    face large enough on a phone.
    """
    _, _, width, _ = pixel_box(layout.subject, size)
    widest = FACE_WIDTHS[layout.shot] * framing * _MOST_VISIBLE
    return width / widest / min(size)


class KenBurns:
    """A slow camera move over the still portrait, from a cheap affine of a pre-scaled copy.

    ``shot`` says how close the crop the move starts from is (``FACE_WIDTHS``); ``framing``
    scales it: below 1 it is closer on the face, above 1 it shows more around it (another take
    of a greeting varies it).
    """

    def __init__(
        self,
        portrait: Image.Image,
        window: tuple[int, int],
        face: FaceBox,
        motion: Motion,
        framing: float = 1.0,
        shot: Shot = "portrait",
    ) -> None:
        width, height = window
        # Frame the shot around the chosen face first, so the move stays on it and a
        # neighbour in a group photo stays out of the picture.
        crop = _crop_around(portrait.size, width / height, face, FACE_WIDTHS[shot] * framing)
        scaled_size = (round(width * _KEN_BURNS_MARGIN), round(height * _KEN_BURNS_MARGIN))
        scaled = portrait.crop(crop).resize(scaled_size, Image.Resampling.LANCZOS)
        self.still = np.ascontiguousarray(np.asarray(scaled, dtype=np.uint8))
        self._window = window
        self._motion = motion
        scale_x = scaled_size[0] / (crop[2] - crop[0])
        scale_y = scaled_size[1] / (crop[3] - crop[1])
        # Where the featured face sits in the pre-scaled source, for layers that animate it.
        self.face_centre = (
            (face.x + face.width / 2 - crop[0]) * scale_x,
            (face.y + face.height / 2 - crop[1]) * scale_y,
        )

    def source_at(self, t: float) -> Frame:
        """The pre-scaled picture the camera moves over at time t: the still photo here."""
        return self.still

    def frame_at(self, t: float, progress: float) -> Frame:
        visible, anchor_x, anchor_y = _camera(self._motion, progress)
        width, height = self._window
        step = visible * _KEN_BURNS_MARGIN
        source = self.source_at(t)
        source_height, source_width = source.shape[:2]
        matrix = np.array(
            [
                [step, 0.0, source_width * (1.0 - visible) * anchor_x],
                [0.0, step, source_height * (1.0 - visible) * anchor_y],
            ],
            np.float64,
        )
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        warped = cv2.warpAffine(source, matrix, (width, height), flags=flags)
        return np.asarray(warped, np.uint8)


def _camera(motion: Motion, progress: float) -> tuple[float, float, float]:
    """(share of the pre-scaled portrait on screen, horizontal anchor, vertical anchor)."""
    if motion == "push_in":
        return 0.98 - 0.1 * progress, 0.5, 0.4 + 0.1 * progress
    if motion == "pull_out":
        return 0.88 + 0.1 * progress, 0.5, 0.5 - 0.1 * progress
    if motion == "drift_left":
        return 0.9, 0.8 - 0.6 * progress, 0.45
    return 0.9, 0.2 + 0.6 * progress, 0.45


# The most of the pre-scaled portrait any move shows (its widest moment): visible share is
# linear in progress, so the ends of each move bound it.
_MOST_VISIBLE = max(
    _camera(motion, progress)[0] for motion in get_args(Motion) for progress in (0.0, 1.0)
)


def _crop_around(
    size: tuple[int, int], aspect: float, face: FaceBox, face_widths: float
) -> tuple[int, int, int, int]:
    """A crop of the window's shape, at most ``face_widths`` face widths wide, with the face a
    little above centre where the photo allows."""
    width, height = size
    crop_w = min(width, round(height * aspect), round(face.width * face_widths))
    crop_h = round(crop_w / aspect)
    centre_x = face.x + face.width / 2
    centre_y = face.y + face.height * 0.7
    left = min(max(0, round(centre_x - crop_w / 2)), width - crop_w)
    top = min(max(0, round(centre_y - crop_h / 2)), height - crop_h)
    return left, top, left + crop_w, top + crop_h


class Scene:
    """Intro card, then the portrait greeting with subtitles, then the outro card."""

    def __init__(
        self,
        backdrop: Backdrop,
        portrait: PortraitLayer,
        window: tuple[int, int, int, int],
        look: Look,
        timeline: Timeline,
    ) -> None:
        background = backdrop.greeting
        height, width = background.shape[:2]
        self._size = (width, height)
        self._unit = min(width, height) / _REFERENCE_SIDE
        self._timeline = timeline
        self._portrait = portrait
        self._window = window
        self._transitions = look.transitions
        language = look.language
        self._label = _label_layer(language, self._unit, width if look.circle else None)
        self._label_over = look.circle  # the circle's top is the portrait's: drawn on each frame
        title_box = pixel_box(look.layout.title, self._size)
        intro_title, outro_title = look.titles
        self._intro, self._outro = backdrop.card.copy(), backdrop.card.copy()
        for card, title in ((self._intro, intro_title), (self._outro, outro_title)):
            _title_layer(title, language, title_box, look.title_glow, self._unit).draw_onto(card)
            self._label.draw_onto(card)
        self._base = background.copy()
        _frame_border(window, look.frame_colour, self._unit).draw_onto(self._base)
        self._label.draw_onto(self._base)  # static, clear of portrait and subtitles: drawn once
        self._language = language
        self._subtitle_box = pixel_box(look.layout.subtitles, self._size)
        self._cues: list[_TimedLayer] = []
        self._cues_drawn = 0  # the timeline's cues that have layers
        self._steady_cue: tuple[int, Frame] | None = None
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        self._across = (xs / width)[..., None]
        self._radius = (np.hypot(xs - width / 2, ys - height / 2) / np.hypot(width, height) * 2)[
            ..., None
        ]

    def frame_at(self, t: float) -> Frame:
        timeline = self._timeline
        fade = timeline.transition_s
        if t < timeline.intro_s - fade:
            return self._intro.copy()
        if t >= timeline.outro_start_s + fade:
            return self._outro.copy()
        frame = self._greeting(t)
        if t < timeline.intro_s:
            progress = (t - (timeline.intro_s - fade)) / fade
            return self._blend(self._intro, frame, self._transitions[0], progress)
        if t >= timeline.outro_start_s:
            progress = (t - timeline.outro_start_s) / fade
            return self._blend(frame, self._outro, self._transitions[1], progress)
        return frame

    def _greeting(self, t: float) -> Frame:
        frame = self._base.copy()
        x, y, width, height = self._window
        frame[y : y + height, x : x + width] = self._portrait.frame_at(
            t, self._timeline.progress(t)
        )
        if self._label_over:
            self._label.draw_onto(frame)
        showing = [
            (index, cue)
            for index, cue in enumerate(self._subtitles())
            if cue.start_s <= t < cue.end_s
        ]
        for index, cue in showing:
            opacity = _fade(t, cue.start_s, cue.end_s, _CUE_FADE_S)
            if opacity == 1.0 and len(showing) == 1 and not cue.layer.overlaps(self._window):
                cue.layer.region(frame)[...] = self._steady(index, cue.layer)
            else:
                cue.layer.draw_onto(frame, opacity)
        return frame

    def _steady(self, index: int, layer: _Layer) -> Frame:
        """Cue ``index`` fully shown over the backdrop alone: the same pixels for most of the
        cue's frames, so blended once and pasted (the latest cue's only is kept)."""
        if self._steady_cue is None or self._steady_cue[0] != index:
            self._steady_cue = (index, layer.blended(layer.region(self._base), 1.0))
        return self._steady_cue[1]

    def _subtitles(self) -> list[_TimedLayer]:
        """Layers for every cue settled so far; each is drawn once, when it is first needed."""
        cues = self._timeline.cues
        if len(cues) > self._cues_drawn:
            new = cues[self._cues_drawn :]
            self._cues += _subtitle_layers(new, self._language, self._subtitle_box, self._unit)
            self._cues_drawn = len(cues)
        return self._cues

    def _blend(self, old: Frame, new: Frame, kind: Transition, progress: float) -> Frame:
        """How much of ``new`` shows where: a soft-edged wipe, a growing circle, or a dissolve."""
        if kind == "crossfade":
            return np.asarray(cv2.addWeighted(old, 1.0 - progress, new, progress, 0.0), np.uint8)
        soft = np.float32(0.08)
        edge = self._across if kind == "wipe" else self._radius
        weight = np.clip((np.float32(progress) * (1 + soft) - edge) / soft, 0.0, 1.0)
        mixed = old + (new.astype(np.float32) - old) * weight
        return np.asarray(mixed, np.uint8)


@lru_cache(maxsize=16)
def _title_layer(
    text: str, language: Language, box: tuple[int, int, int, int], glow: str, unit: float
) -> _Layer:
    """A card's title, kept for the next render of the same template, language and size: its
    glow is a wide blur, the costliest text a render draws."""
    face = font(language, round(_TITLE_FONT_SIZE[language] * unit))
    lines = wrap(text, face, box[2])
    image = text_layer(lines, face, outline=max(1, round(4 * unit)), glow=rgb(glow))
    layer = _Layer.centred_in(image, box)
    layer.premultiplied.flags.writeable = layer.alpha.flags.writeable = False
    return layer


def _fade(t: float, start: float, end: float, ramp: float) -> float:
    return max(0.0, min(1.0, (t - start) / ramp, (end - t) / ramp))


def _frame_border(window: tuple[int, int, int, int], colour: str, unit: float) -> _Layer:
    x, y, width, height = window
    border = max(2, round(_FRAME_BORDER * unit))
    pad = border * 2
    image = Image.new("RGBA", (width + 2 * pad, height + 2 * pad), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle(
        (4, 6, width + 2 * pad - 1, height + 2 * pad - 1), 2 * border, fill=(0, 0, 0, 110)
    )
    inner = pad - border
    draw.rounded_rectangle(
        (inner, inner, inner + width + 2 * border - 1, inner + height + 2 * border - 1),
        border,
        fill=(*rgb(colour), 255),
    )
    return _Layer.from_image(image, max(0, x - pad), max(0, y - pad))


def label_layer_origin(unit: float) -> tuple[int, int]:
    return round(_LABEL_MARGIN[0] * unit), round(_LABEL_MARGIN[1] * unit)


def label_corner(width: int, height: int, circle: bool = False) -> PixelBox:
    """The top-left corner the AI label takes in a frame of this size (in a ``circle``, a video
    note, the top's middle), with a margin around it, for its widest language (English): the
    backdrop's motifs keep clear of it, and one backdrop serves every language."""
    unit = min(width, height) / _REFERENCE_SIDE
    label = _label_layer("en", unit, width if circle else None)
    gap = _LABEL_MARGIN[1] * unit
    left = label.x - gap if circle else 0.0
    return left, 0.0, label.x + label.alpha.shape[1] + gap, label.y + label.alpha.shape[0] + gap


def titles_area(template: Template, layout: Layout, width: int, height: int) -> PixelBox:
    """The area the cards' titles take in a frame of this size, glow included, in any language
    (the intro's and the outro's): the cards' motifs keep clear of it, and one card backdrop
    serves every language."""
    unit = min(width, height) / _REFERENCE_SIDE
    box = pixel_box(layout.title, (width, height))
    glow = template.palette.title_glow
    layers = [
        _title_layer(title.pick(language), language, box, glow, unit)
        for title in (template.intro_title, template.outro_title)
        for language in get_args(Language)
    ]
    return (
        min(layer.x for layer in layers),
        min(layer.y for layer in layers),
        max(layer.x + layer.alpha.shape[1] for layer in layers),
        max(layer.y + layer.alpha.shape[0] for layer in layers),
    )


def _label_font(language: Language, unit: float) -> ImageFont.FreeTypeFont:
    """The smallest size at which the label's "AI" (in every language's label) stands
    ``LABEL_MIN_HEIGHT`` of the shorter side from its top to the baseline.

    A fixed point size sized for CJK glyphs, which fill their em box, left the Latin letters
    at 4.4% of 720 px; measuring the Latin capitals themselves holds every label to the rule.
    The face is the monospaced cut, so that "AI" is never read as "Al".
    """
    target = LABEL_MIN_HEIGHT * _REFERENCE_SIDE * unit
    size = round(_LABEL_FONT_SIZE * unit)
    while -font(language, size, mono=True).getbbox("AI", anchor="ls")[1] < target:
        size += 1
    return font(language, size, mono=True)


def _label_layer(language: Language, unit: float, circle: int | None = None) -> _Layer:
    """The label at the top left, or centred at the top inside a ``circle`` of that diameter
    (a video note), its corners a margin inside the rim."""
    face = _label_font(language, unit)
    text = AI_LABEL[language]
    left, top, right, bottom = face.getbbox(text)
    pad_x, pad_y = round(14 * unit), round(8 * unit)
    image = Image.new("RGBA", (round(right - left) + 2 * pad_x, round(bottom - top) + 2 * pad_y))
    draw = ImageDraw.Draw(image)
    radius = round(10 * unit)
    # Dark enough that the white text stands out on the palest festival sky too.
    draw.rounded_rectangle((0, 0, image.width - 1, image.height - 1), radius, fill=(0, 0, 0, 200))
    draw.text((pad_x - left, pad_y - top), text, font=face, fill=(255, 255, 255, 255))
    if circle is None:
        return _Layer.from_image(image, *label_layer_origin(unit))
    rim = circle / 2
    below_rim = rim - math.sqrt(rim**2 - (image.width / 2) ** 2) + _LABEL_MARGIN[1] * unit
    return _Layer.from_image(image, round(rim - image.width / 2), round(below_rim))


def _subtitle_layers(
    cues: tuple[Cue, ...], language: Language, box: tuple[int, int, int, int], unit: float
) -> list[_TimedLayer]:
    """One layer per screenful: a long sentence is cut into screens (``screenfuls``) timed by
    length."""
    face = font(language, round(_SUBTITLE_FONT_SIZE[language] * unit))
    outline = max(1, round(3 * unit))
    layers: list[_TimedLayer] = []
    for cue in cues:
        chunks = screenfuls(cue.text, face, box[2], _SUBTITLE_MAX_LINES)
        weights = np.cumsum([0] + [sum(len(line) for line in chunk) for chunk in chunks])
        bounds = cue.start_s + (cue.end_s - cue.start_s) * weights / weights[-1]
        for chunk, start, end in zip(chunks, bounds[:-1], bounds[1:], strict=True):
            image = text_layer(chunk, face, outline=outline)
            layers.append(_TimedLayer(_Layer.centred_in(image, box), float(start), float(end)))
    return layers
