"""Median speaking pitch, the one voice trait the default voice can cheaply imitate."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

_FRAME_S = 0.04
_HOP_S = 0.01
_F0_MIN_HZ = 60.0
_F0_MAX_HZ = 500.0
# YIN's aperiodicity threshold: frames whose best dip is above it are treated as unvoiced.
_VOICING_THRESHOLD = 0.25


def median_f0(samples: npt.NDArray[np.float32], rate: int) -> float | None:
    """Median F0 over voiced frames (YIN difference function), or None when nothing is voiced."""
    frame = int(_FRAME_S * rate)
    hop = int(_HOP_S * rate)
    if len(samples) < frame + hop:
        return None
    starts = np.arange(0, len(samples) - frame, hop)
    frames = samples[starts[:, None] + np.arange(frame)].astype(np.float64)
    frames -= frames.mean(axis=1, keepdims=True)
    energy = np.sqrt(np.mean(frames**2, axis=1))
    loud = energy > max(0.1 * float(np.max(energy)), 1e-4)
    frames = frames[loud]
    if len(frames) == 0:
        return None
    max_lag = int(rate / _F0_MIN_HZ)
    min_lag = int(rate / _F0_MAX_HZ)
    window = frame - max_lag
    cmnd = _cumulative_mean_normalised_difference(frames, window, max_lag)
    estimates = [f0 for row in cmnd if (f0 := _frame_f0(row, min_lag, rate)) is not None]
    return float(np.median(estimates)) if estimates else None


def _cumulative_mean_normalised_difference(
    frames: npt.NDArray[np.float64], window: int, max_lag: int
) -> npt.NDArray[np.float64]:
    head = frames[:, :window]
    diff = np.empty((len(frames), max_lag + 1))
    diff[:, 0] = 0.0
    for lag in range(1, max_lag + 1):
        delta = head - frames[:, lag : lag + window]
        diff[:, lag] = np.sum(delta * delta, axis=1)
    running = np.cumsum(diff[:, 1:], axis=1) / np.arange(1, max_lag + 1)
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] / np.maximum(running, 1e-12)
    return cmnd


def _frame_f0(cmnd: npt.NDArray[np.float64], min_lag: int, rate: int) -> float | None:
    below = np.flatnonzero(cmnd[min_lag:] < _VOICING_THRESHOLD)
    if len(below) == 0:
        return None
    lag = min_lag + int(below[0])
    # Walk down to the bottom of the dip, then refine between samples with a parabola.
    while lag + 1 < len(cmnd) and cmnd[lag + 1] < cmnd[lag]:
        lag += 1
    if 0 < lag < len(cmnd) - 1:
        left, mid, right = cmnd[lag - 1], cmnd[lag], cmnd[lag + 1]
        denominator = left - 2 * mid + right
        offset = 0.5 * (left - right) / denominator if denominator > 0 else 0.0
        return rate / (lag + offset)
    return rate / lag
