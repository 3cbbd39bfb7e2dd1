"""The control API client: acting as users and observing the bot, against a real PTB Bot."""

from __future__ import annotations

import asyncio
import time

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ChatAction
from telegram.error import BadRequest, Forbidden

from bot.sandbox import SandboxClient, SandboxError, SandboxUser
from tests.auxil.sandbox_media import noise, png


async def test_press_button_produces_a_callback_query(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    await sandbox.send_text(user, "/start")
    keyboard = InlineKeyboardMarkup(
        [[InlineKeyboardButton("春节", callback_data="festival:spring")]]
    )
    sent = await bot.send_message(user.id, "Which festival?", reply_markup=keyboard)
    query_id = await sandbox.press_button(user, sent.message_id, "festival:spring")
    updates = await bot.get_updates()
    query = updates[-1].callback_query
    assert query is not None and query.id == query_id
    assert (query.data, query.from_user.id) == ("festival:spring", user.id)
    assert query.message is not None and query.message.message_id == sent.message_id
    assert await bot.answer_callback_query(query_id, text="好的")
    (answer,) = await sandbox.callback_answers()
    assert (answer.callback_query_id, answer.text, answer.show_alert) == (query_id, "好的", False)
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_callback_query(query_id)


async def test_press_button_checks_the_current_keyboard(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    await sandbox.send_text(user, "/start")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="yes")]])
    sent = await bot.send_message(user.id, "Sure?", reply_markup=keyboard)
    with pytest.raises(SandboxError, match="no button"):
        await sandbox.press_button(user, sent.message_id, "no")
    await bot.edit_message_reply_markup(user.id, sent.message_id, reply_markup=None)
    with pytest.raises(SandboxError, match="no button"):
        await sandbox.press_button(user, sent.message_id, "yes")
    with pytest.raises(SandboxError, match="sent no message"):
        await sandbox.press_button(user, 999, "yes")


async def test_user_media_and_contact_reach_the_bot(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    video_bytes = noise(50_000)
    video = await sandbox.send_video(user, video_bytes, duration=5, width=720, height=1280)
    document = await sandbox.send_document(user, b"a,b\n", "faces.csv", "text/csv", caption="data")
    contact = await sandbox.send_contact(user, "+8613800000000", 2002, "Grandma")
    updates = await bot.get_updates()
    received = [update.message for update in updates]
    assert [m.message_id for m in received if m] == [
        video.message_id,
        document.message_id,
        contact.message_id,
    ]
    assert video.video is not None
    assert (video.video.width, video.video.height, video.video.mime_type) == (
        720,
        1280,
        "video/mp4",
    )
    assert await sandbox.download(video.video.file_id) == video_bytes
    assert document.document is not None and document.caption == "data"
    assert (document.document.file_name, document.document.mime_type) == ("faces.csv", "text/csv")
    assert contact.contact is not None
    assert (contact.contact.user_id, contact.contact.first_name) == (2002, "Grandma")
    assert contact.contact.phone_number == "+8613800000000"


async def test_video_notes_and_animations_arrive_as_telegram_sends_them(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    note_bytes, gif_bytes = noise(20_000), noise(30_000)
    note = await sandbox.send_video_note(user, note_bytes, duration=4, length=384)
    gif = await sandbox.send_animation(user, gif_bytes, 2, 320, 240, caption="/verify")
    received = [update.message for update in await bot.get_updates()]
    assert [m.message_id for m in received if m] == [note.message_id, gif.message_id]
    assert note.video_note is not None
    assert (note.video_note.length, note.video_note.duration) == (384, 4)
    assert await sandbox.download(note.video_note.file_id) == note_bytes
    assert gif.animation is not None and gif.document is not None
    assert (gif.animation.width, gif.animation.height, gif.caption) == (320, 240, "/verify")
    assert gif.document.file_id == gif.animation.file_id
    assert await sandbox.download(gif.animation.file_id) == gif_bytes


async def test_user_photo_has_telegram_style_sizes(
    sandbox: SandboxClient, user: SandboxUser
) -> None:
    original = png(1600, 1200)
    message = await sandbox.send_photo(user, original)
    sizes = [(size.width, size.height) for size in message.photo]
    assert sizes == [(90, 68), (320, 240), (800, 600), (1600, 1200)]
    assert await sandbox.download(message.photo[-1].file_id) == original


async def test_wait_for_message_wakes_when_the_bot_sends(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    await sandbox.send_text(user, "/start")
    first = await bot.send_message(user.id, "Welcome")

    async def reply_later() -> None:
        await asyncio.sleep(0.3)
        await bot.send_photo(user.id, png(), caption="Your card")

    started = time.monotonic()
    task = asyncio.create_task(reply_later())
    card = await sandbox.wait_for_message(user.id, lambda m: m.message_id > first.message_id)
    await task
    assert card.method == "sendPhoto" and card.caption == "Your card"
    assert time.monotonic() - started < 1.5
    assert (await sandbox.wait_for_message(user.id)).text == "Welcome"


async def test_wait_for_message_times_out(sandbox: SandboxClient, user: SandboxUser) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await sandbox.wait_for_message(user.id, timeout=0.5)
    assert 0.4 <= time.monotonic() - started < 1.5


async def test_chat_actions_and_errors_are_recorded(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    await sandbox.send_text(user, "/start")
    await bot.send_chat_action(user.id, ChatAction.UPLOAD_VIDEO)
    await bot.send_chat_action(user.id, ChatAction.TYPING)
    assert await sandbox.chat_actions(user.id) == ["upload_video", "typing"]
    with pytest.raises(BadRequest):
        await bot.send_message(user.id, "")
    errors = await sandbox.errors()
    assert [(e.method, e.code, e.description) for e in errors] == [
        ("sendMessage", 400, "Bad Request: message text is empty")
    ]


async def test_download_of_unknown_file_is_an_error(sandbox: SandboxClient) -> None:
    with pytest.raises(SandboxError, match="invalid file_id"):
        await sandbox.download("nope")


async def test_a_user_who_blocked_the_bot_is_forbidden(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    await sandbox.send_text(user, "/start")
    await sandbox.block_bot(user)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(user.id, "Happy new year")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(user.id, ChatAction.TYPING)
    await sandbox.block_bot(user, blocked=False)
    await bot.send_message(user.id, "Happy new year")
