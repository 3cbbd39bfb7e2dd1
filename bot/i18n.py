"""User-facing text in Traditional Chinese, Simplified Chinese and English.

Messages are written in English in the code and translated through gettext catalogs kept as
``.po`` files under ``bot/locale``. The catalogs are compiled in memory with Babel when first
used, so a checkout never carries stale binary ``.mo`` files.
"""

import functools
import io
from collections.abc import Callable
from pathlib import Path
from typing import Literal, get_args

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

Language = Literal["zh-Hant", "zh-Hans", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "en"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "tuanyuan"

# Each language's own name, shown on the /language keyboard so a reader finds theirs.
LANGUAGE_NAMES: dict[Language, str] = {
    "zh-Hant": "繁體中文",
    "zh-Hans": "简体中文",
    "en": "English",
}

_TRADITIONAL_REGIONS = ("hant", "tw", "hk", "mo")
_FULL_WIDTH_ENDS = "。！？：；）」』"

Gettext = Callable[[str], str]


def written_language_name(_: Gettext, language: Language) -> str:
    """A language's name in the reader's: an organiser asked for each invitation's text may
    not read the others' own names (繁體中文 to an English reader)."""
    names = {
        "zh-Hant": _("Traditional Chinese"),
        "zh-Hans": _("Simplified Chinese"),
        "en": _("English"),
    }
    return names[language]


def language_from_telegram(language_code: str | None) -> Language:
    """Map an IETF tag as Telegram sends it (``zh-hant``, ``zh-TW``, ``en-GB``...) to ours."""
    if not language_code:
        return DEFAULT_LANGUAGE
    for language in LANGUAGES:
        if language_code == language:
            return language
    parts = language_code.lower().replace("_", "-").split("-")
    if parts[0] == "zh":
        return "zh-Hant" if any(p in _TRADITIONAL_REGIONS for p in parts[1:]) else "zh-Hans"
    return DEFAULT_LANGUAGE


def words_language(language: Language, spoken: str | None) -> Language:
    """The language a greeting's words are written in, for a member whose chat is in
    ``language`` and a subject who speaks ``spoken`` in it (None: an order from before the
    spoken language was kept). The words follow the voice: English speech reads English, and
    Mandarin or Cantonese speech Chinese, in the member's script or, for a member reading
    English, in Traditional characters, in which Cantonese is written."""
    if spoken == "en":
        return "en"
    if spoken in ("cmn", "yue") and language == "en":
        return "zh-Hant"
    return language


def sentences(*parts: str) -> str:
    """Sentences written one after another: a space after a Latin stop, none after a full-width
    one ("…已獲授權。你現在可以…"), since Chinese puts no space between sentences."""
    text = ""
    for part in parts:
        if text and part and text[-1] not in _FULL_WIDTH_ENDS:
            text += " "
        text += part
    return text


def catalog_path(language: Language) -> Path:
    return LOCALE_DIR / language.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def _translations(language: Language) -> NullTranslations:
    if language == DEFAULT_LANGUAGE:
        return NullTranslations()
    with catalog_path(language).open("rb") as po_file:
        catalog = read_po(po_file, locale=language.replace("-", "_"))
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def gettext_for(language: Language) -> Gettext:
    """The ``_`` function for one reader's language."""
    return _translations(language).gettext
