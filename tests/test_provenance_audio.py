"""The audio mark on a 6 s greeting: survives AAC 64k, MP3 64k and 16 kHz; absent stays absent."""

from pathlib import Path

import numpy as np
import pytest

from engine.provenance import embed_audio_watermark, make_payload, read_audio_mark
from engine.provenance._clips import greeting_audio
from engine.provenance.bench import AUDIO_ATTACKS, attack_audio
from tests.auxil.provenance import KEY


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize("codec", list(AUDIO_ATTACKS))
def test_six_second_greeting_keeps_its_payload(tmp_path: Path, seed: int, codec: str) -> None:
    mix = greeting_audio(seed, 6.0)
    payload = make_payload(seed + 500, KEY)
    marked = embed_audio_watermark(mix, payload, KEY)
    assert marked.shape == mix.shape and marked.dtype == np.float32
    reading = read_audio_mark(attack_audio(marked, tmp_path, codec), KEY)
    assert reading.mac_valid and reading.payload == payload


def test_mark_is_quiet_relative_to_the_mix() -> None:
    mix = greeting_audio(1, 6.0)
    marked = embed_audio_watermark(mix, make_payload(1, KEY), KEY)
    snr = 10 * np.log10(np.sum(mix.astype(np.float64) ** 2) / np.sum((marked - mix) ** 2.0))
    assert snr > 15.0
    assert np.max(np.abs(marked)) < 1.0


def test_unmarked_audio_is_not_claimed(tmp_path: Path) -> None:
    for seed in (20, 21, 22):
        plain = attack_audio(greeting_audio(seed, 6.0), tmp_path, "aac-64k")
        assert not read_audio_mark(plain, KEY).mac_valid
