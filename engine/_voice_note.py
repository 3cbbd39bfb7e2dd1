"""The voice-note greeting: a rendered greeting's sound as a Telegram voice message (OGG/Opus).

Sound alone carries no visible label, so transparency rules for audio-only content (the
spoken prompt of GB 45438-2025, the EU AI Act's disclosure) want it said: the note opens with a
short "made with AI" in the greeting's language over the festival's music. The greeting's mix
already carries the audio watermark from its render; the opening is marked too and lasts
exactly one period of the mark's pattern, so the greeting's own mark after it stays in step with
the file's start, where the detector reads it. The AIGC label goes in the Ogg comments.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from engine._encoder import _check, ffmpeg_command, write_wav
from engine._errors import RenderError
from engine._espeak import synthesize
from engine._mixing import MIX_RATE, mix, to_mix_rate
from engine._models import Marking, SpokenLanguage
from engine._music import render_music
from engine._templates import load_template
from engine.likeness._voice import ESPEAK_VOICE
from engine.provenance import (
    AUDIO_MARK_PERIOD_SAMPLES,
    MARK_RATE,
    aigc_label,
    embed_audio_watermark,
    make_payload,
)

Samples = npt.NDArray[np.float32]

# Said before the greeting, in the language the greeting is spoken in.
DISCLOSURE: dict[SpokenLanguage, str] = {
    "en": "This voice message was made with A I.",
    "zh-Hans": "这条语音由人工智能生成。",
    "zh-Hant": "這則語音由人工智慧生成。",
    "yue": "呢段語音係人工智能生成嘅。",
}
DISCLOSURE_START_S = 0.3
_FADE_S = 0.5
_OPUS_BITRATE = "48k"
assert MARK_RATE == MIX_RATE, "the opening is marked at the mix's rate"


def disclosure_opening(template_id: str, spoken: SpokenLanguage) -> tuple[Samples, float]:
    """One mark period of the festival's music with the spoken disclosure over it, and the
    second at which the disclosure ends."""
    utterance = synthesize(DISCLOSURE[spoken], ESPEAK_VOICE[spoken])
    speech = to_mix_rate(utterance.samples, utterance.rate)
    period_s = AUDIO_MARK_PERIOD_SAMPLES / MIX_RATE
    end_s = DISCLOSURE_START_S + utterance.end_s
    if end_s > period_s - _FADE_S:
        raise RenderError(f"the {spoken} disclosure lasts {end_s:.1f} s, past the opening")
    music = render_music(load_template(template_id).music, period_s, MIX_RATE)
    opening = mix(speech, DISCLOSURE_START_S, [(DISCLOSURE_START_S, end_s)], music)
    opening = opening[:AUDIO_MARK_PERIOD_SAMPLES]
    fade = int(_FADE_S * MIX_RATE)
    opening[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return opening, end_s


def voice_note(
    video: Path,
    destination: Path,
    template_id: str,
    spoken: SpokenLanguage,
    render_id: str,
    marking: Marking | None,
) -> float:
    """Write the voice note of the rendered ``video`` to ``destination``; returns its length
    in seconds."""
    greeting = _decoded_sound(video)
    opening, _ = disclosure_opening(template_id, spoken)
    args: list[str] = []
    if marking is not None:
        key = marking.watermark_key.get_secret_value()
        payload = make_payload(marking.token, key)
        opening = embed_audio_watermark(opening, payload, key)
        label = aigc_label(render_id, payload.hex, marking.propagator)
        args = ["-metadata", "AIGC=" + label.model_dump_json()]
    sound = np.concatenate([opening, greeting])
    with tempfile.TemporaryDirectory(prefix="tuanyuan-", dir=destination.parent) as scratch:
        wav = write_wav(Path(scratch) / "voice.wav", sound, MIX_RATE)
        command = ffmpeg_command(
            "-i", str(wav), "-c:a", "libopus", "-b:a", _OPUS_BITRATE, "-application", "audio",
            *args, "-f", "ogg", str(destination),
        )  # fmt: skip
        with tempfile.TemporaryFile() as log:
            _check(subprocess.run(command, stderr=log, check=False).returncode, log)
    return len(sound) / MIX_RATE


def _decoded_sound(video: Path) -> Samples:
    """The video's sound as mono float samples at the mix's rate."""
    with av.open(str(video)) as container:
        if not container.streams.audio:
            raise RenderError(f"{video.name} has no sound for a voice note")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=MIX_RATE)
        chunks = [
            out.to_ndarray().reshape(-1)
            for frame in container.decode(container.streams.audio[0])
            for out in resampler.resample(frame)
        ]
        chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    return np.concatenate(chunks).astype(np.float32)
