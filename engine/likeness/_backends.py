"""Which voice speaks a greeting, and why: a cloning model (VoxCPM2 or XTTS-v2) when one is
configured, loads, may be used under the operator's licence and speaks the language, else the
embedded default.

Where both are installed, VoxCPM2 comes first: its weights are Apache-2.0, so it fits either
licence the operator declares (``TUANYUAN_VOICE_LICENCE``), and it speaks Cantonese. XTTS-v2's
weights are for non-commercial use only: with the licence declared ``commercial`` it is never
used, and the reason says so.

The choice is made once per render and names its reason, so an admin can see why a greeting
did not speak in the cloned voice; a render keeps the backend it was given for every scene.
Each model is loaded at most once per process, and a failure is remembered too: a broken model
folder is not re-read for every render (restart the worker after fixing it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TypeVar

import structlog

from engine._models import SpokenLanguage, VoiceLicence
from engine.likeness._voice import EspeakWorldVoice, VoiceBackend
from engine.likeness._voxcpm import LICENCE as VOXCPM_LICENCE
from engine.likeness._voxcpm import VoxcpmVoice
from engine.likeness._xtts import SPEAKERS_FILE, VoiceUnavailable, XttsVoice
from engine.likeness._xtts_text import LANGUAGE_NAME, XTTS_LANGUAGE

_log = structlog.get_logger(__name__)
XTTS_LICENCE = "Coqui Public Model License"


@dataclass(frozen=True)
class VoiceSelection:
    """The backend for one render and, in words for an admin, why it was chosen."""

    backend: VoiceBackend
    reason: str


def select_voice(
    xtts_dir: Path | None,
    language: SpokenLanguage,
    *,
    has_samples: bool = True,
    voxcpm_dir: Path | None = None,
    licence: VoiceLicence | None = None,
) -> VoiceSelection:
    """VoxCPM2 from ``voxcpm_dir``, else XTTS from ``xtts_dir``, whichever first can speak this
    greeting under ``licence``; else the embedded default, with every cloning voice's reason.

    ``has_samples`` False (no usable voice samples) needs XTTS's stock voices to be useful;
    VoxCPM2 then speaks in a voice of its own.
    """
    if xtts_dir is None and voxcpm_dir is None:
        return _chosen(
            EspeakWorldVoice(), "neither TUANYUAN_VOXCPM_DIR nor TUANYUAN_XTTS_DIR is set", language
        )
    skipped: list[str] = []
    if voxcpm_dir is not None:
        voxcpm = _load(VoxcpmVoice, voxcpm_dir.resolve())
        if isinstance(voxcpm, VoxcpmVoice):
            reason = f"VoxCPM2 from {voxcpm_dir} on {voxcpm.device} ({VOXCPM_LICENCE}"
            if licence == "commercial" and xtts_dir is not None:
                reason += ", fits TUANYUAN_VOICE_LICENCE=commercial; XTTS-v2 is non-commercial"
            elif xtts_dir is not None:
                reason += "; preferred to XTTS-v2, which is non-commercial and has no Cantonese"
            return _chosen(voxcpm, reason + ")", language)
        skipped.append(f"VoxCPM2 is unavailable: {voxcpm.reason}")
    if xtts_dir is not None:
        if licence == "commercial":
            skipped.append(
                f"XTTS-v2 is not used: its weights' licence ({XTTS_LICENCE}) allows "
                "non-commercial use only, and TUANYUAN_VOICE_LICENCE is commercial"
            )
        else:
            xtts = _select_xtts(xtts_dir, language, has_samples=has_samples)
            if isinstance(xtts, VoiceSelection):
                if skipped:
                    xtts = VoiceSelection(xtts.backend, f"{xtts.reason} ({skipped[0]})")
                return _chosen(xtts.backend, xtts.reason, language)
            skipped.append(xtts)
    return _fallback("; ".join(skipped), language)


def _select_xtts(
    xtts_dir: Path, language: SpokenLanguage, *, has_samples: bool
) -> VoiceSelection | str:
    """XTTS from ``xtts_dir`` if it can speak this greeting, else why not."""
    if XTTS_LANGUAGE[language] is None:
        return f"XTTS cannot speak {LANGUAGE_NAME[language]}"
    loaded = _load(XttsVoice, xtts_dir.resolve())
    if isinstance(loaded, VoiceUnavailable):
        return f"XTTS is unavailable: {loaded.reason}"
    if not has_samples and loaded.default_speaker is None:
        return f"no usable voice samples, and {xtts_dir} has no {SPEAKERS_FILE} stock voice"
    return VoiceSelection(loaded, f"XTTS-v2 from {xtts_dir} on {loaded.device}")


_Cloning = TypeVar("_Cloning", XttsVoice, VoxcpmVoice)


@cache
def _load(voice: type[_Cloning], folder: Path) -> _Cloning | VoiceUnavailable:
    """A cloning voice from the operator's folder, loaded once per process, or why not."""
    try:
        loaded = voice.load(folder)
    except VoiceUnavailable as unavailable:
        return unavailable
    _log.info(f"{loaded.name}_loaded", folder=str(folder), device=loaded.device)
    return loaded


def _chosen(backend: VoiceBackend, reason: str, language: SpokenLanguage) -> VoiceSelection:
    _log.info("voice_selected", backend=backend.name, reason=reason, language=language)
    return VoiceSelection(backend, reason)


def _fallback(reason: str, language: SpokenLanguage) -> VoiceSelection:
    """A cloning voice was configured but cannot speak this greeting: a warning, for the
    operator."""
    backend = EspeakWorldVoice()
    _log.warning("voice_selected", backend=backend.name, reason=reason, language=language)
    return VoiceSelection(backend, reason)
