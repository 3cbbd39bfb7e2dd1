"""How fast updates are taken in: each account's flood limit, and every chat's updates handled in
order while different chats are handled at once.

Before, updates were handled one at a time: one account sending 200 messages in a second held
every other chat behind its replies (another user's /help waited 195 s). Now PTB hands updates
to :class:`ChatOrderedUpdates`, which runs different chats concurrently but one chat's updates
strictly in arrival order (a photo before the voice note sent after it), and
:class:`FloodGuard` lets an account send at most ``Settings.flood_updates`` updates in
``Settings.flood_window_s`` seconds: the first one over is answered once with how long to wait
(``bot.flows`` sends it), the rest are dropped unanswered until the window has passed. Payments
are never dropped: Telegram has charged the member by then.
"""

import asyncio
import math
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# Updates in flight at once across all chats; one chat's wait for its turn holds a slot, but
# a flooding account's extra updates are dropped within milliseconds.
MAX_CONCURRENT_UPDATES = 256


class Pace(Enum):
    PASS = "pass"
    SLOW_DOWN = "slow_down"  # the first update over the limit: say how long to wait
    DROP = "drop"  # later ones, until the window has passed


@dataclass(frozen=True)
class Verdict:
    pace: Pace
    wait_s: int = 0


class FloodGuard:
    """A sliding window per account: at most ``updates`` taken in any ``window_s`` seconds."""

    def __init__(
        self, updates: int, window_s: float, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._updates = updates
        self._window_s = window_s
        self._now = now
        self._taken: dict[int, deque[float]] = {}
        self._warned: set[int] = set()

    def check(self, account: int) -> Verdict:
        now = self._now()
        taken = self._taken.setdefault(account, deque())
        while taken and now - taken[0] >= self._window_s:
            taken.popleft()
        if len(taken) < self._updates:
            taken.append(now)
            self._warned.discard(account)
            return Verdict(Pace.PASS)
        if account in self._warned:
            return Verdict(Pace.DROP)
        self._warned.add(account)
        return Verdict(Pace.SLOW_DOWN, math.ceil(self._window_s - (now - taken[0])))


def is_payment(update: Update) -> bool:
    message = update.message
    return update.pre_checkout_query is not None or (
        message is not None
        and (message.successful_payment is not None or message.refunded_payment is not None)
    )


class ChatOrderedUpdates(BaseUpdateProcessor):
    """PTB's update processor: concurrent across chats, in order within each chat (an update
    without a chat, a pre-checkout query, is ordered with its sender's private chat)."""

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self._turns: dict[int, asyncio.Lock] = {}
        self._waiting: Counter[int] = Counter()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _chat_of(update)
        if key is None:
            await coroutine
            return
        # asyncio.Lock wakes its waiters first come, first served: arrival order is kept.
        turn = self._turns.setdefault(key, asyncio.Lock())
        self._waiting[key] += 1
        try:
            async with turn:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key], self._turns[key]

    async def initialize(self) -> None:
        pass  # nothing to set up: the locks are made as chats appear

    async def shutdown(self) -> None:
        pass


def _chat_of(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None if update.effective_user is None else update.effective_user.id
