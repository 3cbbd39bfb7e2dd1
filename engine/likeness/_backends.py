"""Which voice speaks a greeting, and why: a cloning model (VoxCPM2 or XTTS-v2) when one is
configured, loads, may be used under the operator's licence and speaks the language, else the
embedded default.

Where both are installed, the device decides first. On a GPU VoxCPM2 comes first: its weights
are Apache-2.0, so it fits either licence the operator declares (``TUANYUAN_VOICE_LICENCE``),
and it speaks Cantonese. On a CPU it is about twelve times as slow as XTTS-v2 (real-time
factors in ``CPU_REAL_TIME_FACTOR``), so XTTS-v2 comes first there, and VoxCPM2 speaks only
when it is the one cloning voice allowed, with a reason that warns it will be slow. XTTS-v2's
weights are for non-commercial use only: with the licence declared ``commercial`` it is never
used, and the reason says so. The operator can force one voice (``TUANYUAN_VOICE_BACKEND``);
the licence still applies to it.

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

from engine._models import SpokenLanguage, VoiceChoice, VoiceLicence
from engine.likeness._voice import EspeakWorldVoice, VoiceBackend
from engine.likeness._voxcpm import LICENCE as VOXCPM_LICENCE
from engine.likeness._voxcpm import VoxcpmVoice
from engine.likeness._xtts import SPEAKERS_FILE, VoiceUnavailable, XttsVoice
from engine.likeness._xtts_text import LANGUAGE_NAME, XTTS_LANGUAGE

_log = structlog.get_logger(__name__)
XTTS_LICENCE = "Coqui Public Model License"
# CPU seconds per second of speech on the 2-vCPU benchmark machine (BENCHMARKS.md, "VoxCPM2 on
# CPU"): what makes VoxCPM2 a GPU voice and XTTS-v2 the CPU one.
CPU_REAL_TIME_FACTOR = {"voxcpm": 57.8, "xtts": 4.83}
_FORCED = "TUANYUAN_VOICE_BACKEND"


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
    forced: VoiceChoice | None = None,
    device: str | None = None,
) -> VoiceSelection:
    """The first cloning voice that can speak this greeting under ``licence``, in the order
    ``device`` sets (VoxCPM2 first on ``cuda``, XTTS first on ``cpu``; None: the device the
    models would load on); else the embedded default, with every cloning voice's reason.

    ``forced`` limits the choice to one voice, as the operator set it. ``has_samples`` False
    (no usable voice samples) needs XTTS's stock voices to be useful; VoxCPM2 then speaks in a
    voice of its own.
    """
    if forced == "default":
        return _chosen(EspeakWorldVoice(), f"{_FORCED}=default", language)
    if forced is not None:
        folder, variable = {
            "voxcpm": (voxcpm_dir, "TUANYUAN_VOXCPM_DIR"),
            "xtts": (xtts_dir, "TUANYUAN_XTTS_DIR"),
        }[forced]
        if folder is None:
            return _fallback(f"{_FORCED}={forced}, but {variable} is not set", language)
        xtts_dir, voxcpm_dir = (None, voxcpm_dir) if forced == "voxcpm" else (xtts_dir, None)
    if xtts_dir is None and voxcpm_dir is None:
        return _chosen(
            EspeakWorldVoice(), "neither TUANYUAN_VOXCPM_DIR nor TUANYUAN_XTTS_DIR is set", language
        )
    skipped: list[str] = []
    if xtts_dir is None or (voxcpm_dir is not None and (device or accelerator()) == "cuda"):
        chosen = _select_voxcpm(voxcpm_dir, xtts_dir, licence, skipped) if voxcpm_dir else None
        chosen = chosen or _select_allowed_xtts(xtts_dir, language, licence, has_samples, skipped)
    else:
        chosen = _select_allowed_xtts(xtts_dir, language, licence, has_samples, skipped)
        if chosen is not None and voxcpm_dir is not None:
            slower = CPU_REAL_TIME_FACTOR["voxcpm"] / CPU_REAL_TIME_FACTOR["xtts"]
            why = f"preferred on a CPU: VoxCPM2 is about {slower:.0f} times as slow"
            chosen = VoiceSelection(chosen.backend, f"{chosen.reason} ({why})")
        elif voxcpm_dir is not None:
            chosen = _select_voxcpm(voxcpm_dir, xtts_dir, licence, skipped)
    if chosen is None:
        return _fallback("; ".join(skipped), language)
    reason = chosen.reason if forced is None else f"{_FORCED}={forced}: {chosen.reason}"
    return _chosen(chosen.backend, reason, language)


def accelerator() -> str:
    """The device the cloning models load on: ``cuda`` when torch sees a GPU, else ``cpu``.

    torch is imported here only when both cloning voices are configured: it costs seconds."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _select_voxcpm(
    voxcpm_dir: Path, xtts_dir: Path | None, licence: VoiceLicence | None, skipped: list[str]
) -> VoiceSelection | None:
    """VoxCPM2 from ``voxcpm_dir`` if it loads, with why it was chosen (and a warning when it
    will speak on a CPU); else None, with why not appended to ``skipped``."""
    voxcpm = _load(VoxcpmVoice, voxcpm_dir.resolve())
    if not isinstance(voxcpm, VoxcpmVoice):
        skipped.append(f"VoxCPM2 is unavailable: {voxcpm.reason}")
        return None
    reason = f"VoxCPM2 from {voxcpm_dir} on {voxcpm.device} ({VOXCPM_LICENCE}"
    if licence == "commercial" and xtts_dir is not None:
        reason += ", fits TUANYUAN_VOICE_LICENCE=commercial; XTTS-v2 is non-commercial"
    elif skipped:
        reason += f"; {skipped[0]}"
    elif xtts_dir is not None:
        reason += "; preferred to XTTS-v2, which is non-commercial and has no Cantonese"
    if voxcpm.device == "cpu":
        reason += (
            f"; slow on a CPU: about {CPU_REAL_TIME_FACTOR['voxcpm']:.0f} seconds per second of "
            "speech, a GPU makes it practical"
        )
    return VoiceSelection(voxcpm, reason + ")")


def _select_allowed_xtts(
    xtts_dir: Path | None,
    language: SpokenLanguage,
    licence: VoiceLicence | None,
    has_samples: bool,
    skipped: list[str],
) -> VoiceSelection | None:
    """XTTS if it is configured, allowed under ``licence`` and can speak this greeting, with
    any earlier voice's reason for being skipped; else None, with why appended to ``skipped``."""
    if xtts_dir is None:
        return None
    if licence == "commercial":
        skipped.append(
            f"XTTS-v2 is not used: its weights' licence ({XTTS_LICENCE}) allows "
            "non-commercial use only, and TUANYUAN_VOICE_LICENCE is commercial"
        )
        return None
    xtts = _select_xtts(xtts_dir, language, has_samples=has_samples)
    if isinstance(xtts, str):
        skipped.append(xtts)
        return None
    return VoiceSelection(xtts.backend, f"{xtts.reason} ({skipped[0]})") if skipped else xtts


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
