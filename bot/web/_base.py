"""What every admin page shares: who is signed in (the session cookie, checked on every
request against the configured admins), the CSRF check on every form, the page frame and its
language, and the answers to a refused request.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from telegram import Bot

from bot.admin_sessions import csrf_matches, csrf_token, end_session, session_admin
from bot.i18n import Gettext, Language, gettext_for
from bot.services import Services
from bot.web._names import names
from bot.web._words import words

SERVICES = web.AppKey("services", Services)
BOT = web.AppKey("bot", Bot)
# (path, label) of each page in the navigation, in order: set from the page registry.
NAV = web.AppKey("nav", list[tuple[str, Callable[[Gettext], str]]])
COOKIE = "tuanyuan_session"


@dataclass(frozen=True)
class Admin:
    """The moderator behind a request, as the chat knows them: their Telegram user id."""

    id: int
    session: str
    language: Language

    @property
    def gettext(self) -> Gettext:
        return gettext_for(self.language)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
AdminHandler = Callable[[web.Request, Admin], Awaitable[web.StreamResponse]]


def services_of(request: web.Request) -> Services:
    return request.app[SERVICES]


def bot_of(request: web.Request) -> Bot:
    return request.app[BOT]


def admin_only(handler: AdminHandler) -> Handler:
    """Serve ``handler`` to a signed-in, still configured admin; a form must carry its CSRF
    token. Anyone else gets a page saying how to sign in; a session whose admin was removed
    (ended at once) and a form without its token are audited with the admin's id."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        services = services_of(request)
        secret = request.cookies.get(COOKIE, "")
        idle = timedelta(seconds=services.settings.web_idle_s)
        admin_id = session_admin(services.db, services.clock, secret, idle) if secret else None
        if admin_id is not None and not services.is_admin(admin_id):
            end_session(services.db, secret)
            services.audit.record(admin_id, "web.refused", reason="not_admin", path=request.path)
            admin_id = None
        if admin_id is None:
            return refusal(request, 401, _signed_out)
        admin = Admin(admin_id, secret, services.language_of(admin_id))
        if request.method == "POST":
            form = await request.post()
            if not csrf_matches(secret, str(form.get("csrf", ""))):
                services.audit.record(admin_id, "web.refused", reason="csrf", path=request.path)
                return refusal(request, 403, _stale_form, admin)
        return await handler(request, admin)

    return guarded


def _signed_out(_: Gettext) -> str:
    return _("You are not signed in, or your session ended. Send /admin_login to the bot for a "
             "new link.")  # fmt: skip


def _stale_form(_: Gettext) -> str:
    return _("This form is out of date. Go back, reload the page and try again.")


def render(
    request: web.Request,
    template: str,
    language: Language,
    context: dict[str, Any],
    admin: Admin | None = None,
    status: int = 200,
) -> web.Response:
    _ = gettext_for(language)
    frame = {
        "t": words(_),
        "n": names(_),
        "lang": language,
        "admin": admin,
        "csrf": csrf_token(admin.session) if admin is not None else "",
        "nav": [
            {"path": path, "label": label(_), "current": request.path.startswith(path)}
            for path, label in request.app[NAV]
        ]
        if admin is not None
        else [],
    }
    return aiohttp_jinja2.render_template(template, request, {**frame, **context}, status=status)


def refusal(
    request: web.Request,
    status: int,
    explain: Callable[[Gettext], str],
    admin: Admin | None = None,
    language: Language | None = None,
) -> web.Response:
    """A refused request, explained in the reader's language with what to do next."""
    shown = admin.language if admin is not None else language or "en"
    return render(
        request, "refused.html", shown, {"message": explain(gettext_for(shown))}, admin, status
    )


def see_other(location: str) -> web.HTTPSeeOther:
    """After a form: back to a page, so reloading it does not send the form again."""
    return web.HTTPSeeOther(location)
