"""A render composes while the voice speaks: frames are drawn as soon as a sentence is
settled, the same frames however fast the voice is, and a voice that fails or runs long is
handled without a frame of it left in the greeting."""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from engine import (
    ConsentReference,
    RenderError,
    RenderProgress,
    RenderResult,
    RenderSpec,
    greeting_text,
)
from engine._greeting import greeting_sentences
from engine._render import Stages, render_template
from engine._templates import Template, load_template
from engine.likeness import (
    EspeakWorldVoice,
    RecordedVoice,
    SpeechChunk,
    VoiceBackend,
    VoiceSelection,
)
from tests.auxil.media import portrait
from tests.auxil.video import audio_track, rms

SCALE = 0.25  # small frames: these tests are about timing, not pictures
TEMPLATE = load_template("mid-autumn")
WAIT_S = 60.0  # far longer than any of these renders needs on a loaded machine


@pytest.fixture(scope="module")
def spoken() -> tuple[SpeechChunk, ...]:
    """The greeting as the embedded voice says it, kept: replayed, it is the same every time."""
    sentences = greeting_sentences(TEMPLATE, "zh-Hant", "外婆", "小明")
    return tuple(EspeakWorldVoice().stream(sentences, "zh-Hant", None))


class Scripted(RecordedVoice):
    """The recording, calling ``before(sentence)`` ahead of each sentence and noting it."""

    def __init__(
        self, spoken: tuple[SpeechChunk, ...], before: Callable[[int], None] = lambda _: None
    ) -> None:
        self.started: list[int] = []

        def note(chunk: SpeechChunk) -> None:
            self.started.append(chunk.sentence)
            before(chunk.sentence)

        super().__init__(spoken, note, name="scripted")


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return portrait(tmp_path_factory.mktemp("speaking") / "face.jpg")


def _render(
    out: Path,
    photo: Path,
    voice: VoiceBackend,
    stages: Stages | None = None,
    template: Template = TEMPLATE,
    progress: Callable[[RenderProgress], None] | None = None,
    message: str | None = None,
) -> RenderResult:
    spec = RenderSpec(
        render_id="speaking", template_id=template.id, language="zh-Hant", portrait=photo,
        recipient="外婆", sender="小明", output_dir=out, message=message,
        consent=ConsentReference.for_synthetic_media(),
    )  # fmt: skip
    selection = VoiceSelection(voice, "chosen by the test")
    return render_template(
        spec, template, stages or Stages(), scale=SCALE, voice=selection, progress=progress
    )


def _fingerprints() -> tuple[Stages, list[tuple[float, str]]]:
    seen: list[tuple[float, str]] = []

    def record(frame: np.ndarray, t: float) -> np.ndarray:
        seen.append((t, hashlib.sha1(frame.tobytes()).hexdigest()))
        return frame

    return Stages(frame_filter=record), seen


def test_frames_are_composed_while_the_voice_is_still_speaking(
    tmp_path: Path, photo: Path, spoken: tuple[SpeechChunk, ...]
) -> None:
    """The last sentence is held back until the picture shows the first one being spoken:
    a render that waited for the whole speech would never get there."""
    speech_start = TEMPLATE.timing.intro_s + TEMPLATE.timing.lead_in_s
    talking = threading.Event()

    def watch(frame: np.ndarray, t: float) -> np.ndarray:
        if t > speech_start + 0.2:
            talking.set()
        return frame

    def hold_last(sentence: int) -> None:
        if sentence == 3 and not talking.wait(WAIT_S):
            raise AssertionError("no frame of the greeting was composed before the last sentence")

    voice = Scripted(spoken, hold_last)
    result = _render(tmp_path, photo, voice, Stages(frame_filter=watch))
    assert (result.voice, result.voice_reason) == ("scripted", "chosen by the test")
    assert voice.started == [0, 1, 2, 3]
    assert result.greeting_text.endswith("小明在遠方陪你一起賞月。")


def test_the_frames_are_the_same_however_fast_the_voice_speaks(
    tmp_path: Path, photo: Path, spoken: tuple[SpeechChunk, ...]
) -> None:
    fast_stages, fast = _fingerprints()
    _render(tmp_path / "fast", photo, Scripted(spoken), fast_stages)
    slow_stages, slow = _fingerprints()
    slow_voice = Scripted(spoken, lambda _: time.sleep(0.4))
    _render(tmp_path / "slow", photo, slow_voice, slow_stages)
    assert len(fast) > 8 * 25 and slow == fast


def test_progress_follows_the_frames_and_ends_done(
    tmp_path: Path, photo: Path, spoken: tuple[SpeechChunk, ...]
) -> None:
    told: list[RenderProgress] = []
    _render(tmp_path, photo, Scripted(spoken), progress=told.append)
    fractions = [progress.fraction for progress in told]
    assert fractions == sorted(fractions) and told[-1] == RenderProgress(stage="done", fraction=1)
    stages = [stage for stage, _ in itertools.groupby(progress.stage for progress in told)]
    assert stages == ["voice", "composing", "marking", "done"]
    composing = [progress.fraction for progress in told if progress.stage == "composing"]
    # Steps of about 1% over the frames, however many there are (some 500 here).
    assert 0 < composing[0] < 0.1 and 0.89 <= composing[-1] <= 0.9
    assert 50 < len(composing) < 100 and len(told) < 110
    assert max(b - a for a, b in itertools.pairwise(composing)) < 0.05


def test_a_voice_failing_midway_is_replaced_for_the_whole_greeting(
    tmp_path: Path, photo: Path, spoken: tuple[SpeechChunk, ...]
) -> None:
    def fail_third(sentence: int) -> None:
        if sentence == 2:
            raise RuntimeError("the GPU went away")

    told: list[RenderProgress] = []
    result = _render(tmp_path / "failed", photo, Scripted(spoken, fail_third), progress=told.append)
    fractions = [progress.fraction for progress in told]
    assert fractions == sorted(fractions)  # the second composition counts on from the first's
    assert result.voice == "espeak-world"
    assert result.voice_reason == "scripted failed while speaking: the GPU went away"
    default = _render(tmp_path / "default", photo, EspeakWorldVoice())
    assert result.greeting_text == default.greeting_text
    # espeak-ng varies a little between calls: a frame or two either way.
    assert result.duration_s == pytest.approx(default.duration_s, abs=0.1)
    assert rms(audio_track(result.video)[0]) > 0.01


def test_a_voice_running_past_the_longest_greeting_is_stopped_there(
    tmp_path: Path, photo: Path, spoken: tuple[SpeechChunk, ...]
) -> None:
    """Eight seconds hold the first sentence only: the second is cut and the voice is told to
    stop, so it never says the fourth (it is let go once the last frame is drawn)."""
    short = TEMPLATE.model_copy(
        update={"duration": TEMPLATE.duration.model_copy(update={"min_s": 8, "max_s": 8})}
    )
    finished = threading.Event()

    def watch(frame: np.ndarray, t: float) -> np.ndarray:
        if t >= 8 - 1.5 / 25:
            finished.set()
        return frame

    def wait_from_the_third(sentence: int) -> None:
        if sentence >= 2:
            finished.wait(WAIT_S)

    voice = Scripted(spoken, wait_from_the_third)
    result = _render(tmp_path, photo, voice, Stages(frame_filter=watch), template=short)
    assert result.greeting_text == "外婆，中秋快樂！"
    assert result.duration_s == 8.0
    assert 3 not in voice.started


def test_a_first_sentence_longer_than_the_greeting_is_refused(tmp_path: Path, photo: Path) -> None:
    tiny = TEMPLATE.model_copy(
        update={"duration": TEMPLATE.duration.model_copy(update={"min_s": 4, "max_s": 4})}
    )
    with pytest.raises(RenderError, match=r"first sentence alone is longer than 0\.2 s"):
        _render(tmp_path, photo, EspeakWorldVoice(), template=tiny)
    assert not list(tmp_path.glob("*.mp4"))


def test_a_message_is_said_between_the_salutation_and_the_sender_s_line(
    tmp_path: Path, photo: Path
) -> None:
    short = _render(tmp_path / "short", photo, EspeakWorldVoice(), message="外婆，我好想你。")
    more = "外婆，我好想你。今年我考上了大學，下次回家給你看照片。你要多保重身體，我們都很愛你。"
    long = _render(tmp_path / "long", photo, EspeakWorldVoice(), message=more)
    assert short.greeting_text == "外婆，中秋快樂！我好想你。小明在遠方陪你一起賞月。"
    # Her opening "外婆，" is not said again after the template's salutation.
    assert long.greeting_text == f"外婆，中秋快樂！{more[3:]}小明在遠方陪你一起賞月。"
    assert long.greeting_text == greeting_text("mid-autumn", "zh-Hant", "外婆", "小明", "", more)
    # Some 30 characters more, at about 0.3 s each.
    assert long.duration_s > short.duration_s + 5
