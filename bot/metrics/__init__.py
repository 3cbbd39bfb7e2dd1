"""What Prometheus scrapes at ``/metrics``, and the same numbers the admin web's health page shows.

Whatever the database already knows is read from it at scrape time (orders by state, the queue,
render times by voice and likeness, deliveries by outcome from the send ledger), so the numbers
survive restarts and no module needs a hook for them. What only the running process sees is
counted in memory: updates handled by type and how long each took (``MeasuredApplication``, the
class PTB builds the Application from) and worker processes that died or were killed
(``worker_lost``, one line in ``bot/workers.py``).
"""

from bot.metrics._live import MeasuredApplication, worker_losses, worker_lost
from bot.metrics._scrape import metrics_app
from bot.metrics._stored import (
    deliveries_by_outcome,
    orders_by_state,
    percentile,
    queue_depth,
    recent_errors,
    render_times,
)

__all__ = [
    "MeasuredApplication",
    "deliveries_by_outcome",
    "metrics_app",
    "orders_by_state",
    "percentile",
    "queue_depth",
    "recent_errors",
    "render_times",
    "worker_losses",
    "worker_lost",
]
