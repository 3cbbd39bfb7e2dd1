"""Telegram's failures on schedule: each kind reaches PTB as Telegram's would, and only a
``timeout`` leaves the call carried out (the message in the chat, its answer never read)."""

from __future__ import annotations

import pytest
from telegram import Bot
from telegram.error import NetworkError, RetryAfter, TimedOut

from bot.sandbox import SandboxClient, SandboxUser
from bot.sandbox.client import SandboxError


async def test_scheduled_failures_are_served_in_order(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    await sandbox.send_text(user, "/start")
    await sandbox.schedule_faults("sendMessage", ["flood", "server-error", "reset", "timeout"])

    with pytest.raises(RetryAfter):
        await bot.send_message(user.id, "one")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(user.id, "two")
    with pytest.raises(NetworkError):
        await bot.send_message(user.id, "three")
    with pytest.raises(TimedOut):
        await bot.send_message(user.id, "four", read_timeout=0.5)
    await bot.send_message(user.id, "five")
    await bot.get_me()  # another method meets none of sendMessage's failures

    texts = [message.text for message in await sandbox.sent_messages(user.id)]
    assert texts == ["four", "five"]
    served = [(fault.method, fault.kind) for fault in await sandbox.injected_faults()]
    assert served == [
        ("sendMessage", "flood"),
        ("sendMessage", "server-error"),
        ("sendMessage", "reset"),
        ("sendMessage", "timeout"),
    ]


async def test_a_schedule_names_a_real_method_and_can_be_cleared(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    with pytest.raises(SandboxError, match="no method"):
        await sandbox.schedule_faults("sendTelepathy", ["flood"])
    await sandbox.send_text(user, "/start")
    await sandbox.schedule_faults("sendmessage", ["server-error"])
    await sandbox.clear_faults()
    await bot.send_message(user.id, "through")
    assert await sandbox.injected_faults() == []


async def test_the_file_servers_downloads_fail_on_schedule_too(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    await sandbox.send_document(user, b"%PDF-1.4 proof", "proof.pdf", "application/pdf")
    [update] = await bot.get_updates()
    assert update.message is not None and update.message.document is not None
    telegram_file = await bot.get_file(update.message.document.file_id)
    await sandbox.schedule_faults("file", ["server-error", "reset"])
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await telegram_file.download_as_bytearray()
    with pytest.raises(NetworkError):
        await telegram_file.download_as_bytearray()
    assert await telegram_file.download_as_bytearray() == b"%PDF-1.4 proof"
    served = [(fault.method, fault.kind) for fault in await sandbox.injected_faults()]
    assert served == [("file", "server-error"), ("file", "reset")]
