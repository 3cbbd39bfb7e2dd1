"""WORLD vocoder analysis and the spectral operations the voice adaptation is made of: three
that move the whole voice (pitch, formant warp, long-term colour) and one that moves each frame
toward the subject's own nearest frame.

Everything runs at one analysis rate with one FFT size, so a long-term spectrum measured on the
subject's notes lines up bin for bin with one measured on espeak's output.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt
from scipy.fft import dct
from scipy.signal import resample_poly

with warnings.catch_warnings():
    # pyworld reads its own version through pkg_resources (kept by setuptools<81), whose import
    # warns of its deprecation: on every command an operator runs, about nothing they can change.
    warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
    import pyworld

RATE = 16_000
FFT_SIZE = 1024
BINS = FFT_SIZE // 2 + 1
FRAME_MS = 5.0
_F0_FLOOR_HZ = 60.0
_F0_CEIL_HZ = 500.0
# Frames this far below the loudest one are silence: they carry no timbre and would dilute it.
_SILENCE_DB = 45.0
_MEL_BANDS = 40
_CEPSTRA = 18

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Analysis:
    """One utterance as WORLD sees it: per 5 ms frame, F0 (0 = unvoiced), envelope, aperiodicity."""

    f0: Array
    envelope: Array  # power spectral envelope, frames x BINS
    aperiodicity: Array

    @property
    def voiced(self) -> npt.NDArray[np.bool_]:
        return self.f0 > 0

    def loud(self) -> npt.NDArray[np.bool_]:
        level = frame_level_db(self.envelope)
        return level > float(np.max(level, initial=-300.0)) - _SILENCE_DB


def to_rate(samples: npt.NDArray[np.float32], rate: int) -> Array:
    """Samples as float64 at RATE; WORLD wants doubles and a rate shared by every analysis."""
    if rate == RATE:
        return samples.astype(np.float64)
    divisor = np.gcd(RATE, rate)
    resampled: Array = resample_poly(samples.astype(np.float64), RATE // divisor, rate // divisor)
    return resampled


def analyse(samples: Array) -> Analysis:
    # dio + stonemask instead of harvest: ~10x faster, and its occasional octave slip is harmless
    # when only log-F0 statistics and a linear mapping are taken from it.
    f0, times = pyworld.dio(
        samples, RATE, f0_floor=_F0_FLOOR_HZ, f0_ceil=_F0_CEIL_HZ, frame_period=FRAME_MS
    )
    f0 = pyworld.stonemask(samples, f0, times, RATE)
    envelope = pyworld.cheaptrick(samples, f0, times, RATE, fft_size=FFT_SIZE)
    aperiodicity = pyworld.d4c(samples, f0, times, RATE, fft_size=FFT_SIZE)
    return Analysis(f0=f0, envelope=envelope, aperiodicity=aperiodicity)


def synthesise(analysis: Analysis) -> npt.NDArray[np.float32]:
    tracks = (analysis.f0, analysis.envelope, analysis.aperiodicity)
    samples = pyworld.synthesize(*(np.ascontiguousarray(t) for t in tracks), RATE, FRAME_MS)
    return np.asarray(samples, dtype=np.float32)


def frame_level_db(envelope: Array) -> Array:
    level: Array = 10.0 * np.log10(np.sum(envelope, axis=1) + 1e-20)
    return level


def log_f0_stats(analyses: list[Analysis]) -> tuple[float, float] | None:
    """Mean and standard deviation of log F0 over all voiced frames, or None with none voiced."""
    values = np.concatenate([np.log(a.f0[a.voiced]) for a in analyses])
    if len(values) < 20:
        return None
    return float(np.mean(values)), float(np.std(values))


def map_f0(f0: Array, source: tuple[float, float], target: tuple[float, float]) -> Array:
    """Gaussian log-F0 mapping: moves both the speaking pitch and how much it varies."""
    (source_mean, source_std), (target_mean, target_std) = source, target
    ratio = float(np.clip(target_std / max(source_std, 1e-3), 0.5, 2.0))
    mapped = np.zeros_like(f0)
    voiced = f0 > 0
    mapped[voiced] = np.exp((np.log(f0[voiced]) - source_mean) * ratio + target_mean)
    return np.clip(mapped, 0.0, _F0_CEIL_HZ * 1.5)


def warp(envelope: Array, alpha: float) -> Array:
    """Scale every frequency of the envelope by ``alpha``: > 1 is a shorter vocal tract.

    Formants of the output sit at alpha times the input's, which is the first-order difference
    between speakers' vocal tracts; interpolating log power keeps the formant shapes intact.
    """
    source_bins = np.clip(np.arange(BINS) / alpha, 0, BINS - 1)
    lower = np.minimum(source_bins.astype(np.int64), BINS - 2)
    weight = source_bins - lower
    log_env = np.log(envelope + 1e-20)
    warped = log_env[:, lower] * (1.0 - weight) + log_env[:, lower + 1] * weight
    return np.exp(warped)


def long_term_spectrum_db(analyses: list[Analysis]) -> Array:
    """Mean log envelope over the loud frames: the voice's average colour, per FFT bin."""
    frames = np.concatenate([a.envelope[a.loud()] for a in analyses])
    spectrum: Array = 10.0 * np.mean(np.log10(frames + 1e-20), axis=0)
    return spectrum


def equalise(envelope: Array, current_db: Array, target_db: Array, limit_db: float) -> Array:
    """Reshape the envelope's long-term spectrum into the target's, ignoring overall level.

    The correction is smoothed over ~200 Hz so it fixes colour (tilt, nasality, brightness) but
    cannot paint the target's harmonics or noise into the output.
    """
    difference = target_db - current_db
    difference -= np.mean(difference)
    kernel = np.hanning(15)
    smooth = np.convolve(np.pad(difference, 7, mode="edge"), kernel / kernel.sum(), "valid")
    gain = np.clip(smooth, -limit_db, limit_db)
    return envelope * (10.0 ** (gain / 10.0))


def cepstra(envelope: Array) -> Array:
    """Mel-cepstral coefficients 1..N of each envelope frame, without c0 (the level)."""
    return _shape_cepstra(np.log(envelope @ _mel_filters().T + 1e-20))


def band_shapes(envelope: Array) -> Array:
    """Each frame's log mel-band energies less their mean: the frame's spectral shape, its
    level left out (a shape taken from another frame must not change how loud this one is)."""
    bands = np.log(envelope @ _mel_filters().T + 1e-20)
    shapes: Array = bands - bands.mean(axis=1, keepdims=True)
    return shapes


def convert(
    analysis: Analysis,
    shapes: Array,
    voiced: npt.NDArray[np.bool_],
    neighbours: int,
    strength: float,
) -> Analysis:
    """Each loud frame reshaped toward the mean shape of its ``neighbours`` nearest frames among
    the subject's own ``shapes`` (nearest by mel cepstrum; voiced frames among the voiced ones,
    the rest among the rest), ``strength`` 1 taking their shape band for band.

    A non-parallel voice conversion: warp and equaliser leave espeak's vowels with espeak's
    own detail, and the nearest of the subject's frames is most often the same sound as the
    subject says it. Only the smooth band shape moves: harmonics and timing stay espeak's.
    """
    own = band_shapes(analysis.envelope)
    correction = np.zeros_like(own)
    loud = analysis.loud()
    for kind in (True, False):
        rows = loud & (analysis.voiced == kind)
        candidates = shapes[voiced == kind]
        if not rows.any() or len(candidates) < neighbours:
            continue
        nearest = _nearest(_shape_cepstra(own[rows]), _shape_cepstra(candidates), neighbours)
        correction[rows] = candidates[nearest].mean(axis=1) - own[rows]
    gain = np.exp(strength * correction @ _bands_to_bins())
    return Analysis(analysis.f0, analysis.envelope * gain, analysis.aperiodicity)


def _nearest(queries: Array, candidates: Array, count: int) -> npt.NDArray[np.int64]:
    """Indices of each query's ``count`` nearest candidates (squared Euclidean distance)."""
    distance = (
        np.sum(candidates * candidates, axis=1)[None, :] - 2.0 * queries @ candidates.T
    )  # each query's own norm is the same for every candidate: left out
    if count == 1:
        return np.asarray(np.argmin(distance, axis=1)[:, None], np.int64)
    return np.asarray(np.argpartition(distance, count - 1, axis=1)[:, :count], np.int64)


def _shape_cepstra(log_bands: Array) -> Array:
    coefficients: Array = dct(log_bands, type=2, norm="ortho", axis=1)
    return coefficients[:, 1 : _CEPSTRA + 1]


@cache
def _bands_to_bins() -> Array:
    """Linear interpolation from the mel bands' centres to every FFT bin, as a matrix."""
    filters = _mel_filters()
    centres = (filters @ np.arange(BINS)) / filters.sum(axis=1)
    bins = np.arange(BINS)
    return np.stack([np.interp(bins, centres, row) for row in np.eye(_MEL_BANDS)])


@cache
def _mel_filters() -> Array:
    def to_mel(hz: Array) -> Array:
        return 2595.0 * np.log10(1.0 + hz / 700.0)

    edges_mel = np.linspace(
        to_mel(np.array(80.0)), to_mel(np.array(RATE / 2 - 200)), _MEL_BANDS + 2
    )
    edges = 700.0 * (10.0 ** (edges_mel / 2595.0) - 1.0)
    frequencies = np.arange(BINS) * RATE / FFT_SIZE
    filters = np.zeros((_MEL_BANDS, BINS))
    for band in range(_MEL_BANDS):
        low, centre, high = edges[band : band + 3]
        rising = (frequencies - low) / (centre - low)
        falling = (high - frequencies) / (high - centre)
        filters[band] = np.clip(np.minimum(rising, falling), 0.0, None)
    return filters
