"""Which language a greeting speaks, and so which language its words are written in.

A greeting is in the voice of someone the family knows: it speaks a language they spoke (the
languages the family gave when the space was made). The member's own language is used when
the subject speaks it; otherwise the subject's own, and the member is asked only when the
subject speaks more than one that could serve. The words follow the voice: Mandarin or
Cantonese speech reads Chinese words, English speech English ones, whatever language the
member's chat is in (their chat keeps its language; ``bot.i18n.words_language``).
"""

from bot.family.spaces import Space
from bot.i18n import Language, words_language
from bot.storage import Order


def spoken_choices(language: Language, space: Space) -> tuple[str, ...]:
    """The spoken languages the member chooses between; empty when one fits by itself.

    A member writing Chinese for a subject who speaks both Mandarin and Cantonese chooses
    between them; so does a member writing English for a subject who speaks both and no
    English.
    """
    spoken = space.languages
    chinese = tuple(code for code in ("cmn", "yue") if code in spoken)
    if len(chinese) == 2 and (language != "en" or "en" not in spoken):
        return chinese
    return ()


def fitting_spoken_language(language: Language, space: Space) -> str:
    """The language the greeting speaks when the member is not asked: theirs if the subject
    speaks it, else the subject's (Mandarin before Cantonese, Chinese before English)."""
    spoken = space.languages
    if language == "en" and ("en" in spoken or not spoken):
        return "en"
    for code in ("cmn", "yue", "en"):
        if code in spoken:
            return code
    return "cmn"  # a space made before languages were asked, for a member writing Chinese


def spoken_language_of(order: Order, space: Space) -> str:
    """The language the greeting speaks: the member's choice, else the one that fits."""
    if order.spoken_language is not None:
        return order.spoken_language
    return fitting_spoken_language(order.language, space)


def greeting_language(order: Order, space: Space) -> Language:
    """The language the greeting's words (template, subtitles, own words) are in."""
    return words_language(order.language, spoken_language_of(order, space))
