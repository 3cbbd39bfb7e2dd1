"""What the pages call the stored codes (an order's state, a member's step, a consent record's
kind...), in the moderator's language; the templates read ``n["<kind>.<code>"]``."""

from bot.i18n import Gettext


def names(_: Gettext) -> dict[str, str]:
    return {
        "order.collecting": _("being prepared"),
        "order.awaiting_payment": _("waiting for payment"),
        "order.moderation": _("waiting for a moderator"),
        "order.changes_requested": _("change asked"),
        "order.queued": _("queued"),
        "order.rendering": _("rendering"),
        "order.video_review": _("video waiting for a moderator"),
        "order.preview": _("preview sent"),
        "order.delivering": _("delivering"),
        "order.delivered": _("delivered"),
        "order.rejected": _("rejected"),
        "order.failed": _("failed"),
        "order.undeliverable": _("undeliverable"),
        "order.cancelled": _("cancelled"),
        "order.revoked": _("consent withdrawn"),
        "outcome.sent": _("sent"),
        "outcome.refused": _("refused by Telegram"),
        "outcome.unknown": _("unknown (interrupted)"),
        "space.setup": _("being set up"),
        "space.active": _("active"),
        "space.revoked": _("consent withdrawn"),
        "role.owner": _("owner"),
        "role.member": _("relative"),
        "role.subject": _("the person"),
        "member.contact": _("phone number to share"),
        "member.relation": _("relation to state"),
        "member.proof": _("proof document to send"),
        "member.review": _("proof under review"),
        "member.statement": _("consent phrase to record"),
        "member.verified": _("verified"),
        "consent.grant": _("consent given"),
        "consent.cosign": _("co-signed"),
        "consent.veto": _("vetoed"),
        "consent.revocation": _("withdrawn"),
        "method.living_statement": _("spoken by the person"),
        "method.next_of_kin": _("next of kin"),
        "method.command": _("by command"),
    }
