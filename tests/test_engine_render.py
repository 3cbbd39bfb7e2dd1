"""End-to-end: render real greetings and inspect the files like a client would."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from bot.cli import main
from engine import (
    ConsentReference,
    IngestError,
    RenderResult,
    RenderSpec,
    Stages,
    check_portrait,
    render,
)
from engine._encoder import fit_to_limit
from engine._faces import find_faces
from engine._greeting import greeting_sentences
from engine._render import Take, render_template
from engine._scene import _label_layer, pixel_box
from engine._templates import DurationBounds, load_template
from engine.likeness import EspeakWorldVoice, RecordedVoice, SpeechChunk, VoiceSelection
from tests.auxil.media import portrait, spoken_note, two_faces
from tests.auxil.video import audio_track, frame_at, rms, top_level_boxes

TEMPLATE = load_template("mid-autumn")
SYNTHETIC = ConsentReference.for_synthetic_media()  # every face here is drawn by code
SPEECH_START_S = TEMPLATE.timing.intro_s + TEMPLATE.timing.lead_in_s


@pytest.fixture(scope="module")
def zh_render(tmp_path_factory: pytest.TempPathFactory) -> RenderResult:
    media = tmp_path_factory.mktemp("media")
    note = spoken_note(media, "mum", "今天天气很好，我们去公园散步吧。", "cmn+f3", pitch=60)
    spec = RenderSpec(
        render_id="zh-1",
        template_id="mid-autumn",
        language="zh-Hant",
        portrait=portrait(media / "face.jpg"),
        voice_samples=(note,),
        recipient="婆婆",
        sender="小明",
        output_dir=tmp_path_factory.mktemp("out"),
        consent=SYNTHETIC,
    )
    return render(spec)


@pytest.fixture(scope="module")
def en_render(tmp_path_factory: pytest.TempPathFactory) -> RenderResult:
    media = tmp_path_factory.mktemp("media-en")
    spec = RenderSpec(
        render_id="en-1",
        template_id="mid-autumn",
        language="en",
        portrait=portrait(media / "face.png", size=(900, 600), fmt="PNG"),
        recipient="Grandma",
        output_dir=tmp_path_factory.mktemp("out-en"),
        consent=SYNTHETIC,
    )
    return render(spec)


def _assert_h264_high_tv_range(video: Path, size: tuple[int, int]) -> None:
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        codec = stream.codec_context
        assert (codec.name, codec.profile, codec.width, codec.height) == ("h264", "High", *size)
        assert codec.format is not None and codec.format.name == "yuv420p"
        assert codec.color_range == 1  # AVCOL_RANGE_MPEG, i.e. TV/limited
        assert stream.average_rate == 25
        audio = container.streams.audio[0].codec_context
        assert (audio.name, audio.sample_rate) == ("aac", 48_000)
    boxes = top_level_boxes(video)
    assert boxes.index("moov") < boxes.index("mdat")


@pytest.mark.parametrize("fixture", ["zh_render", "en_render"])
def test_video_is_h264_high_yuv420p_tv_range_720p25_with_aac_48k_faststart(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    result: RenderResult = request.getfixturevalue(fixture)
    _assert_h264_high_tv_range(result.video, (1280, 720))
    with av.open(str(result.video)) as container:
        assert container.duration is not None
        assert abs(container.duration / 1e6 - result.duration_s) < 0.15
    assert (result.width, result.height) == (1280, 720)
    assert result.size_bytes == result.video.stat().st_size <= 50_000_000


def test_duration_is_intro_plus_speech_plus_outro(zh_render: RenderResult) -> None:
    sentences = greeting_sentences(TEMPLATE, "zh-Hant", "婆婆", "小明")
    speech = EspeakWorldVoice().synthesize(sentences, "zh-Hant", None)
    expected = SPEECH_START_S + speech.duration_s + TEMPLATE.timing.outro_s
    bounds = TEMPLATE.duration
    assert bounds.min_s <= zh_render.duration_s <= bounds.max_s
    # Adapting the voice changes its pitch and colour, not its timing.
    assert abs(zh_render.duration_s - expected) < 0.6


def test_short_greeting_is_padded_to_template_minimum(en_render: RenderResult) -> None:
    assert en_render.duration_s >= TEMPLATE.duration.min_s


def test_greeting_text_fills_placeholders_and_omits_sender_lines_without_sender(
    zh_render: RenderResult, en_render: RenderResult
) -> None:
    assert "婆婆" in zh_render.greeting_text and "小明" in zh_render.greeting_text
    assert "Grandma" in en_render.greeting_text
    assert "{" not in zh_render.greeting_text + en_render.greeting_text
    assert "from ," not in en_render.greeting_text and "love from" not in en_render.greeting_text


def test_audio_is_audible_unclipped_and_louder_during_speech(zh_render: RenderResult) -> None:
    samples, rate = audio_track(zh_render.video)
    intro = samples[int(0.2 * rate) : int(1.2 * rate)]
    speech_end = zh_render.duration_s - TEMPLATE.timing.outro_s
    speaking = samples[int((SPEECH_START_S + 0.1) * rate) : int(speech_end * rate)]
    assert rms(samples) > 0.02
    assert float(np.max(np.abs(samples))) < 0.999
    assert rms(speaking) > 1.2 * rms(intro) > 0


def test_portrait_moves_slowly_inside_its_box(en_render: RenderResult) -> None:
    x, y, width, height = pixel_box(TEMPLATE.layouts["16:9"].subject, (1280, 720))
    for seconds in (3.0, 6.0):
        face = find_faces(frame_at(en_render.video, seconds))[0]
        assert x <= face.x and face.x + face.width <= x + width
        assert y <= face.y and face.y + face.height <= y + height
    window = np.s_[y : y + height, x : x + width]
    now, next_frame = (frame_at(en_render.video, s)[window].astype(np.float32) for s in (4.0, 4.04))
    step = float(np.mean(np.abs(now - next_frame)))
    assert 0.1 < step < 6  # it moves, smoothly


@pytest.mark.parametrize(("fixture", "language"), [("zh_render", "zh-Hant"), ("en_render", "en")])
def test_ai_label_is_visible_in_the_first_frame(
    fixture: str, language: str, request: pytest.FixtureRequest
) -> None:
    first = frame_at(request.getfixturevalue(fixture).video, 0.0)
    label = _label_layer(language, 1.0)  # type: ignore[arg-type]
    text = (label.alpha[..., 0] > 0.99) & (label.premultiplied.min(axis=2) > 250)
    rows = np.flatnonzero(text.any(axis=1))
    assert rows[-1] - rows[0] + 1 >= 36  # at least 5% of the frame height
    height, width = text.shape
    corner = first[label.y : label.y + height, label.x : label.x + width].astype(np.float32)
    assert corner[text].mean() > 200
    assert corner[~text & (label.alpha[..., 0] > 0.3)].mean() < 90


def test_thumbnail_is_small_jpeg_from_the_greeting(zh_render: RenderResult) -> None:
    with Image.open(zh_render.thumbnail) as thumbnail:
        assert thumbnail.format == "JPEG"
        assert thumbnail.size == (320, 180)
    assert zh_render.thumbnail.stat().st_size < 200_000


def test_no_partial_files_are_left_behind(zh_render: RenderResult) -> None:
    names = sorted(p.name for p in zh_render.video.parent.iterdir())
    assert names == ["zh-1.jpg", "zh-1.mp4", "zh-1.profile"]  # the profile: for the caller


def test_oversized_video_is_re_encoded_to_fit(tmp_path: Path, en_render: RenderResult) -> None:
    copy = tmp_path / "copy.mp4"
    copy.write_bytes(en_render.video.read_bytes())
    limit = en_render.size_bytes * 3 // 4
    fit_to_limit(copy, en_render.duration_s, limit)
    assert copy.stat().st_size <= limit
    _assert_h264_high_tv_range(copy, (1280, 720))
    with av.open(str(copy)) as container:
        assert container.duration is not None
        assert abs(container.duration / 1e6 - en_render.duration_s) < 0.15


def _preview_spec(tmp_path: Path, photo: Path, **changes: object) -> RenderSpec:
    spec = RenderSpec(
        render_id="p", template_id="mid-autumn", language="en", portrait=photo,
        recipient="Grandma", output_dir=tmp_path / "out", mode="preview", consent=SYNTHETIC,
    )  # fmt: skip
    return spec.model_copy(update=changes)


def test_group_photo_needs_a_choice_and_the_chosen_face_is_featured(tmp_path: Path) -> None:
    photo = two_faces(tmp_path / "couple.png")
    with pytest.raises(IngestError) as caught:
        render(_preview_spec(tmp_path, photo))
    assert caught.value.code == "several_faces"
    faces = check_portrait(photo, face_index=0).faces
    featured = []
    for index in (0, 1):
        result = render(_preview_spec(tmp_path, photo, face_index=index, render_id=f"f{index}"))
        frame = frame_at(result.video, 2.0)
        (face,) = find_faces(frame)
        featured.append(face.brightness)
    assert (featured[0] > featured[1]) == (faces[0].brightness > faces[1].brightness)


class _Flat:
    """A stand-in portrait layer: one flat colour, so the seam's effect is unmistakable."""

    def __init__(self, photo: Image.Image, window: tuple[int, int], *_: object) -> None:
        self._frame = np.full((window[1], window[0], 3), (0, 200, 0), np.uint8)

    def frame_at(self, t: float, progress: float) -> np.ndarray:
        return self._frame


def test_pipeline_seams_see_every_frame_and_the_mix(tmp_path: Path) -> None:
    seen: list[float] = []

    def mark(frame: np.ndarray, t: float) -> np.ndarray:
        seen.append(t)
        frame[-40:, -40:] = (255, 0, 0)
        return frame

    stages = Stages(portrait=_Flat, frame_filter=mark, mix_filter=lambda audio, rate: audio * 0)
    result = render(_preview_spec(tmp_path, portrait(tmp_path / "face.jpg")), stages)
    frame = frame_at(result.video, 2.0)
    assert frame[-20:, -20:].mean(axis=(0, 1)) == pytest.approx((255, 0, 0), abs=30)
    x, y, width, height = pixel_box(TEMPLATE.layouts["16:9"].subject, (640, 360))
    centre = frame[y + height // 2, x + width // 2]
    assert centre[1] > 170 and centre[0] < 40
    assert len(seen) == round(result.duration_s * 25) + 1  # every frame, plus the thumbnail's
    samples, _ = audio_track(result.video)
    assert rms(samples) < 1e-3


def test_bench_prints_the_ratio_and_peak_memory(capsys: pytest.CaptureFixture[str]) -> None:
    """The benchmark times the greeting as delivered: its marks are read back from the very
    file it timed, and every stage of the profile took measured time."""
    assert main(["bench", "render", "--seconds", "8", "--repeats", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    lines = dict(line.split(": ", 1) for line in out if not line.startswith(" "))
    assert lines["size"].startswith("1280x720, 200 frames, marked")
    assert float(lines["ratio"]) > 0 and float(lines["cpu ratio"].split()[0]) > 0
    assert "MB (renderer)" in lines["peak memory"]
    assert lines["marks read back"] == "video yes, audio yes, C2PA trusted, AIGC yes"
    stages = {line[:46].strip(): float(line[46:].split()[0]) for line in out if line[:2] == "  "}
    measured = ("video watermark", "audio watermark", "C2PA signing", "voice: espeak + WORLD",
                "mux: picture, sound, AIGC metadata",
                "talking portrait: mouth, blinks, head")  # fmt: skip
    for stage in measured:
        assert stages[stage] > 0, stage


@pytest.fixture(scope="module")
def recorded() -> tuple[SpeechChunk, ...]:
    """The zh-Hant greeting as the embedded voice says it once: replayed, every take of it hears
    the very same speech (espeak-ng itself varies a little between calls)."""
    sentences = greeting_sentences(TEMPLATE, "zh-Hant", "婆婆", "小明")
    return tuple(EspeakWorldVoice().stream(sentences, "zh-Hant", None))


def test_every_take_varies_the_camera_and_cards_within_the_template_s_bounds() -> None:
    assert Take.of(0, TEMPLATE).apply(TEMPLATE) == TEMPLATE  # take 0 is today's greeting
    timing, takes = TEMPLATE.timing, [Take.of(number, TEMPLATE) for number in range(100)]
    assert takes[1].motion != TEMPLATE.motion
    for before, take in itertools.pairwise(takes):
        assert take.motion != before.motion
        assert abs(take.intro_s / timing.intro_s - 1) <= 0.2 + 1e-9
        assert abs(take.outro_s / timing.outro_s - 1) <= 0.2 + 1e-9
        assert take.intro_s + take.outro_s <= timing.intro_s + timing.outro_s + 1e-9
        assert 0.9 <= take.framing <= 1.1 and take.blinks > 0
    assert len({take.motion for take in takes}) == 4
    assert len({(take.intro_s, take.framing, take.blinks) for take in takes}) == 100


def test_a_take_is_another_shot_of_the_same_greeting(
    tmp_path: Path, recorded: tuple[SpeechChunk, ...]
) -> None:
    """Takes 1 and 2 of a greeting whose length is close to the template's longest: the same
    words in every take, other frames at the same times, the same frames for the same take."""
    photo = portrait(tmp_path / "face.jpg")
    speech_end = SPEECH_START_S + max(chunk.end_s for chunk in recorded)
    length = speech_end + TEMPLATE.timing.outro_s
    tight = TEMPLATE.model_copy(
        update={"duration": DurationBounds(min_s=length - 0.6, max_s=length + 0.05)}
    )

    def shoot(take: int, out: str) -> tuple[RenderResult, list[str]]:
        seen: list[str] = []

        def record(frame: np.ndarray, t: float) -> np.ndarray:
            seen.append(hashlib.sha1(frame.tobytes()).hexdigest())
            return frame

        spec = RenderSpec(
            render_id="take", template_id="mid-autumn", language="zh-Hant", portrait=photo,
            recipient="婆婆", sender="小明", output_dir=tmp_path / out, take=take,
            consent=SYNTHETIC,
        )  # fmt: skip
        voice = VoiceSelection(RecordedVoice(recorded), "recorded")
        result = render_template(spec, tight, Stages(frame_filter=record), 0.25, voice)
        return result, seen[:-1]  # the last: the thumbnail's

    (first, frames), (second, again), (third, other) = (
        shoot(take, f"take-{take}-{out}") for take, out in ((1, "a"), (1, "b"), (2, "a"))
    )
    original, before = shoot(0, "take-0")
    assert frames == again and first.duration_s == second.duration_s
    assert original.greeting_text.endswith("小明在遠方陪你一起賞月。")  # all four sentences fit
    for result in (original, first, third):
        assert result.greeting_text == original.greeting_text  # no sentence dropped
        assert tight.duration.min_s <= result.duration_s <= tight.duration.max_s
    # While the portrait shows (the cards' titles are still pictures), every frame differs.
    for take in (frames, other):
        greeting = slice(3 * 25, min(len(before), len(take)) - 3 * 25)
        assert all(a != b for a, b in zip(before[greeting], take[greeting], strict=True))
