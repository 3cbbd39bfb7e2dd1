"""The payload: MAC binding to the key, the code's error correction, key loading."""

from pathlib import Path

import numpy as np
import pytest

from engine.provenance import (
    Payload,
    WatermarkKeyError,
    load_watermark_key,
    make_payload,
    token_for_render_id,
)
from engine.provenance._payload import CODED_BITS, PAYLOAD_BITS, decode_confidence, encode

KEY = bytes(range(32))


def test_mac_verifies_only_with_the_key_that_made_it() -> None:
    payload = make_payload(0xABCDE12345, KEY)
    assert payload.verifies(KEY)
    assert not payload.verifies(bytes(32))
    assert not Payload(payload.token + 1, payload.mac).verifies(KEY)
    assert Payload.from_bits(payload.bits()) == payload
    assert len(payload.hex) == 16 and payload.hex.startswith("abcde12345")


def test_token_must_fit_its_40_bits() -> None:
    with pytest.raises(ValueError, match="40 bits"):
        make_payload(1 << 40, KEY)


def test_soft_viterbi_corrects_a_noisy_codeword() -> None:
    payload = make_payload(777, KEY)
    clean = 1.0 - 2.0 * encode(payload.bits()).astype(np.float64)
    assert len(clean) == CODED_BITS
    rng = np.random.default_rng(3)
    noisy = clean + rng.normal(0, 0.9, CODED_BITS)  # ~13 % of hard decisions are wrong
    assert np.mean(np.sign(noisy) != clean) > 0.08
    decoded, confidence = decode_confidence(noisy)
    assert decoded == payload and decoded.verifies(KEY)
    assert 0.5 < confidence <= 1.0


def test_noise_decodes_to_some_payload_that_fails_the_mac() -> None:
    rng = np.random.default_rng(5)
    failures = [
        not decode_confidence(rng.normal(0, 1, CODED_BITS))[0].verifies(KEY) for _ in range(50)
    ]
    assert all(failures)
    assert PAYLOAD_BITS == 64


def test_key_comes_from_the_environment_or_a_file(tmp_path: Path) -> None:
    assert load_watermark_key({"TUANYUAN_WATERMARK_KEY": KEY.hex()}) == KEY
    key_file = tmp_path / "wm.key"
    key_file.write_text(KEY.hex() + "\n")
    assert load_watermark_key({"TUANYUAN_WATERMARK_KEY_FILE": str(key_file)}) == KEY
    with pytest.raises(WatermarkKeyError):
        load_watermark_key({})
    with pytest.raises(WatermarkKeyError, match="16 bytes"):
        load_watermark_key({"TUANYUAN_WATERMARK_KEY": "abcd"})
    with pytest.raises(WatermarkKeyError, match="hex"):
        load_watermark_key({"TUANYUAN_WATERMARK_KEY": "not hex at all, clearly"})


def test_render_ids_map_to_stable_40_bit_tokens() -> None:
    token = token_for_render_id("order-42")
    assert token == token_for_render_id("order-42") != token_for_render_id("order-43")
    assert 0 <= token < 1 << 40
