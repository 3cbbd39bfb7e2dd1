"""Holding back Bot API answers, so a test can crash a bot between Telegram's acceptance of a
call and the bot's learning of it.

That window is where "sent exactly once" breaks in real life: the video is in the chat, but the
process died before it stored the message id. A test arms a hold for one method, waits until a
call is held, kills the bot, and then sees what the restarted bot does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from aiohttp import web

from bot.sandbox._records import HeldResponse

_DISCONNECT_POLL_SECONDS = 0.1
"""aiohttp does not cancel a handler whose client went away, so a hold looks this often."""


class ResponseHolds:
    """Which method's answers to hold, and the calls held now; one condition wakes waiters."""

    def __init__(self) -> None:
        self._method: str | None = None
        self._release = asyncio.Event()
        self._held: list[HeldResponse] = []
        self._changed = asyncio.Condition()
        self._closing = False

    def arm(self, method: str) -> None:
        """Hold every later successful call to ``method`` (any case) until :meth:`release`."""
        self._method = method.lower()

    async def release(self) -> list[HeldResponse]:
        """Answer every held call and hold no more; returns what was held."""
        released = list(self._held)
        self._method = None
        self._release.set()
        self._release = asyncio.Event()
        await self._notify()
        return released

    async def close(self) -> None:
        """Release everything, so that shutdown never waits for a test that forgot to."""
        self._closing = True
        await self.release()

    async def hold(self, request: web.Request, held: HeldResponse) -> None:
        """Return once released or once the client hung up; at once if not armed for it."""
        if held.method.lower() != self._method:
            return
        release = self._release
        self._held.append(held)
        await self._notify()
        try:
            while not release.is_set() and not _gone(request):
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(_DISCONNECT_POLL_SECONDS):
                        await release.wait()
        finally:
            self._held.remove(held)
            await self._notify()

    async def wait_held(self, seconds: float) -> list[HeldResponse]:
        """The calls held now, waiting up to ``seconds`` for a first one."""
        await self._wait(lambda: bool(self._held), seconds)
        return list(self._held)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _wait(self, predicate: Callable[[], bool], seconds: float) -> None:
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._changed.wait_for(lambda: self._closing or predicate())


def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()
