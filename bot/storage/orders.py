"""Greeting orders, from the first photo a member sends to the video they receive.

A member has at most one order in ``collecting`` at a time: it is their draft, and what it
still lacks tells the bot what to ask for next.
"""

import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlite_utils import Database

from engine.provenance import token_for_render_id


class OrderStatus(StrEnum):
    COLLECTING = "collecting"
    QUEUED = "queued"
    RENDERING = "rendering"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REVOKED = "revoked"  # consent was withdrawn; the order's media and video are deleted


class Order(BaseModel):
    id: str
    user_id: int
    chat_id: int
    status: OrderStatus
    language: str
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
    # What the render's watermarks carry (token_for_render_id(id)); None only for the newer of
    # two orders from before it was stored that happened to share one.
    watermark_token: int | None = None
    error: str | None = None
    created_at: str
    updated_at: str
    delivered_at: str | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _order(row: dict[str, Any]) -> Order:
    return Order.model_validate(row)


def get_order(db: Database, order_id: str) -> Order:
    return _order(db.table("orders").get(order_id))


def draft_for(db: Database, user_id: int) -> Order | None:
    rows = list(
        db.query(
            "SELECT * FROM orders WHERE user_id = ? AND status = ?"
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
    now = _now()
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


def update_order(db: Database, order_id: str, **fields: str | int | None) -> Order:
    """Change some fields of an order; callers name fields, never build SQL."""
    values: dict[str, Any] = {
        key: value.value if isinstance(value, OrderStatus) else value
        for key, value in fields.items()
    }
    values["updated_at"] = _now()
    db.table("orders").update(order_id, values)
    return get_order(db, order_id)


def orders_with_status(db: Database, *statuses: OrderStatus) -> list[Order]:
    placeholders = ", ".join("?" for _ in statuses)
    return orders_where(db, f"status IN ({placeholders})", [status.value for status in statuses])


def latest_rendered(db: Database, limit: int) -> list[Order]:
    """The orders whose render finished most recently, newest first."""
    rows = db.query(
        "SELECT * FROM orders WHERE voice IS NOT NULL ORDER BY updated_at DESC LIMIT ?", [limit]
    )
    return [_order(row) for row in rows]


def orders_where(db: Database, where: str, params: list[Any]) -> list[Order]:
    return [
        _order(row)
        for row in db.query(f"SELECT * FROM orders WHERE {where} ORDER BY created_at", params)
    ]
