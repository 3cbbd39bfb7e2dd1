"""Templates are validated data; mistakes name the file and the field at fault."""

from __future__ import annotations

import itertools
import json
import math
import re
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from engine import RenderError, list_templates
from engine._greeting import greeting_sentences
from engine._models import Aspect
from engine._music import render_music
from engine._painter import (
    SPANNING,
    card_placed,
    festival_backdrop,
    motif_box,
    paint_background,
    placed,
)
from engine._scene import canvas_size, label_corner, pixel_box, titles_area
from engine._templates import Decoration, load_template, templates_dir

FESTIVALS = {
    "spring-festival", "lantern-festival", "dragon-boat", "qixi", "mid-autumn", "double-ninth",
    "winter-solstice", "christmas", "new-year", "birthday", "mothers-day", "fathers-day",
}  # fmt: skip


def test_twelve_festivals_are_listed_and_valid() -> None:
    assert set(list_templates()) >= FESTIVALS
    for template_id in list_templates():
        template = load_template(template_id)
        for language in ("zh-Hant", "zh-Hans", "en"):
            assert template.names.pick(language) and template.intro_title.pick(language)
            assert greeting_sentences(template, language, "R", "S", "P")


def test_each_festival_looks_its_own() -> None:
    backgrounds = {
        template_id: paint_background(t.palette, t.decorations, 160, 90).astype(np.float32)
        for template_id in list_templates()
        for t in [load_template(template_id)]
    }
    for (first, a), (second, b) in itertools.combinations(backgrounds.items(), 2):
        assert np.mean(np.abs(a - b)) > 12, f"{first} and {second} look alike"


def test_each_festival_sounds_its_own() -> None:
    def spectrum(template_id: str) -> np.ndarray:
        music = render_music(load_template(template_id).music, 8.0, 16_000)
        bands = np.abs(np.fft.rfft(music))[: 4000 * 8].reshape(400, -1).sum(axis=1)
        return np.asarray(bands / np.linalg.norm(bands))

    spectra = {template_id: spectrum(template_id) for template_id in list_templates()}
    for (first, a), (second, b) in itertools.combinations(spectra.items(), 2):
        assert float(np.dot(a, b)) < 0.9, f"{first} and {second} sound alike"


def test_an_unknown_template_is_a_render_error_naming_those_that_exist() -> None:
    with pytest.raises(RenderError, match="no-such-festival") as caught:
        load_template("no-such-festival")
    assert f"are {', '.join(list_templates())}" in str(caught.value)


def _broken_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: dict[str, object]
) -> Path:
    target = tmp_path / "mid-autumn" / "template.json"
    target.parent.mkdir(parents=True)
    shutil.copy(templates_dir() / "mid-autumn" / "template.json", target)
    data = json.loads(target.read_text(encoding="utf-8"))
    for dotted, value in change.items():
        *parents, leaf = dotted.split(".")
        node = data
        for key in parents:
            node = node[key]
        node[leaf] = value
    target.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("TUANYUAN_TEMPLATES_DIR", str(tmp_path))
    return target


def test_wrong_type_names_file_and_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _broken_copy(tmp_path, monkeypatch, {"music.tempo_bpm": "fast"})
    with pytest.raises(RenderError) as caught:
        load_template("mid-autumn")
    assert str(path) in str(caught.value)
    assert "music.tempo_bpm" in str(caught.value)


def test_unknown_placeholder_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _broken_copy(tmp_path, monkeypatch, {"greetings.en": ["Hello {nickname}!"]})
    with pytest.raises(RenderError, match=r"greetings.*nickname"):
        load_template("mid-autumn")


def test_misspelt_key_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _broken_copy(tmp_path, monkeypatch, {"palette.moon_colour": "#ffffff"})
    with pytest.raises(RenderError, match=r"palette\.moon_colour"):
        load_template("mid-autumn")


def test_bad_colour_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _broken_copy(tmp_path, monkeypatch, {"palette.moon": "yellow"})
    with pytest.raises(RenderError, match=r"palette\.moon"):
        load_template("mid-autumn")


def test_broken_json_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _broken_copy(tmp_path, monkeypatch, {})
    path.write_text("{ not json", encoding="utf-8")
    with pytest.raises(RenderError, match="not valid JSON") as caught:
        load_template("mid-autumn")
    assert str(path) in str(caught.value)


def test_missing_aspect_layout_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    box = {"x": 0.1, "y": 0.1, "w": 0.5, "h": 0.5}
    layout = {"subject": box, "subtitles": box, "title": box}
    _broken_copy(tmp_path, monkeypatch, {"layouts": {"16:9": layout, "1:1": layout}})
    with pytest.raises(RenderError, match=r"layouts: .*9:16"):
        load_template("mid-autumn")


def test_box_outside_the_frame_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    box = {"x": 0.6, "y": 0.1, "w": 0.5, "h": 0.5}
    layout = {"subject": box, "subtitles": box, "title": box}
    layouts = {"16:9": layout, "9:16": layout, "1:1": layout}
    _broken_copy(tmp_path, monkeypatch, {"layouts": layouts})
    with pytest.raises(RenderError, match=r"layouts\.16:9\.subject: .*outside the frame"):
        load_template("mid-autumn")


def test_unknown_motif_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _broken_copy(tmp_path, monkeypatch, {})
    data = json.loads(path.read_text(encoding="utf-8"))
    data["decorations"][1]["motif"] = "unicorn"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(RenderError, match=r"decorations\.1\.motif"):
        load_template("mid-autumn")


def test_sentences_naming_the_subject_need_one() -> None:
    template = load_template("mid-autumn").model_copy(deep=True)
    greetings = template.greetings.model_copy(
        update={"en": ("Hi {recipient}.", "{subject} says hi.")}
    )
    template = template.model_copy(update={"greetings": greetings})
    assert greeting_sentences(template, "en", "Ma", "", "Grandpa") == ["Hi Ma.", "Grandpa says hi."]
    assert greeting_sentences(template, "en", "Ma", "", "") == ["Hi Ma."]


def test_no_english_sentence_makes_the_sender_its_subject() -> None:
    """A greeting may come from several people ("Lily and Tom"): a verb after {sender} would
    agree with one of them only ("Lily and Tom is singing"). So the sender signs, as in a card."""
    for template_id in list_templates():
        for sentence in load_template(template_id).greetings.en:
            assert not re.search(r"\{sender\}\s+\w", sentence), (template_id, sentence)


@pytest.mark.parametrize("language", ["zh-Hant", "zh-Hans", "en"])
def test_greeting_reads_without_a_sender(language: str) -> None:
    template = load_template("mid-autumn")
    with_sender = greeting_sentences(template, language, "Ah Ma", "Wei")  # type: ignore[arg-type]
    without = greeting_sentences(template, language, "Ah Ma", "  ")  # type: ignore[arg-type]
    assert any("Wei" in s for s in with_sender)
    assert 0 < len(without) < len(with_sender)
    assert all("{" not in s for s in without + with_sender)


def test_a_backdrop_is_painted_once_per_template_and_size_and_cannot_be_changed() -> None:
    template = load_template("qixi")
    layout = template.layouts["16:9"]
    backdrop = festival_backdrop(template.palette, template.decorations, layout, 160, 90)
    assert festival_backdrop(template.palette, template.decorations, layout, 160, 90) is backdrop
    assert np.array_equal(
        backdrop.greeting, paint_background(template.palette, template.decorations, 160, 90, layout)
    )
    for painting in (backdrop.card, backdrop.greeting):
        with pytest.raises(ValueError, match="read-only"):
            painting[0, 0] = 0


@pytest.mark.parametrize("template_id", ["dragon-boat", "mid-autumn"])
def test_a_title_card_shows_no_empty_subtitle_band(template_id: str) -> None:
    """The band is frosted behind the greeting's words; on a title card, which has none, it was
    an empty dimmed box. The card's backdrop is the same painting, its band left as painted."""
    template = load_template(template_id)
    layout = template.layouts["9:16"]
    size = canvas_size("9:16", 0.5)
    backdrop = festival_backdrop(template.palette, template.decorations, layout, *size)
    x, y, width, height = pixel_box(layout.subtitles, size)
    band = slice(y, y + height), slice(x, x + width)
    card, greeting = (p.astype(np.float32) for p in (backdrop.card, backdrop.greeting))
    # Dimmed to _FROST_DIM behind the words, as painted on the card.
    assert greeting[band].mean() < 0.9 * card[band].mean()
    # Away from the band (its soft edge and blur reach about 0.1 of the shorter side) the same.
    reach = round(0.12 * min(size))
    above = slice(0, max(0, y - reach))
    assert np.array_equal(backdrop.card[above], backdrop.greeting[above])


ASPECTS: tuple[Aspect, ...] = ("16:9", "9:16", "1:1")
# A calm band, measured at half the 720-class size (360 px on the shorter side): the mean local
# contrast (luma against its own blur at 4 px) and the strongest edges (99th percentile of the
# luma gradient, levels per pixel). Christmas's gift boxes under the words measured 2.99 / 40.5
# in 16:9 and the Dragon Boat's waves 11.6 / 59; every band is now at most 0.7 / 5.
BAND_LOCAL_CONTRAST_MAX = 1.0
BAND_EDGE_MAX = 8.0


def band_busyness(image: np.ndarray, box: tuple[int, int, int, int]) -> tuple[float, float]:
    x, y, width, height = box
    luma = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    local = np.abs(luma - cv2.GaussianBlur(luma, (0, 0), 4))[y : y + height, x : x + width]
    gx, gy = (cv2.Sobel(luma, cv2.CV_32F, dx, 1 - dx, ksize=3) / 8 for dx in (1, 0))
    edges = np.hypot(gx, gy)[y : y + height, x : x + width]
    return float(local.mean()), float(np.percentile(edges, 99))


@pytest.mark.parametrize("aspect", ASPECTS)
def test_no_template_puts_busy_art_under_the_subtitles(aspect: Aspect) -> None:
    size = canvas_size(aspect, 0.5)
    for template_id in list_templates():
        template = load_template(template_id)
        layout = template.layouts[aspect]
        backdrop = paint_background(template.palette, template.decorations, *size, layout)
        contrast, edges = band_busyness(backdrop, pixel_box(layout.subtitles, size))
        assert contrast <= BAND_LOCAL_CONTRAST_MAX, (template_id, aspect, contrast)
        assert edges <= BAND_EDGE_MAX, (template_id, aspect, edges)


@pytest.mark.parametrize("aspect", ASPECTS)
def test_no_motif_is_cut_by_the_window_under_the_subtitles_or_behind_the_label(
    aspect: Aspect,
) -> None:
    """Every motif that is not meant to span the frame stands clear of the window's frame, the
    subtitle band and the AI label's corner, within the picture; each template keeps some of
    its art. (A lantern moved up out of the 9:16 window peeked out around the label.)"""
    width, height = canvas_size(aspect, 1.0)
    for template_id in list_templates():
        template = load_template(template_id)
        layout = template.layouts[aspect]
        window = pixel_box(layout.subject, (width, height))
        margin = 0.04 * min(width, height)  # the frame's border and shadow
        framed = (window[0] - margin, window[1] - margin, window[2] + 2 * margin,
                  window[3] + 2 * margin)  # fmt: skip
        band = pixel_box(layout.subtitles, (width, height))
        label = label_corner(width, height)
        label_box = (label[0], label[1], label[2] - label[0], label[3] - label[1])
        kept = placed(template.decorations, layout, width, height, label)
        motifs = [item for item in kept if item.motif not in SPANNING]
        assert motifs, (template_id, aspect)
        for item in motifs:
            left, top, right, bottom = motif_box(item, width, height)
            for x, y, w, h in (framed, band, label_box):
                # (pixel_box rounds the layout's fractions to whole pixels)
                assert right <= x + 1 or left >= x + w - 1 or bottom <= y + 1 or top >= y + h - 1, (
                    template_id, aspect, item.motif)  # fmt: skip
            assert right > 0 and bottom > 0 and left < width and top < height


@pytest.mark.parametrize("aspect", ASPECTS)
def test_a_card_shows_the_templates_art_clear_of_its_titles(aspect: Aspect) -> None:
    """A title card shows no window: its motifs stand where the template puts them, clear of
    the titles in every language and of the label. (The cards showed the greeting's
    arrangement: in 9:16 a moon a quarter of its size above an empty space.)"""
    width, height = canvas_size(aspect, 1.0)
    label = label_corner(width, height)
    for template_id in list_templates():
        template = load_template(template_id)
        layout = template.layouts[aspect]
        titles = titles_area(template, layout, width, height)
        card = card_placed(template.decorations, titles, label, width, height)
        greeting = placed(template.decorations, layout, width, height, label)
        assert len(card) >= len(greeting), (template_id, aspect)
        for item in card:
            if item.motif in SPANNING:
                continue
            left, top, right, bottom = motif_box(item, width, height)
            for x1, y1, x2, y2 in (titles, label):
                touch = 1e-6  # placed edge to edge, as fractions of the frame round
                assert right <= x1 + touch or left >= x2 - touch or bottom <= y1 + touch or (
                    top >= y2 - touch), (template_id, aspect, item.motif)  # fmt: skip


def test_a_video_notes_card_keeps_its_art_inside_the_circle() -> None:
    """Telegram shows a video note as a circle: a card's lantern in a corner was cut by its rim,
    and one stood behind the label, which sits at the top's middle there."""
    width, height = canvas_size("1:1", 1.0)
    radius = width / 2
    label = label_corner(width, height, circle=True)
    for template_id in list_templates():
        template = load_template(template_id)
        titles = titles_area(template, template.layouts["1:1"], width, height)
        card = card_placed(template.decorations, titles, label, width, height, circle=True)
        motifs = [item for item in card if item.motif not in SPANNING]
        assert motifs, template_id
        for item in motifs:
            left, top, right, bottom = motif_box(item, width, height)
            corners = [(x, y) for x in (left, right) for y in (top, bottom)]
            assert all(math.hypot(x - radius, y - radius) <= radius + 1e-6 for x, y in corners), (
                template_id, item.motif)  # fmt: skip
            x1, y1, x2, y2 = label
            assert right <= x1 or left >= x2 or bottom <= y1 or top >= y2, (template_id, item.motif)


def test_the_upright_mid_autumn_card_has_its_full_moon() -> None:
    template = load_template("mid-autumn")
    layout = template.layouts["9:16"]
    width, height = canvas_size("9:16", 1.0)
    label = label_corner(width, height)
    titles = titles_area(template, layout, width, height)

    def moon(decorations: tuple[Decoration, ...]) -> float:
        [size] = [d.size for d in decorations if d.motif == "moon"]
        return size

    on_card = moon(card_placed(template.decorations, titles, label, width, height))
    behind_greeting = moon(placed(template.decorations, layout, width, height, label))
    assert on_card == moon(template.decorations) > behind_greeting


def test_motifs_moved_aside_do_not_land_on_one_another() -> None:
    """In 16:9 the Christmas snowflake moved off the window and out of the label's corner
    landed on the other snowflake, and the two read as one garbled shape; where there is
    room, a moved motif keeps clear of those moved before it."""
    template = load_template("christmas")
    kept = placed(template.decorations, template.layouts["16:9"], 1280, 720,
                  label_corner(1280, 720))  # fmt: skip
    flakes = [motif_box(d, 1280, 720) for d in kept if d.motif == "snowflake"]
    assert len(flakes) == sum(d.motif == "snowflake" for d in template.decorations)
    for i, (l1, t1, r1, b1) in enumerate(flakes):
        for l2, t2, r2, b2 in flakes[i + 1 :]:
            assert r1 <= l2 or r2 <= l1 or b1 <= t2 or b2 <= t1


def test_the_christmas_snowflake_is_moved_off_the_window() -> None:
    template = load_template("christmas")
    layout = template.layouts["16:9"]
    drawn = dict(enumerate(template.decorations))
    kept = placed(template.decorations, layout, 1280, 720)
    snowflake = next(i for i, d in drawn.items() if d.motif == "snowflake" and d.x == 0.72)
    before = motif_box(drawn[snowflake], 1280, 720)
    after = next(d for d in kept if d.motif == "snowflake" and d.y == drawn[snowflake].y)
    x, _, width, _ = pixel_box(layout.subject, (1280, 720))
    assert before[0] < x + width  # as written, the window's frame cut it
    assert motif_box(after, 1280, 720)[0] >= x + width
