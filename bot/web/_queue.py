"""The moderation queue: the chat's order cards, with the photo and, for a finished render,
the video, and the same three decisions. Each decision is the order desk's own call with the
admin's id (``approve``, ``reject``, ``ask_change``), exactly as the chat's buttons make it,
so it is audited, moved and told to the family in one place.
"""

from typing import Any

from aiohttp import web

from bot.moderation import clean_note
from bot.orders import (
    UNDER_REVIEW,
    CardFacts,
    consent_summary,
    rejection_reasons,
    rejection_text,
    review_reason_text,
    title,
)
from bot.storage import Order, OrderStatus
from bot.storage.orders import find_order
from bot.web._base import Admin, admin_only, render, see_other, services_of
from bot.web._media import vault_file
from bot.web._page import Page


def _notices(admin: Admin) -> dict[str, str]:
    _ = admin.gettext
    return {
        "approved": _("Approved."),
        "rejected": _("Rejected."),
        "asked": _("Sent to the family. Their new words will come back here."),
        "flagged": _("Every greeting of this family will now be reviewed."),
        "settled": _("This request is already settled."),
        "no_note": _("Write what the family should change first."),
    }


def _card(admin: Admin, facts: CardFacts) -> dict[str, Any]:
    _ = admin.gettext
    order, space = facts.order, facts.space
    relation = facts.member.relation if facts.member is not None else "?"
    return {
        "id": order.id,
        "title": title(_, order, admin.language),
        "reasons": ", ".join(review_reason_text(_, reason) for reason in facts.reasons),
        "family": f"{space.subject_name}, {_('deceased') if space.deceased else _('living')}",
        "consent": consent_summary(_, space, facts.consent),
        "asked_by": f"{facts.requester}, {relation} ({order.user_id})",
        "campaign": order.campaign_id,  # one of many families' greetings, as the chat's card says
        "words": facts.words,
        "photo": order.portrait_id is not None,
        "video": order.status == OrderStatus.VIDEO_REVIEW and order.video_id is not None,
        "may_change": order.status == OrderStatus.MODERATION,
        "rejections": [(code, rejection_text(_, code)) for code in rejection_reasons(order)],
    }


@admin_only
async def show(request: web.Request, admin: Admin) -> web.Response:
    desk = services_of(request).orders
    _ = admin.gettext
    cards = [_card(admin, desk.card_facts(order)) for order in desk.waiting_for_moderation()]
    notice = _notices(admin).get(request.query.get("done", ""), "")
    context = {"cards": cards, "notice": notice}
    return render(request, "queue.html", admin.language, context, admin)


def _waiting(request: web.Request) -> Order:
    order = find_order(services_of(request).db, request.match_info["order"])
    if order is None or order.status not in UNDER_REVIEW:
        raise see_other("/queue?done=settled")
    return order


@admin_only
async def decide(request: web.Request, admin: Admin) -> web.Response:
    order = _waiting(request)
    desk = services_of(request).orders
    form = await request.post()
    decision = request.match_info["decision"]
    if decision == "approve":
        done = await desk.approve(order.id, admin.id)
    elif decision == "reject":
        reason = str(form.get("reason", ""))
        done = reason in rejection_reasons(order) and await desk.reject(order.id, admin.id, reason)
    elif decision == "change":
        if not (note := clean_note(str(form.get("note", "")))):
            raise see_other("/queue?done=no_note")
        done = await desk.ask_change(order.id, admin.id, note)
    else:
        desk.flag_family(order.id, admin.id)
        done = True
    outcome = {"approve": "approved", "reject": "rejected", "change": "asked"}.get(
        decision, "flagged"
    )
    raise see_other(f"/queue?done={outcome if done else 'settled'}")


@admin_only
async def photo(request: web.Request, admin: Admin) -> web.Response:
    order = _waiting(request)
    if order.portrait_id is None:
        raise web.HTTPNotFound()
    return vault_file(request, services_of(request), order.portrait_id)


@admin_only
async def video(request: web.Request, admin: Admin) -> web.Response:
    order = _waiting(request)
    if order.status != OrderStatus.VIDEO_REVIEW or order.video_id is None:
        raise web.HTTPNotFound()
    return vault_file(request, services_of(request), order.video_id)


PAGE = Page(
    "/queue",
    lambda _: _("Queue"),
    (
        web.get("/queue", show),
        web.post(r"/queue/{order:[0-9a-f]+}/{decision:approve|reject|change|flag}", decide),
        web.get(r"/queue/{order:[0-9a-f]+}/photo", photo),
        web.get(r"/queue/{order:[0-9a-f]+}/video", video),
    ),
)
