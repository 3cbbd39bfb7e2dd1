"""Voice cloning with XTTS-v2 from an operator's folder: loading, enrolment, speech, fallback.

No real weights exist here, so a small random-weight XTTS is written in the release's file
layout (legacy pickled model.pth included) and loaded through the production path. What a
random model says is noise; what is checked is everything around it: files, latents, cuts,
timing, level, errors, and that nothing reaches for the network.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import structlog

from bot.vault import Vault
from engine._speech import Speech
from engine.likeness import (
    EspeakWorldVoice,
    ProfileFormatError,
    SpeakerProfile,
    SpeechChunk,
    SpeechTrack,
    VoiceUnavailable,
    XttsVoice,
    _backends,
    assemble,
    enrol_with,
    select_voice,
)
from engine.likeness._xtts import FIRST_CHUNK_TOKENS, decode_latents
from engine.likeness._xtts_text import split_to_limit, token_budget
from tests.auxil.network import network_guard
from tests.auxil.xtts import bare_profile, digests, enrolment_clips, tiny_xtts

RATE = 24_000
PIECE_SAMPLES = 23_296  # what HiFi-GAN makes of PIECE_TOKENS at 24 kHz (21 x 4 x 24/22.05 x 256)
LONG_MANDARIN = (
    "親愛的外婆，今年中秋我們全家又聚在一起吃月餅賞月，大家都很想念您，小明考上了大學，"
    "妹妹學會了彈鋼琴，爸爸媽媽身體都很好，院子裡的桂花開得正香，我們每天都會說起您以前講的"
    "故事，希望您在遠方也能看到今晚的月亮，祝您中秋快樂，身體健康，萬事如意，我們永遠愛您。"
)


@dataclass(frozen=True)
class Loaded:
    folder: Path
    before: dict[str, str]
    voice: XttsVoice
    reason: str
    attempts: list[str]
    leftovers: list[Path]
    greeting: Speech  # one short sentence, spoken inside the network guard


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    folder = tiny_xtts(tmp_path_factory.mktemp("xtts-weights"))
    folder.chmod(0o555)  # an operator's folder may be read-only; loading must not need it
    before = digests(folder)
    scratch = tmp_path_factory.mktemp("tmp")
    _backends._load.cache_clear()
    with pytest.MonkeyPatch.context() as patch, network_guard() as attempts:
        patch.setattr(tempfile, "tempdir", str(scratch))
        selection = select_voice(folder, "zh-Hant")
        voice = selection.backend
        assert isinstance(voice, XttsVoice), selection.reason
        greeting = voice.synthesize(["中秋快樂。"], "zh-Hans", None)
    yield Loaded(folder, before, voice, selection.reason, attempts, list(scratch.iterdir()),
                 greeting)  # fmt: skip
    folder.chmod(0o755)
    _backends._load.cache_clear()


@pytest.fixture(scope="module")
def enrolment(loaded: Loaded) -> bytes:
    """The subject's first enrolment, as the render makes it: added to their profile."""
    profile = enrol_with(loaded.voice, bare_profile(), enrolment_clips())
    return profile.extensions["xtts"]


def _level_db(samples: npt.NDArray[np.float32], rate: int) -> float:
    """Mean power of the 50 ms windows above -45 dBFS: the speech, without its pauses."""
    window = rate // 20
    frames = samples[: len(samples) // window * window].reshape(-1, window).astype(np.float64)
    power = np.mean(frames**2, axis=1)
    return float(10 * np.log10(np.mean(power[power > 10**-4.5])))


def test_weights_load_from_a_private_copy_that_is_gone_afterwards(loaded: Loaded) -> None:
    # The release's pickled model.pth is rewritten by coqui on first load: never the original.
    assert digests(loaded.folder) == loaded.before
    assert loaded.leftovers == []
    assert loaded.voice.name == "xtts" and loaded.voice.device == "cpu"
    assert loaded.reason == f"XTTS-v2 from {loaded.folder} on cpu"
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"


def test_the_model_is_loaded_once_per_process(loaded: Loaded) -> None:
    again = select_voice(loaded.folder, "en")
    assert again.backend is loaded.voice


def test_loading_and_speaking_never_reach_beyond_this_machine(loaded: Loaded) -> None:
    assert loaded.attempts == []
    assert loaded.greeting.duration_s > 0.5
    with network_guard() as attempts:
        loaded.voice.synthesize(["Hi."], "en", None)
    assert attempts == []


def test_the_network_guard_catches_what_it_claims_to() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    with network_guard() as attempts:
        with socket.create_connection(listener.getsockname(), timeout=2):
            pass  # loopback is allowed
        with pytest.raises(OSError):
            socket.create_connection(("192.0.2.1", 443), timeout=2)
        with pytest.raises(OSError), socket.socket() as raw:
            raw.connect(("198.51.100.7", 80))
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("huggingface.co", 443)
    listener.close()
    assert attempts == [
        "create_connection ('192.0.2.1', 443)",
        "connect ('198.51.100.7', 80)",
        "getaddrinfo 'huggingface.co'",
    ]


def test_enrolment_covers_every_sample_beyond_the_default_window(
    loaded: Loaded, enrolment: bytes
) -> None:
    clips = enrolment_clips()
    assert sum(len(samples) / rate for samples, rate in clips) > 20  # XTTS's default is 12 s
    latents = decode_latents(enrolment)
    assert latents.model == loaded.voice.fingerprint
    assert latents.gpt_cond_latent.shape == (1, 32, 64)
    assert latents.speaker_embedding.shape == (1, 512, 1)
    assert 100_000 > len(enrolment) > 8_000
    # Silencing the last sample changes the GPT conditioning: it reached past 12 s.
    samples, rate = clips[-1]
    quieter = loaded.voice.enrol([*clips[:-1], (np.zeros_like(samples), rate)])
    changed = decode_latents(quieter).gpt_cond_latent
    assert not np.allclose(changed, latents.gpt_cond_latent, atol=1e-4)


def test_enrolment_is_stored_in_the_vault_and_never_computed_twice(
    loaded: Loaded, enrolment: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    model: Any = loaded.voice._model
    original = model.get_gpt_cond_latents

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(model, "get_gpt_cond_latents", counted)
    clips = enrolment_clips()
    profile = bare_profile(xtts=enrolment)
    assert loaded.voice.is_enrolled(profile)

    vault = Vault(tmp_path / "media", bytes(range(32)))
    media_id = vault.put_bytes(profile.to_bytes())
    sealed = vault.path_for(media_id).read_bytes()
    assert enrolment[-64:] not in sealed  # encrypted at rest
    cached = SpeakerProfile.from_bytes(vault.read_bytes(media_id))
    assert cached.extensions == {"xtts": enrolment}
    assert enrol_with(loaded.voice, cached, clips) is cached
    assert calls == []  # the cache hit skipped the computation
    loaded.voice.synthesize(["Hi."], "en", cached)  # and the reloaded latents speak

    stale = bare_profile(xtts=_with_model(enrolment, "0" * 64))  # from other weights
    assert not loaded.voice.is_enrolled(stale)
    with pytest.raises(ProfileFormatError, match="other weights"):
        loaded.voice.synthesize(["Hi."], "en", stale)
    redone = enrol_with(loaded.voice, stale, clips).extensions["xtts"]
    assert len(calls) == 1
    assert decode_latents(redone).model == loaded.voice.fingerprint
    assert np.array_equal(decode_latents(redone).gpt_cond_latent,
                          decode_latents(enrolment).gpt_cond_latent)  # fmt: skip

    assert vault.delete(media_id) and not vault.exists(media_id)  # what revocation does


def _with_model(blob: bytes, model: str) -> bytes:
    with np.load(io.BytesIO(blob), allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays["model"] = np.array(model)
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def test_bytes_xtts_did_not_write_are_refused(loaded: Loaded, enrolment: bytes) -> None:
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("notes.txt", "not latents")
    pickled = io.BytesIO()
    np.save(pickled, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    foreign = [b"", b"\x00" * 64, zipped.getvalue(), pickled.getvalue(),
               bare_profile().to_bytes(), enrolment[:-100]]  # fmt: skip
    for blob in foreign:
        with pytest.raises(ProfileFormatError):
            decode_latents(blob)
        assert not loaded.voice.is_enrolled(bare_profile(xtts=blob))
    with pytest.raises(ValueError, match="enrol the subject first"):
        loaded.voice.synthesize(["Hi."], "en", bare_profile())


def test_speech_is_24_khz_with_a_cue_per_sentence_and_grows_with_the_text(
    loaded: Loaded, enrolment: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[tuple[str, str]] = []
    model: Any = loaded.voice._model
    original = model.inference_stream

    def recording(text: str, language: str, *args: Any, **kwargs: Any) -> Any:
        read.append((text, language))
        return original(text, language, *args, **kwargs)

    monkeypatch.setattr(model, "inference_stream", recording)
    profile = bare_profile(xtts=enrolment)
    sentences = ["中秋快樂，", LONG_MANDARIN]
    chunks = list(loaded.voice.stream(sentences, "zh-Hant", profile))
    speech = assemble(sentences, chunks)

    short = loaded.greeting
    assert short.rate == speech.rate == RATE
    assert len(short.samples) == PIECE_SAMPLES
    first, second = speech.cues
    assert [first.text, second.text] == sentences
    assert first.start_s == 0 and second.end_s == pytest.approx(speech.duration_s)
    assert second.start_s - first.end_s == pytest.approx(0.32, abs=1e-3)  # the comma's breath
    # Over the limit, the long sentence was read in two pieces, cut at a comma, losing nothing.
    assert len(LONG_MANDARIN) > 82 and [language for _, language in read] == ["zh-cn"] * 3
    pieces = [text for text, _ in read[1:]]
    assert all(len(piece) <= 82 for piece in pieces) and "".join(pieces) == LONG_MANDARIN
    assert pieces[0].endswith("，")
    assert second.end_s - second.start_s == pytest.approx(2 * PIECE_SAMPLES / RATE)
    assert speech.duration_s > short.duration_s
    # As a render takes it, every piece comes whole, as soon as it is decoded.
    audible = [(c.sentence, len(c.samples)) for c in chunks if len(c.samples)]
    assert audible == [(0, PIECE_SAMPLES), (1, PIECE_SAMPLES), (1, PIECE_SAMPLES)]
    assert [c.last for c in chunks if c.sentence == 0][-1] is True
    # A listener may have the first piece in chunks: the first comes before the piece is done.
    listened = loaded.voice.stream(sentences[:1], "zh-Hant", profile,
                                   first_chunk_tokens=FIRST_CHUNK_TOKENS)  # fmt: skip
    opening = [c for c in listened if len(c.samples)]
    assert len(opening) == 2 and len(opening[0].samples) < PIECE_SAMPLES
    assert sum(len(c.samples) for c in opening) == PIECE_SAMPLES
    assert np.all(np.isfinite(speech.samples)) and np.max(np.abs(speech.samples)) <= 1.0


def test_cloned_speech_is_as_loud_as_the_default_voice(loaded: Loaded, enrolment: bytes) -> None:
    sentences = ["中秋快樂，", "祝你身體健康。"]
    default = EspeakWorldVoice().synthesize(sentences, "zh-Hant", None)
    cloned = loaded.voice.synthesize(sentences, "zh-Hant", bare_profile(xtts=enrolment))
    default_db = _level_db(default.samples, default.rate)
    for cue in cloned.cues:
        spoken = cloned.samples[round(cue.start_s * RATE) : round(cue.end_s * RATE)]
        assert abs(_level_db(spoken, RATE) - default_db) < 2.0


def test_without_samples_a_stock_voice_speaks_else_xtts_is_not_chosen(
    loaded: Loaded, tmp_path: Path
) -> None:
    stock = loaded.greeting  # spoken with profile None, from speakers_xtts.pth
    assert stock.duration_s == pytest.approx(PIECE_SAMPLES / RATE)
    bare = XttsVoice(loaded.voice._model, loaded.voice.fingerprint, "cpu")
    with pytest.raises(VoiceUnavailable, match="no voice samples"):
        bare.synthesize(["Hi."], "en", None)
    assert select_voice(loaded.folder, "en", has_samples=False).backend is loaded.voice
    folder = tmp_path / "no-stock"
    shutil.copytree(loaded.folder, folder)
    folder.chmod(0o755)
    (folder / "speakers_xtts.pth").unlink()
    selection = select_voice(folder, "en", has_samples=False)
    assert isinstance(selection.backend, EspeakWorldVoice)
    assert "no speakers_xtts.pth stock voice" in selection.reason


def test_cantonese_falls_back_to_the_default_voice(loaded: Loaded) -> None:
    selection = select_voice(loaded.folder, "yue")
    assert isinstance(selection.backend, EspeakWorldVoice)
    assert selection.reason == "XTTS cannot speak Cantonese"
    with pytest.raises(VoiceUnavailable, match="Cantonese"):
        loaded.voice.synthesize(["中秋快樂。"], "yue", None)


def _broken(folder: Path, problem: str) -> None:
    model = folder / "model.pth"
    if problem == "missing model.pth":
        model.unlink()
    elif problem == "truncated model.pth":
        model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    elif problem == "garbage model.pth":
        model.write_bytes(os.urandom(4096))
    elif problem == "model.pth of another size":
        config = (folder / "config.json").read_text()
        (folder / "config.json").write_text(config.replace('"gpt_layers": 1', '"gpt_layers": 2'))
    elif problem == "corrupt speakers_xtts.pth":
        (folder / "speakers_xtts.pth").write_bytes(b"PK\x03\x04 not a torch file")


@pytest.mark.parametrize(
    ("problem", "reason"),
    [
        ("missing model.pth", "model.pth is missing from"),
        ("truncated model.pth", "model.pth is corrupt: "),
        ("garbage model.pth", "model.pth is corrupt: "),
        ("model.pth of another size", "model.pth does not fit config.json: "),
        ("corrupt speakers_xtts.pth", "speakers_xtts.pth is corrupt: "),
    ],
)
def test_broken_weights_fall_back_to_the_default_voice_saying_why(
    loaded: Loaded, tmp_path: Path, problem: str, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "weights"
    shutil.copytree(loaded.folder, folder)
    folder.chmod(0o755)
    _broken(folder, problem)
    # The module's own logger: structlog's capture_logs cannot reach a logger that an earlier
    # test already bound through bot.logs (cache_logger_on_first_use).
    log = structlog.testing.CapturingLogger()
    monkeypatch.setattr(_backends, "_log", log)
    selection = select_voice(folder, "zh-Hant")
    assert isinstance(selection.backend, EspeakWorldVoice)
    assert selection.reason.startswith(f"XTTS is unavailable: {reason}")
    assert [(call.method_name, call.kwargs["backend"], call.kwargs["reason"]) for call in log.calls
            if call.args == ("voice_selected",)] == [("warning", "espeak-world",
                                                      selection.reason)]  # fmt: skip


def test_without_the_extra_or_a_folder_the_default_voice_speaks(
    loaded: Loaded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert select_voice(None, "zh-Hant").reason.endswith("TUANYUAN_XTTS_DIR is set")
    missing = select_voice(tmp_path / "nowhere", "zh-Hant")
    assert isinstance(missing.backend, EspeakWorldVoice)
    assert missing.reason.endswith("does not exist or is not a folder")
    monkeypatch.setitem(sys.modules, "TTS", None)  # import TTS now raises ImportError
    monkeypatch.setitem(sys.modules, "TTS.tts.configs.xtts_config", None)
    with pytest.raises(VoiceUnavailable, match="coqui-tts is not installed"):
        XttsVoice.load(loaded.folder)


def test_text_is_cut_to_the_limit_where_a_reader_pauses() -> None:
    pieces = split_to_limit(LONG_MANDARIN, 82)
    assert "".join(pieces) == LONG_MANDARIN and all(len(p) <= 82 for p in pieces)
    assert all(p[-1] in "，。" for p in pieces)
    assert split_to_limit("月" * 100, 82) == ["月" * 82, "月" * 18]  # no break anywhere
    assert split_to_limit("第一句。第二句，然後第三", 6) == ["第一句。", "第二句，", "然後第三"]
    english = "Happy Mid-Autumn, Grandma. " * 12
    cut = split_to_limit(english, 250)
    assert " ".join(cut) == english.strip() and all(len(p) <= 250 for p in cut)
    assert cut[0].endswith(".")
    assert split_to_limit("  short  ", 82) == ["short"] and split_to_limit("", 82) == []


def test_a_piece_may_speak_for_a_slow_readers_time_and_no_longer() -> None:
    per_second = 22050 / 1024
    short = token_budget("好", "zh-cn", per_second, 602)
    long = token_budget("好" * 20, "zh-cn", per_second, 602)
    assert short < long <= 602
    assert long / per_second > 20 * 0.3  # room for three characters a second
    assert token_budget("好" * 82, "zh-cn", per_second, 602) == 602
    assert token_budget("Hi there.", "en", per_second, 602) < token_budget(
        "好" * 9, "zh-cn", per_second, 602
    )


def test_chunks_become_the_same_speech_with_pauses_filled() -> None:
    one = np.full(100, 0.5, np.float32)
    chunks = [
        SpeechChunk(0, 0.0, one, 1000, last=False),
        SpeechChunk(0, 0.1, one, 1000, last=False),
        SpeechChunk(0, 0.2, np.zeros(0, np.float32), 1000, last=True),
        SpeechChunk(1, 0.5, one, 1000, last=False),
        SpeechChunk(1, 0.6, np.zeros(0, np.float32), 1000, last=True),
    ]
    speech = assemble(["a", "b"], chunks)
    assert speech.duration_s == pytest.approx(0.6)
    assert [(c.start_s, c.end_s) for c in speech.cues] == [(0.0, 0.2), (0.5, 0.6)]
    assert np.all(speech.samples[200:500] == 0) and np.all(speech.samples[500:] == 0.5)
    with pytest.raises(ValueError, match="2 sentences but 1"):
        assemble(["a", "b"], chunks[:3])
    # A streaming render sees each sentence settle the moment its last chunk lands.
    track = SpeechTrack(["a", "b"])
    settled = [track.add(chunk) for chunk in chunks]
    assert settled[:2] == [None, None] and settled[2] == speech.cues[0] and settled[4] is not None
    assert track.speech(1).cues == speech.cues[:1] and track.speech(1).duration_s == 0.2
