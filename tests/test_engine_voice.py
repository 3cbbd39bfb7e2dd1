"""Which voice speaks a render: XTTS when the operator's weights load and speak the language,
the embedded voice otherwise, always one voice for the whole greeting and the reason said."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine import ConsentReference, RenderResult, RenderSpec, render
from engine.likeness import SpeakerProfile, SpeechChunk, XttsVoice, _backends
from tests.auxil.media import portrait, spoken_note
from tests.auxil.video import audio_track, rms
from tests.auxil.xtts import tiny_xtts

SYNTHETIC = ConsentReference.for_synthetic_media()


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _backends._load.cache_clear()
    return tiny_xtts(tmp_path_factory.mktemp("xtts"))


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("voice-media")
    note = spoken_note(folder, "grandpa", "今天天气很好，我们一起去公园散步吧。", "cmn", pitch=20)
    return portrait(folder / "face.jpg"), note


def _render(out: Path, media: tuple[Path, Path], **fields: object) -> RenderResult:
    photo, note = media
    values: dict[str, object] = {
        "render_id": "v", "template_id": "mid-autumn", "language": "zh-Hant", "portrait": photo,
        "voice_samples": (note,), "recipient": "外婆", "output_dir": out, "mode": "preview",
        "consent": SYNTHETIC, **fields,
    }  # fmt: skip
    return render(RenderSpec.model_validate(values))


def test_the_operators_xtts_speaks_and_its_enrolment_is_kept(
    tmp_path: Path, weights: Path, media: tuple[Path, Path]
) -> None:
    first = _render(tmp_path / "one", media, xtts_dir=weights)
    assert first.voice == "xtts" and first.voice_reason.startswith(f"XTTS-v2 from {weights}")
    samples, _ = audio_track(first.video)
    assert rms(samples) > 0.01
    assert first.speaker_profile is not None
    profile = SpeakerProfile.from_bytes(first.speaker_profile.read_bytes())
    assert len(profile.extensions["xtts"]) > 1000 and profile.sample_count == 1
    again = _render(tmp_path / "two", media, xtts_dir=weights,
                    speaker_profile=first.speaker_profile)  # fmt: skip
    assert (again.voice, again.speaker_profile) == ("xtts", None)  # enrolled once, reused


def test_cantonese_and_broken_weights_fall_back_to_the_embedded_voice_with_the_reason(
    tmp_path: Path, weights: Path, media: tuple[Path, Path]
) -> None:
    cantonese = _render(tmp_path / "yue", media, xtts_dir=weights, spoken_language="yue")
    assert (cantonese.voice, cantonese.voice_reason) == (
        "espeak-world",
        "XTTS cannot speak Cantonese",
    )
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "vocab.json"):
        (broken / name).write_bytes((weights / name).read_bytes())
    (broken / "model.pth").write_bytes(b"not a checkpoint")
    fallback = _render(tmp_path / "broken-out", media, xtts_dir=broken)
    assert fallback.voice == "espeak-world"
    assert fallback.voice_reason.startswith("XTTS is unavailable: ")
    assert "model.pth" in fallback.voice_reason
    unset = _render(tmp_path / "unset", media)
    assert (unset.voice, unset.voice_reason) == (
        "espeak-world",
        "neither TUANYUAN_VOXCPM_DIR nor TUANYUAN_XTTS_DIR is set",
    )


def test_a_voice_that_fails_mid_greeting_is_replaced_for_the_whole_greeting(
    tmp_path: Path, weights: Path, media: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_stream = XttsVoice.stream

    def breaks(self: XttsVoice, *args: Any) -> Iterator[SpeechChunk]:
        """Real XTTS audio, then the failure before the sentence is finished."""
        for chunk in real_stream(self, *args):
            if chunk.last:
                raise RuntimeError("CUDA out of memory")
            yield chunk

    monkeypatch.setattr(XttsVoice, "stream", breaks)
    result = _render(tmp_path, media, xtts_dir=weights)
    assert result.voice == "espeak-world"
    assert result.voice_reason == "xtts failed while speaking: CUDA out of memory"
    samples, _ = audio_track(result.video)
    assert rms(samples) > 0.01
