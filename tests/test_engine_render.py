"""End-to-end: render real greetings once per module and inspect the files like a client would."""

from __future__ import annotations

import av
import numpy as np
import pytest
from PIL import Image

from engine import RenderResult, RenderSpec, render
from engine._painter import paint_background
from engine._render import greeting_sentences
from engine._scene import _label_layer
from engine._speech import choose_voice, speak
from engine._templates import load_template
from tests.auxil.media import portrait, spoken_note
from tests.auxil.video import audio_track, frame_at, rms, top_level_boxes

TEMPLATE = load_template("mid-autumn")
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
    )
    return render(spec)


@pytest.mark.parametrize("fixture", ["zh_render", "en_render"])
def test_video_is_h264_high_yuv420p_tv_range_720p25_with_aac_48k(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    result: RenderResult = request.getfixturevalue(fixture)
    with av.open(str(result.video)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0]
        assert video.codec_context.name == "h264"
        assert video.codec_context.profile == "High"
        assert video.codec_context.format is not None
        assert video.codec_context.format.name == "yuv420p"
        assert video.codec_context.color_range == 1  # AVCOL_RANGE_MPEG, i.e. TV/limited
        assert (video.codec_context.width, video.codec_context.height) == (1280, 720)
        assert video.average_rate == 25
        assert audio.codec_context.name == "aac"
        assert audio.codec_context.sample_rate == 48_000
        assert container.duration is not None
        assert abs(container.duration / 1e6 - result.duration_s) < 0.15
    assert (result.width, result.height) == (1280, 720)
    assert result.size_bytes == result.video.stat().st_size <= 50 * 1024 * 1024


@pytest.mark.parametrize("fixture", ["zh_render", "en_render"])
def test_moov_atom_precedes_media_data(fixture: str, request: pytest.FixtureRequest) -> None:
    boxes = top_level_boxes(request.getfixturevalue(fixture).video)
    assert boxes.index("moov") < boxes.index("mdat")


def test_duration_is_intro_plus_speech_plus_outro(zh_render: RenderResult) -> None:
    sentences = greeting_sentences(TEMPLATE, "zh-Hant", "婆婆", "小明")
    speech = speak(sentences, "zh-Hant", choose_voice("zh-Hant", None), 0.45)
    expected = SPEECH_START_S + speech.duration_s + TEMPLATE.timing.outro_s
    bounds = TEMPLATE.duration
    assert bounds.min_s <= zh_render.duration_s <= bounds.max_s
    # The matched voice speaks at the same rate, so only pitch differs from the default.
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
    assert rms(speaking) > 1.5 * rms(intro) > 0


def test_subtitles_appear_in_lower_third(zh_render: RenderResult) -> None:
    background = paint_background(TEMPLATE.palette).astype(np.int16)
    lower = slice(480, 720)

    def changed_share(seconds: float) -> float:
        frame = frame_at(zh_render.video, seconds).astype(np.int16)
        difference = np.abs(frame[lower] - background[lower]).max(axis=2)
        return float(np.mean(difference > 60))

    assert changed_share(0.4) < 0.005  # only compression noise: the intro leaves it alone
    assert changed_share(SPEECH_START_S + 0.6) > 0.03


@pytest.mark.parametrize(("fixture", "language"), [("zh_render", "zh-Hant"), ("en_render", "en")])
def test_ai_label_is_visible_in_the_first_frame(
    fixture: str, language: str, request: pytest.FixtureRequest
) -> None:
    first = frame_at(request.getfixturevalue(fixture).video, 0.0)
    label = _label_layer(language)  # type: ignore[arg-type]
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
        assert max(thumbnail.size) <= 320
    assert zh_render.thumbnail.stat().st_size < 200_000


def test_no_partial_files_are_left_behind(zh_render: RenderResult) -> None:
    names = sorted(p.name for p in zh_render.video.parent.iterdir())
    assert names == ["zh-1.jpg", "zh-1.mp4"]
