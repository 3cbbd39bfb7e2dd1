"""The words a greeting says: the template's, or the sender's message between the template's
salutation and its sender's lines, cut into sentences as a template's are."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from engine import ConsentReference, RenderSpec, greeting_text
from engine._greeting import greeting_sentences, message_sentences
from engine._models import Language
from engine._templates import load_template

TEMPLATE = load_template("mid-autumn")


def test_a_message_replaces_the_template_s_words_between_salutation_and_signature() -> None:
    message = "外婆，我今年考上大學了！下次回家給你看照片。"
    assert greeting_sentences(TEMPLATE, "zh-Hant", "外婆", "小明", message=message) == [
        "外婆，中秋快樂！",
        "我今年考上大學了！",
        "下次回家給你看照片。",
        "小明在遠方陪你一起賞月。",
    ]
    # No sender: no signature, as without a message.
    assert greeting_sentences(TEMPLATE, "en", "Grandma", "", message="Miss you") == [
        "Happy Mid-Autumn Festival, Grandma!",
        "Miss you.",
    ]
    # What the bot shows is what the render joins: Chinese runs on, English is spaced.
    assert greeting_text("mid-autumn", "zh-Hant", "外婆", "小明", message=message) == (
        "外婆，中秋快樂！我今年考上大學了！下次回家給你看照片。小明在遠方陪你一起賞月。"
    )
    assert greeting_text("mid-autumn", "en", "Grandma", "Wei") == (
        "Happy Mid-Autumn Festival, Grandma! The moon is full and bright tonight, and I am "
        "thinking of you. Wishing you good health and a happy reunion with family. "
        "With love from Wei, under the same moon."
    )


@pytest.mark.parametrize(
    ("language", "recipient", "message", "said"),
    [
        ("zh-Hant", "外婆", "外婆，我今年考上大學了！", "外婆，中秋快樂！我今年考上大學了！"),
        ("zh-Hant", "外婆", "外婆，中秋快樂！我好想你", "外婆，中秋快樂！我好想你。"),
        ("zh-Hans", "奶奶", "亲爱的奶奶：中秋快乐！", "奶奶，中秋快乐！"),
        ("en", "Grandma", "Dear Grandma,\nI passed my exams.",
         "Happy Mid-Autumn Festival, Grandma! I passed my exams."),
        ("en", "Grandma", "Happy Mid-Autumn! I passed.",
         "Happy Mid-Autumn Festival, Grandma! I passed."),
        # Short words the salutation happens to contain, and the name said later, stay.
        ("en", "Grandma", "Ha! Grandma, I passed.",
         "Happy Mid-Autumn Festival, Grandma! Ha! Grandma, I passed."),
        ("zh-Hant", "外婆", "外婆好嗎？", "外婆，中秋快樂！外婆好嗎？"),
    ],
)  # fmt: skip
def test_a_message_s_own_salutation_is_not_said_after_the_template_s(
    language: Language, recipient: str, message: str, said: str
) -> None:
    assert greeting_text("mid-autumn", language, recipient, message=message) == said


@pytest.mark.parametrize(
    ("language", "message", "said"),
    [
        ("zh-Hant", "我好想你❤️😊 新年快樂🧧", "外婆，中秋快樂！我好想你 新年快樂。"),
        ("en", "I love you ❤️ 👍🏻 Ma 👨‍👩‍👧! It is 25°C here 🇬🇧",
         "Happy Mid-Autumn Festival, 外婆! I love you Ma! It is 25°C here."),
        ("en", "♥★ 1️⃣", "Happy Mid-Autumn Festival, 外婆! 1."),
    ],
)  # fmt: skip
def test_emoji_are_neither_shown_nor_said(language: Language, message: str, said: str) -> None:
    """The subtitles' face has no emoji (they showed as empty boxes) and the English voice read
    them by name ("smiling face with smiling eyes"); the names lose theirs too."""
    assert greeting_text("mid-autumn", language, "外婆👵", message=message) == said


def test_english_words_in_a_chinese_greeting_keep_their_spaces_and_are_cut_as_english() -> None:
    """A grandson abroad types English into his Mandarin-speaking grandfather's greeting."""
    message = "Mum and Dad, happy Mid-Autumn! Tom is doing well in London"
    assert greeting_text("mid-autumn", "zh-Hant", "Mum and Dad", "Tom", message=message) == (
        "Mum and Dad，中秋快樂！happy Mid-Autumn! Tom is doing well in London. "
        "Tom在遠方陪你們一起賞月。"
    )


@pytest.mark.parametrize(
    ("message", "sentences"),
    [
        ("Miss you", ["Miss you."]),
        ("Hi Ma! How are you? I'm fine; see you soon.", ["Hi Ma!", "How are you?", "I'm fine;",
                                                         "see you soon."]),
        ("好想你！！你好嗎？？我很好…", ["好想你！！", "你好嗎？？", "我很好…"]),
        ("他說：「回家吃飯。」好嗎", ["他說：「回家吃飯。」", "好嗎."]),
        ("I ran 3.5 km with Mr.Li... then rested. Done", ["I ran 3.5 km with Mr.Li...",
                                                          "then rested.", "Done."]),
        ("好的.我們回家!明天見", ["好的.", "我們回家!", "明天見."]),
        ("Dear Ma\n  love   you\n\n", ["Dear Ma.", "love you."]),
        ("Love you ❤️\nMa,\n", ["Love you.", "Ma,"]),
        ("{sender} {0} stays as written.", ["{sender} {0} stays as written."]),
    ],
)  # fmt: skip
def test_a_message_is_cut_at_sentence_ends_which_it_keeps(
    message: str, sentences: list[str]
) -> None:
    assert message_sentences(message, "en") == sentences


def test_a_sentence_far_longer_than_a_template_s_is_cut_at_its_commas() -> None:
    long = "今年中秋我不能回家，但我每天都想著你和爺爺，記得按時吃藥，天冷了多穿衣服。"
    assert message_sentences(long, "zh-Hant") == [
        "今年中秋我不能回家，但我每天都想著你和爺爺，",
        "記得按時吃藥，天冷了多穿衣服。",
    ]
    assert all(len(s) <= 24 for s in message_sentences(long.replace("，", "") * 2, "zh-Hant"))


def test_a_spec_s_message_is_trimmed_and_bounded() -> None:
    def spec(message: str) -> RenderSpec:
        return RenderSpec(
            render_id="m", template_id="mid-autumn", language="en", portrait="face.jpg",
            recipient="Ma", output_dir=".", message=message,
            consent=ConsentReference.for_synthetic_media(),
        )  # fmt: skip

    assert spec("  Miss you \n").message == "Miss you"
    assert len(spec("a" * 600).message or "") == 600
    for refused in ("   ", "a" * 601):
        with pytest.raises(ValidationError):
            spec(refused)
