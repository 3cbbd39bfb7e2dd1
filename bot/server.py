"""The bot as a service: the chat (long polling, or a webhook), the admin web and /metrics,
in one process and one event loop.

The admin web and the webhook share one listener (``TUANYUAN_WEB_LISTEN``); /metrics has its
own (``TUANYUAN_METRICS_LISTEN``), loopback by default, so putting the web behind a public
proxy never publishes the metrics. A webhook update is handled only when it carries the
secret registered with setWebhook; anything else is answered 401 and dropped.
"""

import asyncio
import contextlib
import hmac
import secrets
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import structlog
from aiohttp import web
from telegram import Update

from bot.app import BotApplication, polling, webhook
from bot.metrics import metrics_app
from bot.services import services_of
from bot.web import web_app

log = structlog.get_logger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class Served:
    web_url: str  # where the admin web (and the webhook) answer, as bound
    metrics_url: str


def new_webhook_secret() -> str:
    """A secret for one run: Telegram allows 1-256 of [A-Za-z0-9_-]."""
    return secrets.token_urlsafe(32)


def _webhook_route(application: BotApplication, path: str, secret: str) -> web.RouteDef:
    expected = secret.encode()

    async def receive(request: web.Request) -> web.Response:
        # aiohttp keeps a header's bytes that are not UTF-8 as surrogates: compared as they came.
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, expected):
            log.warning("webhook.refused", remote=request.remote)
            raise web.HTTPUnauthorized()
        try:
            update = Update.de_json(await request.json(), application.bot)
        except ValueError:
            raise web.HTTPBadRequest() from None
        await application.update_queue.put(update)
        return web.Response()

    return web.post(path, receive)


async def _listen(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    bound_host, bound_port = runner.addresses[0][:2]
    return runner, f"http://{bound_host}:{bound_port}"


@contextlib.asynccontextmanager
async def serving(
    application: BotApplication, webhook_url: str | None = None, secret: str | None = None
) -> AsyncIterator[Served]:
    """The bot, its admin web and its metrics, running until the block ends.

    With ``webhook_url`` the bot registers that URL and serves its path on the web listener;
    ``secret`` is the one Telegram must send back (a new one when None).
    """
    services = services_of(application)
    settings = services.settings
    app = web_app(services, application.bot)
    if webhook_url is not None:
        secret = secret or new_webhook_secret()
        path = urlsplit(webhook_url).path or "/"
        app.router.add_routes([_webhook_route(application, path, secret)])
    web_runner, web_url = await _listen(app, *settings.web_listen)
    metrics_runner, metrics_url = await _listen(metrics_app(services.db), *settings.metrics_listen)
    log.info("web.listening", url=web_url, metrics=f"{metrics_url}/metrics")
    if webhook_url is None:
        chat = polling(application)
    else:
        assert secret is not None
        chat = webhook(application, webhook_url, secret)
    try:
        async with chat:
            yield Served(web_url, metrics_url)
    finally:
        await web_runner.cleanup()
        await metrics_runner.cleanup()


async def run(application: BotApplication, webhook_url: str | None, secret: str | None) -> None:
    """``tuanyuan run``: serve until SIGINT or SIGTERM."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stopping.set)
    async with serving(application, webhook_url, secret):
        await stopping.wait()
