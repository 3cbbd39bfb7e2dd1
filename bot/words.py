"""Free text a person typed, made safe to keep, show, speak and subtitle.

Every name, relation, recipient, personal message, invitation and note passes
:func:`clean_words` before it is stored: it lives here, below everything else in ``bot``, so
that storage and moderation can use it as well as the flows (``bot.orders`` re-exports it with
the per-language limits of a greeting's words).

Lengths are in characters a reader sees (grapheme clusters: an emoji with its skin tone, a
letter with its accent, one Chinese character each count once), not code points or UTF-16
units.
"""

import unicodedata

import regex

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
