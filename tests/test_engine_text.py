"""Subtitle text: real CJK glyphs in the right regional face, broken into at most two lines."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from engine._greeting import greeting_sentences
from engine._models import Language
from engine._scene import AI_LABEL
from engine._templates import list_templates, load_template
from engine._text import font, screenfuls, text_layer, wrap

TEMPLATE = load_template("mid-autumn")
NOT_IN_FONT = "\U000f0000"  # supplementary private use: no CJK font maps it, so .notdef is drawn


def _glyph(face: ImageFont.FreeTypeFont, char: str) -> np.ndarray:
    image = Image.new("L", (80, 80))
    ImageDraw.Draw(image).text((8, 4), char, font=face, fill=255)
    return np.asarray(image)


@pytest.mark.parametrize("language", ["zh-Hant", "zh-Hans", "en"])
def test_every_character_on_screen_has_a_real_glyph(language: Language) -> None:
    face = font(language, 48)
    tofu = _glyph(face, NOT_IN_FONT)
    assert tofu.any()  # the .notdef box itself is visible, so a match would mean a missing glyph
    texts = [AI_LABEL[language], "婆婆小明外婆", "Grandma"]
    for template_id in list_templates():
        template = load_template(template_id)
        texts += [
            *greeting_sentences(template, language, "", "", ""),
            template.intro_title.pick(language),
            template.outro_title.pick(language),
        ]
    characters = {c for text in texts for c in text}
    for char in sorted(characters - {" "}):
        assert not np.array_equal(_glyph(face, char), tofu), f"{char!r} renders as tofu"


def test_traditional_and_simplified_faces_are_picked_by_language() -> None:
    assert font("zh-Hant", 40).getname()[0] == "Noto Sans CJK TC"
    assert font("zh-Hans", 40).getname()[0] == "Noto Sans CJK SC"
    # Same code point, regional shapes: the TC and SC glyphs of 骨 differ.
    assert not np.array_equal(_glyph(font("zh-Hant", 48), "骨"), _glyph(font("zh-Hans", 48), "骨"))


def test_chinese_breaks_after_a_clause_rather_than_inside_a_phrase() -> None:
    face = font("zh-Hant", 46)
    text = "今晚的月亮又大又圓，我很想念你。"
    # Two lines either way: evened out, they would read "今晚的月亮又大又 / 圓，我很想念你。"
    lines = wrap(text, face, int(face.getlength("今晚的月亮又大又圓")))
    assert lines == ["今晚的月亮又大又圓，", "我很想念你。"]


def test_clauses_are_evened_out_across_lines() -> None:
    face = font("zh-Hans", 46)
    text = "新年快乐！祝你身体健康，万事如意，记得多吃饺子。"
    lines = wrap(text, face, int(face.getlength("新年快乐！祝你身体健康，万事如意，")))
    assert lines == ["新年快乐！祝你身体健康，", "万事如意，记得多吃饺子。"]


def test_chinese_without_a_clause_that_fits_breaks_between_characters_into_even_lines() -> None:
    face = font("zh-Hant", 46)
    for text in ("今晚的月亮又大又圓我很想念你", "今晚的月亮又大又圓又亮，我很想念你。"):
        lines = wrap(text, face, int(face.getlength("今晚的月亮又大又圓")))
        assert "".join(lines) == text
        assert len(lines) == 2
        assert abs(len(lines[0]) - len(lines[1])) <= 2


def test_closing_punctuation_never_starts_a_line() -> None:
    face = font("zh-Hant", 46)
    text = "好，好。今晚的月亮又大又圓！我很想念你「真的」。"
    for width in range(46, 800, 5):
        lines = wrap(text, face, width)
        assert "".join(lines) == text
        assert not any(line[0] in "，。！」" for line in lines), (width, lines)


def test_latin_breaks_between_words() -> None:
    face = font("en", 42)
    text = "The moon is full and bright tonight, and I am thinking of you."
    lines = wrap(text, face, 600)
    assert len(lines) > 1
    assert " ".join(lines) == text
    assert all(face.getlength(line) <= 600 for line in lines)


# A 9:16 greeting's subtitle: 42 px letters in 633 px (0.88 of 720).
UPRIGHT_FACE, UPRIGHT_WIDTH = font("en", 42), 633


def test_english_breaks_after_a_comma_rather_than_inside_a_clause() -> None:
    # Evened out, these read "The moon is full and bright / tonight, and I am thinking of you."
    # and "A birthday song for / you, from Lily and Tom.", as they did.
    assert wrap(
        "The moon is full and bright tonight, and I am thinking of you.", font("en", 42), 1126
    ) == [
        "The moon is full and bright tonight,",
        "and I am thinking of you.",
    ]
    assert wrap("A birthday song for you, from Lily and Tom.", UPRIGHT_FACE, UPRIGHT_WIDTH) == [
        "A birthday song for you,",
        "from Lily and Tom.",
    ]


def test_english_breaks_before_a_conjunction_or_preposition_not_after_it() -> None:
    for text, expected in (
        ("Make a wish and blow out the candles!", ["Make a wish", "and blow out the candles!"]),
        (
            "Thank you for being with me through this year.",
            ["Thank you for being", "with me through this year."],
        ),
        (
            "May your dreams come true in the year ahead.",
            ["May your dreams come true", "in the year ahead."],
        ),
    ):
        lines = wrap(text, UPRIGHT_FACE, UPRIGHT_WIDTH)
        assert lines == expected
        assert lines[0].split()[-1] not in {"a", "and", "for", "with", "the", "of", "in"}


def test_a_break_by_sense_gives_way_to_fewer_lines() -> None:
    """A pause is preferred only among breaks into the fewest lines: a line is never added."""
    text = "Happy Mid-Autumn Festival, Grandma!"
    width = int(UPRIGHT_FACE.getlength(text[:-1])) + 1  # the "!" may hang past the edge
    assert wrap(text, UPRIGHT_FACE, width) == [text]
    assert wrap(text, UPRIGHT_FACE, width - 1) == ["Happy Mid-Autumn Festival,", "Grandma!"]


def test_a_full_stop_ends_a_line_where_a_sentence_ends_but_not_after_a_title() -> None:
    """A member's own words often hold several sentences: the end of one is a pause. "Mr." and
    "Dr." are followed by a capital too, and are read with the name."""
    face = font("en", 42)
    assert wrap("I miss you all. Eat well and keep warm this winter.", face, 500)[0] == (
        "I miss you all."
    )
    assert wrap("Please say hello to Mr. Lee and his family.", face, 633) == [
        "Please say hello",
        "to Mr. Lee and his family.",
    ]
    assert wrap("Give my love to Dr. Chen and the nurses.", face, 633) == [
        "Give my love to Dr. Chen",
        "and the nurses.",
    ]


# A round video note's subtitles: its face and the width inside the circle (engine._scene).
NOTE_FACE, NOTE_WIDTH = font("en", 37), 435


def test_a_subtitle_that_fits_two_lines_is_one_screen() -> None:
    text = "Make a wish and blow out the candles!"
    assert screenfuls(text, NOTE_FACE, NOTE_WIDTH, 2) == [wrap(text, NOTE_FACE, NOTE_WIDTH)]


def test_a_longer_subtitle_is_cut_into_screens_where_a_reader_pauses() -> None:
    """Filled two lines at a time, these read "On the longest night, / here is a warm bowl"
    then "of rice balls.", and "With love from Lily / and Tom, under" then "the same moon."."""
    assert screenfuls(
        "On the longest night, here is a warm bowl of rice balls.", NOTE_FACE, NOTE_WIDTH, 2
    ) == [["On the longest night,"], ["here is a warm bowl", "of rice balls."]]
    assert screenfuls(
        "With love from Lily and Tom, under the same moon.", NOTE_FACE, NOTE_WIDTH, 2
    ) == [["With love", "from Lily and Tom,"], ["under the same moon."]]
    several = "I miss you all. Eat well and keep warm this winter. See you at New Year."
    screens = screenfuls(several, NOTE_FACE, NOTE_WIDTH, 2)
    assert all(len(screen) <= 2 for screen in screens)
    assert " ".join(line for screen in screens for line in screen) == several


def test_text_layer_is_white_with_a_dark_outline() -> None:
    layer = np.asarray(text_layer(["中秋快樂"], font("zh-Hant", 46), outline=3))
    opaque = layer[layer[..., 3] == 255][:, :3]
    assert (opaque.min(axis=1) > 240).any()  # white fill
    assert (opaque.max(axis=1) < 40).any()  # dark outline
