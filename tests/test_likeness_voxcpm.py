"""Voice cloning with VoxCPM2 from an operator's folder: loading, enrolment, speech, the choice
between it, XTTS and the default voice under the operator's licence.

No real weights exist here, so a small random-weight VoxCPM2 is written in the release's file
layout and loaded through the production path. What a random model says is noise; what is
checked is everything around it: files, sealed latents, timing, level, errors, and that nothing
reaches for the network.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from safetensors.torch import load_file, save_file
from scipy.io import wavfile

from bot.config import ConfigError, read_voice_backend, read_voice_licence
from engine import ConsentReference, RenderSpec, render
from engine.likeness import (
    EspeakWorldVoice,
    ProfileFormatError,
    SpeakerProfile,
    VoiceUnavailable,
    VoxcpmVoice,
    XttsVoice,
    _backends,
    enrol_with,
    select_voice,
)
from engine.likeness._streaming import SPEECH_LEVEL_DBFS, speech_level_db
from engine.likeness._voxcpm import MAX_REFERENCE_S, decode_reference
from tests.auxil.media import portrait, spoken_note
from tests.auxil.network import network_guard
from tests.auxil.video import audio_track, rms
from tests.auxil.xtts import bare_profile, digests, enrolment_clips

SYNTHETIC = ConsentReference.for_synthetic_media()


@dataclass(frozen=True)
class Loaded:
    folder: Path
    voice: VoxcpmVoice
    reason: str
    attempts: list[str]  # every reach beyond this machine while loading, enrolling, speaking
    enrolment: bytes
    mandarin: tuple[np.ndarray, int]  # decoded back from a WAV file
    english: tuple[np.ndarray, int]


def _decoded(samples: np.ndarray, rate: int, path: Path) -> tuple[np.ndarray, int]:
    """The speech as a listener's player gets it: written to a WAV file, decoded by FFmpeg."""
    wavfile.write(path, rate, samples)
    with av.open(str(path)) as container:
        decoded_rate = container.streams.audio[0].codec_context.sample_rate
        frames = [frame.to_ndarray() for frame in container.decode(audio=0)]
    return np.concatenate(frames, axis=1).mean(axis=0), decoded_rate


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.auxil.voxcpm import tiny_voxcpm

    return tiny_voxcpm(tmp_path_factory.mktemp("voxcpm"))


@pytest.fixture(scope="module")
def loaded(weights: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    weights.chmod(0o555)  # an operator's folder may be read-only; loading must not need it
    before = digests(weights)
    _backends._load.cache_clear()
    out = tmp_path_factory.mktemp("voxcpm-speech")
    with network_guard() as attempts:
        selection = select_voice(None, "zh-Hant", voxcpm_dir=weights)
        voice = selection.backend
        assert isinstance(voice, VoxcpmVoice), selection.reason
        profile = enrol_with(voice, bare_profile(), enrolment_clips())
        mandarin = voice.synthesize(["新年快樂，身體健康。"], "zh-Hant", profile)
        english = voice.synthesize(["Happy new year, Grandpa."], "en", profile)
    assert digests(weights) == before
    yield Loaded(weights, voice, selection.reason, attempts, profile.extensions["voxcpm"],
                 _decoded(mandarin.samples, mandarin.rate, out / "zh.wav"),
                 _decoded(english.samples, english.rate, out / "en.wav"))  # fmt: skip
    weights.chmod(0o755)
    _backends._load.cache_clear()


def test_voxcpm_loads_offline_and_speaks_mandarin_and_english_at_speaking_length(
    loaded: Loaded,
) -> None:
    assert loaded.attempts == []
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert loaded.reason == (
        f"VoxCPM2 from {loaded.folder} on cpu (Apache-2.0; slow on a CPU: about 58 seconds per "
        "second of speech, a GPU makes it practical)"
    )
    for (samples, rate), text in ((loaded.mandarin, "新年快樂，身體健康。"),
                                  (loaded.english, "Happy new year, Grandpa.")):  # fmt: skip
        assert rate == 48_000
        duration = len(samples) / rate
        # Random weights never stop: each sentence runs to its budget, a slow reader's time.
        assert duration == pytest.approx(loaded.voice.budget(text) * 0.16, abs=0.05)
        assert 2.0 < duration < 12.0
        level = speech_level_db(samples.astype(np.float32), rate)
        assert level is not None and abs(level - SPEECH_LEVEL_DBFS) < 3.0
    # Ten Chinese characters are read slower than twenty-four Latin letters are spelt out.
    assert len(loaded.mandarin[0]) > len(loaded.english[0])


def test_the_enrolment_is_sealed_with_its_audio_vae_and_reused(loaded: Loaded) -> None:
    reference = decode_reference(loaded.enrolment)
    assert reference.model == loaded.voice.fingerprint
    spoken_s = sum(len(samples) / rate for samples, rate in enrolment_clips())
    assert len(reference.features) * 0.16 == pytest.approx(min(spoken_s, MAX_REFERENCE_S), abs=0.2)
    profile = bare_profile(voxcpm=loaded.enrolment)
    assert loaded.voice.is_enrolled(profile)
    assert enrol_with(loaded.voice, profile, ()) is profile  # never computed twice
    # Latents from other weights are refused, not spoken in a stranger's voice.
    stranger = VoxcpmVoice(loaded.voice._model, "other weights", "cpu")
    assert not stranger.is_enrolled(profile)
    with pytest.raises(ProfileFormatError, match="enrol the subject again"):
        next(stranger.stream(["好。"], "zh-Hans", profile))
    assert not loaded.voice.is_enrolled(bare_profile(voxcpm=b"not latents"))
    with pytest.raises(ProfileFormatError):
        decode_reference(b"PK\x03\x04junk")


def test_the_subject_s_voice_never_lies_on_disk_to_be_enrolled(
    loaded: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """VoxCPM reads its reference from a path; that path was a WAV in /tmp, the subject's voice
    in plaintext until the enrolment finished (or for good, after a kill -9)."""
    model = loaded.voice._model
    build = model.build_prompt_cache
    read_from: list[str] = []

    def spy(*, reference_wav_path: str) -> Any:
        read_from.append(str(Path(reference_wav_path).readlink()))
        return build(reference_wav_path=reference_wav_path)

    monkeypatch.setattr(model, "build_prompt_cache", spy)
    again = decode_reference(loaded.voice.enrol(enrolment_clips()))
    assert len(read_from) == 1 and read_from[0].startswith("/memfd:voxcpm-reference")
    # All of it was read from memory: the same latents as the enrolment made before.
    assert np.array_equal(again.features, decode_reference(loaded.enrolment).features)


def test_a_render_streams_voxcpm_and_keeps_its_enrolment(loaded: Loaded, tmp_path: Path) -> None:
    note = spoken_note(tmp_path, "grandma", "今天天气很好，我们一起去公园散步吧。", "cmn", pitch=20)
    values: dict[str, object] = {
        "render_id": "v", "template_id": "mid-autumn", "language": "zh-Hant",
        "portrait": portrait(tmp_path / "face.jpg"), "voice_samples": (note,),
        "recipient": "外婆", "output_dir": tmp_path / "out", "mode": "preview",
        "consent": SYNTHETIC, "voxcpm_dir": loaded.folder, "spoken_language": "yue",
    }  # fmt: skip
    with network_guard() as attempts:
        result = render(RenderSpec.model_validate(values))
    assert attempts == []
    assert (result.voice, result.voice_reason) == ("voxcpm", loaded.reason)  # Cantonese too
    samples, _ = audio_track(result.video)
    assert rms(samples) > 0.01
    assert result.speaker_profile is not None
    profile = SpeakerProfile.from_bytes(result.speaker_profile.read_bytes())
    assert loaded.voice.is_enrolled(profile)


def test_a_folder_that_is_not_voxcpm2_says_what_is_wrong(weights: Path, tmp_path: Path) -> None:
    def attempt(folder: Path) -> str:
        with pytest.raises(VoiceUnavailable) as raised:
            VoxcpmVoice.load(folder)
        return raised.value.reason

    assert attempt(tmp_path / "absent").endswith("does not exist or is not a folder")
    broken = tmp_path / "broken"
    shutil.copytree(weights, broken)
    broken.chmod(0o755)
    (broken / "audiovae.safetensors").unlink()
    assert attempt(broken).startswith("neither audiovae.safetensors nor audiovae.pth")
    shutil.copy(weights / "audiovae.safetensors", broken)
    state = load_file(str(weights / "model.safetensors"))
    dropped = sorted(state)[0]
    save_file({key: value for key, value in state.items() if key != dropped},
              str(broken / "model.safetensors"))  # fmt: skip
    assert attempt(broken) == (
        f"model.safetensors does not fit config.json: 1 weights missing, such as {dropped}"
    )
    (broken / "config.json").write_text('{"architecture": "voxcpm"}')
    assert "not a VoxCPM2 config" in attempt(broken)


@pytest.fixture
def both(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Path, Path]:
    """Two installed cloning voices, VoxCPM2 on a GPU (a test changes its device to a CPU's);
    loading them is tested above, the choice is tested here."""
    xtts = XttsVoice(model=None, fingerprint="xtts", device="cuda")
    voxcpm = VoxcpmVoice(model=None, fingerprint="voxcpm", device="cuda")
    monkeypatch.setattr(_backends, "_load",
                        lambda voice, folder: xtts if voice is XttsVoice else
                        voxcpm if folder.name == "voxcpm" else
                        VoiceUnavailable(f"VoxCPM folder {folder} does not exist"))  # fmt: skip
    return tmp_path / "xtts", tmp_path / "voxcpm"


def test_the_licence_the_operator_declared_decides_between_the_cloning_voices(
    both: tuple[Path, Path],
) -> None:
    xtts, voxcpm = both
    gpu = "cuda"
    commercial = select_voice(xtts, "en", voxcpm_dir=voxcpm, licence="commercial", device=gpu)
    assert commercial.backend.name == "voxcpm"
    assert commercial.reason == (
        f"VoxCPM2 from {voxcpm} on cuda (Apache-2.0, fits TUANYUAN_VOICE_LICENCE=commercial; "
        "XTTS-v2 is non-commercial)"
    )
    for licence in ("noncommercial", None):
        preferred = select_voice(xtts, "en", voxcpm_dir=voxcpm, licence=licence, device=gpu)
        assert preferred.backend.name == "voxcpm"
        assert "preferred to XTTS-v2, which is non-commercial" in preferred.reason
    only_xtts = select_voice(xtts, "en", licence="commercial")
    assert isinstance(only_xtts.backend, EspeakWorldVoice)
    assert only_xtts.reason == (
        "XTTS-v2 is not used: its weights' licence (Coqui Public Model License) allows "
        "non-commercial use only, and TUANYUAN_VOICE_LICENCE is commercial"
    )
    assert select_voice(xtts, "en", licence="noncommercial").backend.name == "xtts"
    missing = xtts.parent / "gone"
    fallback = select_voice(xtts, "en", voxcpm_dir=missing, licence="noncommercial", device=gpu)
    assert fallback.backend.name == "xtts"
    assert fallback.reason == (f"XTTS-v2 from {xtts} on cuda (VoxCPM2 is unavailable: "
                               f"VoxCPM folder {missing.resolve()} does not exist)")  # fmt: skip
    cantonese = select_voice(xtts, "yue", voxcpm_dir=missing, device=gpu)
    assert isinstance(cantonese.backend, EspeakWorldVoice)
    assert cantonese.reason.endswith("does not exist; XTTS cannot speak Cantonese")
    assert select_voice(xtts, "yue", voxcpm_dir=voxcpm, device=gpu).backend.name == "voxcpm"
    assert select_voice(None, "en").reason == (
        "neither TUANYUAN_VOXCPM_DIR nor TUANYUAN_XTTS_DIR is set"
    )


def test_on_a_cpu_xtts_speaks_and_voxcpm_only_when_it_is_the_one_allowed(
    both: tuple[Path, Path],
) -> None:
    xtts, voxcpm = both
    for voice, folder in ((XttsVoice, xtts), (VoxcpmVoice, voxcpm)):
        loaded = _backends._load(voice, folder)
        assert isinstance(loaded, voice)
        loaded.device = "cpu"
    for licence in ("noncommercial", None):
        fast = select_voice(xtts, "en", voxcpm_dir=voxcpm, licence=licence, device="cpu")
        assert fast.backend.name == "xtts"
        assert fast.reason == (
            f"XTTS-v2 from {xtts} on cpu (preferred on a CPU: VoxCPM2 is about 12 times as slow)"
        )
    slow = "slow on a CPU: about 58 seconds per second of speech, a GPU makes it practical)"
    commercial = select_voice(xtts, "en", voxcpm_dir=voxcpm, licence="commercial", device="cpu")
    assert commercial.backend.name == "voxcpm"
    assert commercial.reason == (
        f"VoxCPM2 from {voxcpm} on cpu (Apache-2.0, fits TUANYUAN_VOICE_LICENCE=commercial; "
        f"XTTS-v2 is non-commercial; {slow}"
    )
    cantonese = select_voice(xtts, "yue", voxcpm_dir=voxcpm, device="cpu")
    assert cantonese.backend.name == "voxcpm"
    assert cantonese.reason == (
        f"VoxCPM2 from {voxcpm} on cpu (Apache-2.0; XTTS cannot speak Cantonese; {slow}"
    )
    alone = select_voice(None, "en", voxcpm_dir=voxcpm, device="cpu")
    assert alone.backend.name == "voxcpm"
    assert alone.reason == f"VoxCPM2 from {voxcpm} on cpu (Apache-2.0; {slow}"


def test_the_operator_can_force_a_voice_within_the_licence(both: tuple[Path, Path]) -> None:
    xtts, voxcpm = both
    forced = select_voice(xtts, "en", voxcpm_dir=voxcpm, forced="xtts", device="cuda")
    assert forced.backend.name == "xtts"
    assert forced.reason == f"TUANYUAN_VOICE_BACKEND=xtts: XTTS-v2 from {xtts} on cuda"
    forced = select_voice(xtts, "en", voxcpm_dir=voxcpm, forced="voxcpm", device="cpu")
    assert forced.backend.name == "voxcpm"
    assert forced.reason.startswith(f"TUANYUAN_VOICE_BACKEND=voxcpm: VoxCPM2 from {voxcpm}")
    default = select_voice(xtts, "en", voxcpm_dir=voxcpm, forced="default", device="cuda")
    assert isinstance(default.backend, EspeakWorldVoice)
    assert default.reason == "TUANYUAN_VOICE_BACKEND=default"
    refused = select_voice(
        xtts, "en", voxcpm_dir=voxcpm, licence="commercial", forced="xtts", device="cpu"
    )
    assert isinstance(refused.backend, EspeakWorldVoice)
    assert refused.reason.startswith("XTTS-v2 is not used: its weights' licence")
    unset = select_voice(xtts, "en", forced="voxcpm", device="cuda")
    assert isinstance(unset.backend, EspeakWorldVoice)
    assert unset.reason == "TUANYUAN_VOICE_BACKEND=voxcpm, but TUANYUAN_VOXCPM_DIR is not set"
    assert read_voice_backend({}) is None
    assert read_voice_backend({"TUANYUAN_VOICE_BACKEND": " XTTS "}) == "xtts"
    with pytest.raises(ConfigError, match="voxcpm, xtts or default"):
        read_voice_backend({"TUANYUAN_VOICE_BACKEND": "espeak"})


def test_the_declared_licence_is_read_strictly() -> None:
    assert read_voice_licence({}) is None
    assert read_voice_licence({"TUANYUAN_VOICE_LICENCE": " Commercial "}) == "commercial"
    assert read_voice_licence({"TUANYUAN_VOICE_LICENCE": "noncommercial"}) == "noncommercial"
    with pytest.raises(ConfigError, match="commercial or noncommercial"):
        read_voice_licence({"TUANYUAN_VOICE_LICENCE": "research"})
