"""Footage mode: which of the family's clips may carry the narration, and the reel they make."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine._errors import IngestError
from engine.likeness import (
    ClipAssessment,
    EspeakWorldVoice,
    MouthTrack,
    TalkingPortrait,
    assess_clip,
    choose_mode,
    plan_footage,
)
from engine.likeness._synthetic import FACES, face_photo
from tests.auxil.likeness import write_clip

SIZE = (320, 426)
FPS = 10
SECONDS = 3.0


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ClipAssessment]:
    folder = tmp_path_factory.mktemp("clips")
    photo = face_photo(FACES[0]).resize(SIZE)
    speech = EspeakWorldVoice().synthesize(["中秋節快樂，祝你身體健康。"], "zh-Hant", None)
    listening = TalkingPortrait(photo, MouthTrack.silent(), seed=2)
    talking = TalkingPortrait(photo, MouthTrack.from_speech(speech.samples, speech.rate), seed=2)
    times = [i / FPS for i in range(round(SECONDS * FPS))]
    empty = np.asarray(Image.new("RGB", SIZE, (90, 110, 130)), dtype=np.uint8)
    shaky = np.asarray(photo, dtype=np.uint8)
    paths = {
        "listening": write_clip(folder / "listening.mp4", (listening.frame(t) for t in times), FPS),
        "talking": write_clip(folder / "talking.mp4", (talking.frame(t) for t in times), FPS),
        "empty": write_clip(folder / "empty.mp4", (empty for _ in times), FPS),
        # The camera swings 30 px between frames: the face is in view but never steady.
        "shaky": write_clip(
            folder / "shaky.mp4",
            (np.roll(shaky, 30 * (i % 2), axis=1) for i in range(len(times))),
            FPS,
        ),
    }
    return {name: assess_clip(path) for name, path in paths.items()}


def test_a_steady_silent_face_carries_the_narration(clips: dict[str, ClipAssessment]) -> None:
    clip = clips["listening"]
    assert clip.face_share == 1.0 and clip.facing == 1.0
    assert clip.steadiness > 0.8 and not clip.speaking
    assert clip.duration_s == pytest.approx(SECONDS, abs=0.3)
    assert clip.usable


def test_footage_of_the_person_talking_gets_no_narration(clips: dict[str, ClipAssessment]) -> None:
    assert clips["talking"].face_share == 1.0
    assert clips["talking"].speaking and not clips["talking"].usable


def test_clips_without_a_steady_face_are_not_used(clips: dict[str, ClipAssessment]) -> None:
    assert clips["empty"].face_share == 0 and not clips["empty"].usable
    assert clips["shaky"].face_share == 1.0
    assert clips["shaky"].steadiness < 0.5 and not clips["shaky"].usable


def test_mode_follows_the_material_unless_the_order_forces_it(
    clips: dict[str, ClipAssessment],
) -> None:
    unusable = [clips["talking"], clips["empty"], clips["shaky"]]
    assert choose_mode(True, [*unusable, clips["listening"]]) == "footage"
    assert choose_mode(True, unusable) == "portrait"
    assert choose_mode(True, [clips["listening"]], force="portrait") == "portrait"
    with pytest.raises(IngestError) as raised:
        choose_mode(True, unusable, force="footage")
    assert raised.value.code == "no_usable_footage"
    with pytest.raises(IngestError) as raised:
        choose_mode(False, unusable)
    assert raised.value.code == "no_face"


def test_usable_clips_cover_the_narration_back_to_back(clips: dict[str, ClipAssessment]) -> None:
    segments = plan_footage(list(clips.values()), 7.0)
    assert {s.path.name for s in segments} == {"listening.mp4"}
    assert segments[0].at_s == 0 and segments[-1].at_s + (
        segments[-1].end_s - segments[-1].start_s
    ) == pytest.approx(7.0)
    for before, after in itertools.pairwise(segments):
        assert after.at_s == pytest.approx(before.at_s + before.end_s - before.start_s)
    assert all(0 <= s.start_s < s.end_s <= clips["listening"].duration_s + 1e-6 for s in segments)
    assert plan_footage([clips["talking"]], 7.0) == ()


def test_a_file_that_is_not_a_video_is_an_ingest_error(tmp_path: Path) -> None:
    bogus = tmp_path / "clip.mp4"
    bogus.write_bytes(b"\x00\x00\x00\x18ftypmp42 but nothing else")
    with pytest.raises(IngestError):
        assess_clip(bogus)


def test_a_frame_width_with_padded_rows_is_read_as_the_viewer_sees_it(tmp_path: Path) -> None:
    """FFmpeg pads a 360-pixel row (1080 bytes) to 1088: the face must still be found."""
    photo = face_photo(FACES[0]).resize((360, 480))
    still = TalkingPortrait(photo, MouthTrack.silent(), seed=2)
    times = [i / FPS for i in range(round(SECONDS * FPS))]
    clip = assess_clip(write_clip(tmp_path / "padded.mp4", (still.frame(t) for t in times), FPS))
    assert clip.face_share == 1.0 and clip.size == (360, 480)
    assert clip.usable
