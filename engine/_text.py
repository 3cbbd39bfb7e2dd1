"""Text as RGBA layers: the right CJK face per script, line breaking per language."""

from __future__ import annotations

import string
import unicodedata
from functools import cache

import noto_cjk_sans_otc
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from engine._errors import RenderError
from engine._models import Language

# Traditional and Simplified Chinese share code points but not glyph shapes (e.g. 骨, 底),
# so the face is chosen by language, never by the text.
_FACE_NAME: dict[Language, str] = {
    "zh-Hant": "Noto Sans CJK TC",
    "zh-Hans": "Noto Sans CJK SC",
    "en": "Noto Sans CJK SC",
}
# Characters that must not begin a line (kinsoku): they stay with the previous character.
_NO_LINE_START = frozenset("，。、！？；：）」』》〉…,.!?;:)")
_HANGING = "".join(_NO_LINE_START)  # as str.rstrip takes them
# Where a line may end without cutting a phrase in two: after a clause's punctuation, and after
# a Latin full stop that ends a sentence (a capital follows, and it does not end "Mr.").
_CLAUSE_ENDS = frozenset("，。、！？；：,;:!?")
# Words whose full stop is not a sentence's end, though a capital follows ("Mr. Lee").
_TITLES = frozenset(("mr", "mrs", "ms", "dr", "st", "prof", "mt"))
# What may follow a clause's punctuation on the same line: closing quotes and brackets.
_CLOSING = '）」』》〉)”’"'
# English words that lead a phrase: an article, preposition or conjunction is read with what
# follows it, a possessive with its noun, a subject pronoun with its verb. Subtitlers break a
# line before such a word, never after it.
_LEADS_A_PHRASE = frozenset(
    ("a", "an", "the", "and", "or", "but", "nor", "so", "for", "of", "to", "in", "on", "at", "by",
     "with", "from", "as", "into", "than", "my", "your", "our", "his", "her", "their", "its", "i",
     "we", "he", "she", "they")
)  # fmt: skip
# What a line break costs a reader, by where it falls, in the units of a line's raggedness (the
# square of the share of the line left empty): between two words it is worth a line 45 % empty.
_AT_A_PAUSE = 0.0  # after a clause's punctuation
_BEFORE_A_PHRASE = 0.1  # the next line starts with a word that leads a phrase
_BETWEEN_WORDS = 0.2
_INSIDE_A_PHRASE = 0.3  # the line ends on a word that leads a phrase
_BETWEEN_CHARACTERS = 0.5  # of Chinese, which may cut a word in two
# A cut between two subtitle screens, in times a line break at the same place: the reader
# loses sight of what came before.
_SCREEN_BREAK = 2.0


@cache
def font(language: Language, size: int, mono: bool = False) -> ImageFont.FreeTypeFont:
    """The language's face; ``mono``, its monospaced cut, whose capital I has serifs: in the
    proportional cut "AI" is two strokes that read as "Al" (a capital A and a small L)."""
    name = _FACE_NAME[language]
    if mono:
        name = name.replace("Sans CJK", "Sans Mono CJK")
    for index in range(16):
        try:
            face = ImageFont.truetype(noto_cjk_sans_otc.FONT_PATH, size, index=index)
        except OSError:
            break
        if face.getname()[0] == name:
            return face
    raise RenderError(f"{name} not found in {noto_cjk_sans_otc.FONT_PATH}")


def wrap(text: str, face: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    """Line breaking as a subtitler does it: the fewest lines, broken where a reader pauses and
    into lines of even length.

    A reader takes "今晚的月亮又大又圓，/ 我很想念你。" or "Make a wish / and blow out the
    candles!" in at a glance, where evening the lines out would cut "又大又圓" in two or leave
    "and" hanging; yet a word alone on a line reads badly too. So of the ways to break the text
    into the fewest lines, the one taken costs least in breaks (``_AT_A_PAUSE`` to
    ``_INSIDE_A_PHRASE``) and raggedness together. Found over every way of breaking the text
    (each line's best start, found once), not greedily.
    """
    tokens = _tokens(text)
    return _Breaking(tokens, face, max_width).lines(0, len(tokens))[2]


def screenfuls(
    text: str, face: ImageFont.FreeTypeFont, max_width: int, max_lines: int
) -> list[list[str]]:
    """The text as subtitle screens of at most ``max_lines`` lines each, wrapped as ``wrap``
    does: one screen when it fits. A longer sentence is cut into screens as a subtitler cuts
    it: the fewest screens, then the fewest lines, then the cheapest breaks, a cut between
    screens costing twice a line break in the same place. Filling screens line by line put
    "Enjoy your rice / dumplings" on one screen and "and the boat races." on the next; cut
    where a reader pauses, each screen holds one phrase ("Enjoy your rice dumplings" / "and the
    boat races.").
    """
    tokens = _tokens(text)
    breaking = _Breaking(tokens, face, max_width)
    whole = breaking.lines(0, len(tokens))
    if whole[0] <= max_lines:
        return [whole[2]]
    # best[end]: the cheapest (screens, lines, cost) for tokens[:end] ending a screen there,
    # with where that screen starts and its lines.
    best: list[tuple[tuple[int, int, float], int, list[str]] | None] = [None] * (len(tokens) + 1)
    best[0] = ((0, 0, 0.0), 0, [])
    for end in range(1, len(tokens) + 1):
        if end < len(tokens) and tokens[end][0] in _NO_LINE_START:
            continue
        for start in range(end - 1, -1, -1):
            if not "".join(tokens[start:end]).strip():
                continue
            lines, cost, wrapped = breaking.lines(start, end)
            if lines > max_lines:
                break  # more of the text needs no fewer lines
            before = best[start]
            if before is None:
                continue
            (count, total, spent), _, _ = before
            if end < len(tokens):
                cost += _SCREEN_BREAK * breaking.costs[end]
            candidate = (count + 1, total + lines, spent + cost)
            current = best[end]
            if current is None or candidate < current[0]:
                best[end] = (candidate, start, wrapped)
    screens: list[list[str]] = []
    end = len(tokens)
    while end > 0:
        chosen = best[end]
        assert chosen is not None  # one token per screen at worst: the end is reachable
        screens.append(chosen[2])
        end = chosen[1]
    return screens[::-1]


class _Breaking:
    """One text's tokens and what a break before each costs, wrapped a stretch at a time."""

    def __init__(self, tokens: list[str], face: ImageFont.FreeTypeFont, max_width: int) -> None:
        self.tokens, self.face, self.max_width = tokens, face, max_width
        self._widths: dict[tuple[int, int], float] = {}  # a screen's lines are measured again
        # What a break before tokens[end] costs (no line ends before the first token).
        self.costs = [0.0] + [
            _break_cost("".join(tokens[:end]), "".join(tokens[end:]))
            for end in range(1, len(tokens))
        ]

    def lines(self, first: int, last: int) -> tuple[int, float, list[str]]:
        """tokens[first:last] broken into the fewest, cheapest lines: (count, cost, lines)."""
        tokens, max_width = self.tokens, self.max_width
        # best[end]: the cheapest (lines, cost) for tokens[first:end] ending a line there, with
        # where that last line starts; None where no line may end.
        best: dict[int, tuple[tuple[int, float], int] | None] = {first: ((0, 0.0), first)}
        for end in range(first + 1, last + 1):
            best[end] = None
            if end < last and tokens[end][0] in _NO_LINE_START:
                continue
            has_word = False
            for start in range(end - 1, first - 1, -1):
                width = self._width(start, end)
                if width < 0:
                    continue  # only spaces
                if width > max_width and has_word:
                    break  # a longer line is only wider; one token wider than a line stands alone
                has_word = True
                before = best[start]
                if before is None:
                    continue
                (count, cost), _ = before
                cost += (1 - min(width, max_width) / max_width) ** 2
                if end < last:
                    cost += self.costs[end]
                candidate = (count + 1, cost)
                current = best[end]
                if current is None or candidate < current[0]:
                    best[end] = (candidate, start)
        wrapped: list[str] = []
        end = last
        while end > first:
            chosen = best[end]
            assert chosen is not None  # the stretch's end is always reachable
            start = chosen[1]
            wrapped.append("".join(tokens[start:end]).strip())
            end = start
        final = best[last]
        assert final is not None
        (count, cost), _ = final
        return count, cost, wrapped[::-1]

    def _width(self, start: int, end: int) -> float:
        """The width of tokens[start:end] as a line, or -1 for one that is only spaces."""
        width = self._widths.get((start, end))
        if width is None:
            line = "".join(self.tokens[start:end]).strip()
            width = self.face.getlength(line.rstrip(_HANGING)) if line else -1.0
            self._widths[(start, end)] = width
        return width


def _break_cost(before: str, after: str) -> float:
    """What breaking the line between ``before`` and ``after`` costs a reader."""
    ending = before.rstrip().rstrip(_CLOSING)
    if ending and ending[-1] in _CLAUSE_ENDS:
        return _AT_A_PAUSE
    sentence_ends = ending.endswith(".") and after.lstrip()[:1].isupper()
    if sentence_ends and _word(before, -1) not in _TITLES:
        return _AT_A_PAUSE  # a member's own words often hold several sentences
    if _is_wide(before[-1]) and _is_wide(after[0]) and " " not in (before[-1], after[0]):
        return _BETWEEN_CHARACTERS
    if _word(before, -1) in _LEADS_A_PHRASE:
        return _INSIDE_A_PHRASE
    return _BEFORE_A_PHRASE if _word(after, 0) in _LEADS_A_PHRASE else _BETWEEN_WORDS


def _word(text: str, index: int) -> str:
    words = text.split()
    return words[index].strip(string.punctuation + "“”‘’").lower() if words else ""


def _tokens(text: str) -> list[str]:
    """Wide characters break anywhere; runs of narrow characters break only at spaces."""
    tokens: list[str] = []
    for char in text:
        if tokens and not _is_wide(char) and not _is_wide(tokens[-1][-1]):
            tokens[-1] += char
        else:
            tokens.append(char)
    return tokens


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F") or char == " "


def text_layer(
    lines: list[str],
    face: ImageFont.FreeTypeFont,
    outline: int,
    glow: tuple[int, int, int] | None = None,
) -> Image.Image:
    """White, outlined and shadowed (or warmly glowing, for titles): readable over the bright
    moon as well as the dark sky."""
    spacing = round(face.size * 0.25)
    probe = ImageDraw.Draw(Image.new("RGBA", (1, 1)))
    joined = "\n".join(lines)
    left, top, right, bottom = probe.multiline_textbbox(
        (0, 0), joined, font=face, spacing=spacing, align="center", stroke_width=outline
    )
    margin = outline * 3 + 4
    size = (round(right - left) + 2 * margin, round(bottom - top) + 2 * margin)
    origin = (margin - round(left), margin - round(top))
    shadow_colour = (*glow, 200) if glow else (0, 0, 0, 160)
    shadow = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(shadow).multiline_text(
        (origin[0] + 2, origin[1] + 3),
        joined,
        font=face,
        fill=shadow_colour,
        spacing=spacing,
        align="center",
        stroke_width=outline,
        stroke_fill=shadow_colour,
    )
    layer = shadow.filter(ImageFilter.GaussianBlur(outline * 1.5))
    ImageDraw.Draw(layer).multiline_text(
        origin,
        joined,
        font=face,
        fill=(255, 255, 255, 255),
        spacing=spacing,
        align="center",
        stroke_width=outline,
        stroke_fill=(20, 14, 30, 255),
    )
    return layer
