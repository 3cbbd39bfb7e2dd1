"""A pass over what is stored, run in the background every few seconds until the bot stops.

Campaigns (due invitations and greetings) and consent's year (reminders, ends) are decided this
way: each pass starts from the database, so a pass that fails, or a bot that was down, loses
nothing: the next pass finds the same work still due.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)


class Ticker:
    def __init__(self, name: str, interval_s: float, run: Callable[[], Awaitable[object]]) -> None:
        self._name = name
        self._interval_s = interval_s
        self._run = run
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """The first pass at once (what came due while the bot was down), then every
        ``interval_s``."""
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _loop(self) -> None:
        while True:
            try:
                await self._run()
            except Exception as error:  # the next pass tries again; nothing is lost
                log.error("ticker.pass_failed", ticker=self._name, error=repr(error))
            await asyncio.sleep(self._interval_s)
