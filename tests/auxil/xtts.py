"""A small random-weight XTTS-v2 in the release's file layout, and voice samples to clone.

One GPT layer 64 wide keeps the model fast on two cores; HiFi-GAN and the speaker encoder
keep their full size, since XTTS's config cannot shrink them. A piece is at most 21 audio
tokens (~1 s), and the stop token is suppressed, so every piece runs to that limit: audio
length then follows the number of pieces the text is cut into.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import numpy as np

from engine.likeness import Clip, SpeakerProfile
from engine.likeness._synthetic import SAMPLE_TEXTS, SPEAKERS, speaker_sample
from engine.likeness._xtts_random import RandomXtts, write_random_xtts

SAMPLE_RATE = 16_000
PIECE_TOKENS = 21  # max_audio_tokens minus XTTS's start, stop and conditioning positions
TINY = RandomXtts(
    layers=1,
    width=64,
    heads=4,
    max_audio_tokens=PIECE_TOKENS + 3,
    max_text_tokens=600,  # 82 characters of pinyin, one token per letter
    legacy=True,
    stock_voice=True,
)
SPEAKER = SPEAKERS[0]


def tiny_xtts(folder: Path) -> Path:
    return write_random_xtts(folder, TINY)


@cache
def enrolment_clips() -> tuple[Clip, ...]:
    """Every sample text of one test speaker: about 24 s, past XTTS's default 12 s window."""
    count = len(SAMPLE_TEXTS[SPEAKER.language])
    return tuple((speaker_sample(SPEAKER, index), SAMPLE_RATE) for index in range(count))


def bare_profile(**extensions: bytes) -> SpeakerProfile:
    """A classical profile with made-up numbers: XTTS reads only its extensions."""
    return SpeakerProfile(
        log_f0_mean=float(np.log(120.0)),
        log_f0_std=0.2,
        warp_alpha=1.0,
        spectrum_db=(0.0,) * 8,
        speech_s=24.0,
        sample_count=6,
        extensions=extensions,
    )


def digests(folder: Path) -> dict[str, str]:
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in folder.iterdir()}
