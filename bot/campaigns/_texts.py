"""What families and organisers read about a campaign: the invitation and its buttons, the
time-zone choices, and the report."""

from collections.abc import Iterable
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.campaigns._store import Answer, Campaign, Invitation
from bot.family.spaces import Space
from bot.i18n import Gettext, Language
from bot.storage import Order, OrderStatus
from engine import template_title

# Callback data: prefix + campaign id (8 hex), or a zone's index.
YES_PREFIX = "camp:yes:"
NO_PREFIX = "camp:no:"
NEVER_PREFIX = "camp:never:"
ZONE_PREFIX = "camp:tz:"
NO_MESSAGE = "camp:nomsg"
# /start payload of a campaign's own invite link: never 32 characters long, the length of a
# family invite's payload, so the two cannot be mistaken for each other.
JOIN_PREFIX = "campaign-"

# The zones a member picks from, those most families of this service live in first.
TIME_ZONES = (
    "Asia/Taipei",
    "Asia/Hong_Kong",
    "Asia/Shanghai",
    "Asia/Singapore",
    "Asia/Kuala_Lumpur",
    "Australia/Sydney",
    "Europe/London",
    "America/Vancouver",
    "America/Los_Angeles",
    "America/New_York",
    "America/Toronto",
)


def invitation_text(_: Gettext, language: Language, campaign: Campaign, space: Space) -> str:
    """The organiser's words in the family's language, then what saying Yes means."""
    return (
        campaign.text(language)
        + "\n\n"
        + _(
            "Would you like a {festival} greeting from {subject}? It will be made ahead, you "
            "will see it first, and it will be sent to you on {date} at {time} your time."
        ).format(
            festival=template_title(campaign.template_id, language),
            subject=space.subject_name or "",
            date=campaign.festival_date,
            time=campaign.send_time,
        )
    )


def invitation_buttons(_: Gettext, campaign: Campaign) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_("Yes, make ours"), callback_data=YES_PREFIX + campaign.id)],
            [InlineKeyboardButton(_("Not this time"), callback_data=NO_PREFIX + campaign.id)],
            [
                InlineKeyboardButton(
                    _("Never send me campaigns"), callback_data=NEVER_PREFIX + campaign.id
                )
            ],
        ]
    )


def zone_buttons(default: str) -> InlineKeyboardMarkup:
    """The time zones, the one the member's language suggests first."""
    zones = [default, *(zone for zone in TIME_ZONES if zone != default)]
    rows = [
        [InlineKeyboardButton(zone.replace("_", " "), callback_data=ZONE_PREFIX + zone)]
        for zone in zones
    ]
    return InlineKeyboardMarkup(rows)


def message_button(_: Gettext) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("No personal message"), callback_data=NO_MESSAGE)]]
    )


def _moment(stamp: str | None) -> str:
    return f"{stamp[:16].replace('T', ' ')} UTC" if stamp else "-"


@dataclass(frozen=True)
class Report:
    """Where every invited family stands, counted, with the times of the latest change."""

    campaign: Campaign
    invitations: list[Invitation]
    orders: list[Order]

    def counts(self) -> dict[str, int]:
        return {name: len(stamps) for name, stamps in self._rows().items()}

    def _rows(self) -> dict[str, list[str]]:
        answered = {
            state: sorted(i.answered_at or "" for i in self.invitations if i.state == state)
            for state in (Answer.ACCEPTED, Answer.DECLINED, Answer.OPTED_OUT)
        }
        status = OrderStatus

        def stamps(orders: Iterable[Order], field: str) -> list[str]:
            return sorted(str(getattr(order, field) or "") for order in orders)

        blocked = [o for o in self.orders if o.status == status.UNDELIVERABLE]
        unreachable = [i.invited_at or "" for i in self.invitations
                       if i.state == Answer.UNREACHABLE]  # fmt: skip
        return {
            "invited": sorted(i.invited_at or "" for i in self.invitations
                              if i.state not in (Answer.SENDING, Answer.UNREACHABLE)),
            "accepted": answered[Answer.ACCEPTED],
            "declined": answered[Answer.DECLINED],
            "opted_out": answered[Answer.OPTED_OUT],
            "rendered": stamps((o for o in self.orders if o.rendered_at), "rendered_at"),
            "moderated": stamps((o for o in self.orders if o.reviewed_at), "reviewed_at"),
            "scheduled": stamps((o for o in self.orders if o.status == status.SCHEDULED),
                                "send_at"),
            "delivered": stamps((o for o in self.orders if o.status == status.DELIVERED),
                                "delivered_at"),
            "blocked": sorted([*stamps(blocked, "updated_at"), *unreachable]),
            "failed": stamps((o for o in self.orders if o.status == status.FAILED), "updated_at"),
            "revoked": stamps((o for o in self.orders if o.status == status.REVOKED),
                              "updated_at"),
            "missed": stamps((o for o in self.orders if o.status == status.CANCELLED
                              and (o.error or "").startswith("missed")), "updated_at"),
        }  # fmt: skip

    def failures(self) -> list[str]:
        return [o.error or "?" for o in self.orders if o.status == OrderStatus.FAILED]

    def text(self, _: Gettext, language: Language) -> str:
        labels = report_labels(_)
        campaign = self.campaign
        lines = [
            _(
                "Campaign {id}: {festival} on {date}, sent at {time} in each family's time zone."
            ).format(
                id=campaign.id,
                festival=template_title(campaign.template_id, language),
                date=campaign.festival_date,
                time=campaign.send_time,
            )
        ]
        if campaign.paused_at is not None:
            lines.append(
                _("Paused since {moment} by {admin}: nothing is sent until it is resumed.").format(
                    moment=_moment(campaign.paused_at), admin=campaign.paused_by
                )
            )
        for name, stamps in self._rows().items():
            if not stamps:
                lines.append(f"{labels[name]}: 0")
                continue
            first, last = _moment(stamps[0]), _moment(stamps[-1])
            span = first if first == last else f"{first} to {last}"
            lines.append(f"{labels[name]}: {len(stamps)} ({span})")
        lines += [_("Failed: {reason}").format(reason=reason) for reason in self.failures()]
        return "\n".join(lines)


def report_labels(_: Gettext) -> dict[str, str]:
    """The report's rows by name, for the chat's text and the admin web's chart alike."""
    return {
        "invited": _("Invited"),
        "accepted": _("Accepted"),
        "declined": _("Declined"),
        "opted_out": _("Opted out"),
        "rendered": _("Rendered"),
        "moderated": _("Moderated"),
        "scheduled": _("Waiting for the send time"),
        "delivered": _("Delivered"),
        "blocked": _("Blocked the bot"),
        "failed": _("Failed"),
        "revoked": _("Consent revoked (excluded, video deleted)"),
        "missed": _("Missed"),
    }


def invite_link(bot_username: str, campaign: Campaign) -> str:
    """The campaign's own invite link: whoever opens it joins the audience."""
    return f"https://t.me/{bot_username}?start={JOIN_PREFIX}{campaign.invite_code}"
