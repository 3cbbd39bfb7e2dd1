"""Festival templates are data (texts, layout, art, score); this module validates and finds them.

Everything a festival looks and sounds like lives in its ``template.json``; the code only knows
how to draw a handful of motifs, play a few instruments and lay layers out per aspect ratio.
"""

from __future__ import annotations

import json
import os
import string
from pathlib import Path
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from engine._errors import RenderError
from engine._models import Aspect, Language, Shot

T = TypeVar("T")
# {sender} and {subject} are optional on a spec: sentences naming them are dropped when empty.
# {you}: how the greeting addresses its recipient, one person or several (engine._address).
PLACEHOLDERS = frozenset({"recipient", "sender", "subject", "you"})
OPTIONAL_PLACEHOLDERS = frozenset({"sender", "subject"})
_TEMPLATE_FILE = "template.json"

Motif = Literal[
    "moon", "lantern", "cloud", "blossoms", "firework", "waves", "dragon_boat", "star_river",
    "magpie", "chrysanthemum", "mountain", "snowflake", "tangyuan", "tree", "gift", "balloon",
    "cake", "carnation", "heart", "confetti", "sun",
]  # fmt: skip
Transition = Literal["crossfade", "wipe", "iris"]
Motion = Literal["push_in", "pull_out", "drift_left", "drift_right"]
Instrument = Literal["pluck", "bell", "flute"]
# The festival a template greets, by name only: dating it is the caller's business.
FestivalId = Literal[
    "spring-festival", "lantern-festival", "qingming", "dragon-boat", "qixi", "mid-autumn",
    "double-ninth", "winter-solstice", "christmas", "new-year", "mothers-day", "fathers-day",
    "birthday",
]  # fmt: skip


class _Strict(BaseModel):
    # A typo in a template key must fail loudly rather than silently fall back to a default.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Localized(_Strict, Generic[T]):
    zh_hant: T = Field(alias="zh-Hant")
    zh_hans: T = Field(alias="zh-Hans")
    en: T

    def pick(self, language: Language) -> T:
        return {"zh-Hant": self.zh_hant, "zh-Hans": self.zh_hans, "en": self.en}[language]


def _hex_colour(value: str) -> str:
    if len(value) != 7 or value[0] != "#" or any(c not in string.hexdigits for c in value[1:]):
        raise ValueError(f"expected a colour like #1a2b3c, got {value!r}")
    return value


class DurationBounds(_Strict):
    min_s: float = Field(gt=0)
    max_s: float = Field(gt=0, le=120)

    @model_validator(mode="after")
    def _ordered(self) -> DurationBounds:
        if self.min_s >= self.max_s:
            raise ValueError("min_s must be below max_s")
        return self


class Palette(_Strict):
    sky_top: str
    sky_bottom: str
    frame: str
    title_glow: str
    stars: int = Field(ge=0, le=400)
    seed: int

    _colours = field_validator("sky_top", "sky_bottom", "frame", "title_glow")(_hex_colour)


class Decoration(_Strict):
    """One motif on the backdrop; position and size are fractions, so it fits every aspect."""

    motif: Motif
    x: float = Field(ge=-0.2, le=1.2)
    y: float = Field(ge=-0.2, le=1.2)
    size: float = Field(gt=0, le=1.0)  # of the frame's shorter side
    colour: str
    accent: str

    _colours = field_validator("colour", "accent")(_hex_colour)


class Box(_Strict):
    """A layer's place as fractions of the frame: left, top, width, height."""

    x: float = Field(ge=0, le=1)
    y: float = Field(ge=0, le=1)
    w: float = Field(gt=0, le=1)
    h: float = Field(gt=0, le=1)

    @model_validator(mode="after")
    def _inside(self) -> Box:
        if self.x + self.w > 1.0001 or self.y + self.h > 1.0001:
            raise ValueError("box reaches outside the frame")
        return self


class Layout(_Strict):
    """Where the subject's window, the subtitles and the cards' title sit, and how close the
    camera is on the face inside the window (``shot``)."""

    subject: Box
    subtitles: Box
    title: Box
    shot: Shot = "portrait"


def _default_layouts() -> dict[Aspect, Layout]:
    # Every default keeps the face at least FACE_SHARE_MIN of the shorter side (test_engine_scene
    # checks every template's), clear of the AI label in the top-left corner.
    return {
        "16:9": Layout(
            subject=Box(x=0.29, y=0.035, w=0.5, h=0.68),
            subtitles=Box(x=0.06, y=0.76, w=0.88, h=0.22),
            title=Box(x=0.06, y=0.2, w=0.88, h=0.3),
        ),
        "9:16": Layout(
            subject=Box(x=0.04, y=0.085, w=0.92, h=0.62),
            subtitles=Box(x=0.06, y=0.75, w=0.88, h=0.2),
            title=Box(x=0.06, y=0.3, w=0.88, h=0.2),
            shot="close_up",
        ),
        "1:1": Layout(
            subject=Box(x=0.15, y=0.15, w=0.7, h=0.57),
            subtitles=Box(x=0.06, y=0.76, w=0.88, h=0.22),
            title=Box(x=0.06, y=0.3, w=0.88, h=0.25),
            shot="close_up",
        ),
    }


VIDEO_NOTE_LAYOUT = Layout(
    subject=Box(x=0.0, y=0.0, w=1.0, h=1.0),
    subtitles=Box(x=0.16, y=0.66, w=0.68, h=0.18),
    title=Box(x=0.12, y=0.3, w=0.76, h=0.3),
)
"""A round video note's layout, whatever the template's: Telegram shows only the circle inscribed
in the square, so the picture fills the whole square, the head and shoulders as in a video call (a
close-up would put the face's top under the label), and the words sit where
the circle is still wide enough for them."""


class Note(_Strict):
    # Scale degree within the template's pentatonic scale (0 = tonic, 5 = tonic an octave up);
    # None is a rest. Degrees keep the melody in key whatever tonic the template picks.
    degree: int | None = Field(ge=-5, le=14)
    beats: float = Field(gt=0, le=8)


class Score(_Strict):
    tempo_bpm: float = Field(ge=30, le=200)
    tonic_hz: float = Field(ge=110, le=880)
    scale_semitones: tuple[int, int, int, int, int]
    instrument: Instrument
    melody: tuple[Note, ...] = Field(min_length=1)
    # Pad chords as scale degrees, one chord per bar of four beats, looped.
    pad_chords: tuple[tuple[int, ...], ...] = Field(min_length=1)
    # Drum hits per bar, in beats from the bar's start (empty: no drum).
    drum_beats: tuple[float, ...] = ()
    melody_gain: float = Field(gt=0, le=1)
    pad_gain: float = Field(gt=0, le=1)


class Timing(_Strict):
    intro_s: float = Field(ge=0.5, le=5)
    outro_s: float = Field(ge=0.5, le=5)
    lead_in_s: float = Field(ge=0, le=2)


class Transitions(_Strict):
    """How the intro card gives way to the greeting, and the greeting to the outro card."""

    intro: Transition
    outro: Transition
    duration_s: float = Field(ge=0.1, le=1.5)


class Template(_Strict):
    id: str
    festival: FestivalId
    names: Localized[str]
    duration: DurationBounds
    timing: Timing
    transitions: Transitions
    motion: Motion
    intro_title: Localized[str]
    outro_title: Localized[str]
    # One entry per spoken sentence and subtitle cue. A sentence naming {sender} or {subject} is
    # left out when the spec has none, so every greeting must read well without those sentences.
    greetings: Localized[tuple[str, ...]]
    palette: Palette
    decorations: tuple[Decoration, ...] = Field(min_length=1)
    layouts: dict[Aspect, Layout] = Field(default_factory=_default_layouts)
    music: Score

    @field_validator("greetings")
    @classmethod
    def _known_placeholders(cls, value: Localized[tuple[str, ...]]) -> Localized[tuple[str, ...]]:
        for sentences in (value.zh_hant, value.zh_hans, value.en):
            if not sentences:
                raise ValueError("each language needs at least one sentence")
            for sentence in sentences:
                if unknown := placeholders(sentence) - PLACEHOLDERS:
                    raise ValueError(f"unknown placeholder(s) {sorted(unknown)} in {sentence!r}")
            if all(placeholders(sentence) & OPTIONAL_PLACEHOLDERS for sentence in sentences):
                raise ValueError("needs at least one sentence without {sender} or {subject}")
        return value

    @field_validator("layouts")
    @classmethod
    def _every_aspect(cls, value: dict[Aspect, Layout]) -> dict[Aspect, Layout]:
        if missing := {"16:9", "9:16", "1:1"} - set(value):
            raise ValueError(f"missing layout(s) for {sorted(missing)}")
        return value


def placeholders(sentence: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(sentence) if name}


def templates_dir() -> Path:
    """The repo's templates, unless a deployment points elsewhere."""
    override = os.environ.get("TUANYUAN_TEMPLATES_DIR")
    return Path(override) if override else Path(__file__).resolve().parent.parent / "templates"


def list_templates() -> list[str]:
    root = templates_dir()
    if not root.is_dir():
        return []
    return sorted(p.parent.name for p in root.glob(f"*/{_TEMPLATE_FILE}"))


def load_template(template_id: str) -> Template:
    known = list_templates()
    if template_id not in known:
        raise RenderError(
            f"unknown template {template_id!r}; the templates in {templates_dir()} are "
            f"{', '.join(known) or 'none'}"
        )
    return _load_file(templates_dir() / template_id / _TEMPLATE_FILE)


def _load_file(path: Path) -> Template:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        template = Template.model_validate(raw)
    except json.JSONDecodeError as exc:
        raise RenderError(f"{path}: not valid JSON: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors()
        )
        raise RenderError(f"{path}: invalid template: {problems}") from exc
    if template.id != path.parent.name:
        raise RenderError(f"{path}: id: {template.id!r} does not match its folder name")
    return template


def template_title(template_id: str, language: Language) -> str:
    """The festival's name as a member sees it on the template keyboard."""
    return load_template(template_id).names.pick(language)


def template_festival(template_id: str) -> FestivalId:
    """Which festival the template greets (the bot dates it, to list upcoming ones first)."""
    return load_template(template_id).festival
