"""Invisible audio mark: keyed +-gain patchwork on time-frequency cells of the final mix.

Why this shape: lossy codecs (AAC/MP3 at 64 kbps) keep the coarse spectral envelope they hear
and throw away fine detail, and resampling to 16 kHz drops everything above 8 kHz. So the mark
is a small multiplicative gain (+-`_STRENGTH`) on cells of 32 ms x 125 Hz between 312 Hz and
5.8 kHz, in pairs of consecutive cells of one band: the first goes up ~2 dB and the second
down (or the reverse) following a keyed chip times one coded bit. The detector reads the level
difference inside each pair, where music and speech, nearly stationary over 64 ms, cancel.
Being multiplicative it hides under the signal (nothing is added to silence). The pattern repeats
every 5.76 s, so a 6 s greeting holds it once and longer ones vote. The detector works at 16 kHz
whatever the input rate and searches a few ms of offset because codecs add delay.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
from scipy.signal import resample_poly

from engine._ingest import open_media
from engine.provenance._payload import (
    CODED_BITS,
    MarkReading,
    Payload,
    decode_confidence,
    encode,
    keyed_rng,
)

MARK_RATE = 48_000
_DETECT_RATE = 16_000
_FRAME = 1536  # 32 ms at 48 kHz; 31.25 Hz bins, the same grid as 512 samples at 16 kHz
_HOP = _FRAME // 2
_FIRST_BIN = 10
_BAND_BINS = 4
_BANDS = 44
_PERIOD_BLOCKS = 180  # blocks of two frames (32 ms): 5.76 s
_PAIRS = _PERIOD_BLOCKS // 2
# The mark's pattern repeats every 5.76 s from the file's first sample: audio put before a
# marked mix keeps it readable only when it lasts whole periods (engine._voice_note).
AUDIO_MARK_PERIOD_SAMPLES = _PERIOD_BLOCKS * _FRAME
_STRENGTH = 0.25
_OFFSET_STEPS = 8
_BLOCK_SHIFTS = (0, -1, 1, -2, 2)

Samples = npt.NDArray[np.float32]


@lru_cache(maxsize=4)
def _layout(key: bytes) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Coded bit and chip per (pair of blocks, band); the second block of a pair gets -chip."""
    rng = keyed_rng(key, "audio-layout-v1")
    cells = _PAIRS * _BANDS
    bit_of_cell = (rng.permutation(cells) % CODED_BITS).reshape(_PAIRS, _BANDS)
    chips = rng.choice(np.array([-1.0, 1.0]), cells).reshape(_PAIRS, _BANDS)
    return bit_of_cell, chips


def _window(size: int) -> npt.NDArray[np.float64]:
    """sqrt-Hann at 50 % overlap: analysis x synthesis sums to exactly 1, so unmarked cells stay."""
    return np.sqrt(0.5 - 0.5 * np.cos(2 * np.pi * np.arange(size) / size))


def embed_audio_watermark(mix: Samples, payload: Payload, key: bytes) -> Samples:
    """Return the mix (float32 mono at 48 kHz) with the mark; the length is unchanged."""
    bit_of_cell, chips = _layout(key)
    symbols = 1.0 - 2.0 * encode(payload.bits()).astype(np.float64)
    pair_gains = _STRENGTH * chips * symbols[bit_of_cell]  # (pair, band)
    gains = np.repeat(pair_gains, 2, axis=0) * np.array([1.0, -1.0] * _PAIRS)[:, None]
    padded = np.concatenate([np.zeros(_HOP), mix.astype(np.float64), np.zeros(2 * _FRAME)])
    count = (len(padded) - _FRAME) // _HOP + 1
    window = _window(_FRAME)
    starts = np.arange(count) * _HOP
    frames = padded[starts[:, None] + np.arange(_FRAME)] * window
    spectrum = np.fft.rfft(frames, axis=1)
    # Frame j is centred on mix sample j*HOP, so block b (32 ms from b*FRAME) is frames 2b, 2b+1.
    block = (np.arange(count) // 2) % _PERIOD_BLOCKS
    per_bin = np.zeros((count, spectrum.shape[1]))
    band_gains = np.repeat(gains[block], _BAND_BINS, axis=1)
    per_bin[:, _FIRST_BIN : _FIRST_BIN + _BANDS * _BAND_BINS] = band_gains
    delta = np.fft.irfft(spectrum * per_bin, n=_FRAME, axis=1) * window
    added = np.zeros(len(padded))
    np.add.at(added, starts[:, None] + np.arange(_FRAME), delta)
    marked = mix.astype(np.float64) + added[_HOP : _HOP + len(mix)]
    peak = float(np.max(np.abs(marked))) if len(marked) else 0.0
    if peak > 0.999:
        marked *= 0.999 / peak
    return marked.astype(np.float32)


def read_audio_mark(path: Path, key: bytes) -> MarkReading:
    """Decode the file's first audio stream and look for the mark in it."""
    with open_media(path) as container:  # a file sent to /verify is anyone's
        if not container.streams.audio:
            return MarkReading.nothing()
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=_DETECT_RATE)
        chunks = [
            out.to_ndarray().reshape(-1)
            for frame in container.decode(stream)
            for out in resampler.resample(frame)
        ]
        chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    if not chunks:
        return MarkReading.nothing()
    return read_mark_from_samples(np.concatenate(chunks).astype(np.float32), _DETECT_RATE, key)


def read_mark_from_samples(samples: Samples, rate: int, key: bytes) -> MarkReading:
    """Search codec delay (fine offsets within a block, then whole blocks) until the MAC holds."""
    if rate != _DETECT_RATE:
        divisor = np.gcd(rate, _DETECT_RATE)
        samples = resample_poly(samples, _DETECT_RATE // divisor, rate // divisor)
    frame = _FRAME * _DETECT_RATE // MARK_RATE
    # The same half-frame lead-in as the embedder, so offset 0 means "no codec delay".
    samples = np.concatenate([np.zeros(frame // 2), samples])
    best = MarkReading.nothing()
    for step in range(_OFFSET_STEPS):
        offset = step * 2 * frame // (2 * _OFFSET_STEPS)
        residual, weight = _cell_residuals(np.asarray(samples[offset:], np.float64), frame)
        if residual is None:
            return best
        for shift in _BLOCK_SHIFTS:
            reading = _decode(residual, weight, key, shift)
            if reading.mac_valid:
                return reading
            if reading.confidence > best.confidence:
                best = reading
    return best


def _cell_residuals(
    samples: npt.NDArray[np.float64], frame: int
) -> tuple[npt.NDArray[np.float64] | None, npt.NDArray[np.float64]]:
    """Per (block, band): log level minus the next block's; weight 0 where either is near silent."""
    hop = frame // 2
    count = (len(samples) - frame) // hop + 1
    blocks = (count - 1) // 2
    if blocks < 8:
        return None, np.zeros(0)
    window = _window(frame)
    starts = np.arange(2 * blocks) * hop
    power = np.abs(np.fft.rfft(samples[starts[:, None] + np.arange(frame)] * window, axis=1)) ** 2
    band = power[:, _FIRST_BIN : _FIRST_BIN + _BANDS * _BAND_BINS]
    cells = band.reshape(blocks, 2, _BANDS, _BAND_BINS).mean(axis=(1, 3))
    level = np.log(cells + 1e-12)
    loud = level > np.median(level) - np.log(1e3)
    return level[:-1] - level[1:], (loud[:-1] & loud[1:]).astype(np.float64)


def _decode(
    residual: npt.NDArray[np.float64], weight: npt.NDArray[np.float64], key: bytes, shift: int
) -> MarkReading:
    bit_of_cell, chips = _layout(key)
    first = np.flatnonzero((np.arange(len(residual)) + shift) % 2 == 0)
    pair = ((first + shift) // 2) % _PAIRS
    contributions = np.clip(residual[first], -1.0, 1.0) * chips[pair] * weight[first]
    soft = np.bincount(
        bit_of_cell[pair].ravel(), weights=contributions.ravel(), minlength=CODED_BITS
    )
    payload, confidence = decode_confidence(np.asarray(soft, np.float64))
    return MarkReading(payload, payload.verifies(key), confidence)
