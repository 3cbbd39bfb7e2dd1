"""Read from SQLite when asked: the numbers the database already keeps, for /metrics and the
admin web's health page alike."""

import math
from dataclasses import dataclass

from sqlite_utils import Database

from bot.storage import OrderStatus

# The send ledger's states for the final message, in Outcome's words (bot/orders/_ledger.py):
# an intent with no outcome may or may not have reached Telegram.
_DELIVERY_OUTCOMES = {"done": "sent", "refused": "refused", "intent": "unknown"}
RECENT_ERRORS = 10


def _counted(db: Database, sql: str, names: dict[str, str]) -> dict[str, int]:
    """Counts by name from a query of (key, n) rows, with 0 for every name no row has (a
    series Prometheus can rely on); ``names`` maps a stored key to the name it counts under."""
    counts = dict.fromkeys(names.values(), 0)
    for row in db.query(sql):
        counts[names[str(row["name"])]] += int(row["n"])
    return counts


def orders_by_state(db: Database) -> dict[str, int]:
    statuses = {status.value: status.value for status in OrderStatus}
    sql = "SELECT status AS name, COUNT(*) AS n FROM orders GROUP BY status"
    return _counted(db, sql, statuses)


def queue_depth(db: Database) -> int:
    """Orders waiting for a render slot."""
    return int(db.table("orders").count_where("status = ?", [OrderStatus.QUEUED.value]))


def deliveries_by_outcome(db: Database) -> dict[str, int]:
    sql = (
        "SELECT state AS name, COUNT(*) AS n FROM order_sends WHERE key LIKE '%:delivery'"
        " GROUP BY state"
    )
    return _counted(db, sql, _DELIVERY_OUTCOMES)


@dataclass(frozen=True)
class RenderTime:
    seconds: float
    voice: str
    likeness: str


def render_times(db: Database) -> list[RenderTime]:
    """Each order's latest render: how long it took, which voice spoke and what it showed."""
    rows = db.query(
        "SELECT render_s, voice, likeness FROM orders WHERE render_s IS NOT NULL ORDER BY render_s"
    )
    return [
        RenderTime(float(row["render_s"]), row["voice"] or "", row["likeness"] or "")
        for row in rows
    ]


def percentile(ordered: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of sorted values; None when there are none."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass(frozen=True)
class RecentError:
    at: str
    order_id: str
    error: str


def recent_errors(db: Database) -> list[RecentError]:
    """The latest problems with orders: failed renders and sends Telegram refused."""
    rows = db.query(
        "SELECT updated_at AS at, id AS order_id, error FROM orders WHERE error IS NOT NULL"
        " UNION ALL SELECT updated_at, order_id, key || ': ' || error FROM order_sends"
        " WHERE error IS NOT NULL ORDER BY at DESC LIMIT ?",
        [RECENT_ERRORS],
    )
    return [RecentError(str(row["at"]), str(row["order_id"]), str(row["error"])) for row in rows]
