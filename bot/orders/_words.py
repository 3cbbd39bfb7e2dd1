"""The family's own words: how long a personal message and a sender line may be, counted as a
person counts them (``bot.words.visible_length``; the text itself is cleaned by
``bot.words.clean_words``, re-exported here for the flows).

Limits are per language because speech is: the greeting must fit the template's longest
video, and the default voice reads about 3 Chinese characters or 13 Latin letters a second.
"""

import regex

from bot.i18n import Language
from bot.words import clean_words, visible_length

__all__ = ["MAX_SENDER_CHARS", "MESSAGE_LIMITS", "clean_words", "speakable", "visible_length"]

MESSAGE_LIMITS: dict[Language, int] = {"zh-Hant": 60, "zh-Hans": 60, "en": 200}
MAX_SENDER_CHARS = 40

_HAN = regex.compile(r"\p{Han}")


def speakable(text: str, language: Language) -> bool:
    """Whether a greeting in ``language`` can say ``text``. The default English voice reads
    every Chinese character as the words "Chinese letter" (espeak-ng: 外婆 is "Chinese letter,
    Chinese letter"), so a name typed in characters would not be heard; the Chinese voices read
    a Latin name letter by letter or as English, which serves."""
    return language != "en" or not _HAN.search(text)
