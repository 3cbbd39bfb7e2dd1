"""Telegram failing on purpose: a scheduled list of failures per Bot API method.

Real Telegram answers 429 under load, 5xx while it restarts, and networks time out or reset.
A fault test schedules, per method, the failures its next calls meet (in order, one each), and
sees whether the bot retries, gives up with the user told, or sends twice. Kept apart from the
method handlers: ``BotApi.handle`` asks :meth:`FaultSchedule.take` once per call and applies the
answer around whichever handler runs.

The kinds, and whether Telegram carried the call out:

* ``flood``: 429 with ``retry_after`` 1, as Telegram's flood control answers; not carried out.
* ``server-error``: 502 Bad Gateway, as Telegram answers while restarting; not carried out.
* ``reset``: the connection is closed without an answer; not carried out.
* ``timeout``: carried out (the message is in the chat), but the answer never comes before the
  bot gives up (or :data:`HANG_SECONDS` pass, then the connection is closed): the bot cannot
  know whether it was sent, the window where a naive retry duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Literal, get_args

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from bot.sandbox._errors import ApiError

FaultKind = Literal["flood", "server-error", "reset", "timeout"]
FAULT_KINDS: tuple[FaultKind, ...] = get_args(FaultKind)
HANG_SECONDS = 120.0
"""A ``timeout`` holds the answer at most this long; any HTTP client gives up before."""
_GONE_POLL_SECONDS = 0.1


class InjectedFault(BaseModel):
    """A failure the stand-in served, in the order served."""

    model_config = ConfigDict(frozen=True)
    method: str
    kind: FaultKind


class FaultSchedule:
    """The failures still to serve, per method (any case), and those served."""

    def __init__(self) -> None:
        self._pending: dict[str, deque[FaultKind]] = {}
        self.injected: list[InjectedFault] = []

    def schedule(self, method: str, kinds: list[FaultKind]) -> None:
        """The next ``len(kinds)`` calls to ``method`` fail, one kind each, in this order."""
        self._pending.setdefault(method.lower(), deque()).extend(kinds)

    def clear(self) -> None:
        self._pending.clear()

    def pending(self) -> dict[str, list[FaultKind]]:
        return {method: list(kinds) for method, kinds in self._pending.items() if kinds}

    def take(self, method: str) -> FaultKind | None:
        """The failure this call meets, if one is scheduled for its method."""
        kinds = self._pending.get(method.lower())
        if not kinds:
            return None
        kind = kinds.popleft()
        self.injected.append(InjectedFault(method=method, kind=kind))
        return kind


def refuse_before(kind: FaultKind | None, request: web.Request) -> None:
    """Apply a failure that stops the call before it is carried out."""
    if kind == "flood":
        raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
    if kind == "server-error":
        raise ApiError(502, "Bad Gateway")
    if kind == "reset":
        _hang_up(request)


async def lose_answer(kind: FaultKind | None, request: web.Request) -> None:
    """Apply a failure that strikes after the call was carried out: hold the answer until the
    client hangs up (its timeout), then close the connection."""
    if kind != "timeout":
        return
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(HANG_SECONDS):
            # aiohttp does not cancel a handler whose client left; polling sees it go.
            while request.transport is not None and not request.transport.is_closing():  # noqa: ASYNC110
                await asyncio.sleep(_GONE_POLL_SECONDS)
    _hang_up(request)


class ConnectionDropped(Exception):
    """The stand-in closed the connection on purpose; nothing is answered."""


def _hang_up(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.abort()
    raise ConnectionDropped
