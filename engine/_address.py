"""How a Chinese greeting says "you": 你 to one person, 你們 (你们) to several.

Families send one greeting to a couple as often as to one grandparent: a campaign asks for names
"for example: 外公和外婆", and members type "爸爸媽媽". "祝你身體健康" said to two people reads as
if one of them were forgotten. English "you" serves both, so only Chinese templates write
``{you}`` where they address the recipient.

Several people are named when the names are joined (和, 與, 、, "and", "&"...), end in 們, are a
word for a group (大家, 父母, 二老...), or are two or more kinship terms run together (爺爺奶奶,
阿公阿嬤). Single-character terms are left out of that list on purpose: "爸爸" would otherwise
read as 爸 + 爸. A joining word is also a character of given names (李和平, 陳同): it joins only
names of two characters or more, or one-character kinship terms (爸和媽).
"""

from __future__ import annotations

import re

from engine._models import Language

_JOINED = re.compile(r"[、，,&+/]|\band\b", re.IGNORECASE)
_JOINING_WORD = re.compile("[和與与跟及同]")
_ONE_CHARACTER_KIN = frozenset("爸媽妈爺爷奶哥姐弟妹公婆")
_GROUPS = ("大家", "全家", "家人", "各位", "父母", "爸媽", "爸妈", "雙親", "双亲", "二老", "兩老",
           "两老", "們", "们")  # fmt: skip
_KIN = (
    "爺爺", "爷爷", "奶奶", "外公", "外婆", "姥姥", "姥爺", "姥爷", "阿公", "阿嬤", "阿嫲", "阿婆",
    "阿爺", "阿爷", "爸爸", "媽媽", "妈妈", "老爸", "老媽", "老妈", "爹地", "媽咪", "妈咪", "哥哥",
    "姐姐", "弟弟", "妹妹", "叔叔", "阿姨", "伯伯", "伯母", "嬸嬸", "婶婶", "舅舅", "舅媽", "舅妈",
    "姑姑", "姑丈", "姨丈", "公公", "婆婆", "老公", "老婆", "兒子", "儿子", "女兒", "女儿", "孫子",
    "孙子", "孫女", "孙女", "太太", "先生",
)  # fmt: skip
_KIN_RUN = re.compile("(?:" + "|".join(_KIN) + "){2,}")
_PLURAL_YOU: dict[Language, str] = {"zh-Hant": "你們", "zh-Hans": "你们", "en": "you"}
_SINGULAR_YOU: dict[Language, str] = {"zh-Hant": "你", "zh-Hans": "你", "en": "you"}


def names_several(recipient: str) -> bool:
    """Whether the greeting's recipient, as the family typed it, is more than one person."""
    name = "".join(recipient.split())
    between_joining_words = _JOINING_WORD.split(name)
    return (
        _JOINED.search(recipient) is not None
        or (
            len(between_joining_words) > 1
            and all(len(part) > 1 or part in _ONE_CHARACTER_KIN for part in between_joining_words)
        )
        or any(group in name for group in _GROUPS)
        or _KIN_RUN.fullmatch(name) is not None
    )


def second_person(language: Language, recipient: str) -> str:
    """The greeting's word for "you", addressing ``recipient``."""
    return (_PLURAL_YOU if names_several(recipient) else _SINGULAR_YOU)[language]
