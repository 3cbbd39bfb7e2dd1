"""Which voice speaks a greeting, and why: XTTS when it is configured, loads and speaks the
language, else the embedded default.

The choice is made once per render and names its reason, so an admin can see why a greeting
did not speak in the cloned voice; a render keeps the backend it was given for every scene.
XTTS is loaded at most once per process, and a failure is remembered too: a broken model
folder is not re-read for every render (restart the worker after fixing it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import structlog

from engine._models import SpokenLanguage
from engine.likeness._voice import EspeakWorldVoice, VoiceBackend
from engine.likeness._xtts import SPEAKERS_FILE, VoiceUnavailable, XttsVoice
from engine.likeness._xtts_text import LANGUAGE_NAME, XTTS_LANGUAGE

_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class VoiceSelection:
    """The backend for one render and, in words for an admin, why it was chosen."""

    backend: VoiceBackend
    reason: str


def select_voice(
    xtts_dir: Path | None, language: SpokenLanguage, *, has_samples: bool = True
) -> VoiceSelection:
    """XTTS from ``xtts_dir`` if it can speak this greeting, else the embedded default.

    ``has_samples`` False (no usable voice samples) needs XTTS's stock voices to be useful.
    """
    if xtts_dir is None:
        return _chosen(EspeakWorldVoice(), "TUANYUAN_XTTS_DIR is not set", language)
    if XTTS_LANGUAGE[language] is None:
        return _chosen(EspeakWorldVoice(), f"XTTS cannot speak {LANGUAGE_NAME[language]}", language)
    loaded = _load(xtts_dir.resolve())
    if isinstance(loaded, VoiceUnavailable):
        return _fallback(f"XTTS is unavailable: {loaded.reason}", language)
    if not has_samples and loaded.default_speaker is None:
        return _fallback(
            f"no usable voice samples, and {xtts_dir} has no {SPEAKERS_FILE} stock voice",
            language,
        )
    return _chosen(loaded, f"XTTS-v2 from {xtts_dir} on {loaded.device}", language)


@cache
def _load(folder: Path) -> XttsVoice | VoiceUnavailable:
    try:
        voice = XttsVoice.load(folder)
    except VoiceUnavailable as unavailable:
        return unavailable
    _log.info("xtts_loaded", folder=str(folder), device=voice.device)
    return voice


def _chosen(backend: VoiceBackend, reason: str, language: SpokenLanguage) -> VoiceSelection:
    _log.info("voice_selected", backend=backend.name, reason=reason, language=language)
    return VoiceSelection(backend, reason)


def _fallback(reason: str, language: SpokenLanguage) -> VoiceSelection:
    """XTTS was configured but cannot speak this greeting: a warning, for the operator."""
    backend = EspeakWorldVoice()
    _log.warning("voice_selected", backend=backend.name, reason=reason, language=language)
    return VoiceSelection(backend, reason)
