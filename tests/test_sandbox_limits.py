"""Every Telegram limit the stand-in enforces, in Telegram's words and PTB's exception types."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import AIORateLimiter, ApplicationBuilder

from bot.hostile import titled
from bot.sandbox import BotApiStandIn, SandboxClient, SandboxUser
from bot.sandbox.client import SandboxError
from tests.auxil.media import png_header_only, video
from tests.auxil.sandbox import TOKEN
from tests.auxil.sandbox_media import noise, png


@pytest.fixture
async def chat(sandbox: SandboxClient, user: SandboxUser) -> int:
    """A chat the bot may write to: Telegram only lets bots message users who wrote first."""
    await sandbox.send_text(user, "/start")
    return user.id


def _keyboard(callback_data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton("Pick", callback_data=callback_data)]])


async def test_text_length_limits(bot: Bot, chat: int) -> None:
    await bot.send_message(chat, "长" * 4096)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(chat, "a" * 4097)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(chat, "🧧" * 2049)  # Telegram counts UTF-16 code units
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(chat, "")


async def test_caption_limit(bot: Bot, chat: int) -> None:
    await bot.send_photo(chat, png(), caption="c" * 1024)
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_photo(chat, png(), caption="c" * 1025)


async def test_callback_data_limit_in_bytes(bot: Bot, chat: int) -> None:
    await bot.send_message(chat, "ok", reply_markup=_keyboard("x" * 64))
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(chat, "no", reply_markup=_keyboard("x" * 65))
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(chat, "no", reply_markup=_keyboard("福" * 22))  # 66 bytes


async def test_malformed_reply_markup(stand_in: BotApiStandIn, chat: int) -> None:
    async with httpx.AsyncClient(base_url=f"{stand_in.api_base_url}{TOKEN}/") as api:
        for markup in ("{not json", '{"inline_keyboard": "nope"}', "[1, 2]"):
            response = await api.post(
                "sendMessage", data={"chat_id": str(chat), "text": "x", "reply_markup": markup}
            )
            assert response.status_code == 400
            assert response.json()["description"] == (
                "Bad Request: can't parse reply keyboard markup JSON object"
            )


async def test_unknown_chat(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "hello?")


@pytest.mark.sandbox_limits(max_download_bytes=1000)
async def test_get_file_refuses_big_files(bot: Bot, chat: int) -> None:
    small = await bot.send_document(chat, noise(1000), filename="small.bin")
    big = await bot.send_document(chat, noise(1001), filename="big.bin")
    assert small.document is not None and big.document is not None
    assert (await bot.get_file(small.document.file_id)).file_size == 1000
    with pytest.raises(BadRequest, match="File is too big"):
        await bot.get_file(big.document.file_id)
    with pytest.raises(BadRequest, match="Invalid file_id"):
        await bot.get_file("nonsense")


@pytest.mark.sandbox_limits(max_delete_age_s=0)
async def test_a_message_past_the_deletion_window_stays(
    bot: Bot, sandbox: SandboxClient, chat: int
) -> None:
    """With a window of 0 every message is "older than 48 hours", as a greeting from last year."""
    sent = await bot.send_message(chat, "old news")
    with pytest.raises(BadRequest, match="Message can't be deleted for everyone"):
        await bot.delete_message(chat, sent.message_id)
    (record,) = await sandbox.sent_messages(chat)
    assert not record.deleted


@pytest.mark.sandbox_limits(max_upload_bytes=100_000)
async def test_oversized_upload_is_request_entity_too_large(
    bot: Bot, stand_in: BotApiStandIn, sandbox: SandboxClient, chat: int
) -> None:
    with pytest.raises(NetworkError, match="Request Entity Too Large"):
        await bot.send_video(chat, noise(100_001))
    async with httpx.AsyncClient(base_url=f"{stand_in.api_base_url}{TOKEN}/") as api:
        response = await api.post(
            "sendDocument", data={"chat_id": str(chat)}, files={"document": noise(250_000)}
        )
    assert response.status_code == 413
    assert response.json() == {
        "ok": False,
        "error_code": 413,
        "description": "Request Entity Too Large",
    }
    assert await sandbox.sent_messages(chat) == []


@pytest.mark.sandbox_limits(max_photo_bytes=50_000)
async def test_photo_limits(bot: Bot, chat: int) -> None:
    big_photo = png(1000, 1000) + noise(50_000)  # trailing bytes keep it a valid PNG
    with pytest.raises(BadRequest, match=r"(?i)photo_save_file_invalid"):
        await bot.send_photo(chat, big_photo)
    await bot.send_document(chat, big_photo)  # the usual way round it
    with pytest.raises(BadRequest, match=r"(?i)photo_invalid_dimensions"):
        await bot.send_photo(chat, png(2100, 100))
    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await bot.send_photo(chat, b"not an image")


async def test_decompression_bomb_photo_is_a_bad_request(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser, chat: int, tmp_path: Path
) -> None:
    bomb = png_header_only(tmp_path / "bomb.png", 30_000, 30_000).read_bytes()
    with pytest.raises(BadRequest, match=r"(?i)photo_invalid_dimensions"):
        await bot.send_photo(chat, bomb)
    with pytest.raises(SandboxError, match=r"(?i)bad request: photo_invalid_dimensions"):
        await sandbox.send_photo(user, bomb)  # as a phone's Telegram refuses it


@pytest.mark.sandbox_limits(chat_burst=2, chat_messages_per_second=1)
async def test_per_chat_flood_control(bot: Bot, sandbox: SandboxClient, chat: int) -> None:
    await bot.send_message(chat, "1")
    await bot.send_message(chat, "2")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(chat, "3")
    assert caught.value.retry_after in (1, dtm.timedelta(seconds=1))
    assert (await sandbox.errors())[-1].model_dump() == {
        "method": "sendMessage",
        "code": 429,
        "description": "Too Many Requests: retry after 1",
    }
    await asyncio.sleep(1)
    await bot.send_message(chat, "3")
    assert [m.text for m in await sandbox.sent_messages(chat)] == ["1", "2", "3"]


@pytest.mark.sandbox_limits(messages_per_second=2, chat_burst=10)
async def test_overall_flood_control_spans_chats(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser, other_user: SandboxUser
) -> None:
    await sandbox.send_text(user, "hi")
    await sandbox.send_text(other_user, "hi")
    await bot.send_message(user.id, "a")
    await bot.send_message(other_user.id, "b")
    with pytest.raises(RetryAfter):
        await bot.send_message(other_user.id, "c")


@pytest.mark.sandbox_limits(chat_burst=1, chat_messages_per_second=1)
async def test_429_wire_shape(stand_in: BotApiStandIn, chat: int) -> None:
    async with httpx.AsyncClient(base_url=f"{stand_in.api_base_url}{TOKEN}/") as api:
        await api.post("sendMessage", data={"chat_id": str(chat), "text": "1"})
        response = await api.post("sendMessage", data={"chat_id": str(chat), "text": "2"})
    assert response.status_code == 429
    assert response.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }


@pytest.mark.sandbox_limits(chat_burst=1, chat_messages_per_second=1)
async def test_aio_rate_limiter_retries_after_429(
    stand_in: BotApiStandIn, sandbox: SandboxClient, chat: int
) -> None:
    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(stand_in.api_base_url)
        .base_file_url(stand_in.file_base_url)
        .rate_limiter(AIORateLimiter(max_retries=2))
        .build()
    )
    started = time.monotonic()
    async with application:
        await application.bot.send_message(chat, "第一")
        await application.bot.send_message(chat, "第二")
    assert time.monotonic() - started >= 1
    assert [m.text for m in await sandbox.sent_messages(chat)] == ["第一", "第二"]
    assert [e.code for e in await sandbox.errors()] == [429]


@pytest.mark.sandbox_limits(max_video_note_length=64, max_video_note_duration_s=2.0, chat_burst=9)
async def test_video_notes_are_square_and_within_their_length_and_duration(
    bot: Bot, chat: int, tmp_path: Path
) -> None:
    def clip(name: str, width: int, height: int, seconds: float) -> bytes:
        frames = [np.full((height, width, 3), 90, np.uint8)] * 2
        return video(tmp_path / name, frames, [0.0, seconds]).read_bytes()

    sent = await bot.send_video_note(chat, clip("ok.mp4", 64, 64, 1.5), duration=2, length=64)
    assert sent.video_note is not None and sent.video_note.length == 64
    again = await bot.send_video_note(chat, sent.video_note.file_id)  # by file id, as a resend
    assert again.video_note is not None
    # Telegram reads a clip whatever its tags' encoding.
    tagged = titled(tmp_path / "ok.mp4", "外公".encode("gbk")).read_bytes()
    assert (await bot.send_video_note(chat, tagged, length=64)).video_note is not None
    with pytest.raises(BadRequest, match=r"(?i)wrong video note dimensions"):
        await bot.send_video_note(chat, clip("wide.mp4", 64, 48, 1.0))
    with pytest.raises(BadRequest, match=r"(?i)wrong video note dimensions"):
        await bot.send_video_note(chat, clip("big.mp4", 80, 80, 1.0))
    with pytest.raises(BadRequest, match=r"(?i)video_note_duration_invalid"):
        await bot.send_video_note(chat, clip("long.mp4", 64, 64, 3.0))
    with pytest.raises(BadRequest, match=r"(?i)video_note_length_invalid"):
        await bot.send_video_note(chat, sent.video_note.file_id, length=65)
