"""Pytest fixtures for the Bot API stand-in: a running server, a PTB Bot and a control client.

Without a marker the stand-in lets a chat receive messages as fast as the bot sends them
(:data:`UNPACED`): a conversation's test is about what the bot says, and at Telegram's one
message a second per chat every reply after the third would cost a 429 and a second's retry.
A test about pacing or any other limit names it with
``@pytest.mark.sandbox_limits(chat_burst=1, ...)``, whose keywords are
:class:`bot.sandbox.Limits` fields and whose defaults are Telegram's own figures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from bot.sandbox import BotApiStandIn, Limits, SandboxClient, SandboxUser

TOKEN = "123456:sandbox-TEST_token"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sandbox_limits(**fields): run the stand-in with these Limits (Telegram's by default)",
    )


UNPACED = Limits(chat_messages_per_second=30.0, chat_burst=30)
"""Telegram's limits, but a chat's own pace no tighter than the bot's overall one."""


@pytest.fixture
def sandbox_limits(request: pytest.FixtureRequest) -> Limits:
    marker = request.node.get_closest_marker("sandbox_limits")
    return UNPACED if marker is None else Limits(**marker.kwargs)


@pytest.fixture
async def stand_in(sandbox_limits: Limits) -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn(TOKEN, sandbox_limits) as server:
        yield server


@pytest.fixture
async def sandbox(stand_in: BotApiStandIn) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(stand_in.root_url) as client:
        yield client


@pytest.fixture
async def bot(stand_in: BotApiStandIn) -> AsyncIterator[Bot]:
    """The real python-telegram-bot client, pointed at the stand-in."""
    async with Bot(
        TOKEN, base_url=stand_in.api_base_url, base_file_url=stand_in.file_base_url
    ) as telegram_bot:
        yield telegram_bot


@pytest.fixture
def user() -> SandboxUser:
    return SandboxUser(1001, "Mei", language_code="zh-hans", username="mei")


@pytest.fixture
def other_user() -> SandboxUser:
    return SandboxUser(1002, "Tom")
