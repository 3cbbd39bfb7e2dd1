"""Festival campaigns in the browser: the list with each campaign's report drawn as a bar chart,
a new campaign from one form, its day and time changed until invitations go out, and pause /
resume.

A campaign is created by the same :meth:`Campaigns.create` the admin chat's /campaign ends in,
after the same checks (``bot.campaigns.check_setup``); pausing is the same call with the
moderator's id, audited alike. The chart is plain SVG drawn here, on the server: no script.
"""

from datetime import timedelta

from aiohttp import web

from bot.campaigns import (
    MAX_INVITATION_CHARS,
    Audience,
    Campaign,
    OffFestival,
    Refused,
    campaign_day,
    check_setup,
    invite_link,
    report_labels,
    send_time,
)
from bot.festivals import next_date, upcoming
from bot.i18n import LANGUAGES, Gettext, written_language_name
from bot.web._base import Admin, admin_only, bot_of, render, see_other, services_of
from bot.web._page import Page
from engine import list_templates, template_festival, template_title

# The report's rows drawn in the chart, in the order a campaign goes through them.
CHART_ROWS = ("invited", "accepted", "declined", "opted_out", "rendered", "moderated",
              "delivered", "blocked", "failed", "missed")  # fmt: skip
_ROW_H = 26  # SVG units per bar
_BAR_X, _BAR_W = 120, 160  # where bars start, and the longest bar's length (viewBox 320 wide)


def chart(counts: dict[str, int], labels: dict[str, str]) -> dict[str, object]:
    """Bars scaled to the largest count (an empty campaign draws no bar, only zeros)."""
    top = max((counts[name] for name in CHART_ROWS), default=0) or 1
    bars = [
        {
            "label": labels[name],
            "count": counts[name],
            "y": n * _ROW_H,
            "width": round(_BAR_W * counts[name] / top, 1),
            "name": name,
        }
        for n, name in enumerate(CHART_ROWS)
    ]
    return {"bars": bars, "height": len(CHART_ROWS) * _ROW_H, "x": _BAR_X}


def _templates(_: Gettext, request: web.Request, admin: Admin) -> list[dict[str, str]]:
    """Every template, the nearest festival first, each with its festival's next date."""
    tomorrow = services_of(request).clock.now().date() + timedelta(days=1)
    soon, later = upcoming(list_templates(), template_festival, tomorrow)
    rows = []
    for template_id in [*soon, *later]:
        when = next_date(template_festival(template_id), tomorrow)
        rows.append(
            {
                "id": template_id,
                "title": template_title(template_id, admin.language),
                "next": when.isoformat() if when is not None else "",
            }
        )
    return rows


def _shown(request: web.Request, admin: Admin, campaign: Campaign) -> dict[str, object]:
    services = services_of(request)
    _ = admin.gettext
    report = services.campaigns.report(campaign)
    return {
        "id": campaign.id,
        "title": template_title(campaign.template_id, admin.language),
        "date": campaign.festival_date,
        "time": campaign.send_time,
        "audience": campaign.audience.value,
        "link": invite_link(bot_of(request).username, campaign)
        if campaign.audience == Audience.LINK
        else "",
        "paused": campaign.paused_at is not None,
        "reschedulable": campaign.invited_at is None,
        "paused_at": (campaign.paused_at or "")[:16].replace("T", " ") + " UTC",
        "paused_by": campaign.paused_by,
        "summary": report.text(_, admin.language).split("\n", 1)[0],
        "chart": chart(report.counts(), report_labels(_)),
        "failures": report.failures(),
    }


def _page(
    request: web.Request,
    admin: Admin,
    form: dict[str, str] | None = None,
    problem: str = "",
    confirm: dict[str, str] | None = None,
) -> web.Response:
    services = services_of(request)
    _ = admin.gettext
    templates = _templates(_, request, admin)
    form = form or {"template": templates[0]["id"] if templates else "",
                    "day": templates[0]["next"] if templates else "", "time": "09:00",
                    "audience": Audience.CONSENTED.value}  # fmt: skip
    notices = {
        "created": _("The campaign is ready."),
        "paused": _("Paused: nothing of this campaign is sent until you resume it."),
        "resumed": _("Resumed: what was due goes out now, if its festival day has not ended."),
        "settled": _("That campaign already was so."),
        "rescheduled": _("The new day and time are set."),
        "invited": _("Invitations have gone out: the day and time can no longer change."),
    }
    context = {
        "campaigns": [_shown(request, admin, c) for c in services.campaigns.campaigns()],
        "templates": templates,
        "audiences": [
            (Audience.CONSENTED.value, _("Every family with a current consent")),
            (Audience.LINK.value, _("Families who open this campaign's own invite link")),
        ],
        "languages": [(language, written_language_name(_, language)) for language in LANGUAGES],
        "limit": MAX_INVITATION_CHARS,
        "form": form,
        "problem": problem,
        "confirm": confirm or {},
        "notice": notices.get(request.query.get("done", ""), ""),
    }
    return render(request, "campaigns.html", admin.language, context, admin,
                  status=400 if problem else 200)  # fmt: skip


@admin_only
async def show(request: web.Request, admin: Admin) -> web.Response:
    return _page(request, admin)


@admin_only
async def create(request: web.Request, admin: Admin) -> web.Response:
    services = services_of(request)
    posted = await request.post()
    form = {name: str(posted.get(name, "")) for name in ("template", "day", "time", "audience")}
    texts = {language: str(posted.get(f"text-{language}", "")) for language in LANGUAGES}
    try:
        setup = check_setup(admin.gettext, admin.language, services.clock.now().date(),
                            form["template"], form["day"], form["time"], form["audience"], texts,
                            day_confirmed=str(posted.get("day_confirmed", "")))  # fmt: skip
    except Refused as refused:
        form |= {f"text-{language}": text for language, text in texts.items()}
        if isinstance(refused, OffFestival):
            # The box binds to this day: a day changed after ticking it is asked about again.
            form["confirm_day"] = refused.day.isoformat()
        return _page(request, admin, form, str(refused))
    campaign = services.campaigns.create(admin.id, **setup.fields(services.settings))
    raise see_other(f"/campaigns?done=created#campaign-{campaign.id}")


@admin_only
async def pause_or_resume(request: web.Request, admin: Admin) -> web.Response:
    campaigns = services_of(request).campaigns
    campaign_id, action = request.match_info["campaign"], request.match_info["action"]
    change = campaigns.pause if action == "pause" else campaigns.resume
    done = f"{action}d" if change(campaign_id, admin.id) else "settled"
    raise see_other(f"/campaigns?done={done}#campaign-{campaign_id}")


@admin_only
async def reschedule(request: web.Request, admin: Admin) -> web.Response:
    services = services_of(request)
    campaign_id = request.match_info["campaign"]
    posted = await request.post()
    _ = admin.gettext
    campaign = services.campaigns.campaign(campaign_id)
    if campaign is None:
        raise web.HTTPNotFound()
    # The day it has was taken (asked about then if need be): kept, it is not asked again.
    confirmed = str(posted.get("day_confirmed") or campaign.festival_date)
    try:
        day = campaign_day(_, admin.language, campaign.template_id, str(posted.get("day", "")),
                           services.clock.now().date(), confirmed)  # fmt: skip
        at = send_time(_, str(posted.get("time", "")))
    except OffFestival as off:
        # That campaign's form, kept as typed, asks for the box bound to the day.
        confirm = {"campaign": campaign_id, "day": off.day.isoformat(),
                   "time": str(posted.get("time", ""))}  # fmt: skip
        return _page(request, admin, problem=str(off), confirm=confirm)
    except Refused as refused:
        return _page(request, admin, problem=str(refused))
    done = (
        "rescheduled"
        if services.campaigns.reschedule(campaign_id, admin.id, day, at)
        else "invited"
    )
    raise see_other(f"/campaigns?done={done}#campaign-{campaign_id}")


PAGE = Page(
    "/campaigns",
    lambda _: _("Campaigns"),
    (
        web.get("/campaigns", show),
        web.post("/campaigns", create),
        web.post("/campaigns/{campaign:[0-9a-f]{8}}/{action:pause|resume}", pause_or_resume),
        web.post("/campaigns/{campaign:[0-9a-f]{8}}/schedule", reschedule),
    ),
)
