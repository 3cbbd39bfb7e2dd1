"""The admin web's words, in the bot's catalogs.

The templates read them as ``t.<name>``; they are written here, in Python, because the
catalogs are extracted from Python (``make i18n``), so a page's words are translated exactly
like the bot's messages.
"""

from bot.i18n import Gettext


def words(_: Gettext) -> dict[str, str]:
    return {
        "site": _("Tuanyuan moderation"),
        "sign_out": _("Sign out"),
        "sign_in": _("Sign in"),
        "sign_in_as": _("Sign in to the admin web as Telegram user {admin}."),
        "approve": _("Approve"),
        "reject": _("Reject"),
        "reason": _("Reason"),
        "ask_change": _("Ask for a change"),
        "note": _("What should the family change?"),
        "flag": _("Always review this family"),
        "empty_queue": _("Nothing waits for moderation."),
        "shortcuts": _(
            "Keys: j / k next and previous request, a approve, r reject, c ask for a change, "
            "v play the video."
        ),
        "words": _("Words"),
        "photo": _("Photo"),
        "finished_video": _("Finished video: the family has not seen it yet."),
        "family": _("Family"),
        "consent": _("Consent"),
        "festival": _("Festival"),
        "asked_by": _("Asked by"),
        "review_reasons": _("Why it is read"),
        "living": _("living"),
        "deceased": _("deceased"),
        "document": _("Open the document"),
        "no_proofs": _("No proof document waits for review."),
        "relation": _("Relation"),
        "member": _("Member"),
        "members": _("Members"),
        "role": _("Role"),
        "status": _("Status"),
        "verified": _("Verified"),
        "consent_history": _("Consent history"),
        "flagged": _("Every greeting is reviewed"),
        "no_families": _("No family space yet."),
        "action": _("Action"),
        "actor": _("Actor"),
        "filter": _("Filter"),
        "when": _("When"),
        "details": _("Details"),
        "verify_chain": _("Verify the chain"),
        "newer": _("Newer"),
        "older": _("Older"),
        "no_entries": _("No entry matches."),
        "queue_depth": _("Orders waiting for a render"),
        "waiting_moderation": _("Requests waiting for moderation"),
        "workers": _("Render workers"),
        "rendering_now": _("Rendering now"),
        "worker_restarts": _("Worker processes lost and replaced"),
        "render_times": _("Render time (each order's latest take)"),
        "renders": _("Renders"),
        "deliveries": _("Deliveries by outcome"),
        "orders_by_state": _("Orders by state"),
        "recent_errors": _("Recent errors"),
        "none": _("none"),
        "order": _("Order"),
        "error": _("Error"),
    }
