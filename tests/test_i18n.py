"""Every message a member can see exists in all three languages with the same placeholders."""

import re
import string
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import bot
from bot.i18n import LANGUAGES, catalog_path, gettext_for, language_from_telegram

BOT_DIR = Path(bot.__file__).parent


def _source_messages() -> set[str]:
    return {
        message
        for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(BOT_DIR), method_map=[("**.py", "python")], keywords={"_": None}
        )
        if isinstance(message, str)
    }


def _placeholders(text: str) -> set[str]:
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_every_message_is_translated_with_the_same_placeholders(language: str) -> None:
    with catalog_path(language).open("rb") as po_file:  # type: ignore[arg-type]
        catalog = read_po(po_file)
    translations = {m.id: m.string for m in catalog if m.id}
    for message in _source_messages():
        translated = translations.get(message)
        assert isinstance(translated, str) and translated, (
            f"{language}: no translation for {message!r}"
        )
        assert _placeholders(translated) == _placeholders(message), message


def test_catalogs_hold_no_stale_messages() -> None:
    source = _source_messages()
    for language in LANGUAGES:
        if language == "en":
            continue
        with catalog_path(language).open("rb") as po_file:
            stale = {m.id for m in read_po(po_file) if m.id and m.id not in source}
        assert not stale, f"{language} keeps messages the code no longer uses: {stale}"


def test_scripts_differ_between_traditional_and_simplified() -> None:
    message = "Which language should I use?"
    assert gettext_for("zh-Hant")(message) == "要用哪種語言？"
    assert gettext_for("zh-Hans")(message) == "要用哪种语言？"
    assert gettext_for("en")(message) == message
    assert not re.search(r"[\u4e00-\u9fff]", gettext_for("en")(message))


@pytest.mark.parametrize(
    ("telegram_code", "expected"),
    [
        ("zh-hant", "zh-Hant"),
        ("zh-TW", "zh-Hant"),
        ("zh-HK", "zh-Hant"),
        ("zh-hans", "zh-Hans"),
        ("zh", "zh-Hans"),
        ("zh-CN", "zh-Hans"),
        ("en-GB", "en"),
        ("de", "en"),
        (None, "en"),
        ("", "en"),
    ],
)
def test_telegram_language_codes_map_to_our_languages(
    telegram_code: str | None, expected: str
) -> None:
    assert language_from_telegram(telegram_code) == expected
