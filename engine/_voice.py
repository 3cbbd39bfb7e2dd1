"""Speech in voice notes and video soundtracks: how much there is, how loud, how noisy.

silero-vad (its TorchScript model ships inside the wheel; nothing is fetched) finds the speech,
pyloudnorm measures EBU R128 loudness so every sample reaches the voice model at the same level,
and the pauses between speech give the noise floor.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pyloudnorm

from engine._errors import IngestError
from engine._ingest import ANALYSIS_RATE, audio_length, decode_audio
from engine._models import VoiceInfo

MIN_VOICE_S = 1.0
MAX_VOICE_S = 120.0
_OPUS_RATE = 48_000  # Opus's own rate
MIN_SPEECH_S = 2.0  # below this there is too little to match a voice to
RECOMMENDED_SPEECH_S = 20.0  # what voice adaptation works best with
TARGET_LUFS = -23.0  # EBU R128 programme loudness
_MIN_GAP_S = 0.3  # pauses shorter than this are breaths inside speech, not noise

Samples = npt.NDArray[np.float32]


@cache
def _vad() -> Any:
    # torch is imported on first use only: importing it costs seconds and ~300 MB, which the
    # bot process and plain renders should not pay.
    import torch
    from silero_vad import load_silero_vad

    torch.set_num_threads(1)  # one render worker per core; the model is tiny
    return load_silero_vad()


def check_voice(path: Path) -> VoiceInfo:
    return extract_speech(path)[1]


def keep_sound(path: Path, destination: Path) -> Path:
    """A recording's sound alone, mono Opus in Ogg as a Telegram voice note holds it: what is
    kept of a video of them talking, whose picture their voice does not need."""
    samples = decode_audio(path, max_seconds=MAX_VOICE_S + 1, rate=_OPUS_RATE)
    with av.open(str(destination), "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=_OPUS_RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="flt", layout="mono")
        frame.rate = _OPUS_RATE
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return destination


def extract_speech(path: Path) -> tuple[Samples, VoiceInfo]:
    """The speech alone, joined and loudness-normalised to -23 LUFS, with what was measured.

    Rejects recordings that are too short, too long or hold too little speech.
    """
    samples = decode_audio(path, max_seconds=MAX_VOICE_S + 1)
    duration = len(samples) / ANALYSIS_RATE
    if duration < MIN_VOICE_S:
        raise IngestError("too_short", f"{path.name}: {duration:.1f} s of audio is too short",
                          seconds=round(duration, 1), minimum=MIN_VOICE_S)  # fmt: skip
    if duration > MAX_VOICE_S:
        raise IngestError("too_long", f"{path.name}: audio is longer than {MAX_VOICE_S:.0f} s",
                          seconds=round(audio_length(path, duration), 1),
                          maximum=MAX_VOICE_S)  # fmt: skip
    spans = speech_spans(samples)
    speech = np.concatenate([samples[a:b] for a, b in spans]) if spans else np.zeros(0, np.float32)
    speech_s = len(speech) / ANALYSIS_RATE
    if speech_s < MIN_SPEECH_S:
        raise IngestError(
            "too_little_speech",
            f"{path.name}: {speech_s:.1f} s of speech, at least {MIN_SPEECH_S:.0f} s needed",
            speech_s=round(speech_s, 1), minimum=MIN_SPEECH_S, recommended=RECOMMENDED_SPEECH_S,
        )  # fmt: skip
    meter = pyloudnorm.Meter(ANALYSIS_RATE)
    loudness = float(meter.integrated_loudness(speech.astype(np.float64)))
    normalised = pyloudnorm.normalize.loudness(speech.astype(np.float64), loudness, TARGET_LUFS)
    noise = _noise_dbfs(samples, spans)
    speech_dbfs = _dbfs(speech)
    info = VoiceInfo(
        duration_s=round(duration, 2),
        speech_s=round(speech_s, 1),
        recommended_s=RECOMMENDED_SPEECH_S,
        loudness_lufs=round(loudness, 1),
        noise_dbfs=None if noise is None else round(noise, 1),
        snr_db=None if noise is None else round(speech_dbfs - noise, 1),
    )
    return np.clip(normalised, -1.0, 1.0).astype(np.float32), info


def speech_spans(samples: Samples) -> list[tuple[int, int]]:
    """Sample ranges silero-vad hears as speech."""
    import torch
    from silero_vad import get_speech_timestamps

    model = _vad()
    stamps = get_speech_timestamps(
        torch.from_numpy(np.ascontiguousarray(samples)), model, sampling_rate=ANALYSIS_RATE
    )
    return [(int(stamp["start"]), int(stamp["end"])) for stamp in stamps]


def _noise_dbfs(samples: Samples, spans: list[tuple[int, int]]) -> float | None:
    """Level of the pauses long enough not to be breaths; None when the talking never stops."""
    edges = [0, *(edge for span in spans for edge in span), len(samples)]
    gaps = [
        samples[start:end]
        for start, end in zip(edges[::2], edges[1::2], strict=True)
        if end - start >= _MIN_GAP_S * ANALYSIS_RATE
    ]
    return _dbfs(np.concatenate(gaps)) if gaps else None


def _dbfs(samples: Samples) -> float:
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    return 20 * float(np.log10(max(rms, 1e-6)))
