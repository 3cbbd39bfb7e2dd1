"""Choosing the festival by picture, over HTTP through the stand-in: a paged card of preview
stills in the member's language and aspect, each still uploaded once and resent by file id,
and Choose leading on exactly as the festival keyboard's own button does."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import pytest
from PIL import Image

from bot.delivery import Shape
from bot.flows.order import PICTURES_PREFIX, TEMPLATE_PREFIX, _recipient_example, festivals
from bot.flows.picker import picture_aspect
from bot.i18n import gettext_for
from bot.sandbox import SandboxUser, SentMessage
from bot.storage.orders import draft_for, update_order
from engine import template_title
from tests.auxil.bot import ADMIN, BotWorld
from tests.auxil.family import festival_question, living_family

ZH_HANT = gettext_for("zh-Hant")
MEMBER = SandboxUser(5401, "美玲", language_code="zh-hant")
GRANDMA = SandboxUser(5402, "奶奶", language_code="zh-hant")
ASKS_FOR_RECIPIENT = "Who is the greeting for? Type their name, for example: {example}."


def _data(message: SentMessage) -> list[str]:
    assert message.reply_markup is not None
    return [b["callback_data"] for row in message.reply_markup["inline_keyboard"] for b in row]


def _paged_to(message_id: int, edits: int) -> Callable[[SentMessage], bool]:
    return lambda m: m.message_id == message_id and len(m.edits) == edits


async def _size(world: BotWorld, file_id: str | None) -> tuple[int, int]:
    assert file_id is not None
    with Image.open(io.BytesIO(await world.sandbox.download(file_id))) as still:
        assert still.format == "JPEG"
        width, height = still.size
        return int(width), int(height)


@pytest.fixture
async def family(bot_world: BotWorld) -> BotWorld:
    await bot_world.reply_to(ADMIN, lambda: bot_world.sandbox.send_text(ADMIN, "/start"))
    await living_family(bot_world, MEMBER, GRANDMA)
    return bot_world


def test_a_voice_greeting_is_chosen_by_the_landscape_look() -> None:
    assert [picture_aspect(shape) for shape in Shape] == ["16:9", "9:16", "1:1", "1:1", "16:9"]


async def test_templates_paged_in_pictures_then_chosen(family: BotWorld) -> None:
    world, sandbox = family, family.sandbox
    keyboard = await festival_question(world, MEMBER)
    opener = next(data for data in _data(keyboard) if data.startswith(PICTURES_PREFIX))
    first = opener.removeprefix(PICTURES_PREFIX)
    assert _data(keyboard)[0] == TEMPLATE_PREFIX + first, "the card opens at the first festival"

    # The card: the first template's still, landscape (the default shape), its name in the
    # member's language and its date, with Previous / Next / Choose.
    card = await world.reply_to(
        MEMBER, lambda: sandbox.press_button(MEMBER, keyboard.message_id, opener)
    )
    assert card.method == "sendPhoto" and card.caption is not None
    assert card.caption.startswith(template_title(first, "zh-Hant") + "\n")
    assert "年" in card.caption, card.caption  # a Taiwanese long date: 2026年12月25日
    width, height = await _size(world, card.file_id)
    assert abs(width / height - 16 / 9) < 0.01, (width, height)
    previous, following, choose = _data(card)
    assert choose == TEMPLATE_PREFIX + first
    assert previous == PICTURES_PREFIX + festivals(world.services).later[-1], "it goes round"
    second = following.removeprefix(PICTURES_PREFIX)
    assert second != first
    first_still = card.file_id

    # Next edits the same photo into the next template, uploaded once.
    await sandbox.press_button(MEMBER, card.message_id, following)
    card = await sandbox.wait_for_message(MEMBER.id, _paged_to(card.message_id, 1))
    (edit,) = card.edits
    assert edit.method == "editMessageMedia" and edit.file_id not in (None, first_still)
    assert card.caption is not None and card.caption.startswith(template_title(second, "zh-Hant"))
    assert abs(card.width / card.height - 16 / 9) < 0.01  # type: ignore[operator]
    assert _data(card)[0] == PICTURES_PREFIX + first

    # Back to the first: the stand-in's record shows its first file id, not a new upload.
    await sandbox.press_button(MEMBER, card.message_id, PICTURES_PREFIX + first)
    card = await sandbox.wait_for_message(MEMBER.id, _paged_to(card.message_id, 2))
    assert card.edits[-1].file_id == first_still == card.file_id

    # Choose goes on as the festival button does: the template kept, the recipient asked.
    asked = await world.reply_to(
        MEMBER, lambda: sandbox.press_button(MEMBER, card.message_id, TEMPLATE_PREFIX + first)
    )
    # The example is someone else than 奶奶, whose greeting it is.
    assert asked.text == ZH_HANT(ASKS_FOR_RECIPIENT).format(example=ZH_HANT("Grandpa"))
    # A name of emoji alone could be neither shown nor said: asked again.
    emoji = await world.reply_to(MEMBER, lambda: sandbox.send_text(MEMBER, "👵🏻"))
    assert emoji.text == ZH_HANT(
        "A greeting can neither show nor say emoji. Please type words for it to say."
    )
    draft = draft_for(world.services.db, MEMBER.id)
    assert draft is not None and draft.template_id == first
    shown = next(
        m for m in await sandbox.sent_messages(MEMBER.id) if m.message_id == card.message_id
    )
    assert shown.reply_markup is None, json.dumps(shown.reply_markup)

    # A member whose greeting is a Stories video sees the upright look: another still.
    update_order(world.services.db, draft.id, shape=Shape.VERTICAL.value)
    upright = await world.reply_to(
        MEMBER, lambda: sandbox.press_button(MEMBER, keyboard.message_id, opener)
    )
    assert upright.method == "sendPhoto" and upright.file_id != first_still
    width, height = await _size(world, upright.file_id)
    assert abs(width / height - 9 / 16) < 0.01, (width, height)


async def test_a_still_kept_from_an_older_drawing_is_made_and_sent_anew(family: BotWorld) -> None:
    """After an upgrade that redraws a template, the file id kept for its still stands for the
    old picture: the card sends the picture drawn now, and keeps its id from then on."""
    world, sandbox = family, family.sandbox
    keyboard = await festival_question(world, MEMBER)
    opener = next(data for data in _data(keyboard) if data.startswith(PICTURES_PREFIX))
    first = opener.removeprefix(PICTURES_PREFIX)
    card = await world.reply_to(
        MEMBER, lambda: sandbox.press_button(MEMBER, keyboard.message_id, opener)
    )
    db = world.services.db
    key = [first, "zh-Hant", "16:9"]
    [(drawn_now,)] = db.execute(
        "SELECT digest FROM preview_stills WHERE template_id = ? AND language = ? AND aspect = ?",
        key,
    ).fetchall()
    db.execute(
        "UPDATE preview_stills SET digest = 'an older release' WHERE template_id = ? "
        "AND language = ? AND aspect = ?",
        key,
    )
    old_picture = card.file_id
    await sandbox.press_button(MEMBER, card.message_id, _data(card)[1])  # Next
    card = await sandbox.wait_for_message(MEMBER.id, _paged_to(card.message_id, 1))
    await sandbox.press_button(MEMBER, card.message_id, opener)  # and back
    card = await sandbox.wait_for_message(MEMBER.id, _paged_to(card.message_id, 2))
    assert card.edits[-1].file_id not in (None, old_picture), "uploaded anew"
    [(kept,)] = db.execute(
        "SELECT digest FROM preview_stills WHERE template_id = ? AND language = ? AND aspect = ?",
        key,
    ).fetchall()
    assert kept == drawn_now


@pytest.mark.parametrize("subject", ["奶奶", "阿嫲", "外婆", "婆婆", "Grandma", "Nana"])
def test_a_grandmother_s_family_is_offered_a_grandfather_as_the_recipient(subject: str) -> None:
    """Whatever word the family uses for her (阿嫲 in Cantonese), the example is not her."""
    assert _recipient_example(ZH_HANT, subject) == ZH_HANT("Grandpa")
    assert _recipient_example(gettext_for("en"), subject) == "Grandpa"
    assert _recipient_example(ZH_HANT, "阿爺") == ZH_HANT("Grandma")
