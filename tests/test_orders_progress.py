"""The status message's pace: newest text first, never faster than the interval per chat."""

import asyncio
import itertools
import time
from typing import Any

from telegram.error import BadRequest

from bot.orders._progress import ProgressBoard


class EditingBot:
    """Records each edit and when it was made; answers as Telegram does to an unchanged text."""

    def __init__(self) -> None:
        self.edits: list[tuple[float, int, int, str]] = []
        self.calls = 0

    async def edit_message_text(self, text: str, chat_id: int, message_id: int, **_: Any) -> None:
        self.calls += 1
        if self.edits and self.edits[-1][1:] == (chat_id, message_id, text):
            raise BadRequest("Message is not modified")
        self.edits.append((time.monotonic(), chat_id, message_id, text))


async def test_edits_keep_the_pace_and_show_the_newest_text() -> None:
    bot = EditingBot()
    board = ProgressBoard(lambda: bot, min_interval_s=0.2)  # type: ignore[arg-type, return-value]
    board.sent(1, 10, "queued")
    for percent in range(0, 100, 10):
        board.show(1, 10, f"{percent}%")
        await asyncio.sleep(0.03)
    board.show(2, 20, "another chat is not held up")
    await board.settle()
    texts = [text for _, chat, _, text in bot.edits if chat == 1]
    assert texts[-1] == "90%" and len(texts) < 10  # older texts were replaced while waiting
    times = [at for at, chat, _, _ in bot.edits if chat == 1]
    assert all(later - earlier >= 0.19 for earlier, later in itertools.pairwise(times))
    assert [text for _, chat, _, text in bot.edits if chat == 2] == ["another chat is not held up"]


async def test_the_same_text_is_not_sent_again() -> None:
    bot = EditingBot()
    board = ProgressBoard(lambda: bot, min_interval_s=0.0)  # type: ignore[arg-type, return-value]
    board.show(1, 10, "making")
    await board.settle()
    board.show(1, 10, "making")
    await board.settle()
    assert [text for *_, text in bot.edits] == ["making"] and bot.calls == 1
