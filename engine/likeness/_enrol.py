"""Computing a subject's speaker profile once, from every accepted voice sample.

The formant warp is searched, not estimated from the long-term spectrum: a single LTAS-based
estimate went the wrong way for a male voice. Each candidate warp is applied (with the same
equalisation synthesis will use) to espeak's reference reading, and the candidate whose frames
are most likely under a small Gaussian mixture of the subject's own frames wins. After
equalisation the average spectra all agree, so what decides is whether the individual vowels
land where the subject's do.

Some voices score two distant warps alike (a woman's voice as espeak's shortened by 0.95 or by
1.4), and espeak's output, hence each score, shifts a little from call to call, so the plain
best flipped between them by chance. Among the warps within that noise of the best, the one
nearest no warp wins: a stronger warp makes espeak's phonemes harder to hear (BENCHMARKS.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import structlog

from engine._errors import IngestError
from engine._ingest import ANALYSIS_RATE, decode_audio
from engine.likeness import _world
from engine.likeness._profile import ProfileFormatError, SpeakerProfile
from engine.likeness._voice import Clip, VoiceBackend, adapt, base_pitch, reference

_log = structlog.get_logger(__name__)

WARP_CANDIDATES = tuple(round(0.75 + 0.05 * step, 2) for step in range(15))  # 0.75 .. 1.45
_SEARCH_VOICES = ("en", "cmn")
_MIXTURE_COMPONENTS = 8
_EM_ITERATIONS = 30
_MIN_VOICED_FRAMES = 200  # one second of voiced speech
_SAMPLE_SECONDS_USED = 120.0
# How far a warp's score (mean log-likelihood per frame) moves with espeak's state alone: up to
# about 0.3 for the same samples and warp in processes that had spoken different things before.
_SCORE_NOISE = 0.5


def decode_samples(paths: Sequence[Path]) -> list[Clip]:
    """Voice notes on disk as clips; undecodable notes are skipped, as ingest would."""
    clips: list[Clip] = []
    for path in paths:
        try:
            clips.append((decode_audio(path, max_seconds=_SAMPLE_SECONDS_USED), ANALYSIS_RATE))
        except IngestError as exc:
            _log.warning("voice_sample_skipped", sample=path.name, code=exc.code)
    return clips


def profile_from_files(paths: Sequence[Path]) -> SpeakerProfile:
    return build_profile(decode_samples(paths))


@runtime_checkable
class ChecksEnrolment(Protocol):
    """A backend whose stored enrolment can go stale (new weights) and must then be redone."""

    def is_enrolled(self, profile: SpeakerProfile) -> bool: ...


def enrolled_profile(
    cached: bytes | None, samples: Sequence[Path], backend: VoiceBackend
) -> tuple[SpeakerProfile | None, bool]:
    """The subject's profile ready for ``backend``, and whether the caller must store it anew.

    A cached profile already enrolled with ``backend`` costs nothing; otherwise the samples are
    decoded once for both the classical profile (if missing or unreadable) and the backend's
    enrolment. None: the samples hold too little voiced speech (or there are none); the
    backend then speaks in its own voice.
    """
    profile, repicked = None, False
    if cached is not None:
        try:
            profile = SpeakerProfile.from_bytes(cached)
        except ProfileFormatError as exc:
            _log.warning("speaker_profile_unreadable", error=str(exc))
    if profile is not None and profile.warp_scores:
        # A profile kept from before the milder pick took the plain best: its scores are kept
        # with it, so the warp is chosen again without the samples.
        alpha = _mildest_fit(profile.warp_scores)
        repicked = alpha != profile.warp_alpha
        profile = replace(profile, warp_alpha=alpha)
    if profile is not None and _is_enrolled(backend, profile):
        return profile, repicked
    if profile is None and not samples:
        return None, False
    clips = decode_samples(samples)
    if profile is None:
        try:
            profile = build_profile(clips)
        except IngestError as exc:
            _log.warning("speaker_profile_not_built", code=exc.code, **exc.details)
            return None, False
    return enrol_with(backend, profile, clips), True


def enrol_with(
    backend: VoiceBackend, profile: SpeakerProfile, clips: Sequence[Clip]
) -> SpeakerProfile:
    """``profile`` with ``backend``'s enrolment in its extensions, computed only when missing
    or stale. A profile records every backend that has enrolled the subject, with empty bytes
    for one that needs nothing beyond the classical profile, so no backend enrols twice.
    """
    if _is_enrolled(backend, profile):
        return profile
    blob = backend.enrol(clips) or b""
    _log.info("voice_enrolled", backend=backend.name, samples=len(clips), size=len(blob))
    return replace(profile, extensions={**profile.extensions, backend.name: blob})


def _is_enrolled(backend: VoiceBackend, profile: SpeakerProfile) -> bool:
    return backend.name in profile.extensions and (
        not isinstance(backend, ChecksEnrolment) or backend.is_enrolled(profile)
    )


def build_profile(clips: Sequence[Clip]) -> SpeakerProfile:
    """Raises IngestError("no_voiced_speech") when the samples hold too little voiced speech."""
    analyses = [_world.analyse(_world.to_rate(samples, rate)) for samples, rate in clips]
    voiced = [a for a in analyses if a.voiced.any()]
    stats = _world.log_f0_stats(voiced) if voiced else None
    frames = sum(int(np.count_nonzero(a.voiced & a.loud())) for a in voiced)
    if stats is None or frames < _MIN_VOICED_FRAMES:
        raise IngestError(
            "no_voiced_speech",
            "the voice samples hold too little voiced speech to learn the voice from",
            seconds=round(frames * _world.FRAME_MS / 1000, 2),
        )
    spectrum = _world.long_term_spectrum_db(voiced)
    features = np.concatenate([_world.cepstra(a.envelope[a.voiced & a.loud()]) for a in voiced])
    mixture = _fit_mixture(features)
    draft = SpeakerProfile(
        log_f0_mean=stats[0],
        log_f0_std=stats[1],
        warp_alpha=1.0,
        spectrum_db=tuple(float(v) for v in spectrum),
        speech_s=round(frames * _world.FRAME_MS / 1000, 2),
        sample_count=len(voiced),
    )
    scores = tuple((alpha, _warp_score(alpha, draft, mixture)) for alpha in WARP_CANDIDATES)
    best = _mildest_fit(scores)
    return SpeakerProfile(
        log_f0_mean=draft.log_f0_mean,
        log_f0_std=draft.log_f0_std,
        warp_alpha=best,
        spectrum_db=draft.spectrum_db,
        speech_s=draft.speech_s,
        sample_count=draft.sample_count,
        warp_scores=tuple((alpha, round(score, 4)) for alpha, score in scores),
    )


class _Mixture:
    """Diagonal-covariance Gaussian mixture: the subject's vowel and consonant classes."""

    def __init__(self, weights: _world.Array, means: _world.Array, variances: _world.Array) -> None:
        self.weights, self.means, self.variances = weights, means, variances

    def component_log_likelihood(self, features: _world.Array) -> _world.Array:
        diff = features[:, None, :] - self.means[None]
        exponent = -0.5 * np.sum(diff * diff / self.variances[None], axis=2)
        norm = -0.5 * np.sum(np.log(2 * np.pi * self.variances), axis=1)
        joint: _world.Array = exponent + norm[None] + np.log(self.weights)[None]
        return joint

    def mean_log_likelihood(self, features: _world.Array) -> float:
        return float(np.mean(_logsumexp(self.component_log_likelihood(features))))


def _fit_mixture(features: _world.Array) -> _Mixture:
    rng = np.random.default_rng(0)  # a fixed seed: the same samples always give the same profile
    count = len(features)
    floor = 1e-3 * np.var(features, axis=0) + 1e-6
    means = features[rng.choice(count, size=_MIXTURE_COMPONENTS, replace=False)]
    mixture = _Mixture(
        np.full(_MIXTURE_COMPONENTS, 1 / _MIXTURE_COMPONENTS),
        means,
        np.tile(np.var(features, axis=0), (_MIXTURE_COMPONENTS, 1)),
    )
    for _ in range(_EM_ITERATIONS):
        joint = mixture.component_log_likelihood(features)
        responsibility = np.exp(joint - _logsumexp(joint)[:, None])
        mass = responsibility.sum(axis=0) + 1e-9
        means = (responsibility.T @ features) / mass[:, None]
        variances = (responsibility.T @ (features * features)) / mass[:, None] - means**2
        mixture = _Mixture(mass / count, means, np.maximum(variances, floor))
    return mixture


def _mildest_fit(scores: Sequence[tuple[float, float]]) -> float:
    """The warp nearest 1 (none) among those scoring within ``_SCORE_NOISE`` of the best."""
    top = max(score for _, score in scores)
    fits = [alpha for alpha, score in scores if score >= top - _SCORE_NOISE]
    return min(fits, key=lambda alpha: abs(math.log(alpha)))


def _warp_score(alpha: float, profile: SpeakerProfile, mixture: _Mixture) -> float:
    frames = []
    for voice in _SEARCH_VOICES:
        pitch = base_pitch(voice, profile)  # as synthesis will speak for this subject
        for analysis in reference(voice, pitch).analyses:
            # Every third voiced frame: neighbours are near-duplicates at a 5 ms hop.
            kept = np.flatnonzero(analysis.voiced & analysis.loud())[::3]
            subset = _world.Analysis(
                analysis.f0[kept], analysis.envelope[kept], analysis.aperiodicity[kept]
            )
            frames.append(_world.cepstra(adapt(subset, voice, pitch, alpha, profile).envelope))
    return mixture.mean_log_likelihood(np.concatenate(frames))


def _logsumexp(values: _world.Array) -> _world.Array:
    top = np.max(values, axis=1)
    total: _world.Array = top + np.log(np.sum(np.exp(values - top[:, None]), axis=1))
    return total
