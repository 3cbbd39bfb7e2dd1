"""How the service is doing: queues, workers, render times, deliveries and recent errors, read
where /metrics reads them (``bot.metrics``)."""

from aiohttp import web

from bot.metrics import (
    deliveries_by_outcome,
    orders_by_state,
    percentile,
    queue_depth,
    recent_errors,
    render_times,
    worker_losses,
)
from bot.storage import OrderStatus
from bot.web._base import Admin, admin_only, render, services_of
from bot.web._page import Page

PERCENTILES = (0.5, 0.9, 0.99)


@admin_only
async def show(request: web.Request, admin: Admin) -> web.Response:
    services = services_of(request)
    states = orders_by_state(services.db)
    seconds = [time.seconds for time in render_times(services.db)]
    context = {
        "queue_depth": queue_depth(services.db),
        "waiting_moderation": states[OrderStatus.MODERATION] + states[OrderStatus.VIDEO_REVIEW],
        "workers": services.settings.render_workers,
        "rendering": states[OrderStatus.RENDERING],
        "worker_restarts": worker_losses(),
        "renders": len(seconds),
        "percentiles": [
            (f"p{round(q * 100)}", f"{value:.1f} s" if (value := percentile(seconds, q)) else "-")
            for q in PERCENTILES
        ],
        "deliveries": deliveries_by_outcome(services.db),
        "states": {state: count for state, count in states.items() if count},
        "errors": recent_errors(services.db),
    }
    return render(request, "health.html", admin.language, context, admin)


PAGE = Page("/health", lambda _: _("Health"), (web.get("/health", show),))
