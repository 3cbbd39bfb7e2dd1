"""Data crossing the engine boundary; frozen so a spec cannot change under a running render."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

Language = Literal["zh-Hant", "zh-Hans", "en"]


class RenderSpec(BaseModel, frozen=True):
    # The id ends up in file names, so it is restricted to characters that cannot escape output_dir.
    render_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    template_id: str
    language: Language
    portrait: Path
    voice_samples: tuple[Path, ...] = ()
    recipient: str = Field(min_length=1, max_length=64)
    sender: str = Field(default="", max_length=64)
    output_dir: Path


class RenderResult(BaseModel, frozen=True):
    video: Path
    thumbnail: Path
    duration_s: float
    width: int
    height: int
    size_bytes: int
    greeting_text: str


class PortraitInfo(BaseModel, frozen=True):
    """Size as the viewer sees it, i.e. after applying the EXIF orientation."""

    width: int
    height: int


class VoiceInfo(BaseModel, frozen=True):
    duration_s: float
    # Rough seconds above the noise floor: lets the bot ask again when a note is mostly silence.
    speech_s: float
