"""The family's own words: how long a personal message and a sender line may be, counted as a
person counts them.

Limits are in characters a reader sees (grapheme clusters: an emoji with its skin tone, a letter
with its accent, one Chinese character each count once), not code points or UTF-16 units. They
are per language because speech is: the greeting must fit the template's longest video, and
the default voice reads about 3 Chinese characters or 13 Latin letters a second.
"""

import unicodedata

import regex

from bot.i18n import Language

MESSAGE_LIMITS: dict[Language, int] = {"zh-Hant": 60, "zh-Hans": 60, "en": 200}
MAX_SENDER_CHARS = 40
_GRAPHEME = regex.compile(r"\X")


def visible_length(text: str) -> int:
    return len(_GRAPHEME.findall(text))


def clean_words(text: str) -> str:
    """The text without control, format or direction characters, spaces collapsed: what is
    spoken and subtitled must be what the moderator read, with nothing hidden in it."""
    kept = "".join(
        " " if char.isspace() else char
        for char in text
        if char.isspace() or unicodedata.category(char) not in ("Cc", "Cf", "Co", "Cs")
    )
    return " ".join(kept.split())
