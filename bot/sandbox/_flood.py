"""Flood control: token buckets for the whole bot and for each chat, as Telegram applies them."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from bot.sandbox._errors import ApiError
from bot.sandbox._limits import Limits


class _Bucket:
    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self._rate = rate
        self._capacity = capacity
        self._tokens = capacity
        self._updated = now

    def wait(self, now: float) -> float:
        """Seconds until a token is available; refills first so the answer is current."""
        self._tokens = min(self._capacity, self._tokens + (now - self._updated) * self._rate)
        self._updated = now
        return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self._rate

    def take(self) -> None:
        self._tokens -= 1


class FloodControl:
    """Admit or refuse one message-sending call.

    A refused call takes no token from either bucket, so a client that honours ``retry_after``
    is guaranteed to get through when it retries.
    """

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits
        self._clock = clock
        self._overall = _Bucket(limits.messages_per_second, limits.messages_per_second, clock())
        self._chats: dict[int, _Bucket] = {}

    def admit(self, chat_id: int) -> None:
        now = self._clock()
        chat = self._chats.get(chat_id)
        if chat is None:
            limits = self._limits
            chat = _Bucket(limits.chat_messages_per_second, limits.chat_burst, now)
            self._chats[chat_id] = chat
        wait = max(self._overall.wait(now), chat.wait(now))
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )
        self._overall.take()
        chat.take()
