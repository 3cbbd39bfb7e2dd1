"""The whole bot running against the Bot API stand-in, driven as Telegram users would.

``bot_world`` starts the stand-in, the real PTB application polling it over HTTP (with its own
SQLite file, vault and audit log under tmp_path, and ``ADMIN`` as its one moderator, whose
private chat is the admin chat) and a control client playing the users. Its clock only moves
when a test moves it, so expiries are tested without waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import BotApplication, build_application, polling
from bot.config import Settings
from bot.logs import configure_logging
from bot.sandbox import BotApiStandIn, SandboxClient, SandboxUser, SentMessage
from bot.services import Services, services_of
from tests.auxil.sandbox import TOKEN

ADMIN = SandboxUser(9001, "Admin", language_code="en")


class FakeClock:
    """Starts at the real time (so the engine's own consent check agrees) and moves on demand."""

    def __init__(self) -> None:
        self._now = datetime.now(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta


@dataclass
class BotWorld:
    stand_in: BotApiStandIn
    sandbox: SandboxClient
    application: BotApplication
    data_dir: Path
    clock: FakeClock

    @property
    def services(self) -> Services:
        return services_of(self.application)

    async def reply_to(
        self,
        user: SandboxUser,
        act: Callable[[], object],
        until: Callable[[SentMessage], bool] = lambda _: True,
        wait_s: float = 15.0,
    ) -> SentMessage:
        """Do something as ``user`` and return the bot's first fresh reply matching ``until``."""
        before = max((m.message_id for m in await self.sandbox.sent_messages(user.id)), default=0)
        await act()  # type: ignore[misc]
        return await self.sandbox.wait_for_message(
            user.id, lambda m: m.message_id > before and until(m), timeout=wait_s
        )

    async def is_deleted(self, message: SentMessage) -> bool:
        """Whether the bot has deleted ``message`` from its chat since."""
        chat = await self.sandbox.sent_messages(message.chat_id)
        return next(m for m in chat if m.message_id == message.message_id).deleted


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    """Wait (up to 15 s) for something the bot does without a message to wait for."""
    async with asyncio.timeout(15):
        while not await check():  # noqa: ASYNC110 - no long poll for these (answers, logs)
            await asyncio.sleep(0.05)


def pytest_configure(config: pytest.Config) -> None:
    """The bot under test logs as ``tuanyuan`` sets it up (bot/cli.py), so what the secrets
    check reads (tests/auxil/secrets.py) is what an operator's logs would hold."""
    configure_logging()


def settings_for(stand_in: BotApiStandIn, data_dir: Path) -> Settings:
    return Settings(
        token=TOKEN,
        data_dir=data_dir,
        api_base_url=stand_in.api_base_url,
        file_base_url=stand_in.file_base_url,
        admin_ids=frozenset({ADMIN.id}),
        admin_chat_id=ADMIN.id,
    )


@pytest.fixture
async def bot_world(
    stand_in: BotApiStandIn, sandbox: SandboxClient, tmp_path: Path
) -> AsyncIterator[BotWorld]:
    data_dir = tmp_path / "bot-data"
    clock = FakeClock()
    settings = settings_for(stand_in, data_dir)
    async with polling(build_application(settings, clock)) as application:
        yield BotWorld(stand_in, sandbox, application, data_dir, clock)
