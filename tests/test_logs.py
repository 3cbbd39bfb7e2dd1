"""What the logs say: never the bot token, and every event to whoever listens.

The bot token is part of every Bot API URL; no log line may carry it.

httpx logs each request's URL at INFO, token included; without configure_logging keeping it
quiet this test fails on the first getUpdates line.
"""

import logging

import pytest
import structlog

from bot.logs import configure_logging
from bot.sandbox import SandboxUser
from tests.auxil.bot import BotWorld
from tests.auxil.sandbox import TOKEN


async def test_a_conversation_logs_no_token(
    bot_world: BotWorld, caplog: pytest.LogCaptureFixture
) -> None:
    configure_logging()
    caplog.set_level(logging.DEBUG)
    member = SandboxUser(7001, "Ann")
    reply = await bot_world.reply_to(member, lambda: bot_world.sandbox.send_text(member, "/start"))
    assert reply.text is not None
    assert TOKEN not in caplog.text
    assert TOKEN.split(":")[1] not in caplog.text


async def test_a_handler_that_fails_logs_its_traceback_without_the_token(
    bot_world: BotWorld, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A traceback is logged with the lines it passed through, not their variables: with rich
    installed (the voice-cloning extra brings it: transformers needs typer, typer rich),
    structlog's default printed every frame's locals, among them python-telegram-bot's
    ``ExtBot[token=...]``, and a member's data besides."""
    configure_logging()
    caplog.set_level(logging.DEBUG)

    def broken(*_args: object) -> None:
        phone_number = "+852 5550 " + "-".join("1234")  # a member's data, held by a frame
        raise RuntimeError(f"the export broke ({len(phone_number)})")

    monkeypatch.setattr("bot.flows.privacy.export_member", broken)
    member = SandboxUser(7002, "Ann")
    reply = await bot_world.reply_to(member, lambda: bot_world.sandbox.send_text(member, "/mydata"))
    assert reply.text == "Something went wrong on my side. Please try again in a moment."
    assert "RuntimeError: the export broke (17)" in caplog.text
    assert "+852 5550 1-2-3-4" not in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN.split(":")[1] not in caplog.text


def test_a_logger_used_before_logging_is_configured_again_is_still_heard() -> None:
    """Each in-process `tuanyuan` command configures logging; a logger that had already run
    (and cached its configuration) must not fall silent to structlog's capture_logs."""
    log = structlog.get_logger("tests.test_logs")
    configure_logging()
    log.info("first")
    configure_logging()
    with structlog.testing.capture_logs() as logs:
        log.warning("telegram.refused", user_id=7102)
    assert [(line["event"], line["user_id"]) for line in logs] == [("telegram.refused", 7102)]
