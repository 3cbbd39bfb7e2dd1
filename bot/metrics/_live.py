"""Counted in memory: what only the running process sees.

The metrics are registered in no registry here; each ``/metrics`` app adds them to its own
(see ``_scrape``), so a test process running several bots still reads one set of counters.
"""

import time
from typing import Any

from prometheus_client import Counter, Histogram
from telegram import Update
from telegram.ext import Application

UPDATES = Counter(
    "tuanyuan_updates", "Updates the bot handled, by Telegram update type", ["type"], registry=None
)
# From an update's arrival to the end of its handlers: the bot's answers are sent by then.
REPLY_SECONDS = Histogram(
    "tuanyuan_reply_seconds",
    "Seconds from an update's arrival to the end of its handling",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=None,
)
WORKER_LOSSES = Counter(
    "tuanyuan_worker_restarts",
    "Worker processes that died or were killed; the next request starts a fresh one",
    ["worker"],
    registry=None,
)


def update_type(update: object) -> str:
    """Telegram's name for what an update carries (message, callback_query...)."""
    if isinstance(update, Update):
        for kind in Update.ALL_TYPES:
            if getattr(update, kind, None) is not None:
                return kind
        return "other"
    return "internal"


def worker_lost(module: str) -> None:
    WORKER_LOSSES.labels(module).inc()


def worker_losses() -> int:
    """Worker processes lost since this process started, of every kind."""
    return int(
        sum(
            sample.value
            for metric in WORKER_LOSSES.collect()
            for sample in metric.samples
            if sample.name.endswith("_total")
        )
    )


class MeasuredApplication(Application[Any, Any, Any, Any, Any, Any]):
    """PTB's Application, counting every update it handles and timing its handling."""

    async def process_update(self, update: object) -> None:
        started = time.perf_counter()
        try:
            await super().process_update(update)
        finally:
            UPDATES.labels(update_type(update)).inc()
            REPLY_SECONDS.observe(time.perf_counter() - started)
