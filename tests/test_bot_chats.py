"""Which chat an update belongs in (``bot.authz.admit``) and what the bot does with the rest.

The admin chat here is a group, as in production, so an admin's private chat is not it. A
group where a member types never gets personal answers: one pointer to a private chat per
command, silence for everything else. Updates without a sender, edits, forged buttons and
failing handlers are answered or ignored without leaving a person waiting.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog

from bot.app import build_application, polling
from bot.demo.samples import sample_portrait_jpeg
from bot.flows import basics
from bot.i18n import gettext_for
from bot.sandbox import BotApiStandIn, SandboxClient, SandboxUser
from tests.auxil.bot import ADMIN, BotWorld, FakeClock, settings_for, until

ADMIN_GROUP = -900
FAMILY_GROUP = -700
CHANNEL = -1001
ZH_HANT, EN = gettext_for("zh-Hant"), gettext_for("en")
MEMBER = SandboxUser(7101, "美玲", language_code="zh-hant")
GO_PRIVATE = (
    "I only talk about your family and your greetings in a private chat, where nobody else "
    "reads along. Tap below to write to me there."
)
ADMIN_CHAT_ONLY = "Moderation works only in the moderators' chat."


@pytest.fixture
async def group_world(
    stand_in: BotApiStandIn, sandbox: SandboxClient, tmp_path: Path
) -> AsyncIterator[BotWorld]:
    data_dir = tmp_path / "bot-data"
    settings = dataclasses.replace(settings_for(stand_in, data_dir), admin_chat_id=ADMIN_GROUP)
    clock = FakeClock()
    async with polling(build_application(settings, clock)) as application:
        yield BotWorld(stand_in, sandbox, application, data_dir, clock)


async def test_groups_get_nothing_personal_and_moderation_stays_in_the_admin_chat(
    group_world: BotWorld,
) -> None:
    sandbox = group_world.sandbox
    unknown_sender = EN(
        "I cannot tell who sent this: it was sent in the name of a group or channel. "
        "Write to me from your own account, in a private chat."
    )
    # In a family group: chatter and a photo are ignored, each command answered once with a
    # way to a private chat, another bot's command left alone.
    await sandbox.send_text(MEMBER, "外婆好", group_id=FAMILY_GROUP)
    await sandbox.send_photo(MEMBER, sample_portrait_jpeg(), group_id=FAMILY_GROUP)
    await sandbox.send_text(MEMBER, "/mydata", group_id=FAMILY_GROUP)
    await sandbox.send_text(MEMBER, "/help@other_bot", group_id=FAMILY_GROUP)
    await sandbox.send_text(MEMBER, "/newspace", group_id=FAMILY_GROUP)
    # An anonymous admin of the group has no account to answer for. Updates of one chat are
    # handled in order, so once this is answered everything before it was handled.
    await sandbox.send_text(MEMBER, "/orders", group_id=FAMILY_GROUP, anonymous=True)
    await sandbox.wait_for_message(FAMILY_GROUP, lambda m: m.text == unknown_sender)
    group = await sandbox.sent_messages(FAMILY_GROUP)
    assert [(m.method, m.text) for m in group] == [
        ("sendMessage", ZH_HANT(GO_PRIVATE)),
        ("sendMessage", ZH_HANT(GO_PRIVATE)),
        ("sendMessage", unknown_sender),
    ]
    assert group[0].reply_markup is not None
    link = group[0].reply_markup["inline_keyboard"][0][0]["url"]
    assert link.startswith("https://t.me/sandbox")

    # Moderation in an admin's own private chat: refused, no family data shown.
    refusal = await group_world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "/renders"))
    assert refusal.text == EN(ADMIN_CHAT_ONLY)
    # In the admin chat it works; a personal command there points to a private chat.
    await sandbox.send_text(ADMIN, "/renders", group_id=ADMIN_GROUP)
    await sandbox.send_text(ADMIN, "/mydata", group_id=ADMIN_GROUP)
    await sandbox.wait_for_message(ADMIN_GROUP, lambda m: m.text == EN(GO_PRIVATE))
    admin_chat = await sandbox.sent_messages(ADMIN_GROUP)
    assert len(admin_chat) == 2 and admin_chat[0].text is not None
    assert admin_chat[0].text.startswith("Voice cloning folder (TUANYUAN_XTTS_DIR)")


async def test_edits_channel_posts_and_forged_buttons(group_world: BotWorld) -> None:
    sandbox = group_world.sandbox
    await sandbox.channel_post(CHANNEL, "/help")
    asked = await sandbox.send_text(MEMBER, "/help")
    help_reply = await sandbox.wait_for_message(MEMBER.id)
    # An edited /help is not a second request; the /language after it shows the edit was
    # read (updates of one chat are handled in order) and ignored.
    await sandbox.edit_text(MEMBER, asked.message_id, "/help ")
    menu = await group_world.reply_to(MEMBER, lambda: sandbox.send_text(MEMBER, "/language"))
    assert menu.reply_markup is not None
    replies = await sandbox.sent_messages(MEMBER.id)
    assert [m.message_id for m in replies] == [help_reply.message_id, menu.message_id]
    # A button the bot never made stops spinning, with the way back.
    await sandbox.press_button(MEMBER, menu.message_id, "gone:42", forged=True)

    async def answered() -> bool:
        return bool(await sandbox.callback_answers())

    await until(answered)
    assert [a.text for a in await sandbox.callback_answers()] == [
        ZH_HANT("This button no longer works. Send /start to begin again.")
    ]
    assert await sandbox.sent_messages(CHANNEL) == []


async def test_failures_are_logged_once_and_the_member_is_told(
    group_world: BotWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = group_world.sandbox
    blocked = SandboxUser(7102, "Tom")

    def broken(_: object) -> str:
        raise RuntimeError("a bug in /help")

    with structlog.testing.capture_logs() as logs:
        await sandbox.block_bot(blocked)
        await sandbox.send_text(blocked, "/help")

        async def refused() -> bool:
            return any(line["event"] == "telegram.refused" for line in logs)

        await until(refused)
        monkeypatch.setattr(basics, "help_text", broken)
        told = await group_world.reply_to(MEMBER, lambda: sandbox.send_text(MEMBER, "/help"))
    assert told.text == ZH_HANT("Something went wrong on my side. Please try again in a moment.")
    refusals = [line for line in logs if line["event"] == "telegram.refused"]
    assert [(r["error"], r["user_id"], "exc_info" in r) for r in refusals] == [
        ("Forbidden", blocked.id, False)
    ]
    failures = [line for line in logs if line["event"] == "handler.failed"]
    assert len(failures) == 1 and isinstance(failures[0]["exc_info"], RuntimeError)
    assert failures[0]["user_id"] == MEMBER.id
