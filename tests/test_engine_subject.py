"""The subject in a rendered greeting: their photo talking with the voice, or the family's own
footage under it; judged on the decoded video, as a viewer would see it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from engine import ConsentReference, IngestError, RenderResult, RenderSpec, render
from engine._greeting import greeting_sentences
from engine._scene import canvas_size, portrait_window
from engine._templates import load_template
from engine.likeness import (
    EspeakWorldVoice,
    MouthTrack,
    SpeakerProfile,
    TalkingPortrait,
    detect_faces,
)
from engine.likeness._measure import lip_gap
from engine.likeness._synthetic import FACES, face_photo
from tests.auxil.likeness import write_clip
from tests.auxil.media import portrait, spoken_note

TEMPLATE = load_template("mid-autumn")
SYNTHETIC = ConsentReference.for_synthetic_media()  # every face and voice here is made by code
SPEECH_START_S = TEMPLATE.timing.intro_s + TEMPLATE.timing.lead_in_s
CLIP_SIZE = (360, 480)
CLIP_FPS = 10
BAND = (230, 20, 200)  # a magenta band across the clips' top: unmistakably not the photo


def _spec(out: Path, **fields: object) -> RenderSpec:
    values: dict[str, object] = {
        "render_id": "s", "template_id": "mid-autumn", "language": "zh-Hans",
        "recipient": "外婆", "output_dir": out, "consent": SYNTHETIC, **fields,
    }  # fmt: skip
    return RenderSpec.model_validate(values)


def _frames(
    video: Path, start_s: float, end_s: float
) -> Iterator[tuple[float, npt.NDArray[np.uint8]]]:
    with av.open(str(video)) as container:
        for frame in container.decode(video=0):
            if frame.time is not None and start_s <= frame.time < end_s:
                yield frame.time, np.asarray(frame.to_ndarray(format="rgb24"), np.uint8)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("subject-media")


@pytest.fixture(scope="module")
def clips(media: Path) -> dict[str, Path]:
    """A steady, silent clip with a magenta band (usable) and one of the person talking."""
    photo = face_photo(FACES[0]).resize(CLIP_SIZE)
    speech = EspeakWorldVoice().synthesize(["中秋節快樂，祝你身體健康。"], "zh-Hant", None)
    seconds = 4.0
    times = [i / CLIP_FPS for i in range(round(seconds * CLIP_FPS))]
    listening = TalkingPortrait(photo, MouthTrack.silent(), seed=1)
    talking = TalkingPortrait(photo, MouthTrack.from_speech(speech.samples, speech.rate), seed=1)

    def banded(frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        frame = frame.copy()
        frame[: CLIP_SIZE[1] // 12] = BAND
        return frame

    return {
        "listening": write_clip(
            media / "listening.mp4", (banded(listening.frame(t)) for t in times), CLIP_FPS
        ),
        "talking": write_clip(media / "talking.mp4", (talking.frame(t) for t in times), CLIP_FPS),
    }


@pytest.fixture(scope="module")
def talking_photo(tmp_path_factory: pytest.TempPathFactory, media: Path) -> RenderResult:
    return render(_spec(tmp_path_factory.mktemp("talking"), portrait=portrait(media / "face.jpg")))


def test_the_photo_talks_with_the_voice_and_stays_found(talking_photo: RenderResult) -> None:
    """Lips apart while the voice speaks, together in the pauses between sentences."""
    assert (talking_photo.likeness, talking_photo.voice) == ("portrait", "espeak-world")
    sentences = greeting_sentences(TEMPLATE, "zh-Hans", "外婆", "")
    speech = EspeakWorldVoice().synthesize(sentences, "zh-Hans", None)
    loud = MouthTrack.from_speech(speech.samples, speech.rate, start_s=SPEECH_START_S)
    start = TEMPLATE.timing.intro_s
    end = SPEECH_START_S + speech.duration_s
    found, gaps, openings = 0, [], []
    frames = list(_frames(talking_photo.video, start, end))
    for time_s, frame in frames[::2]:
        faces = detect_faces(frame)
        found += len(faces) == 1
        if faces:
            gaps.append(lip_gap(faces[0]))
            openings.append(loud.opening(time_s))
    assert found >= 0.95 * len(frames[::2])
    gap, opening = np.array(gaps), np.array(openings)
    assert np.corrcoef(gap, opening)[0, 1] > 0.5
    assert gap[opening > 0.5].mean() > 2 * gap[opening < 0.05].mean()


def test_a_voice_note_makes_a_profile_that_the_next_render_reuses(
    tmp_path: Path, media: Path
) -> None:
    note = spoken_note(tmp_path, "grandpa", "今天天气很好，我们一起去公园散步吧。", "cmn", pitch=20)
    photo = portrait(media / "face.jpg")
    first = render(_spec(tmp_path / "one", portrait=photo, voice_samples=(note,), mode="preview"))
    assert first.speaker_profile is not None
    profile = SpeakerProfile.from_bytes(first.speaker_profile.read_bytes())
    assert profile.sample_count == 1 and "espeak-world" in profile.extensions
    # A cached profile needs no samples at all: nothing is decoded, nothing new to keep.
    hidden = note.rename(tmp_path / "elsewhere.ogg")
    again = render(_spec(tmp_path / "two", portrait=photo, voice_samples=(note,),
                         speaker_profile=first.speaker_profile, mode="preview"))  # fmt: skip
    assert again.speaker_profile is None
    # A profile that no longer reads is computed again from the samples.
    broken = tmp_path / "broken.profile"
    broken.write_bytes(b"not a profile")
    hidden.rename(note)
    rebuilt = render(_spec(tmp_path / "three", portrait=photo, voice_samples=(note,),
                           speaker_profile=broken, mode="preview"))  # fmt: skip
    assert rebuilt.speaker_profile is not None
    assert SpeakerProfile.from_bytes(rebuilt.speaker_profile.read_bytes()) == profile


def _window_top(result: RenderResult) -> npt.NDArray[np.float64]:
    """Mean colour of the top rows of the subject's window, half a second into the speech.

    The clips' window is 3:4; a photo's fills the layout's whole subject box, around it.
    """
    size = canvas_size("16:9", 0.5)
    x, y, width, height = portrait_window(TEMPLATE.layouts["16:9"], size, 3 / 4)
    (_, frame), *_ = _frames(result.video, SPEECH_START_S + 0.5, SPEECH_START_S + 0.6)
    rows = slice(y + height // 48, y + height // 24)
    band = frame[rows, x + width // 3 : x + 2 * width // 3]
    return np.asarray(band.reshape(-1, 3).mean(axis=0), np.float64)


def test_a_usable_clip_replaces_the_photo(
    tmp_path: Path, media: Path, clips: dict[str, Path]
) -> None:
    photo = portrait(media / "face.jpg")
    result = render(_spec(tmp_path, portrait=photo, mode="preview",
                          footage=(clips["talking"], clips["listening"])))  # fmt: skip
    assert result.likeness == "footage"
    assert np.abs(_window_top(result) - BAND).max() < 40


def test_footage_alone_is_enough_and_the_order_can_force_the_photo(
    tmp_path: Path, media: Path, clips: dict[str, Path]
) -> None:
    alone = render(_spec(tmp_path / "alone", footage=(clips["listening"],), mode="preview"))
    assert alone.likeness == "footage"
    photo = portrait(media / "face.jpg")
    forced = render(_spec(tmp_path / "forced", portrait=photo, footage=(clips["listening"],),
                          likeness="portrait", mode="preview"))  # fmt: skip
    assert forced.likeness == "portrait"
    assert np.abs(_window_top(forced) - BAND).max() > 60


def test_footage_the_material_cannot_support_is_an_ingest_error(
    tmp_path: Path, media: Path, clips: dict[str, Path]
) -> None:
    """A clip of the person talking gets no fake lip-sync: the photo or nothing."""
    photo = portrait(media / "face.jpg")
    with pytest.raises(IngestError) as forced:
        render(_spec(tmp_path, portrait=photo, footage=(clips["talking"],), likeness="footage",
                     mode="preview"))  # fmt: skip
    assert forced.value.code == "no_usable_footage"
    with pytest.raises(IngestError) as nothing:
        render(_spec(tmp_path, footage=(clips["talking"],), mode="preview"))
    assert nothing.value.code == "no_face"
    fallback = render(_spec(tmp_path, portrait=photo, footage=(clips["talking"],), mode="preview"))
    assert fallback.likeness == "portrait"


def test_a_spec_must_show_the_subject_somehow(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="portrait or footage"):
        _spec(tmp_path)


def test_cantonese_reads_the_chinese_text(tmp_path: Path, media: Path) -> None:
    photo = portrait(media / "face.jpg")
    cantonese = render(_spec(tmp_path / "yue", portrait=photo, language="zh-Hant",
                             spoken_language="yue", mode="preview"))  # fmt: skip
    mandarin = render(_spec(tmp_path / "cmn", portrait=photo, language="zh-Hant", mode="preview"))
    assert cantonese.greeting_text == mandarin.greeting_text
    assert cantonese.duration_s != mandarin.duration_s  # spoken differently, same words shown
