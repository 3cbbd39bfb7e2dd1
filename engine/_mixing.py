"""Voice over music: music ducks under speech and makes room in the voice's band, then the mix is
levelled and kept off 0 dBFS."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.signal import butter, resample_poly, sosfiltfilt

MIX_RATE = 48_000
_VOICE_RMS_DBFS = -18.0
_MUSIC_ALONE_DB = -4.0  # relative to the voice level
# Under speech: 22 dB below the music alone. With 16 dB, plus the band below, real speakers'
# similarity in the final mix rose by 0.02-0.06 with no loss of intelligibility (BENCHMARKS.md).
_MUSIC_DUCKED_DB = -26.0
# While speech plays the music's voice band is lowered further: speech intelligibility and a
# speaker's timbre live between ~300 Hz and 3.4 kHz, and the music's bass and air stay audible.
_VOICE_BAND_HZ = (300.0, 3400.0)
_CARVE_DB = -12.0
_MIN_FILTERED = 64  # samples; the zero-phase filter pads the ends and needs more than its order
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
    ducked = 10.0 ** (_MUSIC_DUCKED_DB / 20)
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

    # How far into a duck each sample is (0 with the music alone, 1 under speech) sets how much
    # of the music's voice band is taken out, so the carve follows the same ramps.
    alone = 10.0 ** (_MUSIC_ALONE_DB / 20)
    depth = np.clip((alone - smoothed) / (alone - ducked), 0.0, 1.0)
    taken_out = (1 - 10.0 ** (_CARVE_DB / 20)) * depth
    carved: npt.NDArray[np.float32] = music - taken_out * _voice_band(music)
    music_track = carved * (voice_level / max(_rms(music), 1e-9)) * smoothed
    mixed = voice_track + music_track
    peak = float(np.max(np.abs(mixed))) if total else 0.0
    if peak > _PEAK_CEILING:
        mixed *= _PEAK_CEILING / peak
    return mixed.astype(np.float32)


def _rms(samples: npt.NDArray[np.float32]) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 1.0


def _voice_band(music: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The music's voice band, filtered forwards and backwards (zero phase): subtracting it
    leaves the rest of the music untouched in time and phase."""
    if len(music) < _MIN_FILTERED:
        return np.zeros_like(music)
    sos = butter(2, _VOICE_BAND_HZ, "bandpass", fs=MIX_RATE, output="sos")
    return np.asarray(sosfiltfilt(sos, music), np.float32)
