"""Sending to many chats at Telegram's pace: under 30 messages a second overall, one a second
into any one chat, so a festival morning's thousands of greetings meet no flood control.

Each send reserves the next free moment (``interval`` after the previous one, and ``per_chat``
after the last into the same chat) and sleeps until it; moments a busy event loop let pass are
made up, at most a quarter of a second's worth at once; the call itself then runs in its own
task, so a slow answer never holds up the next send. Moments are the real monotonic clock:
rates are physics, not the bot's (possibly test-moved) calendar clock.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)

# Telegram's documented ~30 messages/s, with room for the replies the bot owes everyone else.
BROADCAST_RATE = 29.0
PER_CHAT_S = 1.0
IN_FLIGHT = 64  # calls awaiting Telegram's answer at once
CATCH_UP_S = 0.25  # at 29 a second a burst of 7 on top: leaves Telegram's bucket room for jitter


class Broadcaster:
    def __init__(
        self,
        rate: float = BROADCAST_RATE,
        per_chat_s: float = PER_CHAT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or per_chat_s < 0:
            raise ValueError("the broadcast rate must be positive")
        self._interval = 1.0 / rate
        self._per_chat_s = per_chat_s
        self._clock = clock
        self._next = 0.0
        self._chats: dict[int, float] = {}
        self._lock = asyncio.Lock()
        self._in_flight = asyncio.Semaphore(IN_FLIGHT)
        self._tasks: set[asyncio.Task[None]] = set()

    async def _reserve(self, chat_id: int) -> None:
        async with self._lock:
            now = self._clock()
            # The schedule may fall behind the clock when the event loop was busy; up to
            # CATCH_UP_S of it is caught up at once (Telegram's buckets hold a second's worth).
            slot = max(self._next, now - CATCH_UP_S)
            self._next = slot + self._interval
            start = max(now, slot, self._chats.get(chat_id, 0.0))
            self._chats[chat_id] = start + self._per_chat_s
            if len(self._chats) > 10_000:  # forget chats whose pause is over
                self._chats = {c: t for c, t in self._chats.items() if t > now}
        await asyncio.sleep(start - now)

    async def send(self, chat_id: int, call: Callable[[], Awaitable[object]]) -> None:
        """Wait for this chat's next moment, then make ``call`` in a task of its own."""
        await self._in_flight.acquire()
        await self._reserve(chat_id)

        async def run() -> None:
            try:
                await call()
            except Exception as error:  # one family's failure must not stop the others
                log.error("broadcast.call_failed", chat_id=chat_id, error=repr(error))
            finally:
                self._in_flight.release()

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def paced(self, chat_id: int, call: Callable[[], Awaitable[object]]) -> object:
        """Wait for this chat's next moment and make ``call`` now, returning its answer."""
        await self._reserve(chat_id)
        return await call()

    async def drain(self) -> None:
        """Wait until every call made so far has its answer."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
