"""Exactly-once messages: every message and refund for an order is written down before the call
and again after it.

Telegram has no idempotency key: a bot that crashes after Telegram accepted a ``sendVideo`` and
before it stored the answer cannot ask whether the video went out. So the intent is committed
first; on a restart an intent with no outcome is never sent again on the bot's own initiative
(the family is asked instead, where it matters). A refusal (blocked, bad request, flood limit)
is recorded as one: Telegram sent nothing, so the step may be tried again. A flood limit is
first waited out and tried again here, a few times: with many orders in one chat (a festival
queue draining) the chat's own status edits compete with its previews, and a greeting must not
fail for that. Calls that Telegram
itself makes idempotent (a refund answers CHARGE_ALREADY_REFUNDED the second time) are retried.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

import structlog
from sqlite_utils import Database
from telegram import Message
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.clock import Clock, iso

log = structlog.get_logger(__name__)

# Flood limits waited out per step before it counts as refused (each after Telegram's own
# retry_after, on top of the rate limiter's own retries).
FLOOD_RETRIES = 5


class Outcome(StrEnum):
    SENT = "sent"  # sent by this call
    RECORDED = "recorded"  # sent earlier: the recorded answer, nothing sent now
    UNKNOWN = "unknown"  # an earlier try may or may not have reached Telegram: not repeated
    REFUSED = "refused"  # Telegram refused it: nothing was sent


@dataclass(frozen=True)
class Sent:
    outcome: Outcome
    message_id: int | None = None
    file_id: str | None = None
    error: TelegramError | None = None

    @property
    def delivered(self) -> bool:
        return self.outcome in (Outcome.SENT, Outcome.RECORDED)


def _file_id(message: Message) -> str | None:
    media = message.video or message.document or message.voice or message.video_note
    return media.file_id if media is not None else None


def sent_by_us(db: Database, file_id: str) -> bool:
    """Whether a file with this Telegram id is one the bot sent (a greeting's preview or final
    video): a member sending it back as material for a new greeting is refused before it is
    even downloaded. Revoked orders' ids are forgotten, so they are not recognised here."""
    query = (
        "SELECT 1 FROM order_sends WHERE file_id = :id"
        " UNION ALL SELECT 1 FROM orders WHERE telegram_file_id = :id LIMIT 1"
    )
    return db.execute(query, {"id": file_id}).fetchone() is not None


class Ledger:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def _write(self, key: str, order_id: str, state: str, **fields: object) -> None:
        now = iso(self._clock.now())
        table = self._db.table("order_sends")
        with self._db.conn:
            if table.count_where("key = ?", [key]):
                table.update(key, {"state": state, "updated_at": now, **fields})
            else:
                table.insert(
                    {
                        "key": key,
                        "order_id": order_id,
                        "state": state,
                        "created_at": now,
                        "updated_at": now,
                        **fields,
                    }
                )

    def forget_files(self, order_id: str) -> None:
        """Revocation: the order's Telegram file ids go with the rest of the likeness."""
        with self._db.conn:
            self._db.execute("UPDATE order_sends SET file_id = NULL WHERE order_id = ?", [order_id])

    def video_messages(self, order_id: str) -> list[int]:
        """The greeting's videos this order put in the family's chat (previews, deliveries,
        their resends, the original files), as Telegram numbered them: what a revocation
        deletes."""
        return self._messages(order_id, "preview:%", "delivery%", "original:%")

    def review_messages(self, order_id: str) -> list[int]:
        """The greeting's videos this order put in the admin chat for a moderator to watch:
        a revocation deletes them too."""
        return self._messages(order_id, "video-card:%")

    def card_messages(self, order_id: str) -> list[int]:
        """The moderation cards this order put in the admin chat, one per round of words."""
        return self._messages(order_id, "card:%")

    def invoice_messages(self, order_id: str) -> list[int]:
        """The invoice this order put in the family's chat (one, or none if it was free)."""
        return self._messages(order_id, "invoice")

    def _messages(self, order_id: str, *steps: str) -> list[int]:
        keys = " OR ".join("key LIKE ?" for _ in steps)
        rows = self._db.query(
            "SELECT message_id FROM order_sends WHERE order_id = ? AND state = 'done' AND "
            f"message_id IS NOT NULL AND ({keys}) ORDER BY created_at",
            [order_id, *(f"{order_id}:{step}" for step in steps)],
        )
        return [int(row["message_id"]) for row in rows]

    async def once(
        self,
        order_id: str,
        step: str,
        call: Callable[[], Awaitable[Message | bool]],
        idempotent: bool = False,
    ) -> Sent:
        """Make ``call`` for this (order, step) unless it was made before."""
        key = f"{order_id}:{step}"
        rows = list(self._db.query("SELECT * FROM order_sends WHERE key = ?", [key]))
        if rows and rows[0]["state"] == "done":
            return Sent(Outcome.RECORDED, rows[0]["message_id"], rows[0]["file_id"])
        if rows and rows[0]["state"] == "intent" and not idempotent:
            log.warning("send.outcome_unknown", order_id=order_id, step=step)
            return Sent(Outcome.UNKNOWN)
        self._write(key, order_id, "intent", error=None)
        try:
            answer = await _waiting_out_floods(call)
        except (Forbidden, BadRequest, RetryAfter) as error:
            self._write(key, order_id, "refused", error=str(error))
            log.warning("send.refused", order_id=order_id, step=step, error=str(error))
            return Sent(Outcome.REFUSED, error=error)
        except TelegramError as error:
            # A timeout or a dropped connection: Telegram may have sent it. The intent stays.
            log.warning("send.uncertain", order_id=order_id, step=step, error=str(error))
            return Sent(Outcome.UNKNOWN, error=error)
        message_id = answer.message_id if isinstance(answer, Message) else None
        file_id = _file_id(answer) if isinstance(answer, Message) else None
        self._write(key, order_id, "done", message_id=message_id, file_id=file_id)
        return Sent(Outcome.SENT, message_id, file_id)


async def _waiting_out_floods(call: Callable[[], Awaitable[Message | bool]]) -> Message | bool:
    """``call``, again after each flood limit's wait (Telegram sent nothing), a few times."""
    for _ in range(FLOOD_RETRIES):
        try:
            return await call()
        except RetryAfter as error:
            wait = error.retry_after
            await asyncio.sleep(wait.total_seconds() if isinstance(wait, timedelta) else wait)
    return await call()
