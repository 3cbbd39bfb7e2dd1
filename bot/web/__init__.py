"""The admin web: moderators' queue, proof documents, families, campaigns, audit log and
health, in a browser, served by the bot's own process.

Pages are rendered on the server (aiohttp-jinja2) in the moderator's bot language; styles and
the one script are served from ``static/``, never from another site. Each page is one module
with a :class:`Page` (its path, its name in the navigation and its routes) listed in
:data:`PAGES`: a new page is one module and one entry there. Every decision a page makes is the
same call the admin chat makes, with the moderator's Telegram id, so it is audited alike.
"""

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web
from telegram import Bot

from bot.services import Services
from bot.web import _audit, _campaigns, _families, _health, _login, _proofs, _queue
from bot.web._base import BOT, NAV, SERVICES
from bot.web._page import Page

# In the navigation's order; the login page has routes but no place in it.
PAGES: tuple[Page, ...] = (
    _queue.PAGE,
    _proofs.PAGE,
    _families.PAGE,
    _campaigns.PAGE,
    _audit.PAGE,
    _health.PAGE,
)
_HERE = Path(__file__).parent
# Nothing from another origin, no framing, forms only to this site.
_POLICY = (
    "default-src 'self'; img-src 'self'; media-src 'self'; style-src 'self'; "
    "script-src 'self'; object-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'"
)


async def _secure_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("Content-Security-Policy", _POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # The login link's secret is in its path: never hand it on as a referrer.
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cache-Control", "no-store")


async def _home(_: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/queue")


def web_app(services: Services, bot: Bot) -> web.Application:
    """The admin web as an aiohttp app; ``bot.server`` serves it (and the webhook, if any)."""
    app = web.Application()
    app[SERVICES] = services
    app[BOT] = bot
    app[NAV] = [(page.path, page.label) for page in PAGES]
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(_HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
    )
    app.router.add_get("/", _home)
    for page in (*PAGES, _login.PAGE):
        app.router.add_routes(page.routes)
    app.router.add_static("/static", _HERE / "static")
    app.on_response_prepare.append(_secure_headers)
    return app


__all__ = ["PAGES", "Page", "web_app"]
