"""Exactly-once sends: what the ledger does with each outcome, before and after a restart."""

from pathlib import Path

import pytest
from telegram import Chat, Message
from telegram.error import Forbidden, RetryAfter, TimedOut

from bot.clock import SystemClock
from bot.orders import Outcome
from bot.orders._ledger import FLOOD_RETRIES, Ledger
from bot.storage import open_database


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(open_database(tmp_path / "bot.sqlite3"), SystemClock())


class Calls:
    """A stand-in for one Telegram call that counts how often it was made."""

    def __init__(self, *outcomes: Exception | None) -> None:
        self.made = 0
        self._outcomes = list(outcomes)

    async def __call__(self) -> Message:
        self.made += 1
        outcome = self._outcomes.pop(0) if self._outcomes else None
        if outcome is not None:
            raise outcome
        return Message(41 + self.made, None, Chat(7, "private"))  # type: ignore[arg-type]


async def test_a_step_made_once_is_answered_from_the_record_afterwards(ledger: Ledger) -> None:
    call = Calls()
    first = await ledger.once("o1", "preview:0", call)
    again = await ledger.once("o1", "preview:0", call)
    assert (first.outcome, first.message_id) == (Outcome.SENT, 42)
    assert (again.outcome, again.message_id) == (Outcome.RECORDED, 42)
    assert call.made == 1
    assert (await ledger.once("o1", "preview:1", call)).outcome == Outcome.SENT


async def test_an_outcome_never_recorded_is_not_repeated_unless_telegram_makes_it_safe(
    ledger: Ledger,
) -> None:
    # A timeout: Telegram may have sent it. The intent stays and the step is not made again.
    uncertain = Calls(TimedOut())
    assert (await ledger.once("o1", "delivery", uncertain)).outcome == Outcome.UNKNOWN
    assert (await ledger.once("o1", "delivery", uncertain)).outcome == Outcome.UNKNOWN
    assert uncertain.made == 1
    # A refund is safe to ask again: Telegram refuses a second one itself.
    refund = Calls(TimedOut())
    assert (await ledger.once("o1", "refund", refund, idempotent=True)).outcome == Outcome.UNKNOWN
    assert (await ledger.once("o1", "refund", refund, idempotent=True)).outcome == Outcome.SENT
    assert refund.made == 2


async def test_a_refusal_sent_nothing_so_the_step_may_be_tried_again(ledger: Ledger) -> None:
    blocked = Calls(Forbidden("Forbidden: bot was blocked by the user"))
    refused = await ledger.once("o1", "status", blocked)
    assert refused.outcome == Outcome.REFUSED and isinstance(refused.error, Forbidden)
    assert (await ledger.once("o1", "status", blocked)).outcome == Outcome.SENT
    assert blocked.made == 2


async def test_a_flood_limit_is_waited_out_before_it_counts_as_a_refusal(ledger: Ledger) -> None:
    flooded = Calls(RetryAfter(0), RetryAfter(0))
    sent = await ledger.once("o1", "preview:0", flooded)
    assert (sent.outcome, flooded.made) == (Outcome.SENT, 3)
    always = Calls(*[RetryAfter(0)] * (FLOOD_RETRIES + 1))
    refused = await ledger.once("o2", "preview:0", always)
    assert refused.outcome == Outcome.REFUSED and isinstance(refused.error, RetryAfter)
    assert always.made == FLOOD_RETRIES + 1
