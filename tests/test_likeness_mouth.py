"""The mouth follows the speech sentence by sentence as the voice delivers it, exactly as it
would have followed the whole speech at once; the open mouth is coloured from the photo."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageOps

from engine.likeness import EspeakWorldVoice, MouthTrack, TalkingPortrait
from engine.likeness._synthetic import FACES, face_photo


@pytest.fixture(scope="module")
def sentence() -> tuple[np.ndarray, int]:
    speech = EspeakWorldVoice().synthesize(["中秋節快樂，我的寶貝。"], "zh-Hant", None)
    return speech.samples, speech.rate


def test_a_track_grown_sentence_by_sentence_matches_one_made_at_once(
    sentence: tuple[np.ndarray, int],
) -> None:
    samples, rate = sentence
    pause = np.zeros(rate // 2, np.float32)
    whole = np.concatenate([samples, pause, samples])
    at_once = MouthTrack.from_speech(whole, rate, start_s=1.0)
    grown = MouthTrack(start_s=1.0)
    cut = len(samples) + len(pause) // 3  # mid-pause, off the 10 ms grid
    grown.extend(whole[:cut], rate)
    heard_first = len(grown.openings)
    grown.extend(whole[cut:], rate)
    assert len(grown.openings) == len(at_once.openings) > heard_first
    # Calibrated on the first sentence alone; the second is the same sentence again.
    assert np.abs(grown.openings - at_once.openings).max() < 0.02
    times = np.arange(0.9, 1.0 + len(whole) / rate, 0.01)
    opened = [grown.opening(t) for t in times]
    assert max(opened) > 0.8 and opened[0] == 0.0  # wide on loud vowels, shut before speech


def test_silence_first_waits_to_calibrate_on_speech(sentence: tuple[np.ndarray, int]) -> None:
    samples, rate = sentence
    track = MouthTrack()
    track.extend(np.zeros(rate, np.float32), rate)
    assert np.all(track.openings == 0)
    track.extend(samples, rate)
    assert track.openings.max() > 0.8
    with pytest.raises(ValueError, match="cannot continue a track at"):
        track.extend(samples, rate * 2)


def test_openings_between_steps_are_numpy_s_linear_interpolation(
    sentence: tuple[np.ndarray, int],
) -> None:
    """Blinks are placed by thousands of look-ups; the fast one gives numpy.interp's values to
    the last bit, on the steps, between them, before the track and past its end."""
    samples, rate = sentence
    track = MouthTrack.from_speech(samples, rate, start_s=1.0)
    steps = np.arange(len(track.openings))
    times = np.concatenate([np.linspace(0.5, 1.2 + len(samples) / rate, 4001), 0.96 + steps / 100])
    for t in times:
        position = (t - track.start_s) / 0.01
        inside = 0 <= position <= len(steps) - 1
        expected = float(np.interp(position, steps, track.openings)) if inside else 0.0
        assert track.opening(t) == expected


def test_rounded_vowels_round_the_lips_and_spread_ones_spread_them() -> None:
    voice = EspeakWorldVoice()
    words = ("who", "see", "two", "me", "food", "tea")
    spoken = [voice.synthesize([word], "en", None) for word in words]
    rate = spoken[0].rate
    pause = np.zeros(rate // 3, np.float32)
    track = MouthTrack.from_speech(np.concatenate([p for s in spoken for p in (s.samples, pause)]),
                                   rate)  # fmt: skip
    starts = np.cumsum([0.0] + [s.duration_s + len(pause) / rate for s in spoken])
    shapes = []
    for start, speech in zip(starts, spoken, strict=False):
        times = start + np.arange(0.0, speech.duration_s, 0.01)
        shapes.append(np.mean([track.shape(t) for t in times]))
    rounded, spread = shapes[0::2], shapes[1::2]
    assert max(rounded) < 0 < min(spread)
    assert all(-1 <= track.shape(t) <= 1 for t in np.arange(0.0, starts[-1], 0.05))


def _open_mouth(photo: Image.Image) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The mean colour deep inside the mouth opened wide (a held vowel), and of the lips."""
    rate = 16000
    vowel = (0.3 * np.sin(2 * np.pi * 180 * np.arange(rate) / rate)).astype(np.float32)
    mouth = MouthTrack.from_speech(vowel, rate)
    assert mouth.opening(0.5) > 0.95
    portrait = TalkingPortrait(photo, mouth)
    frame = portrait.frame(0.5).astype(np.float64)
    points = portrait.face.landmarks
    split = 0.5 * (points[62] + points[66])
    height = points[8, 1] - points[17:27, 1].min()
    # The middle of the gap: the lower lip drops 0.085 face heights at the widest.
    rows = slice(round(split[1] + 0.03 * height), round(split[1] + 0.06 * height))
    columns = slice(round(split[0]) - 3, round(split[0]) + 4)
    lips = np.asarray(photo, np.float64)[round(points[57, 1]) - 2, round(points[57, 0])]
    return frame[rows, columns].reshape(-1, 3).mean(axis=0), lips


def test_the_open_mouth_takes_its_colour_from_the_photo_s_lips() -> None:
    """A fixed red interior looked painted on real photos; in a black-and-white one it was the
    only colour in the picture."""
    photo = face_photo(FACES[1]).resize((394, 526))
    inside, lips = _open_mouth(photo)
    luma = np.array([0.299, 0.587, 0.114])
    assert inside @ luma < 0.6 * (lips @ luma)  # a cavity in shadow, darker than the lips
    hue = inside / inside.sum()
    assert np.abs(hue - lips / lips.sum()).max() < 0.05  # of the lips' own hue
    grey_inside, _ = _open_mouth(ImageOps.grayscale(photo).convert("RGB"))
    assert np.ptp(grey_inside) < 3  # a grey mouth in a grey photo
