"""The audit log, newest first, filtered by action and actor, and the chain checked on demand
with the same check as ``tuanyuan audit verify``."""

import json

from aiohttp import web

from bot.audit import AuditVerdict
from bot.web._base import Admin, admin_only, render, services_of
from bot.web._page import Page

PAGE_SIZE = 50


def _page(request: web.Request, admin: Admin, verdict: AuditVerdict | None) -> web.Response:
    services = services_of(request)
    _ = admin.gettext
    action = request.query.get("action", "").strip()
    actor = request.query.get("actor", "").strip()
    number = int(page) if (page := request.query.get("page", "1")).isdigit() and page != "0" else 1
    entries = [
        entry
        for entry in reversed(services.audit.entries())
        if (not action or str(entry.get("action", "")).startswith(action))
        and (not actor or str(entry.get("actor", "")) == actor)
    ]
    shown = entries[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    verdict_text = ""
    if verdict is not None and verdict.intact:
        verdict_text = _("The audit log is intact: {count} entries.").format(count=verdict.entries)
    elif verdict is not None:
        verdict_text = _("The audit log was altered after {count} good entries: {problem}.").format(
            count=verdict.entries, problem=verdict.problem
        )
    context = {
        "entries": [
            {
                "seq": entry.get("seq"),
                "at": str(entry.get("at", ""))[:19].replace("T", " "),
                "actor": entry.get("actor"),
                "action": entry.get("action"),
                "details": json.dumps(entry.get("details", {}), ensure_ascii=False),
            }
            for entry in shown
        ],
        "action": action,
        "actor": actor,
        "page": number,
        "older": number * PAGE_SIZE < len(entries),
        "verdict": verdict_text,
        "intact": verdict is None or verdict.intact,
    }
    return render(request, "audit.html", admin.language, context, admin)


@admin_only
async def show(request: web.Request, admin: Admin) -> web.Response:
    return _page(request, admin, None)


@admin_only
async def verify(request: web.Request, admin: Admin) -> web.Response:
    services = services_of(request)
    verdict = services.audit.verify()
    services.audit.record(admin.id, "audit.verified", intact=verdict.intact,
                          entries=verdict.entries)  # fmt: skip
    return _page(request, admin, verdict)


PAGE = Page(
    "/audit",
    lambda _: _("Audit log"),
    (web.get("/audit", show), web.post("/audit/verify", verify)),
)
