"""Telegram's passing failures, tried again where doing so cannot send anything twice.

PTB's ``AIORateLimiter`` already waits out 429s. The rest of what a busy Telegram or a flaky
network does (a 502 while Telegram restarts, a connection refused or reset, an answer that never
comes) reaches handlers and jobs as ``NetworkError``, and one bad second became a reply the
person never got. Whether a call may simply be made again depends on whether Telegram may have
carried it out already:

* Telegram answered with a 5xx, or the connection was never made: nothing was done; any call
  is tried again.
* The connection broke after the request went out, or the answer timed out: the message may be
  in the chat already. Calls that change nothing twice (edits, deletions, chat actions, reads)
  are tried again; sends are not, and fail as before, for the caller to handle (orders record
  such a send as unknown and offer "Show it again"; a handler's error tells the person).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
from telegram._utils.types import JSONDict
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import AIORateLimiter

RETRIES = 3
"""Tries after the first for a passing failure; each waits :data:`RETRY_PAUSE_S` longer."""
RETRY_PAUSE_S = 0.5
_REPEATABLE_PREFIXES = ("get", "edit", "delete", "set", "answer")


def not_modified(error: TelegramError) -> bool:
    """Telegram's 400 for an edit that changes nothing (the same text, or no buttons taken off
    a message that has none): the message already reads as wanted, so it is no failure."""
    return isinstance(error, BadRequest) and "not modified" in str(error).lower()


def repeatable(endpoint: str, error: NetworkError) -> bool:
    """Whether ``endpoint`` may be called again after ``error`` without doing anything twice."""
    cause = error.__cause__
    if not isinstance(cause, httpx.HTTPError):
        return True  # Telegram answered (a 5xx): it did not carry the call out
    if isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return True  # the request never left
    return endpoint == "sendChatAction" or endpoint.startswith(_REPEATABLE_PREFIXES)


class RetryingRateLimiter(AIORateLimiter):
    """Telegram's flood control as PTB paces it, plus passing failures tried again."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        for attempt in range(RETRIES + 1):
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except NetworkError as error:
                if attempt == RETRIES or not repeatable(endpoint, error):
                    raise
                await asyncio.sleep(RETRY_PAUSE_S * (attempt + 1))
        raise AssertionError("unreachable: the last attempt returns or raises")
