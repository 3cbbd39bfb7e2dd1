"""Frame composition: everything static is drawn once, each frame is only numpy and one affine.

Pillow drawing and resizing per frame would dominate render time, so backdrop, frame border,
label, titles and every subtitle cue are prepared up front as premultiplied layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from engine._models import Language
from engine._painter import WIDTH, rgb
from engine._speech import Cue
from engine._text import font, text_layer, wrap

Frame = npt.NDArray[np.uint8]

AI_LABEL: dict[Language, str] = {"zh-Hant": "AI生成", "zh-Hans": "AI生成", "en": "AI-generated"}
LABEL_ORIGIN = (18, 14)
_LABEL_FONT_SIZE = 44  # CJK glyphs at this size are ~40 px tall: above 5% of the frame height
_SUBTITLE_FONT_SIZE = {"zh-Hant": 46, "zh-Hans": 46, "en": 42}
_TITLE_FONT_SIZE = {"zh-Hant": 104, "zh-Hans": 104, "en": 72}
_SUBTITLE_MAX_WIDTH = 1100
_SUBTITLE_MAX_LINES = 2
_SUBTITLE_CENTRE_Y = 628
_PORTRAIT_BOX = (600, 470)  # largest window the portrait may fill, above the subtitle band
_PORTRAIT_TOP = 40
_FRAME_BORDER = 10
_KEN_BURNS_MARGIN = 1.12  # the pre-scaled portrait is this much larger than its window
_CUE_FADE_S = 0.12
_INTRO_CROSSFADE_S = 0.5
_OUTRO_FADE_S = 0.6


@dataclass(frozen=True)
class _Layer:
    """A premultiplied RGBA patch: blending is then one multiply-add per pixel."""

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
    def centred(cls, image: Image.Image, centre_y: int) -> _Layer:
        return cls.from_image(image, (WIDTH - image.width) // 2, centre_y - image.height // 2)

    def draw_onto(self, frame: Frame, opacity: float = 1.0) -> None:
        height, width = self.alpha.shape[:2]
        region = frame[self.y : self.y + height, self.x : self.x + width]
        blended = region * (1.0 - self.alpha * opacity) + self.premultiplied * opacity
        region[...] = blended.astype(np.uint8)


@dataclass(frozen=True)
class _TimedLayer:
    layer: _Layer
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Timeline:
    duration_s: float
    intro_s: float
    outro_start_s: float
    cues: tuple[Cue, ...]  # absolute times on the video timeline


class Scene:
    def __init__(
        self,
        background: Frame,
        portrait: Image.Image,
        frame_colour: str,
        language: Language,
        titles: tuple[str, str],
        timeline: Timeline,
    ) -> None:
        self._timeline = timeline
        self._label = _label_layer(language)
        intro_title, outro_title = titles
        self._intro = background.copy()
        _title_layer(intro_title, language, _SUBTITLE_CENTRE_Y - 300).draw_onto(self._intro)
        self._label.draw_onto(self._intro)
        self._outro_title = _title_layer(outro_title, language, _SUBTITLE_CENTRE_Y)
        self._window = _portrait_window(portrait.size)
        self._base = background.copy()
        _frame_border(self._window, frame_colour).draw_onto(self._base)
        _, _, width, height = self._window
        self._portrait = portrait.resize(
            (round(width * _KEN_BURNS_MARGIN), round(height * _KEN_BURNS_MARGIN)),
            Image.Resampling.LANCZOS,
        )
        self._cues = _subtitle_layers(timeline.cues, language)

    def frame_at(self, t: float) -> Frame:
        timeline = self._timeline
        fade_start = timeline.intro_s - _INTRO_CROSSFADE_S
        if t < fade_start:
            return self._intro.copy()
        frame = self._base.copy()
        x, y, width, height = self._window
        frame[y : y + height, x : x + width] = self._ken_burns(t / timeline.duration_s)
        for cue in self._cues:
            if cue.start_s <= t < cue.end_s:
                cue.layer.draw_onto(frame, _fade(t, cue.start_s, cue.end_s, _CUE_FADE_S))
        if t >= timeline.outro_start_s:
            appear = min(1.0, (t - timeline.outro_start_s) / _OUTRO_FADE_S)
            self._outro_title.draw_onto(frame, appear)
        self._label.draw_onto(frame)
        if t < timeline.intro_s:
            weight = (t - fade_start) / _INTRO_CROSSFADE_S
            mixed = self._intro * (1.0 - weight) + frame * weight
            return mixed.astype(np.uint8)
        return frame

    def _ken_burns(self, progress: float) -> Frame:
        """Slow push-in with a gentle drift, from a cheap affine of the pre-scaled portrait."""
        _, _, width, height = self._window
        visible = 0.98 - 0.08 * progress  # share of the pre-scaled portrait on screen
        step = visible * _KEN_BURNS_MARGIN
        slack_x = self._portrait.width * (1.0 - visible)
        slack_y = self._portrait.height * (1.0 - visible)
        anchor_x = 0.35 + 0.3 * progress
        anchor_y = 0.4 + 0.1 * progress
        view = self._portrait.transform(
            (width, height),
            Image.Transform.AFFINE,
            (step, 0.0, slack_x * anchor_x, 0.0, step, slack_y * anchor_y),
            Image.Resampling.BILINEAR,
        )
        return np.asarray(view, dtype=np.uint8)


def _fade(t: float, start: float, end: float, ramp: float) -> float:
    return max(0.0, min(1.0, (t - start) / ramp, (end - t) / ramp))


def _portrait_window(size: tuple[int, int]) -> tuple[int, int, int, int]:
    box_width, box_height = _PORTRAIT_BOX
    scale = min(box_width / size[0], box_height / size[1])
    width, height = round(size[0] * scale), round(size[1] * scale)
    return (WIDTH - width) // 2, _PORTRAIT_TOP + (box_height - height) // 2, width, height


def _frame_border(window: tuple[int, int, int, int], colour: str) -> _Layer:
    x, y, width, height = window
    pad = _FRAME_BORDER * 2
    image = Image.new("RGBA", (width + 2 * pad, height + 2 * pad), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle(
        (4, 6, width + 2 * pad - 1, height + 2 * pad - 1), 18, fill=(0, 0, 0, 110)
    )
    inner = pad - _FRAME_BORDER
    draw.rounded_rectangle(
        (
            inner,
            inner,
            inner + width + 2 * _FRAME_BORDER - 1,
            inner + height + 2 * _FRAME_BORDER - 1,
        ),
        12,
        fill=(*rgb(colour), 255),
    )
    return _Layer.from_image(image, x - pad, y - pad)


def _label_layer(language: Language) -> _Layer:
    face = font(language, _LABEL_FONT_SIZE)
    text = AI_LABEL[language]
    left, top, right, bottom = face.getbbox(text)
    pad_x, pad_y = 14, 8
    image = Image.new("RGBA", (round(right - left) + 2 * pad_x, round(bottom - top) + 2 * pad_y))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, image.width - 1, image.height - 1), 10, fill=(0, 0, 0, 150))
    draw.text((pad_x - left, pad_y - top), text, font=face, fill=(255, 255, 255, 255))
    return _Layer.from_image(image, *LABEL_ORIGIN)


def _title_layer(text: str, language: Language, centre_y: int) -> _Layer:
    face = font(language, _TITLE_FONT_SIZE[language])
    lines = wrap(text, face, _SUBTITLE_MAX_WIDTH)
    return _Layer.centred(text_layer(lines, face, outline=4, glow=(255, 200, 90)), centre_y)


def _subtitle_layers(cues: tuple[Cue, ...], language: Language) -> list[_TimedLayer]:
    """One layer per screenful: a long sentence is split into two-line chunks timed by length."""
    face = font(language, _SUBTITLE_FONT_SIZE[language])
    layers: list[_TimedLayer] = []
    for cue in cues:
        lines = wrap(cue.text, face, _SUBTITLE_MAX_WIDTH)
        chunks = [
            lines[i : i + _SUBTITLE_MAX_LINES] for i in range(0, len(lines), _SUBTITLE_MAX_LINES)
        ]
        weights = np.cumsum([0] + [sum(len(line) for line in chunk) for chunk in chunks])
        bounds = cue.start_s + (cue.end_s - cue.start_s) * weights / weights[-1]
        for chunk, start, end in zip(chunks, bounds[:-1], bounds[1:], strict=True):
            image = text_layer(chunk, face, outline=3)
            layers.append(
                _TimedLayer(_Layer.centred(image, _SUBTITLE_CENTRE_Y), float(start), float(end))
            )
    return layers
