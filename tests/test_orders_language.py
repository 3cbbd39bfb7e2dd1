"""A greeting speaks a language its subject spoke, and its words follow the voice."""

import json

import pytest

from bot.family.spaces import Space, SpaceStatus
from bot.i18n import Language, words_language
from bot.orders import fitting_spoken_language, spoken_choices


def _space(*languages: str) -> Space:
    return Space(
        id="s1",
        owner_id=1,
        subject_name="Grandpa",
        subject_languages=json.dumps(list(languages)),
        status=SpaceStatus.ACTIVE,
        cosigners_required=0,
        created_at="2026-12-06T00:00:00+00:00",
    )


@pytest.mark.parametrize(
    ("member", "subject", "spoken"),
    [
        ("en", ("en",), "en"),
        ("zh-Hant", ("cmn",), "cmn"),
        ("zh-Hans", ("yue",), "yue"),
        # The member's language is not one the subject spoke: the subject's own.
        ("en", ("cmn",), "cmn"),
        ("en", ("yue",), "yue"),
        ("zh-Hans", ("en",), "en"),
        ("zh-Hant", ("yue", "en"), "yue"),
        ("en", ("cmn", "en"), "en"),
        # A space from before the languages were asked keeps the old rule.
        ("en", (), "en"),
        ("zh-Hant", (), "cmn"),
    ],
)
def test_the_greeting_speaks_a_language_the_subject_spoke(
    member: Language, subject: tuple[str, ...], spoken: str
) -> None:
    assert fitting_spoken_language(member, _space(*subject)) == spoken
    assert spoken_choices(member, _space(*subject)) == ()


@pytest.mark.parametrize(
    ("member", "subject"),
    [("zh-Hant", ("cmn", "yue")), ("zh-Hans", ("cmn", "yue", "en")), ("en", ("cmn", "yue"))],
)
def test_the_member_chooses_when_the_subject_spoke_both_chinese_languages(
    member: Language, subject: tuple[str, ...]
) -> None:
    assert spoken_choices(member, _space(*subject)) == ("cmn", "yue")


def test_an_english_reader_is_not_asked_when_the_subject_also_spoke_english() -> None:
    assert spoken_choices("en", _space("cmn", "yue", "en")) == ()


@pytest.mark.parametrize(
    ("member", "spoken", "words"),
    [
        ("en", "en", "en"),
        ("zh-Hans", "en", "en"),
        ("en", "cmn", "zh-Hant"),
        ("en", "yue", "zh-Hant"),
        ("zh-Hans", "cmn", "zh-Hans"),
        ("zh-Hant", "yue", "zh-Hant"),
        ("zh-Hans", None, "zh-Hans"),  # an order from before the spoken language was kept
        ("en", None, "en"),
    ],
)
def test_the_words_are_in_the_language_spoken(
    member: Language, spoken: str | None, words: Language
) -> None:
    assert words_language(member, spoken) == words
