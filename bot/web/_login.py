"""Signing in with the one-time link from ``/admin_login``, and signing out.

Opening the link only shows a button: a link preview, a chat app or a mail scanner that
fetches the URL spends nothing. Pressing it redeems the link (once, within five minutes, for
the admin it was made for, still configured) and opens a session whose cookie scripts cannot
read (HttpOnly), other sites cannot send (SameSite=Strict) and, over https, only travels
encrypted (Secure).
"""

from aiohttp import web

from bot.admin_sessions import end_session, login_admin, open_session, redeem_login
from bot.i18n import Gettext
from bot.web._base import COOKIE, Admin, admin_only, refusal, render, see_other, services_of
from bot.web._page import Page


def _refused_link(_: Gettext) -> str:
    return _("This sign-in link was used already, has expired or is not a moderator's. "
             "Send /admin_login to the bot for a new one.")  # fmt: skip


async def offer(request: web.Request) -> web.Response:
    services = services_of(request)
    secret = request.match_info["secret"]
    admin_id = login_admin(services.db, secret)
    if admin_id is None:
        return refusal(request, 403, _refused_link)
    context = {"secret": secret, "admin_id": admin_id}
    return render(request, "login.html", services.language_of(admin_id), context)


async def sign_in(request: web.Request) -> web.Response:
    services = services_of(request)
    secret = str((await request.post()).get("secret", ""))
    admin_id = redeem_login(services.db, services.clock, secret)
    if admin_id is None or not services.is_admin(admin_id):
        services.audit.record(admin_id or "web", "web.login_refused",
                              reason="not_admin" if admin_id else "link")  # fmt: skip
        language = services.language_of(admin_id) if admin_id is not None else "en"
        return refusal(request, 403, _refused_link, language=language)
    session = open_session(services.db, services.clock, admin_id)
    services.audit.record(admin_id, "web.login")
    response = see_other("/queue")
    response.set_cookie(
        COOKIE,
        session,
        httponly=True,
        samesite="Strict",
        secure=services.settings.web_url.startswith("https://"),
        path="/",
    )
    raise response


@admin_only
async def sign_out(request: web.Request, admin: Admin) -> web.Response:
    services = services_of(request)
    end_session(services.db, admin.session)
    services.audit.record(admin.id, "web.logout")
    response = refusal(request, 200, _signed_out, language=admin.language)
    response.del_cookie(COOKIE, path="/")
    return response


def _signed_out(_: Gettext) -> str:
    return _("You are signed out. Send /admin_login to the bot to sign in again.")


PAGE = Page(
    "/login",
    lambda _: _("Sign in"),
    (
        web.get(r"/login/{secret:[A-Za-z0-9_-]{20,100}}", offer),
        web.post("/login", sign_in),
        web.post("/logout", sign_out),
    ),
)
