"""Voice over music: music ducks under speech, then the mix is levelled and kept off 0 dBFS."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

MIX_RATE = 48_000
_VOICE_RMS_DBFS = -18.0
_MUSIC_ALONE_DB = -4.0  # relative to the voice level
_MUSIC_DUCKED_DB = -20.0
_DUCK_RAMP_S = 0.35
_CONTROL_RATE = 1000
_PEAK_CEILING = 10 ** (-1.0 / 20)


def to_mix_rate(samples: npt.NDArray[np.float32], rate: int) -> npt.NDArray[np.float32]:
    if rate == MIX_RATE:
        return samples
    divisor = np.gcd(rate, MIX_RATE)
    resampled = resample_poly(samples, MIX_RATE // divisor, rate // divisor)
    return np.asarray(resampled, dtype=np.float32)


def mix(
    voice: npt.NDArray[np.float32],
    voice_offset_s: float,
    speaking: Sequence[tuple[float, float]],
    music: npt.NDArray[np.float32],
) -> npt.NDArray[np.float32]:
    """Mix ``voice`` (placed at ``voice_offset_s``) over ``music``; both at MIX_RATE.

    ``speaking`` lists (start, end) seconds on the final timeline; the music is ducked there,
    with ramps that start early enough to be fully down when the first syllable lands.
    """
    total = len(music)
    voice_level = 10 ** (_VOICE_RMS_DBFS / 20)
    voice_track = np.zeros(total, np.float32)
    start = round(voice_offset_s * MIX_RATE)
    placed = voice[: max(0, total - start)]
    voice_track[start : start + len(placed)] = placed * (voice_level / max(_rms(placed), 1e-9))

    music_gain = np.full(total, 10 ** (_MUSIC_ALONE_DB / 20), np.float32)
    ducked = 10 ** (_MUSIC_DUCKED_DB / 20)
    ramp = int(_DUCK_RAMP_S * MIX_RATE)
    for begin_s, end_s in speaking:
        lo = max(0, int(begin_s * MIX_RATE) - ramp)
        hi = min(total, int(end_s * MIX_RATE) + ramp)
        music_gain[lo:hi] = ducked
    # The gain curve is smoothed at a 1 kHz control rate and interpolated back: the same ramps
    # as smoothing every sample, for a hundredth of the work on a long greeting.
    step = MIX_RATE // _CONTROL_RATE
    control = music_gain[::step]
    control_ramp = int(_DUCK_RAMP_S * _CONTROL_RATE)
    kernel = np.hanning(2 * control_ramp + 1)
    smooth = np.convolve(control, kernel / kernel.sum(), mode="same")
    smooth[:control_ramp] = smooth[control_ramp]  # `same` sags at the start; hold the level
    smoothed = np.interp(np.arange(total), np.arange(len(control)) * step, smooth).astype(
        np.float32
    )

    music_track = music * (voice_level / max(_rms(music), 1e-9)) * smoothed
    mixed = voice_track + music_track
    peak = float(np.max(np.abs(mixed))) if total else 0.0
    if peak > _PEAK_CEILING:
        mixed *= _PEAK_CEILING / peak
    return mixed.astype(np.float32)


def _rms(samples: npt.NDArray[np.float32]) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 1.0
