"""The one status message of each order, edited as the order moves, within Telegram's pace.

Telegram allows a bot about one message a second per chat, edits included, and a render
reports progress many times a second. Each chat gets its edits at most every
``min_interval_s``: a newer text for a message replaces one still waiting, so the member sees
the latest state, never a backlog. An edit to the text already shown is skipped; Telegram's
"message is not modified" answer is expected, not an error.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from telegram import Bot, InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError

from bot.transient import not_modified

log = structlog.get_logger(__name__)

MIN_EDIT_INTERVAL_S = 3.0

Shown = tuple[str, InlineKeyboardMarkup | None]


@dataclass
class _Chat:
    last_edit: float = float("-inf")
    pending: dict[int, Shown] = field(default_factory=dict)
    shown: dict[int, Shown] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None


class ProgressBoard:
    def __init__(
        self,
        bot: Callable[[], Bot],
        min_interval_s: float = MIN_EDIT_INTERVAL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bot = bot
        self._interval = min_interval_s
        self._monotonic = monotonic
        self._chats: dict[int, _Chat] = {}

    def show(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
    ) -> None:
        """Have ``message_id`` read ``text`` soon; returns at once."""
        chat = self._chats.setdefault(chat_id, _Chat())
        if chat.shown.get(message_id) == (text, markup) and message_id not in chat.pending:
            return
        chat.pending[message_id] = (text, markup)
        if chat.task is None or chat.task.done():
            chat.task = asyncio.get_running_loop().create_task(self._drain(chat_id, chat))

    def sent(self, chat_id: int, message_id: int, text: str) -> None:
        """A status message was just sent with ``text``: it counts against the chat's pace."""
        chat = self._chats.setdefault(chat_id, _Chat())
        chat.shown[message_id] = (text, None)
        chat.last_edit = self._monotonic()

    async def settle(self) -> None:
        """Wait until every waiting edit was made (tests, shutdown)."""
        while tasks := [c.task for c in self._chats.values() if c.task and not c.task.done()]:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        for chat in self._chats.values():
            if chat.task is not None:
                chat.task.cancel()
        await asyncio.gather(
            *(c.task for c in self._chats.values() if c.task), return_exceptions=True
        )

    async def _drain(self, chat_id: int, chat: _Chat) -> None:
        while chat.pending:
            wait = chat.last_edit + self._interval - self._monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            message_id = next(iter(chat.pending))
            shown = chat.pending.pop(message_id)
            if chat.shown.get(message_id) == shown:
                continue
            text, markup = shown
            try:
                await self._bot().edit_message_text(
                    text, chat_id=chat_id, message_id=message_id, reply_markup=markup
                )
            except BadRequest as error:
                if not not_modified(error):
                    log.warning("progress.edit_refused", chat_id=chat_id, error=str(error))
            except TelegramError as error:
                log.warning("progress.edit_failed", chat_id=chat_id, error=str(error))
            chat.shown[message_id] = shown
            chat.last_edit = self._monotonic()
