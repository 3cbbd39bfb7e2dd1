"""Data crossing the engine boundary; frozen so a spec cannot change under a running render."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    SecretBytes,
    SerializationInfo,
    StringConstraints,
    field_serializer,
    field_validator,
    model_validator,
)

from engine._errors import RenderError

Language = Literal["zh-Hant", "zh-Hans", "en"]
# The language the voice speaks: the text's own, or Cantonese reading Chinese text.
SpokenLanguage = Literal["zh-Hant", "zh-Hans", "yue", "en"]
# The use an operator declared for cloning weights (TUANYUAN_VOICE_LICENCE).
VoiceLicence = Literal["commercial", "noncommercial"]
# The voice the operator forces (TUANYUAN_VOICE_BACKEND); None: chosen by device and licence.
VoiceChoice = Literal["voxcpm", "xtts", "default"]
# How the subject appears: their photo animated, or the family's own video clips.
LikenessMode = Literal["portrait", "footage"]
Aspect = Literal["16:9", "9:16", "1:1"]
VIDEO_NOTE_SIDE = 640  # Telegram's round video notes are at most 640 px across
# How close the camera is: head and shoulders in a framed picture, or a close-up that fills the
# frame with the face as in a video call (the upright and square layouts' default).
Shot = Literal["portrait", "close_up"]
# "preview" is a short, half-size, fast-preset render of the first sentence: for choosing a
# template and for CI, never for delivery.
Mode = Literal["full", "preview"]


SYNTHETIC_MEDIA = "synthetic-media"
# Serialisation context for handing a spec, key included, to a render worker over a pipe.
REVEAL_SECRETS = "reveal_secrets"


class ConsentReference(BaseModel, frozen=True):
    """The consent record a render relies on, as the caller checked it just before rendering.

    The engine cannot read the caller's records; it can refuse to work without one that is
    still valid when the render actually starts, which catches a queue that outlived it.
    """

    consent_id: str = Field(min_length=1, max_length=64)
    record_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    valid_until: AwareDatetime

    @classmethod
    def for_synthetic_media(cls) -> ConsentReference:
        """For media made by code (the stand-in face, test drawings) that depicts nobody."""
        return cls(
            consent_id=SYNTHETIC_MEDIA,
            record_hash=hashlib.sha256(SYNTHETIC_MEDIA.encode()).hexdigest(),
            valid_until=datetime.max.replace(tzinfo=UTC),
        )


class Marking(BaseModel, frozen=True):
    """How a render is marked as this service's, so it can be recognised after a messenger
    recompressed it: the render's 40-bit token in the watermarks, the key behind their MAC, and
    the folder of the C2PA signing identity. The key never shows in a repr or a log."""

    token: int = Field(ge=0, lt=2**40)
    watermark_key: SecretBytes
    signing_dir: Path
    propagator: str = ""

    @field_validator("watermark_key", mode="before")
    @classmethod
    def _key_from_hex(cls, value: object) -> object:
        # JSON carries the key as hex; a masked "**********" is not hex and fails loudly.
        return bytes.fromhex(value) if isinstance(value, str) else value

    @field_serializer("watermark_key", when_used="json")
    def _key_to_hex(self, key: SecretBytes, info: SerializationInfo) -> str:
        """Masked in any JSON, except the one a caller hands to its own render worker."""
        if info.context and info.context.get(REVEAL_SECRETS):
            return key.get_secret_value().hex()
        return str(key)


class RenderSpec(BaseModel, frozen=True):
    # The id ends up in file names, so it is restricted to characters that cannot escape output_dir.
    render_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    template_id: str
    language: Language
    # A photo of the subject; may be left out when ``footage`` shows them (its best frame is used).
    portrait: Path | None = None
    # Every accepted voice note of the subject: the voice is adapted to all of them.
    voice_samples: tuple[Path, ...] = ()
    # The family's own video clips; the usable ones replace the animated photo (footage mode).
    footage: tuple[Path, ...] = ()
    # Force the animated photo or the family's footage; None picks from what the material allows.
    likeness: LikenessMode | None = None
    # None speaks the text's language; "yue" reads Chinese text in Cantonese.
    spoken_language: SpokenLanguage | None = None
    # The subject's speaker profile as an earlier render returned it (``RenderResult``); None
    # computes it from ``voice_samples``. A profile that no longer reads is computed again.
    speaker_profile: Path | None = None
    # The operator's XTTS-v2 weights (config.json, model.pth, vocab.json): the subject's cloned
    # voice when it loads and speaks the language; None or unusable: the embedded voice.
    xtts_dir: Path | None = None
    # The operator's VoxCPM2 weights (Apache-2.0; preferred to XTTS when both load), and the
    # licence they declared acceptable (TUANYUAN_VOICE_LICENCE): "commercial" keeps XTTS out.
    voxcpm_dir: Path | None = None
    voice_licence: VoiceLicence | None = None
    # The voice the operator forces (TUANYUAN_VOICE_BACKEND), the licence still applying.
    voice_backend: VoiceChoice | None = None
    recipient: str = Field(min_length=1, max_length=64)
    sender: str = Field(default="", max_length=64)
    # Who is in the portrait, as the recipient calls them ("Grandpa"); fills {subject}.
    subject: str = Field(default="", max_length=64)
    # The sender's own words, said in place of the template's between its salutation and its
    # sentences naming {sender} (see engine.greeting_text, which shows the whole text).
    message: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=600)]
        | None
    ) = None
    output_dir: Path
    aspect: Aspect = "16:9"
    # Telegram's round video note: the 1:1 picture at VIDEO_NOTE_SIDE, the AI label where the
    # circle shows it.
    video_note: bool = False
    # A close-up whatever the template's layout for the aspect (upright and square greetings
    # are close-ups already); the layouts' own shots keep the face large enough otherwise.
    close_up: bool = False
    mode: Mode = "full"
    # "Make it again": another take of the same greeting, with other camera and timing choices
    # (engine._render.Take says which); 0 is the template as written.
    take: int = Field(default=0, ge=0, le=99)
    # Which detected face to feature when the photo shows several (see PortraitInfo.faces).
    face_index: int | None = Field(default=None, ge=0)
    # No consent, no render: render() refuses a spec without one that is current.
    consent: ConsentReference | None = None
    # Watermarks, AIGC metadata and C2PA signature; None only for previews and benchmarks.
    marking: Marking | None = None

    @model_validator(mode="after")
    def _shows_someone(self) -> RenderSpec:
        if self.portrait is None and not self.footage:
            raise ValueError("a render needs a portrait or footage of the subject")
        if self.video_note and self.aspect != "1:1":
            raise ValueError("a video note is square")
        return self

    @property
    def speaks(self) -> SpokenLanguage:
        return self.spoken_language or self.language

    def require_current_consent(self, now: datetime | None = None) -> None:
        if self.consent is None:
            raise RenderError(f"render {self.render_id} has no consent reference")
        if self.consent.valid_until <= (now or datetime.now(UTC)):
            raise RenderError(f"render {self.render_id}: consent {self.consent.consent_id} ended")


class RenderResult(BaseModel, frozen=True):
    video: Path
    thumbnail: Path
    duration_s: float
    width: int
    height: int
    size_bytes: int
    greeting_text: str
    likeness: LikenessMode  # what the greeting showed
    voice: str  # the voice backend that spoke it
    voice_reason: str  # why that one, in words for an admin
    # Written when this render computed or extended the speaker profile: the caller keeps it
    # (with the subject's other derived data) and passes it back as ``speaker_profile``.
    speaker_profile: Path | None = None


# What a render is doing: the voice chosen and enrolled (and the photo and clips judged), the
# picture composed and encoded while the voice speaks, the sound mixed and the file marked and
# signed, the files written.
RenderStage = Literal["voice", "composing", "marking", "done"]


class RenderProgress(BaseModel, frozen=True):
    """How far a render has got, for a caller showing it to a person while they wait.

    ``fraction`` is over the whole render, never goes back, and reaches 1.0 with "done".
    """

    stage: RenderStage
    fraction: float = Field(ge=0.0, le=1.0)


class FaceBox(BaseModel, frozen=True):
    """A detected face in the upright photo, with the qualities that make a good portrait."""

    x: int
    y: int
    width: int
    height: int
    eyes_open: bool
    sharpness: float  # variance of the Laplacian over the face; higher is sharper
    brightness: float  # mean luma of the face, 0-255
    score: float  # overall portrait quality, 0-1; the best face or frame has the highest


class PortraitInfo(BaseModel, frozen=True):
    """Size as the viewer sees it, i.e. after applying the EXIF orientation."""

    width: int
    height: int
    faces: tuple[FaceBox, ...] = ()


class ClipInfo(BaseModel, frozen=True):
    """A stretch of an uploaded video where a face is visible and the camera is steady."""

    start_s: float
    end_s: float


class VideoInfo(BaseModel, frozen=True):
    """What an uploaded video holds once normalised (upright, constant rate, TV range)."""

    width: int
    height: int
    duration_s: float
    codec: str
    frame_rate: float
    rotation: int  # degrees the stored picture is turned to display upright
    variable_frame_rate: bool
    hdr: bool
    full_range: bool
    has_audio: bool
    best_frames_s: tuple[float, ...]  # timestamps of the best portrait frames, best first
    clips: tuple[ClipInfo, ...]


class VoiceInfo(BaseModel, frozen=True):
    duration_s: float
    # Seconds of detected speech: lets the bot ask again when a note is mostly silence.
    speech_s: float
    recommended_s: float = 20.0
    loudness_lufs: float | None = None  # integrated loudness before normalisation (EBU R128)
    noise_dbfs: float | None = None  # level of the pauses between speech
    snr_db: float | None = None
