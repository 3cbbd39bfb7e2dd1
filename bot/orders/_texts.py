"""What families and moderators read about an order: its status line, the preview's caption,
the moderation card, and the buttons under each.

Families never see internal ids: an order is named by its festival and recipient.
"""

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.clock import parse_iso
from bot.delivery import is_voice_message
from bot.family.consent import ConsentRecord
from bot.family.spaces import Member, Space
from bot.i18n import Gettext, Language, sentences
from bot.storage import Order, OrderStatus
from engine import template_title

# Callback data: prefix + order id (16 hex characters), far inside Telegram's 64 bytes.
SEND_PREFIX = "ord:send:"
REVOKE_FROM_NOTICE = "revoke:ask"  # under the living subject's notice of a greeting
REMAKE_PREFIX = "ord:again:"
CANCEL_PREFIX = "ord:cancel:"
RESEND_PREFIX = "ord:resend:"
APPROVE_PREFIX = "mod:ok:"
REJECT_PREFIX = "mod:no:"
REASON_PREFIX = "mod:why:"  # + reason code + ":" + order id
CHANGE_PREFIX = "mod:ask:"
FLAG_PREFIX = "mod:flag:"
BACK_PREFIX = "mod:back:"  # from the reasons to the card's decisions: Reject was a slip

REJECTION_REASONS = ("hurtful", "not_theirs", "private_data", "not_a_greeting", "poor_video")


def rejection_reasons(order: Order) -> tuple[str, ...]:
    """Why a moderator may turn the request down: the finished video's reason only once there
    is a video to watch."""
    if order.status == OrderStatus.VIDEO_REVIEW:
        return REJECTION_REASONS
    return tuple(code for code in REJECTION_REASONS if code != "poor_video")


def rejection_text(_: Gettext, code: str) -> str:
    reasons = {
        "hurtful": _("the words could hurt or upset someone"),
        "not_theirs": _("the words put things in the person's mouth that they would not say"),
        "private_data": _("the words contain private details such as phone numbers or addresses"),
        "not_a_greeting": _("it is not a festival greeting"),
        "poor_video": _("the finished video does not show the person well"),
    }
    return reasons[code]


def review_reason_text(_: Gettext, code: str) -> str:
    reasons = {
        "personal_message": _("personal message"),
        "deceased": _("deceased subject"),
        "flagged_family": _("family flagged for review"),
        "word_list": _("word list"),
    }
    return reasons.get(code, code)


def festival(order: Order, reader: Language) -> str:
    """The festival's name in the ``reader``'s language: the member's, a moderator's, or the
    living subject's, who may each read another."""
    return template_title(order.template_id or "", reader)


def title(_: Gettext, order: Order, reader: Language) -> str:
    return _("Greeting for {recipient} ({festival})").format(
        recipient=order.recipient, festival=festival(order, reader)
    )


def status_line(_: Gettext, reader: Language, order: Order, detail: str | None = None) -> str:
    """The status message's text for the order as it stands; ``detail`` refines rendering."""
    s = OrderStatus
    lines = {
        s.AWAITING_PAYMENT: _("Waiting for payment: {stars} Stars.").format(
            stars=order.price_stars
        ),
        s.MODERATION: _("Waiting for a moderator to read the words."),
        s.CHANGES_REQUESTED: _("A moderator asked for a change: please send the new words."),
        s.QUEUED: _("Waiting to be made."),
        s.RENDERING: _("Making the greeting..."),
        s.VIDEO_REVIEW: _("Made. A moderator watches it before you receive it."),
        s.PREVIEW: _("The preview is below: send it, make it again, or cancel."),
        s.SCHEDULED: _("Made. It will be delivered on the festival day."),
        s.DELIVERING: _("Sending the final video..."),
        s.DELIVERED: _("Delivered. You can forward it to {recipient}.").format(
            recipient=order.recipient
        ),
        s.REJECTED: _("Not made: a moderator declined it."),
        s.FAILED: _("Sorry, this greeting could not be made."),
        s.UNDELIVERABLE: _("Could not be delivered."),
        s.CANCELLED: _("Cancelled."),
        s.REVOKED: _("Withdrawn: consent was revoked and the greeting deleted."),
    }
    line = detail if detail is not None else lines.get(order.status, "")
    return f"{title(_, order, reader)}\n{line}"


def consent_gone(_: Gettext, order: Order, withdrawn: bool) -> str:
    """Why an order was cancelled without the member asking: consent withdrawn (the space was
    revoked) or no longer current; and that what they paid comes back."""
    if withdrawn:
        text = _(
            "Cancelled because consent was withdrawn: the greeting for {recipient} was not made "
            "or sent."
        )
    else:
        text = _(
            "Cancelled because consent is no longer current: the greeting for {recipient} was "
            "not made or sent."
        )
    text = text.format(recipient=order.recipient)
    if order.charge_id is not None:
        text = sentences(
            text, _("The {stars} Stars you paid are refunded.").format(stars=order.price_stars)
        )
    return text


def queued_detail(_: Gettext, position: int) -> str:
    return _("In the queue: number {position}.").format(position=position)


def rendering_detail(_: Gettext, stage: str, fraction: float) -> str:
    if stage == "marking":
        return _("Marking it as made with AI...")
    if stage == "uploading":
        return _("Sending you the preview...")
    return _("Making the greeting: {percent}%").format(percent=min(99, round(100 * fraction)))


def preview_caption(_: Gettext, order: Order, takes_left: int) -> str:
    caption = _(
        "PREVIEW of your greeting for {recipient}. It was made with AI. "
        "Nothing is sent to anyone until you press Send it."
    ).format(recipient=order.recipient)
    if takes_left == 0:
        caption += "\n" + _("This is the last take.")
    if order.charge_id is not None:  # said before Cancel is pressed, not only after
        caption += "\n" + _(
            "If you cancel now, the {stars} Stars are not refunded: the greeting is already made."
        ).format(stars=order.price_stars)
    return caption


def preview_buttons(_: Gettext, order: Order, may_remake: bool) -> InlineKeyboardMarkup:
    row = [InlineKeyboardButton(_("Send it"), callback_data=SEND_PREFIX + order.id)]
    if may_remake:
        row.append(InlineKeyboardButton(_("Make it again"), callback_data=REMAKE_PREFIX + order.id))
    row.append(InlineKeyboardButton(_("Cancel"), callback_data=CANCEL_PREFIX + order.id))
    return InlineKeyboardMarkup([row])


def remake_without_consent(_: Gettext, subject: str) -> str:
    return _(
        "Consent for greetings from {subject} is not current, so this greeting cannot be made "
        "again now. This take can still be sent: press Send it."
    ).format(subject=subject)


def remake_without_material(_: Gettext) -> str:
    return _(
        "The photos and videos this greeting was made from have been deleted, so it cannot be "
        "made again. Press Send it to send this take, or send a new photo to make a new "
        "greeting."
    )


def cancelled_text(_: Gettext, order: Order) -> str:
    """The answer to Cancel: a paid greeting cancelled once made keeps its Stars (the desk's
    ``cancel``); one cancelled before is refunded, which its own notice says."""
    if order.charge_id is not None and not order.refund_due:
        return _(
            "Cancelled. The {stars} Stars are not refunded: the greeting had already been made."
        ).format(stars=order.price_stars)
    return _("Cancelled.")


def campaign_preview_caption(_: Gettext, order: Order, zone: ZoneInfo) -> str:
    """A campaign greeting's preview: nothing to press, it comes back at its send time."""
    when = parse_iso(order.send_at or "").astimezone(zone)
    return _(
        "PREVIEW of your festival greeting for {recipient}. It was made with AI. "
        "The final video will be sent here on {date} at {time} ({zone})."
    ).format(
        recipient=order.recipient,
        date=when.date().isoformat(),
        time=when.strftime("%H:%M"),
        zone=zone.key,
    )


def campaign_preview_buttons(_: Gettext, order: Order) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("Cancel"), callback_data=CANCEL_PREFIX + order.id)]]
    )


def resend_button(_: Gettext, order: Order) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(_("Show it again"), callback_data=RESEND_PREFIX + order.id)]]
    )


def unsure_text(_: Gettext, order: Order) -> str:
    """Asked where no status message is (a campaign greeting) when Telegram may or may not
    have shown the greeting: sending it again unasked could make a second copy."""
    return _(
        "Your greeting for {recipient} may not have reached you: the connection to Telegram "
        "failed while it was sent. If you cannot see it above, press Show it again."
    ).format(recipient=order.recipient)


def final_caption(_: Gettext, order: Order) -> str:
    if is_voice_message(order):
        text = _("Your greeting for {recipient} is ready. This voice message was made with AI.")
    else:
        text = _("Your greeting for {recipient} is ready. This video was made with AI.")
    return text.format(recipient=order.recipient)


def likeness_notice(
    _: Gettext, reader: Language, order: Order, sender: str
) -> tuple[str, InlineKeyboardMarkup]:
    """What the living subject reads each time a greeting made from their likeness goes out (a
    voice message has only their voice), and the button that withdraws consent from there."""
    if is_voice_message(order):
        text = _(
            "A greeting in your voice was sent: {festival}, for {recipient}, made by {sender} "
            "on {date}. It is marked as made with AI. You can withdraw your consent at any time."
        )
    else:
        text = _(
            "A greeting with your face and voice was sent: {festival}, for {recipient}, made by "
            "{sender} on {date}. It is marked as made with AI. You can withdraw your consent "
            "at any time."
        )
    button = InlineKeyboardButton(_("Withdraw my consent"), callback_data=REVOKE_FROM_NOTICE)
    return text.format(
        festival=festival(order, reader),
        recipient=order.recipient,
        sender=sender,
        date=order.created_at[:10],
    ), InlineKeyboardMarkup([[button]])


def consent_summary(_: Gettext, space: Space, consent: ConsentRecord | None) -> str:
    if consent is None:
        return _("no current consent")
    until = (consent.valid_until or "")[:10]
    if space.deceased:
        return _("authorised by next of kin on {date}, valid until {until}").format(
            date=consent.created_at[:10], until=until
        )
    return _("given by the person on {date}, valid until {until}").format(
        date=consent.created_at[:10], until=until
    )


@dataclass(frozen=True)
class CardFacts:
    """Everything a moderator judges an order by: the chat's card and the admin web show it."""

    order: Order
    space: Space
    consent: ConsentRecord | None
    requester: str
    member: Member | None
    words: str  # the exact words the greeting will say
    reasons: list[str]  # why it is read first (bot.moderation.REVIEW_REASONS)


def card_text(_: Gettext, reader: Language, facts: CardFacts) -> str:
    """The moderation card as the admin chat shows it, its exact words last."""
    order, space, member = facts.order, facts.space, facts.member
    status = _("deceased") if space.deceased else _("living")
    text = _(
        "Greeting request to review ({reasons})\n"
        "Family: {subject}, {status} (space {space})\n"
        "Consent: {consent}\n"
        "Festival: {festival}\n"
        "Asked by: {requester}, {relation} (user {user_id})\n"
        "Words:\n{text}"
    ).format(
        reasons=", ".join(review_reason_text(_, reason) for reason in facts.reasons),
        subject=space.subject_name,
        status=status,
        space=space.id[:8],
        consent=consent_summary(_, space, facts.consent),
        festival=festival(order, reader),
        requester=facts.requester,
        relation=member.relation if member is not None else "?",
        user_id=order.user_id,
        text=facts.words,
    )
    if order.campaign_id is None:
        return text
    # An organiser's greeting, one of many families': judged as one of its campaign's.
    return _("Campaign {campaign}").format(campaign=order.campaign_id) + "\n" + text


def card_buttons(_: Gettext, order: Order) -> InlineKeyboardMarkup:
    """The decisions on a request; new words can be asked for only before the render (a
    finished video is approved or rejected)."""
    rows = [
        [
            InlineKeyboardButton(_("Approve"), callback_data=APPROVE_PREFIX + order.id),
            InlineKeyboardButton(_("Reject"), callback_data=REJECT_PREFIX + order.id),
        ]
    ]
    if order.status == OrderStatus.MODERATION:
        rows.append(
            [InlineKeyboardButton(_("Ask for a change"), callback_data=CHANGE_PREFIX + order.id)]
        )
    rows.append(
        [InlineKeyboardButton(_("Always review this family"), callback_data=FLAG_PREFIX + order.id)]
    )
    return InlineKeyboardMarkup(rows)


def reason_buttons(_: Gettext, order: Order) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(rejection_text(_, code),
                              callback_data=f"{REASON_PREFIX}{code}:{order.id}")]
        for code in rejection_reasons(order)
    ]  # fmt: skip
    rows.append([InlineKeyboardButton(_("Back"), callback_data=BACK_PREFIX + order.id)])
    return InlineKeyboardMarkup(rows)
