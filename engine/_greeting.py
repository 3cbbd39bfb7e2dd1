"""The words a greeting says: the template's, or the sender's own message inside them.

One sentence is one spoken phrase and one subtitle cue, so a personal message is cut into
sentences the way a template's are written: at sentence-ending marks (kept), at line breaks,
and a sentence far longer than any template's at its commas, else where a reader would pause.
The bot shows a member ``greeting_text`` before they order, and a render says exactly that
(``RenderResult.greeting_text``), unless the template's longest greeting cuts it short.
"""

from __future__ import annotations

import re
import unicodedata

from engine._address import second_person
from engine._models import Language
from engine._templates import OPTIONAL_PLACEHOLDERS, Template, load_template, placeholders
from engine.likeness._xtts_text import split_to_limit

# A sentence runs up to its closing marks (with the quotes that close after them) or a line
# break. An ASCII full stop ends one unless a letter, digit or another stop follows it: "3.5",
# "Mr.Li" and the first dots of "..." do not end a sentence; "好的.我们" and "Hi Ma. I" do.
_SENTENCE = re.compile(
    r"(?:[^。！？!?;；….\n]|\.(?=[0-9A-Za-z.]))+"
    r"(?:(?:[。！？!?;；…]|\.(?![0-9A-Za-z.]))+[」』”’\"')）】]*)?"
)
# Characters in a sentence before it is cut at a comma: half as long again as the templates'
# longest (16 characters of Chinese, 62 of English), so a message's sentences read and are
# timed on screen like theirs (a cue's subtitle pages are timed by their share of its length).
_LONGEST_SENTENCE: dict[Language, int] = {"zh-Hant": 24, "zh-Hans": 24, "en": 93}
_SPACE_BEFORE_STOP = re.compile(r" (?=[,.!?;:，。！？；：、…])")
_FULL_STOP: dict[Language, str] = {"zh-Hant": "。", "zh-Hans": "。", "en": "."}


def greeting_text(
    template_id: str,
    language: Language,
    recipient: str,
    sender: str = "",
    subject: str = "",
    message: str | None = None,
) -> str:
    """What the greeting will say, for the member to read before ordering it."""
    sentences = greeting_sentences(
        load_template(template_id), language, recipient, sender, subject, message
    )
    return join_sentences(language, sentences)


def greeting_sentences(
    template: Template,
    language: Language,
    recipient: str,
    sender: str,
    subject: str = "",
    message: str | None = None,
) -> list[str]:
    """The greeting, one sentence per spoken phrase and subtitle cue.

    The template's sentences with their placeholders filled; a sentence naming an optional
    name that was not given is dropped. A ``message`` takes the place of the template's
    words between its salutation (its first sentence, naming {recipient}) and its sentences
    naming {sender}; it is never read for placeholders.
    """
    values = {
        "recipient": _name(recipient),
        "sender": _name(sender),
        "subject": _name(subject),
        "you": second_person(language, recipient),
    }
    missing = {name for name in OPTIONAL_PLACEHOLDERS if not values[name]}
    kept = [s for s in template.greetings.pick(language) if not placeholders(s) & missing]
    filled = [sentence.format(**values) for sentence in kept]
    own = message_sentences(message or "", language)
    if not own:
        return filled
    signed = [f for s, f in zip(kept[1:], filled[1:], strict=True) if "sender" in placeholders(s)]
    return [filled[0], *_after_salutation(own, values["recipient"], filled[0]), *signed]


def _after_salutation(own: list[str], recipient: str, salutation: str) -> list[str]:
    """A message's sentences without a salutation of its own: the template's comes first.

    Members write as to the person ("外婆，我今年考上大學了"), and the greeting said
    "外婆，中秋快樂！外婆，我今年…". Their opening name goes, and so does an opening sentence
    that says a third or more of the template's salutation again ("外婆，中秋快樂！",
    "Happy Mid-Autumn!", "Dear Grandma,").
    """
    opening = rf"(?:dear\s+|親愛的|亲爱的)?{re.escape(recipient)}\s*[，,:：、!！]\s*"
    named = re.match(opening, own[0], re.IGNORECASE)
    first = own[0][named.end() :] if named else own[0]
    letters, said = _letters(first), _letters(salutation)
    if (named and not letters) or (3 * len(letters) >= len(said) and letters in said):
        return own[1:]
    return [first, *own[1:]] if named else own


def _letters(text: str) -> str:
    return "".join(character for character in text.casefold() if character.isalnum())


def message_sentences(message: str, language: Language) -> list[str]:
    """A member's message as sentences; one without any closing mark is one sentence.

    A sentence that ends in a letter gets a full stop: joined to the template's next sentence,
    "我好想你" read "我好想你小明在遠方陪你一起賞月。" on the card. A sentence written in Latin
    letters (a grandson abroad writes English into his Mandarin-speaking grandfather's
    greeting) is stopped and cut as English is: at 24 characters, a Chinese sentence's length,
    "Tom is doing well in London" was cut before its last word.
    """
    sentences = (sayable(match.group()) for match in _SENTENCE.finditer(message))
    return [
        piece for sentence in sentences if sentence for piece in _closed_and_cut(sentence, language)
    ]


def _closed_and_cut(sentence: str, language: Language) -> list[str]:
    written = _written_in(sentence, language)
    closed = sentence + (_FULL_STOP[written] if sentence[-1].isalnum() else "")
    return split_to_limit(closed, _LONGEST_SENTENCE[written])


def sayable(text: str) -> str:
    """``text`` without emoji and pictographs, its spaces collapsed: the subtitles' face has no
    glyph for them (they showed as empty boxes) and the English voice reads them out by name
    ("I love you 😊" said "smiling face with smiling eyes"). Signs of everyday writing (°, ©)
    are kept."""
    kept = " ".join("".join(c for c in text if not _pictograph(c)).split())
    return _SPACE_BEFORE_STOP.sub("", kept)  # "Ma 👍!" is "Ma!"


def _pictograph(character: str) -> bool:
    """Part of an emoji: the symbol itself, or what joins and styles emoji (ZWJ, U+FE0F, the
    keycap, skin tones, a flag's tags)."""
    code, category = ord(character), unicodedata.category(character)
    return (
        (category in ("So", "Sk") and code >= 0x2000)  # dingbats, emoji, flags, skin tones
        or category == "Cf"  # the zero-width joiner, tags
        or 0xFE00 <= code <= 0xFE0F  # variation selectors: U+FE0F asks for the emoji form
        or code == 0x20E3  # the keycap that makes "1" an emoji
    )


def _name(name: str) -> str:
    """A name as the greeting says it: "奶奶👵" is 奶奶; one of emoji only stays as typed."""
    return sayable(name) or name.strip()


def _written_in(sentence: str, language: Language) -> Language:
    """English for a sentence mostly of Latin letters, else the greeting's language."""
    latin = sum(character.isascii() for character in sentence)
    return "en" if 2 * latin > len(sentence) else language


def join_sentences(language: Language, sentences: list[str]) -> str:
    """The sentences as one text: Chinese runs on, English has a space between sentences, and
    so has Latin text between two sentences of a Chinese greeting ("…London. Love, Tom.")."""
    if not language.startswith("zh"):
        return " ".join(sentences)
    text = ""
    for sentence in sentences:
        latin_meets_latin = text[-1:].isascii() and sentence[:1].isascii() and text != ""
        text += (" " if latin_meets_latin else "") + sentence
    return text
