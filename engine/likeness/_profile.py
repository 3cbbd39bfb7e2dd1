"""What the engine keeps about a subject's voice: a few numbers, small, versioned, serialisable.

The bot stores the bytes with the subject's other derived data (encrypted once the vault lands)
and deletes them with it, so the format is self-contained and rejects anything it did not write.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_MAGIC = b"TUANYUAN-VOICE-PROFILE\n"
_VERSION = 1


class ProfileFormatError(ValueError):
    """The bytes are not a speaker profile this version of the engine can read."""


@dataclass(frozen=True)
class SpeakerProfile:
    """A subject's voice as classical signal processing measures it, from all accepted samples.

    ``warp_alpha`` is relative to espeak-ng's default voice, the one the default backend adapts,
    spoken at the pitch setting ``log_f0_mean`` picks (``_voice.base_pitch``).
    ``extensions`` holds other backends' per-subject data (a cloning model's speaker latents) so
    one blob per subject is stored and deleted together.
    """

    log_f0_mean: float
    log_f0_std: float
    warp_alpha: float
    spectrum_db: tuple[float, ...]
    speech_s: float
    sample_count: int
    warp_scores: tuple[tuple[float, float], ...] = ()
    extensions: Mapping[str, bytes] = field(default_factory=dict)

    @property
    def median_f0_hz(self) -> float:
        return math.exp(self.log_f0_mean)

    def to_bytes(self) -> bytes:
        body: dict[str, Any] = {
            "version": _VERSION,
            "log_f0_mean": self.log_f0_mean,
            "log_f0_std": self.log_f0_std,
            "warp_alpha": self.warp_alpha,
            "spectrum_db": [round(value, 3) for value in self.spectrum_db],
            "speech_s": self.speech_s,
            "sample_count": self.sample_count,
            "warp_scores": [list(pair) for pair in self.warp_scores],
            "extensions": {
                name: base64.b64encode(blob).decode() for name, blob in self.extensions.items()
            },
        }
        return _MAGIC + json.dumps(body, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> SpeakerProfile:
        if not data.startswith(_MAGIC):
            raise ProfileFormatError("not a Tuanyuan speaker profile")
        try:
            body = json.loads(data[len(_MAGIC) :])
            if body["version"] != _VERSION:
                raise ProfileFormatError(f"speaker profile version {body['version']} unsupported")
            return cls(
                log_f0_mean=float(body["log_f0_mean"]),
                log_f0_std=float(body["log_f0_std"]),
                warp_alpha=float(body["warp_alpha"]),
                spectrum_db=tuple(float(value) for value in body["spectrum_db"]),
                speech_s=float(body["speech_s"]),
                sample_count=int(body["sample_count"]),
                warp_scores=tuple((float(a), float(s)) for a, s in body["warp_scores"]),
                extensions={
                    str(name): base64.b64decode(blob, validate=True)
                    for name, blob in body["extensions"].items()
                },
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ProfileFormatError):
                raise
            raise ProfileFormatError(f"corrupt speaker profile: {exc}") from exc
