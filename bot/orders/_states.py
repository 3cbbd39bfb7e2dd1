"""Which status may follow which: the order's whole life in one table.

Every change of an order's status in the bot goes through :func:`move`, which checks the table,
changes the row only if it still has the status its caller saw, and writes the audit entry.
docs/ARCHITECTURE.md draws the same table, with who moves each edge.
"""

from sqlite_utils import Database

from bot.audit import AuditLog
from bot.storage import Order, OrderStatus
from bot.storage.orders import Field, change_status

S = OrderStatus
# Revocation may end any order that is not already revoked; it is added below.
_NEXT: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.COLLECTING: frozenset({S.AWAITING_PAYMENT, S.MODERATION, S.QUEUED, S.CANCELLED}),
    S.AWAITING_PAYMENT: frozenset({S.MODERATION, S.QUEUED, S.CANCELLED}),
    S.MODERATION: frozenset({S.QUEUED, S.CHANGES_REQUESTED, S.REJECTED, S.CANCELLED}),
    S.CHANGES_REQUESTED: frozenset({S.MODERATION, S.CANCELLED}),
    S.QUEUED: frozenset({S.RENDERING, S.CANCELLED}),
    # Back to QUEUED: a worker crashed and the render is tried again.
    S.RENDERING: frozenset({S.QUEUED, S.VIDEO_REVIEW, S.PREVIEW, S.FAILED, S.CANCELLED}),
    S.VIDEO_REVIEW: frozenset({S.PREVIEW, S.REJECTED, S.CANCELLED}),
    # Back to QUEUED: "Make it again". SCHEDULED: a campaign's greeting, previewed.
    S.PREVIEW: frozenset(
        {S.QUEUED, S.DELIVERING, S.SCHEDULED, S.CANCELLED, S.UNDELIVERABLE, S.FAILED}
    ),
    S.SCHEDULED: frozenset({S.DELIVERING, S.CANCELLED}),
    S.DELIVERING: frozenset({S.DELIVERED, S.UNDELIVERABLE, S.FAILED}),
    S.DELIVERED: frozenset(),
    S.REJECTED: frozenset(),
    S.FAILED: frozenset(),
    S.UNDELIVERABLE: frozenset(),
    S.CANCELLED: frozenset(),
    S.REVOKED: frozenset(),
}
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    status: following | ({S.REVOKED} if status != S.REVOKED else set())
    for status, following in _NEXT.items()
}
# Waiting for a moderator: the words before the render, or the finished video before the family.
UNDER_REVIEW = frozenset({S.MODERATION, S.VIDEO_REVIEW})
# Orders that still owe the family something: resumed on start-up.
OPEN = frozenset(
    {
        S.AWAITING_PAYMENT,
        S.MODERATION,
        S.CHANGES_REQUESTED,
        S.QUEUED,
        S.RENDERING,
        S.VIDEO_REVIEW,
        S.PREVIEW,
        S.SCHEDULED,
        S.DELIVERING,
    }
)


def move(
    db: Database,
    audit: AuditLog,
    order: Order,
    status: OrderStatus,
    actor: int | str,
    **fields: Field,
) -> Order | None:
    """Move ``order`` from the status it was read with to ``status``; None when someone else
    moved it first (the caller then does nothing: the other move owns what follows)."""
    if status not in TRANSITIONS[order.status]:
        raise ValueError(f"an order cannot go from {order.status} to {status}")
    moved = change_status(db, order.id, frozenset({order.status}), status, **fields)
    if moved is not None:
        audit.record(actor, f"order.{status.value}", order=order.id, was=order.status.value)
    return moved
