"""The talking portrait, judged on its rendered frames with dlib's own detector and landmarks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from engine._errors import IngestError
from engine._speech import Speech
from engine.likeness import (
    EspeakWorldVoice,
    Face,
    MouthTrack,
    TalkingPortrait,
    descriptor,
    detect_faces,
    portrait_face,
)
from engine.likeness._measure import eye_boxes, eye_contrast, lip_gap
from engine.likeness._synthetic import FACES, face_photo
from tests.auxil.likeness import two_faces

SIZE = (394, 526)  # the scene's pre-scaled window for a 3:4 photo
SPEECH_START_S = 1.0


@pytest.fixture(scope="module")
def speech() -> Speech:
    return EspeakWorldVoice().synthesize(["中秋節快樂，我的寶貝。"], "zh-Hant", None)


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    return face_photo(FACES[1]).resize(SIZE)


@pytest.fixture(scope="module")
def portrait(photo: Image.Image, speech: Speech) -> TalkingPortrait:
    mouth = MouthTrack.from_speech(speech.samples, speech.rate, start_s=SPEECH_START_S)
    return TalkingPortrait(photo, mouth, seed=3)


def _loudest(speech: Speech) -> float:
    window = speech.rate // 25
    count = len(speech.samples) // window
    frames = speech.samples[: count * window].reshape(count, window)
    return SPEECH_START_S + (int(np.argmax(np.sqrt(np.mean(frames**2, axis=1)))) + 0.5) / 25


def _one_face(frame: npt.NDArray[np.uint8]) -> Face:
    faces = detect_faces(frame)
    assert len(faces) == 1
    return faces[0]


def test_the_face_stays_found_and_the_same_person(
    portrait: TalkingPortrait, photo: Image.Image, speech: Speech
) -> None:
    source = np.asarray(photo, dtype=np.uint8)
    identity = descriptor(source, _one_face(source))
    blink = portrait.blinks_until(12.0)[0].start_s + 0.1
    for t in (0.3, _loudest(speech), blink, 5.0, 9.7):
        frame = portrait.frame(t)
        assert frame.shape == source.shape and frame.dtype == np.uint8
        distance = float(np.linalg.norm(descriptor(frame, _one_face(frame)) - identity))
        assert distance < (0.6 if t == blink else 0.45)  # 0.6 is dlib's same-person threshold


def test_mouth_opens_with_speech_and_closes_in_silence(
    portrait: TalkingPortrait, speech: Speech, photo: Image.Image
) -> None:
    at_rest = lip_gap(_one_face(np.asarray(photo, dtype=np.uint8)))
    speaking = lip_gap(_one_face(portrait.frame(_loudest(speech))))
    before = lip_gap(_one_face(portrait.frame(0.5)))
    after = lip_gap(_one_face(portrait.frame(SPEECH_START_S + speech.duration_s + 1.0)))
    assert speaking > at_rest + 0.04  # in face heights: a visibly open mouth
    assert abs(before - at_rest) < 0.01 and abs(after - at_rest) < 0.01


def test_nothing_outside_the_face_region_moves(
    portrait: TalkingPortrait, photo: Image.Image, speech: Speech
) -> None:
    source = np.asarray(photo, dtype=np.uint8)
    region = portrait.region()
    left, top, right, bottom = portrait.face.box
    rows, columns = np.nonzero(region)
    # The region is the face with its forehead and chin, not the hair, shoulders or background.
    assert region.mean() < 0.3
    assert columns.min() > left - 0.4 * (right - left) and columns.max() < right + 0.4 * (
        right - left
    )
    assert rows.max() < bottom + 0.6 * (bottom - top)
    changed = np.zeros(region.shape, bool)
    blink = portrait.blinks_until(12.0)[0].start_s + 0.1
    moments = [*np.linspace(0, 11.9, 40).tolist(), _loudest(speech), blink]
    canvas = source.copy()  # a render paints every frame into one kept copy of the photo
    for t in moments:
        frame = portrait.frame(t)
        assert np.array_equal(frame[~region], source[~region])
        changed |= np.any(frame != source, axis=2)
        portrait.paint(t, canvas)
        assert np.array_equal(canvas, frame)
    assert changed[region].mean() > 0.2  # and the face itself does move


def test_blinks_shut_the_eyes_at_a_natural_rate(
    portrait: TalkingPortrait, photo: Image.Image
) -> None:
    per_minute = len(TalkingPortrait(photo, MouthTrack.silent(), seed=11).blinks_until(120.0)) / 2
    assert 8 <= per_minute <= 25
    boxes = eye_boxes(_one_face(np.asarray(photo, dtype=np.uint8)))
    blink = portrait.blinks_until(12.0)[0]
    opened = eye_contrast(portrait.frame(blink.start_s - 0.2), boxes)
    shut = eye_contrast(portrait.frame(blink.start_s + 0.1), boxes)
    reopened = eye_contrast(portrait.frame(blink.start_s + 0.45), boxes)
    assert shut < 0.75 * opened and reopened > 0.95 * opened


def test_blinks_fall_in_the_pauses_of_speech(photo: Image.Image) -> None:
    """Shut eyes over a wide-open mouth read as a grimace; people blink between words."""
    sentences = ["中秋節快樂，我的寶貝。", "我很想你，祝你身體健康，萬事如意。", "明年見。"]
    speech = EspeakWorldVoice().synthesize(sentences * 4, "zh-Hant", None)
    mouth = MouthTrack.from_speech(speech.samples, speech.rate)
    portrait = TalkingPortrait(photo, mouth, seed=5)
    blinks = portrait.blinks_until(speech.duration_s)
    per_minute = 60 * len(blinks) / speech.duration_s
    assert 8 <= per_minute <= 25
    for blink in blinks:
        widest = max(mouth.opening(blink.start_s + dt) for dt in np.arange(0, 0.25, 0.01))
        assert widest <= 0.35, blink
    speaking = np.mean([mouth.opening(t) > 0.35 for t in np.arange(0, speech.duration_s, 0.05)])
    assert speaking > 0.3  # there was plenty of wide-open mouth to avoid


def test_a_tilted_photo_is_animated_along_the_face(speech: Speech) -> None:
    tilted = face_photo(FACES[0]).rotate(12, resample=Image.Resampling.BICUBIC).resize(SIZE)
    mouth = MouthTrack.from_speech(speech.samples, speech.rate, start_s=SPEECH_START_S)
    portrait = TalkingPortrait(tilted, mouth, seed=1)
    at_rest = lip_gap(_one_face(np.asarray(tilted, dtype=np.uint8)))
    assert lip_gap(_one_face(portrait.frame(_loudest(speech)))) > at_rest + 0.04


@pytest.mark.parametrize(
    ("photo_of", "code"),
    [
        (lambda: Image.new("RGB", (600, 800), (120, 140, 160)), "no_face"),
        (two_faces, "several_faces"),
    ],
)
def test_a_photo_without_one_face_is_an_ingest_error(
    photo_of: Callable[[], Image.Image], code: str
) -> None:
    image = photo_of()
    with pytest.raises(IngestError) as raised:
        portrait_face(image)
    assert raised.value.code == code
    with pytest.raises(IngestError):
        TalkingPortrait(image, MouthTrack.silent())
