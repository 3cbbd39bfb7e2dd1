"""A Chinese greeting to several people says 你們 (你们), to one person 你: every template, as
the member reads it before ordering and as the render says it."""

from __future__ import annotations

import re

import pytest

from engine import greeting_text, list_templates
from engine._address import names_several
from engine._models import Language

SEVERAL = ("外公和外婆", "爸爸媽媽", "爷爷奶奶", "阿公阿嬤", "爸妈", "孩子們", "大家", "外公、外婆",
           "外公同外婆", "爸和媽", "小明和小華", "Mum and Dad", "Grandma & Grandpa")  # fmt: skip
ONE = ("外婆", "爸爸", "姐姐", "奶奶", "阿嬤", "老婆", "小明", "李和平", "和平", "陳同", "Grandma",
       "Auntie May", "Sandy Anderson")  # fmt: skip


@pytest.mark.parametrize("names", SEVERAL)
def test_names_joined_grouped_or_run_together_are_several_people(names: str) -> None:
    assert names_several(names)


@pytest.mark.parametrize("name", ONE)
def test_one_name_is_one_person_even_when_doubled_or_holding_a_joining_word(name: str) -> None:
    assert not names_several(name)


@pytest.mark.parametrize("language", ["zh-Hant", "zh-Hans"])
def test_every_chinese_template_addresses_each_recipient_as_they_are(language: Language) -> None:
    for template_id in list_templates():
        together = greeting_text(template_id, language, "外公和外婆", "小明", "外婆")
        assert not re.search("你(?![們们])", together), (template_id, together)
        alone = greeting_text(template_id, language, "外婆", "小明", "外婆")
        assert "你們" not in alone and "你们" not in alone, (template_id, alone)
    plural = "你們" if language == "zh-Hant" else "你们"
    assert f"祝{plural}身" in greeting_text("mid-autumn", language, "爸爸媽媽", "小明")


def test_english_says_you_to_one_and_to_several() -> None:
    assert greeting_text("mid-autumn", "en", "Mum and Dad", "Ann") == greeting_text(
        "mid-autumn", "en", "Grandma", "Ann"
    ).replace("Grandma", "Mum and Dad")
