"""Proof documents waiting for a moderator: the same decision as the admin chat's buttons
(``bot.family.proofs``), with the moderator's id."""

from aiohttp import web

from bot.family import proofs
from bot.family.spaces import Member, get_space
from bot.storage.users import first_name
from bot.web._base import Admin, admin_only, bot_of, render, see_other, services_of
from bot.web._media import vault_file
from bot.web._page import Page


@admin_only
async def show(request: web.Request, admin: Admin) -> web.Response:
    services = services_of(request)
    _ = admin.gettext
    waiting = [
        {
            "space": member.space_id,
            "user": member.user_id,
            "name": first_name(services.db, member.user_id) or "?",
            "relation": member.relation,
            "subject": get_space(services.db, member.space_id).subject_name,
        }
        for member in proofs.waiting_for_review(services.db)
    ]
    notices = {"approved": _("Approved."), "rejected": _("Rejected."),
               "settled": _("This review is already settled."),
               "own_family": proofs.own_family_text(_)}  # fmt: skip
    context = {
        "waiting": waiting,
        "reasons": [(code, proofs.reason_text(_, code)) for code in proofs.REJECTION_REASONS],
        "notice": notices.get(request.query.get("done", ""), ""),
    }
    return render(request, "proofs.html", admin.language, context, admin)


def _under_review(request: web.Request, admin: Admin) -> Member:
    services = services_of(request)
    space, user = request.match_info["space"], int(request.match_info["user"])
    try:
        member = proofs.under_review(services.db, services.audit, space, user, admin.id)
    except proofs.OwnFamily:
        raise see_other("/proofs?done=own_family") from None
    if member is None:
        raise see_other("/proofs?done=settled")
    return member


@admin_only
async def decide(request: web.Request, admin: Admin) -> web.Response:
    member = _under_review(request, admin)
    services, bot = services_of(request), bot_of(request)
    if request.match_info["decision"] == "approve":
        await proofs.approve(bot, services.db, services.audit, services.clock, member, admin.id)
        raise see_other("/proofs?done=approved")
    reason = str((await request.post()).get("reason", ""))
    if reason not in proofs.REJECTION_REASONS:
        raise see_other("/proofs?done=settled")
    await proofs.reject(bot, services.db, services.audit, member, admin.id, reason)
    raise see_other("/proofs?done=rejected")


@admin_only
async def document(request: web.Request, admin: Admin) -> web.Response:
    member = _under_review(request, admin)
    if member.proof_media_id is None:
        raise web.HTTPNotFound()
    return vault_file(request, services_of(request), member.proof_media_id)


_MEMBER = r"/proofs/{space:[A-Za-z0-9_-]+}/{user:\d+}"
PAGE = Page(
    "/proofs",
    lambda _: _("Proof documents"),
    (
        web.get("/proofs", show),
        web.post(_MEMBER + "/{decision:approve|reject}", decide),
        web.get(_MEMBER + "/document", document),
    ),
)
