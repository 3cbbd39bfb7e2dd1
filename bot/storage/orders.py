"""Greeting orders as rows: from the first photo a member sends to the video they receive.

A member has at most one order in ``collecting`` at a time: it is their draft, and what it
still lacks tells the bot what to ask for next. Which status may follow which, and who moves
an order, is ``bot.orders``'s alone: this module only stores, and changes a status only when
the row still has the one its caller saw (:func:`change_status`).
"""

import secrets
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlite_utils import Database

from bot.i18n import Language
from bot.storage.database import changed_at, known_column
from engine.provenance import token_for_render_id


class OrderStatus(StrEnum):
    COLLECTING = "collecting"  # the member's draft
    AWAITING_PAYMENT = "awaiting_payment"  # an invoice in Stars was sent
    MODERATION = "moderation"  # a moderator reads the words before anything is made
    CHANGES_REQUESTED = "changes_requested"  # the moderator asked the member to change them
    QUEUED = "queued"
    RENDERING = "rendering"
    VIDEO_REVIEW = "video_review"  # a moderator watches the finished video first
    PREVIEW = "preview"  # the requester has the preview: Send it / Make it again / Cancel
    SCHEDULED = "scheduled"  # a campaign greeting, previewed, waiting for its send time
    DELIVERING = "delivering"  # "Send it" was pressed; the final message is on its way
    DELIVERED = "delivered"
    REJECTED = "rejected"  # by a moderator, with a reason
    FAILED = "failed"
    UNDELIVERABLE = "undeliverable"  # the member blocked the bot
    CANCELLED = "cancelled"
    REVOKED = "revoked"  # consent was withdrawn; the order's media and video are deleted


class Order(BaseModel):
    id: str
    user_id: int
    chat_id: int
    status: OrderStatus
    language: Language
    space_id: str | None = None
    portrait_id: str | None = None
    voice_id: str | None = None
    template_id: str | None = None
    recipient: str | None = None
    consent_id: str | None = None
    likeness: str | None = None  # "portrait" or "footage" when the member chose; else the engine's
    spoken_language: str | None = None  # the engine's SpokenLanguage the greeting is read in
    voice: str | None = None  # the voice backend that spoke the delivered greeting
    voice_reason: str | None = None  # why that backend, for the moderators (/renders)
    video_id: str | None = None
    telegram_file_id: str | None = None
    delivered_message_id: int | None = None
    # The family's own words (None: the template's) and who the greeting is from.
    message: str | None = None
    sender: str | None = None
    text_step: str | None = None  # "sender" while the draft waits for the sender line
    take: int = 0  # which take of the greeting "Make it again" asked for
    attempts: int = 0  # render attempts of the current take
    next_attempt_at: str | None = None
    placed_at: str | None = None
    queued_at: str | None = None
    review_reasons: str | None = None  # JSON list of why moderation reads it
    review_since: str | None = None
    moderation_round: int = 0
    moderator_note: str | None = None
    reject_reason: str | None = None
    price_stars: int = 0
    charge_id: str | None = None  # Telegram's telegram_payment_charge_id
    paid_at: str | None = None
    refund_due: bool = False
    refunded_at: str | None = None
    status_message_id: int | None = None
    preview_message_id: int | None = None
    thumbnail_id: str | None = None
    duration_s: float | None = None
    render_s: float | None = None  # how long the latest take's render took, in seconds
    width: int | None = None
    height: int | None = None
    # What the render's watermarks carry (token_for_render_id(id)); None only for the newer of
    # two orders from before it was stored that happened to share one.
    watermark_token: int | None = None
    error: str | None = None
    created_at: str
    updated_at: str
    delivered_at: str | None = None
    # A festival campaign's greeting (bot/campaigns): delivered at send_at (UTC), not on Send it.
    campaign_id: str | None = None
    send_at: str | None = None
    sampled: bool = False  # drawn for the campaign's moderation sample: its video is watched
    rendered_at: str | None = None
    reviewed_at: str | None = None
    shape: str | None = None  # bot.delivery.Shape; None in a draft: the member's last one


Field = str | int | float | bool | None


def _order(row: dict[str, Any]) -> Order:
    return Order.model_validate(row)


def get_order(db: Database, order_id: str) -> Order:
    return _order(db.table("orders").get(order_id))


def draft_for(db: Database, user_id: int) -> Order | None:
    rows = list(
        db.query(
            "SELECT * FROM orders WHERE user_id = ? AND status = ? AND campaign_id IS NULL"
            " ORDER BY created_at DESC LIMIT 1",
            [user_id, OrderStatus.COLLECTING.value],
        )
    )
    return _order(rows[0]) if rows else None


def open_draft(db: Database, user_id: int, chat_id: int, language: str, space_id: str) -> Order:
    """The member's draft, created on demand so any first upload starts an order."""
    existing = draft_for(db, user_id)
    if existing is not None:
        return existing
    return new_order(db, user_id, chat_id, language, space_id)


def new_order(
    db: Database, user_id: int, chat_id: int, language: str, space_id: str, **fields: Field
) -> Order:
    """A fresh order in ``collecting``: a member's draft, or a campaign's greeting with its
    fields already known (``campaign_id`` keeps it from ever being taken for a draft)."""
    now = changed_at()
    order_id, token = _unmarked_id(db)
    db.table("orders").insert(
        {
            "id": order_id,
            "watermark_token": token,
            "user_id": user_id,
            "chat_id": chat_id,
            "status": OrderStatus.COLLECTING.value,
            "language": language,
            "space_id": space_id,
            "created_at": now,
            "updated_at": now,
            **fields,
        }
    )
    return get_order(db, order_id)


def _unmarked_id(db: Database) -> tuple[str, int]:
    """A fresh order id and its watermark token, one that no other order's render carries.

    Tokens are 40 bits of a hash of the id, so two orders share one with probability
    n**2 / 2**41; a detected token must name one order, so a taken token means a new id.
    """
    while True:
        order_id = secrets.token_hex(8)
        token = token_for_render_id(order_id)
        if not db.table("orders").count_where("watermark_token = ?", [token]):
            return order_id, token


def find_order(db: Database, order_id: str) -> Order | None:
    rows = list(db.query("SELECT * FROM orders WHERE id = ?", [order_id]))
    return _order(rows[0]) if rows else None


def order_with_token(db: Database, token: int) -> Order | None:
    """The order whose render carries this watermark token, if this database has it."""
    rows = list(db.query("SELECT * FROM orders WHERE watermark_token = ?", [token]))
    return _order(rows[0]) if rows else None


def update_order(db: Database, order_id: str, **fields: Field) -> Order:
    """Change some fields of an order, never its status; callers name fields, never build SQL."""
    if "status" in fields:
        raise ValueError("an order's status changes only through bot.orders")
    db.table("orders").update(order_id, {**fields, "updated_at": changed_at()})
    return get_order(db, order_id)


def change_status(
    db: Database,
    order_id: str,
    expected: frozenset[OrderStatus],
    status: OrderStatus,
    **fields: Field,
) -> Order | None:
    """Move the order to ``status`` if it still is in one of ``expected``; None if it is not.

    One UPDATE with the expected statuses in its WHERE: two handlers racing for the same order
    (a moderator's Approve and the member's Cancel) cannot both win.
    """
    values: dict[str, Any] = {**fields, "status": status.value, "updated_at": changed_at()}
    assignments = ", ".join(f"{known_column(db, 'orders', name)} = ?" for name in values)
    placeholders = ", ".join("?" for _ in expected)
    with db.conn:
        cursor = db.execute(
            f"UPDATE orders SET {assignments} WHERE id = ? AND status IN ({placeholders})",
            [*values.values(), order_id, *(state.value for state in expected)],
        )
    return get_order(db, order_id) if cursor.rowcount == 1 else None


def orders_with_status(db: Database, *statuses: OrderStatus) -> list[Order]:
    placeholders = ", ".join("?" for _ in statuses)
    return orders_where(db, f"status IN ({placeholders})", [status.value for status in statuses])


def latest_rendered(db: Database, limit: int) -> list[Order]:
    """The orders whose render finished most recently, newest first."""
    rows = db.query(
        "SELECT * FROM orders WHERE voice IS NOT NULL ORDER BY updated_at DESC LIMIT ?", [limit]
    )
    return [_order(row) for row in rows]


def orders_of(db: Database, user_id: int, limit: int) -> list[Order]:
    """The member's placed orders, newest first. Drafts are left out, and so is one discarded
    before it was placed: never ordered, it may not even have a festival to be named by."""
    rows = db.query(
        "SELECT * FROM orders WHERE user_id = ? AND placed_at IS NOT NULL "
        "ORDER BY created_at DESC LIMIT ?",
        [user_id, limit],
    )
    return [_order(row) for row in rows]


def placed_since(db: Database, column: str, value: int | str, since: str) -> int:
    """How many orders a member (``column`` "user_id") or a family ("space_id") placed since."""
    assert column in ("user_id", "space_id")
    return int(db.table("orders").count_where(f"{column} = ? AND placed_at >= ?", [value, since]))


def queue_position(db: Database, order: Order) -> int:
    """1 for the order that renders next among those waiting."""
    # Campaign renders wait behind members' orders (bot.jobs.RenderSlots): never counted ahead.
    ahead = db.table("orders").count_where(
        "status = ? AND queued_at < ? AND campaign_id IS NULL",
        [OrderStatus.QUEUED.value, order.queued_at or ""],
    )
    return int(ahead) + 1


def orders_where(db: Database, where: str, params: list[Any]) -> list[Order]:
    return [
        _order(row)
        for row in db.query(f"SELECT * FROM orders WHERE {where} ORDER BY created_at", params)
    ]


def refunds_owed(db: Database, user_id: int | None = None) -> list[Order]:
    """Orders whose Stars were taken and are still owed back (of one member, if given): each
    row is the only record of its debt."""
    owed = "refund_due = 1 AND refunded_at IS NULL AND charge_id IS NOT NULL"
    if user_id is None:
        return orders_where(db, owed, [])
    return orders_where(db, f"user_id = ? AND {owed}", [user_id])


def forget_orders_of(db: Database, user_id: int) -> None:
    """A leaving member's orders deleted, but for those still owed a refund: kept, without the
    member's own words, for the order desk to refund."""
    owed = [order.id for order in refunds_owed(db, user_id)]
    marks = ", ".join("?" for _ in owed)
    db.execute(
        f"UPDATE orders SET message = NULL, sender = NULL, moderator_note = NULL"
        f" WHERE id IN ({marks})",
        owed,
    )
    db.execute(f"DELETE FROM orders WHERE user_id = ? AND id NOT IN ({marks})", [user_id, *owed])
