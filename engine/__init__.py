"""Tuanyuan's rendering engine: a portrait, voice notes and a template in, a greeting video out.

It knows nothing of Telegram or storage; callers pass paths and get paths back.
"""

from engine._bench import BenchResult, bench_render
from engine._encoder import write_wav
from engine._errors import IngestError, RenderError
from engine._greeting import greeting_text, sayable
from engine._ingest import check_image, check_portrait, faces_in
from engine._memory import memory_file
from engine._models import (
    REVEAL_SECRETS,
    Aspect,
    ClipInfo,
    ConsentReference,
    FaceBox,
    Language,
    LikenessMode,
    Marking,
    Mode,
    PortraitInfo,
    RenderProgress,
    RenderResult,
    RenderSpec,
    RenderStage,
    Shot,
    SpokenLanguage,
    VideoInfo,
    VoiceChoice,
    VoiceInfo,
    VoiceLicence,
)
from engine._preview import preview_still, preview_template
from engine._render import Stages, render
from engine._stand_in import stand_in_portrait
from engine._templates import list_templates, template_festival, template_title
from engine._video import check_video, normalised_frames, video_frame
from engine._voice import check_voice, extract_speech, keep_sound
from engine._voice_note import DISCLOSURE, voice_note
from engine.likeness._voice import plain_speech

__all__ = [
    "DISCLOSURE",
    "REVEAL_SECRETS",
    "Aspect",
    "BenchResult",
    "ClipInfo",
    "ConsentReference",
    "FaceBox",
    "IngestError",
    "Language",
    "LikenessMode",
    "Marking",
    "Mode",
    "PortraitInfo",
    "RenderError",
    "RenderProgress",
    "RenderResult",
    "RenderSpec",
    "RenderStage",
    "Shot",
    "SpokenLanguage",
    "Stages",
    "VideoInfo",
    "VoiceChoice",
    "VoiceInfo",
    "VoiceLicence",
    "bench_render",
    "check_image",
    "check_portrait",
    "check_video",
    "check_voice",
    "extract_speech",
    "faces_in",
    "greeting_text",
    "keep_sound",
    "list_templates",
    "memory_file",
    "normalised_frames",
    "plain_speech",
    "preview_still",
    "preview_template",
    "render",
    "sayable",
    "stand_in_portrait",
    "template_festival",
    "template_title",
    "video_frame",
    "voice_note",
    "write_wav",
]
