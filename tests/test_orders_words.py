"""The family's own words: counted as a reader counts them, with nothing hidden in them."""

from pathlib import Path

from bot.moderation import clean_note
from bot.orders import MESSAGE_LIMITS, clean_words, speakable, visible_length
from bot.storage import open_database, remember_user
from bot.storage.users import first_name


def test_length_counts_what_a_reader_sees() -> None:
    assert visible_length("外婆，中秋快樂！") == 8
    assert visible_length("👍🏽") == 1  # an emoji with its skin tone
    assert visible_length("e\u0301") == 1  # a letter with a combining accent
    assert visible_length("👨‍👩‍👧") == 1  # a family joined by zero-width joiners


def test_control_and_direction_characters_are_removed_and_spaces_collapsed() -> None:
    hidden = "Grand\x00ma\x07 \x1b[31mhappy\u202e  day\u200b!\n\nlove"
    assert clean_words(hidden) == "Grandma [31mhappy day! love"


def test_the_limits_leave_room_for_the_templates_words_in_the_longest_greeting() -> None:
    # The default voice reads about 3.2 Chinese characters or 13 Latin letters a second; the
    # templates' longest greeting is 40 s, of which the cards and the salutation take about 8.
    assert MESSAGE_LIMITS["zh-Hant"] * 0.31 < 32
    assert MESSAGE_LIMITS["zh-Hans"] == MESSAGE_LIMITS["zh-Hant"]
    assert MESSAGE_LIMITS["en"] * 0.079 < 32


def test_a_moderators_note_and_a_profile_name_are_cleaned_like_typed_words(
    tmp_path: Path,
) -> None:
    # The note reaches the family's chat; the profile name a moderator's card and the admin
    # web. Neither is typed through the flows' checks, both once kept control characters.
    hidden = "Re\x00do\x07 \x1b[31mthe\u202e name"
    assert clean_note(hidden) == "Redo [31mthe name"
    db = open_database(tmp_path / "tuanyuan.db")
    remember_user(db, 42, hidden, "en")
    assert first_name(db, 42) == "Redo [31mthe name"


def test_a_greeting_in_english_takes_no_chinese_characters() -> None:
    assert not speakable("媽媽", "en")
    assert not speakable("Happy birthday, 外婆!", "en")
    assert speakable("Grandma and Grandpa", "en")
    assert speakable("外婆和 Tom", "zh-Hant")
    assert speakable("Tom", "zh-Hans")
