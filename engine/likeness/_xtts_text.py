"""What XTTS is given to read: its language codes, sentences cut to the lengths it can take,
and how long each piece may speak.

XTTS truncates or garbles text past a per-language character limit (82 for Mandarin, 250 for
English; the installed tokenizer's ``char_limits`` are authoritative). Its own splitter needs
spaCy and drops nothing only for languages with spaces between words, so pieces are cut here:
at the last sentence end inside the limit, else the last clause break, else the last space,
else (a run of Chinese with no punctuation) at the limit itself. Only whitespace at a cut is
dropped, so the pieces read back as the sentence.
"""

from __future__ import annotations

import math

from engine._models import SpokenLanguage

# Cantonese is not among XTTS-v2's languages: reading Chinese characters as Mandarin pinyin
# would speak the wrong language, so it is refused and the selection falls back for it.
XTTS_LANGUAGE: dict[SpokenLanguage, str | None] = {
    "zh-Hant": "zh-cn",  # XTTS transliterates with pypinyin, which reads traditional characters
    "zh-Hans": "zh-cn",
    "en": "en",
    "yue": None,
}
LANGUAGE_NAME: dict[SpokenLanguage, str] = {
    "zh-Hant": "Mandarin (Traditional Chinese)",
    "zh-Hans": "Mandarin (Simplified Chinese)",
    "en": "English",
    "yue": "Cantonese",
}

# A piece may take a slow reader's time for its characters, twice over, plus a breath.
_BUDGET_BASE_S = 1.5
_BUDGET_S_PER_CHAR = {"zh-cn": 0.5, "en": 0.15}
_SENTENCE_ENDS = frozenset("。！？；….!?;")
_CLAUSE_BREAKS = frozenset("，、：,:")
# ASCII marks end a sentence or clause only before a space: not in "3.5", "1,000" or "Mr.X".
_ASCII_MARKS = frozenset(".!?;,:")
# A cut earlier than this fraction of the limit makes a stub of a piece; a worse kind of
# boundary further on is preferred to it.
_MIN_PIECE_FRACTION = 0.5


def split_to_limit(text: str, limit: int) -> list[str]:
    """``text`` as pieces of at most ``limit`` characters, cut where a reader would pause."""
    if limit < 1:
        raise ValueError(f"character limit must be positive, not {limit}")
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _cut(rest[: limit + 1], limit)
        piece, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        pieces.append(piece)
    if rest:
        pieces.append(rest)
    return pieces


def _cut(window: str, limit: int) -> int:
    """Where to end the first piece: an index in 1..limit of ``window`` (limit + 1 long).

    A space just past the limit still counts: the piece before it fits.
    """
    floor = max(1, int(limit * _MIN_PIECE_FRACTION))
    candidates: list[list[int]] = [[], [], []]  # sentence ends, clause breaks, spaces
    for index, char in enumerate(window):
        after = window[index + 1 : index + 2]
        mark = index + 1 <= limit and (char not in _ASCII_MARKS or after.isspace())
        if mark and char in _SENTENCE_ENDS:
            candidates[0].append(index + 1)
        elif mark and char in _CLAUSE_BREAKS:
            candidates[1].append(index + 1)
        elif char.isspace() and index > 0:
            candidates[2].append(index)
    for minimum in (floor, 1):
        for kind in candidates:
            fitting = [cut for cut in kind if cut >= minimum]
            if fitting:
                return fitting[-1]
    return limit


def token_budget(text: str, code: str, tokens_per_s: float, model_max: int) -> int:
    """Audio tokens XTTS may spend on ``text``: enough for slow speech, never minutes of it.

    XTTS ends a piece by emitting its stop token; when it does not (it sometimes babbles on,
    and a random-weight model never stops), the budget ends the piece instead.
    """
    seconds = _BUDGET_BASE_S + len(text) * _BUDGET_S_PER_CHAR[code]
    return min(math.ceil(seconds * tokens_per_s), model_max)
