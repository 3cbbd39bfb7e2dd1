"""Families, as far as moderation needs them: the subject, living or deceased, the members
and their verification, and the consent now and before. No phone numbers and no media."""

from typing import Any

from aiohttp import web

from bot.family.consent import current_consent, records_of
from bot.family.spaces import Space, get_space, members_of
from bot.orders import consent_summary
from bot.storage.users import first_name
from bot.web._base import Admin, admin_only, render, services_of
from bot.web._page import Page


def _family(request: web.Request, admin: Admin, space: Space) -> dict[str, Any]:
    services = services_of(request)
    _ = admin.gettext
    now = services.clock.now()
    return {
        "id": space.id,
        "subject": space.subject_name or "?",
        "living": _("deceased") if space.deceased else _("living"),
        "status": space.status.value,
        "flagged": space.flagged,
        "consent": consent_summary(_, space, current_consent(services.db, space, now)),
        "members": [
            {
                "user": member.user_id,
                "name": first_name(services.db, member.user_id) or "?",
                "role": member.role.value,
                "relation": member.relation or "",
                "status": member.status.value,
                "verified": (member.verified_at or "")[:16].replace("T", " "),
            }
            for member in members_of(services.db, space.id)
        ],
        "history": [
            {
                "when": record.created_at[:16].replace("T", " "),
                "kind": record.kind.value,
                "actor": record.actor_id,
                "method": record.method.value,
                "until": (record.valid_until or "")[:10],
            }
            for record in records_of(services.db, space.id)
        ],
    }


@admin_only
async def show(request: web.Request, admin: Admin) -> web.Response:
    services = services_of(request)
    rows = services.db.query("SELECT id FROM spaces ORDER BY created_at DESC")
    spaces = [get_space(services.db, row["id"]) for row in rows]
    families = [_family(request, admin, space) for space in spaces]
    return render(request, "families.html", admin.language, {"families": families}, admin)


PAGE = Page("/families", lambda _: _("Families"), (web.get("/families", show),))
