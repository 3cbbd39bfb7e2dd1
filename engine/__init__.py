"""Tuanyuan's rendering engine: a portrait, voice notes and a template in, a greeting video out.

It knows nothing of Telegram or storage; callers pass paths and get paths back.
"""

from engine._errors import IngestError, RenderError
from engine._ingest import check_portrait, check_voice
from engine._models import Language, PortraitInfo, RenderResult, RenderSpec, VoiceInfo
from engine._render import render
from engine._speech import plain_speech
from engine._templates import list_templates, template_title

__all__ = [
    "IngestError",
    "Language",
    "PortraitInfo",
    "RenderError",
    "RenderResult",
    "RenderSpec",
    "VoiceInfo",
    "check_portrait",
    "check_voice",
    "list_templates",
    "plain_speech",
    "render",
    "template_title",
]
