"""Text as RGBA layers: the right CJK face per script, line breaking per language."""

from __future__ import annotations

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
# Where a Chinese sentence may be broken without cutting a phrase in two.
_CLAUSE_ENDS = frozenset("，。、！？；：")


@cache
def font(language: Language, size: int) -> ImageFont.FreeTypeFont:
    for index in range(16):
        try:
            face = ImageFont.truetype(noto_cjk_sans_otc.FONT_PATH, size, index=index)
        except OSError:
            break
        if face.getname()[0] == _FACE_NAME[language]:
            return face
    raise RenderError(f"{_FACE_NAME[language]} not found in {noto_cjk_sans_otc.FONT_PATH}")


def wrap(text: str, face: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    """Line breaking with lines of even length, so no single word is left dangling below.

    Chinese is broken after a clause's punctuation where the clauses fit in as few lines as
    breaking anywhere would: a reader takes "今晚的月亮又大又圓，/ 我很想念你。" in at a glance,
    where evening the lines out would cut the phrase "又大又圓" in two. Within that, the lines are
    evened out by finding the narrowest width that still needs no more lines.
    """
    characters = _tokens(text)
    line_count = len(_fill(characters, face, max_width))
    clauses = _clauses(characters)
    by_clause = _fill(clauses, face, max_width)
    fits = len(by_clause) <= line_count and _fit(by_clause, face, max_width)
    tokens = clauses if fits else characters
    low, high = max_width // 2, max_width
    while high - low > 4:
        middle = (low + high) // 2
        narrower = _fill(tokens, face, middle)
        if len(narrower) > line_count or not _fit(narrower, face, middle):
            low = middle
        else:
            high = middle
    return _fill(tokens, face, high)


def _fit(lines: list[str], face: ImageFont.FreeTypeFont, width: int) -> bool:
    """Whether every line fits, its closing punctuation allowed to hang past the edge as
    ``_fill`` hangs it."""
    return all(face.getlength(line.rstrip(_HANGING)) <= width for line in lines)


def _fill(tokens: list[str], face: ImageFont.FreeTypeFont, max_width: int) -> list[str]:
    """Greedy line breaking between tokens; a token wider than a line gets a line of its own."""
    lines: list[str] = []
    line = ""
    for token in tokens:
        candidate = line + token
        fits = face.getlength(candidate.strip()) <= max_width
        if fits or not line.strip() or token[0] in _NO_LINE_START:
            line = candidate
        else:
            lines.append(line.strip())
            line = token.lstrip()
    if line.strip():
        lines.append(line.strip())
    return lines


def _tokens(text: str) -> list[str]:
    """Wide characters break anywhere; runs of narrow characters break only at spaces."""
    tokens: list[str] = []
    for char in text:
        if tokens and not _is_wide(char) and not _is_wide(tokens[-1][-1]):
            tokens[-1] += char
        else:
            tokens.append(char)
    return tokens


def _clauses(tokens: list[str]) -> list[str]:
    """The tokens joined into runs that end with a Chinese clause's punctuation (and any closing
    mark after it, which may not start a line)."""
    clauses = [""]
    for token in tokens:
        if clauses[-1] and clauses[-1][-1] in _CLAUSE_ENDS and token[0] not in _NO_LINE_START:
            clauses.append("")
        clauses[-1] += token
    return clauses


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
