"""The /metrics endpoint: its own small aiohttp app, on its own loopback listener by default
(``TUANYUAN_METRICS_LISTEN``), so opening the admin web or the webhook never exposes it."""

from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlite_utils import Database

from bot.metrics._live import REPLY_SECONDS, UPDATES, WORKER_LOSSES
from bot.metrics._stored import deliveries_by_outcome, orders_by_state, queue_depth, render_times

RENDER_BUCKETS = (5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 300.0, 600.0)


class _Stored(Collector):
    def __init__(self, db: Database) -> None:
        self._db = db

    def collect(self) -> Iterator[Metric]:
        orders = GaugeMetricFamily("tuanyuan_orders", "Orders by state", labels=["state"])
        for state, count in orders_by_state(self._db).items():
            orders.add_metric([state], count)
        yield orders
        yield GaugeMetricFamily(
            "tuanyuan_queue_depth", "Orders waiting for a render slot", queue_depth(self._db)
        )
        deliveries = CounterMetricFamily(
            "tuanyuan_deliveries", "Final greeting messages by outcome", labels=["outcome"]
        )
        for outcome, count in deliveries_by_outcome(self._db).items():
            deliveries.add_metric([outcome], count)
        yield deliveries
        yield self._render_seconds()

    def _render_seconds(self) -> HistogramMetricFamily:
        """Each order's latest render, by the voice that spoke and what it showed."""
        family = HistogramMetricFamily(
            "tuanyuan_render_seconds",
            "Seconds per render (each order's latest take), by voice and likeness mode",
            labels=["voice", "likeness"],
        )
        groups: dict[tuple[str, str], list[float]] = {}
        for time in render_times(self._db):
            groups.setdefault((time.voice, time.likeness), []).append(time.seconds)
        for labels, seconds in sorted(groups.items()):
            buckets = [(str(edge), sum(s <= edge for s in seconds)) for edge in RENDER_BUCKETS]
            buckets.append(("+Inf", len(seconds)))
            family.add_metric(list(labels), buckets, sum(seconds))
        return family


def metrics_app(db: Database) -> web.Application:
    registry = CollectorRegistry()
    for collector in (UPDATES, REPLY_SECONDS, WORKER_LOSSES, _Stored(db)):
        registry.register(collector)

    async def scrape(_: web.Request) -> web.Response:
        response = web.Response(body=generate_latest(registry))
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    app = web.Application()
    app.router.add_get("/metrics", scrape)
    return app
