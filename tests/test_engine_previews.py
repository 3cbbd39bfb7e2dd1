"""Every template, in every language and aspect ratio, as a short preview decoded and inspected."""

from __future__ import annotations

import itertools
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from bot.cli import main
from engine import RenderResult, list_templates, preview_template
from engine._faces import find_faces
from engine._models import Aspect, Language
from engine._music import render_music
from engine._painter import festival_backdrop
from engine._preview import preview_still
from engine._scene import _label_layer, label_corner, pixel_box, titles_area
from engine._templates import Layout, Score, Template, load_template
from tests.auxil.video import audio_track, frame_at, rms, top_level_boxes

LANGUAGES: tuple[Language, ...] = ("zh-Hant", "zh-Hans", "en")
ASPECTS: tuple[Aspect, ...] = ("16:9", "9:16", "1:1")
PREVIEW_SIZE = {"16:9": (640, 360), "9:16": (360, 640), "1:1": (360, 360)}
CARD_S = 1.0  # previews open with a one-second title card


@pytest.fixture(scope="module")
def previews(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("previews")


@pytest.mark.parametrize(
    ("template_id", "language", "aspect"),
    list(itertools.product(list_templates(), LANGUAGES, ASPECTS)),
)
def test_preview_renders_with_every_layer_in_place(
    template_id: str, language: Language, aspect: Aspect, previews: Path
) -> None:
    result = preview_template(template_id, language, aspect, previews)
    template = load_template(template_id)
    size = PREVIEW_SIZE[aspect]
    _assert_deliverable(result, size)

    layout = template.layouts[aspect]
    intro = frame_at(result.video, 0.2)
    speaking = frame_at(result.video, CARD_S + 0.2 + 0.6)  # card, lead-in, into the sentence
    _assert_subtitles_only_in_their_box(intro, speaking, template, layout, size)

    x, y, width, height = pixel_box(layout.subject, size)
    best = find_faces(speaking)[0]
    centre = (best.x + best.width / 2, best.y + best.height / 2)
    assert x < centre[0] < x + width and y < centre[1] < y + height

    # The AI label from the first frame (the intro card) to the last (the outro card).
    for seconds in (0.0, CARD_S / 2, CARD_S + 0.2 + 0.6, result.duration_s - 0.1):
        _assert_ai_label_legible(frame_at(result.video, seconds), language, size)

    _assert_voice_over_ducked_music(result, template.music)


def _assert_ai_label_legible(frame: np.ndarray, language: Language, size: tuple[int, int]) -> None:
    """GB 45438's visible label, measured on the decoded frame: text at least 5 % of the shorter
    side tall, and white on its dark box at WCAG's strictest contrast (7:1) over this template's
    background. The engine's label layer says only where the box is and which pixels are text."""
    label = _label_layer(language, min(size) / 720)
    box = label.alpha[..., 0] > 0.7
    text = (label.alpha[..., 0] > 0.99) & (label.premultiplied.min(axis=2) > 250)
    height_px, width_px = text.shape
    corner = frame[label.y : label.y + height_px, label.x : label.x + width_px]
    bright_rows = np.flatnonzero(((corner.min(axis=2) > 160) & box).sum(axis=1) >= 2)
    assert bright_rows[-1] - bright_rows[0] + 1 >= 0.05 * min(size)
    around_text = cv2.dilate(text.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    text_luminance = float(np.percentile(_luminance(corner[text]), 75))
    box_luminance = float(np.median(_luminance(corner[box & ~around_text])))
    assert (text_luminance + 0.05) / (box_luminance + 0.05) >= 7.0


def _luminance(rgb: np.ndarray) -> np.ndarray:
    """WCAG 2 relative luminance of sRGB pixels."""
    linear = rgb.astype(np.float64) / 255.0
    linear = np.where(linear <= 0.04045, linear / 12.92, ((linear + 0.055) / 1.055) ** 2.4)
    return np.asarray(linear @ np.array([0.2126, 0.7152, 0.0722]))


def _assert_subtitles_only_in_their_box(
    intro: np.ndarray,
    speaking: np.ndarray,
    template: Template,
    layout: Layout,
    size: tuple[int, int],
) -> None:
    """What changes from the title card to the greeting, apart from the portrait and the
    backdrop (the card's motifs stand clear of its titles, not of the window, and its band is
    not frosted), is the subtitle, and it lies in the template's subtitle box."""
    changed = np.abs(speaking.astype(np.int16) - intro.astype(np.int16)).max(axis=2) > 60
    backdrop = festival_backdrop(
        template.palette, template.decorations, layout, *size, label_corner(*size),
        titles_area(template, layout, *size),
    )  # fmt: skip
    # Where the backdrop itself changes: a motif placed elsewhere, and around the box the
    # frosting's soft edge over the art (under the words the band is calm: the frosting dims
    # it by at most 51 levels, under the threshold of 60).
    x, y, width, height = pixel_box(layout.subtitles, size)
    differs = np.abs(backdrop.card.astype(np.int16) - backdrop.greeting).max(axis=2)
    around_box = differs > 30
    around_box[y : y + height, x : x + width] = False
    changed &= ~(around_box | (differs > 60))
    sx, sy, sw, sh = pixel_box(layout.subject, size)
    pad = round(min(size) * 0.04)  # the portrait's frame and shadow
    changed[max(0, sy - pad) : sy + sh + pad, max(0, sx - pad) : sx + sw + pad] = False
    title = pixel_box(layout.title, size)
    changed[title[1] : title[1] + title[3], title[0] : title[0] + title[2]] = False
    inside = int(changed[y : y + height, x : x + width].sum())
    assert inside > 0.02 * width * height
    assert inside > 0.9 * int(changed.sum())


def _assert_voice_over_ducked_music(result: RenderResult, score: Score) -> None:
    """Split the decoded mix into the template's (deterministic) music and the rest, the voice,
    by projecting onto the music: the voice must dominate while it speaks."""
    samples, rate = audio_track(result.video)
    music = render_music(score, result.duration_s, rate)[: len(samples)]
    samples = samples[: len(music)]

    def parts(start_s: float, end_s: float) -> tuple[float, float]:
        window = slice(int(start_s * rate), int(end_s * rate))
        reference, mixed = music[window], samples[window]
        gain = float(np.dot(mixed, reference) / max(float(np.dot(reference, reference)), 1e-9))
        return rms(gain * reference), rms(mixed - gain * reference)

    music_alone, _ = parts(0.1, 0.8)
    music_under, voice = parts(CARD_S + 0.3, CARD_S + 1.0)
    assert voice > 3 * music_under
    assert music_alone > 3 * music_under  # ducked by more than 10 dB


def _assert_deliverable(result: RenderResult, size: tuple[int, int]) -> None:
    with av.open(str(result.video)) as container:
        video = container.streams.video[0].codec_context
        audio = container.streams.audio[0].codec_context
        assert (video.name, video.profile, video.width, video.height) == ("h264", "High", *size)
        assert video.format is not None and video.format.name == "yuv420p"
        assert video.color_range == 1  # TV range
        assert container.streams.video[0].average_rate == 25
        assert (audio.name, audio.sample_rate) == ("aac", 48_000)
        assert container.duration is not None
        assert abs(container.duration / 1e6 - result.duration_s) < 0.15
    assert 2.5 < result.duration_s < 12
    assert top_level_boxes(result.video).index("moov") < top_level_boxes(result.video).index("mdat")
    with Image.open(result.thumbnail) as thumbnail:
        assert thumbnail.format == "JPEG"
        assert max(thumbnail.size) == 320
        assert thumbnail.size[0] / thumbnail.size[1] == pytest.approx(size[0] / size[1], rel=0.02)
    assert result.thumbnail.stat().st_size <= 200_000


def test_cli_lists_templates_and_renders_a_preview(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["templates", "list"]) == 0
    listed = capsys.readouterr().out.split()
    assert listed == list_templates() and len(listed) >= 12
    code = main(["templates", "preview", "qixi", "--language", "en", "--aspect", "9:16",
                 "--out", str(tmp_path)])  # fmt: skip
    assert code == 0
    printed = dict(line.split(": ") for line in capsys.readouterr().out.splitlines())
    with av.open(printed["video"]) as container:
        assert container.streams.video[0].codec_context.height == 640
    assert Path(printed["thumbnail"]).stat().st_size > 0


def test_cli_preview_of_unknown_template(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["templates", "preview", "no-such-festival"]) == 1
    assert "no-such-festival" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("template_id", "language", "aspect"),
    [
        ("spring-festival", "en", "16:9"),
        ("christmas", "zh-Hans", "9:16"),
        ("qixi", "zh-Hant", "1:1"),
    ],
)
def test_a_still_shows_the_face_and_the_first_sentence_in_the_members_language_and_aspect(
    template_id: str, language: Language, aspect: Aspect
) -> None:
    template = load_template(template_id)
    layout = template.layouts[aspect]
    size = PREVIEW_SIZE[aspect]
    still = np.asarray(preview_still(template_id, language, aspect))
    assert (still.shape[1], still.shape[0]) == size

    faces = find_faces(still)
    assert len(faces) == 1 and faces[0].width / min(size) >= 0.3
    x, y, width, height = pixel_box(layout.subject, size)
    centre = (faces[0].x + faces[0].width / 2, faces[0].y + faces[0].height / 2)
    assert x < centre[0] < x + width and y < centre[1] < y + height

    # The subtitle is the first sentence's: white letters over the band, in the member's script.
    backdrop = festival_backdrop(template.palette, template.decorations, layout, *size).greeting
    bx, by, bw, bh = pixel_box(layout.subtitles, size)
    changed = np.abs(
        still[by : by + bh, bx : bx + bw].astype(int) - backdrop[by : by + bh, bx : bx + bw]
    )
    assert np.mean(changed.max(axis=2) > 80) > 0.01
    _assert_ai_label_legible(still, language, size)
