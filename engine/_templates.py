"""Festival templates are data (texts, palette, score); this module validates and finds them."""

from __future__ import annotations

import json
import os
import string
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from engine._errors import RenderError
from engine._models import Language

T = TypeVar("T")
_PLACEHOLDERS = frozenset({"recipient", "sender"})
_TEMPLATE_FILE = "template.json"


class _Strict(BaseModel):
    # A typo in a template key must fail loudly rather than silently fall back to a default.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Localized(_Strict, Generic[T]):
    zh_hant: T = Field(alias="zh-Hant")
    zh_hans: T = Field(alias="zh-Hans")
    en: T

    def pick(self, language: Language) -> T:
        return {"zh-Hant": self.zh_hant, "zh-Hans": self.zh_hans, "en": self.en}[language]


class DurationBounds(_Strict):
    min_s: float = Field(gt=0)
    max_s: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> DurationBounds:
        if self.min_s >= self.max_s:
            raise ValueError("min_s must be below max_s")
        return self


class Palette(_Strict):
    sky_top: str
    sky_bottom: str
    moon: str
    moon_glow: str
    lantern: str
    lantern_trim: str
    cloud: str
    osmanthus: str
    frame: str
    star_seed: int

    @field_validator(
        "sky_top",
        "sky_bottom",
        "moon",
        "moon_glow",
        "lantern",
        "lantern_trim",
        "cloud",
        "osmanthus",
        "frame",
    )
    @classmethod
    def _hex_colour(cls, value: str) -> str:
        if len(value) != 7 or value[0] != "#" or any(c not in string.hexdigits for c in value[1:]):
            raise ValueError(f"expected a colour like #1a2b3c, got {value!r}")
        return value


class Note(_Strict):
    # Scale degree within the template's pentatonic scale (0 = tonic, 5 = tonic an octave up);
    # None is a rest. Degrees keep the melody in key whatever tonic the template picks.
    degree: int | None = Field(ge=-5, le=14)
    beats: float = Field(gt=0, le=8)


class Score(_Strict):
    tempo_bpm: float = Field(ge=30, le=200)
    tonic_hz: float = Field(ge=110, le=880)
    scale_semitones: tuple[int, int, int, int, int]
    melody: tuple[Note, ...] = Field(min_length=1)
    # Pad chords as scale degrees, one chord per bar of four beats, looped.
    pad_chords: tuple[tuple[int, ...], ...] = Field(min_length=1)
    melody_gain: float = Field(gt=0, le=1)
    pad_gain: float = Field(gt=0, le=1)


class Timing(_Strict):
    intro_s: float = Field(ge=0.5, le=5)
    outro_s: float = Field(ge=0.5, le=5)
    lead_in_s: float = Field(ge=0, le=2)
    sentence_pause_s: float = Field(ge=0.1, le=2)


class Template(_Strict):
    id: str
    names: Localized[str]
    duration: DurationBounds
    timing: Timing
    intro_title: Localized[str]
    outro_title: Localized[str]
    # One entry per spoken sentence and subtitle cue. A sentence naming {sender} is left out when
    # there is no sender, so every greeting must read well without those sentences.
    greetings: Localized[tuple[str, ...]]
    palette: Palette
    music: Score

    @field_validator("greetings")
    @classmethod
    def _known_placeholders(cls, value: Localized[tuple[str, ...]]) -> Localized[tuple[str, ...]]:
        for sentences in (value.zh_hant, value.zh_hans, value.en):
            if not sentences:
                raise ValueError("each language needs at least one sentence")
            for sentence in sentences:
                fields = {name for _, name, _, _ in string.Formatter().parse(sentence) if name}
                if unknown := fields - _PLACEHOLDERS:
                    raise ValueError(f"unknown placeholder(s) {sorted(unknown)} in {sentence!r}")
            if all("{sender}" in sentence for sentence in sentences):
                raise ValueError("needs at least one sentence that does not name {sender}")
        return value


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
    if template_id not in list_templates():
        raise RenderError(f"unknown template {template_id!r} in {templates_dir()}")
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
