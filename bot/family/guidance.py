"""What a member has to do next, in words: shared by the flows and by authorisation refusals.

Whenever the bot refuses or a member seems lost, the answer ends with the one next step that
moves them forward, so nobody is left guessing what "not verified" means.
"""

from datetime import datetime

from sqlite_utils import Database

from bot.family.consent import (
    ConsentRecord,
    awaiting_cosigners,
    lapsed_grant,
    material_deleted_on,
    signatures,
    signatures_missing,
)
from bot.family.spaces import (
    Member,
    MemberStatus,
    Role,
    Space,
    members_of,
    subject_joined,
    subject_may_rejoin,
)
from bot.i18n import Gettext, sentences


def verification_step_text(_: Gettext, member: Member, space: Space) -> str:
    subject = space.subject_name or ""
    steps = {
        MemberStatus.CONTACT: _(
            "To verify you, please share your phone number with the button below. "
            "It must be the number of this Telegram account."
        ),
        MemberStatus.RELATION: _(
            "How are you related to {subject}? Type it, for example: granddaughter."
        ),
        MemberStatus.PROOF: _(
            "Please send a proof document that shows your relation to {subject} and that they "
            "have died (a death certificate or household register), as a photo or a PDF."
        ),
        MemberStatus.REVIEW: _(
            "A moderator is reviewing your proof document. I will tell you as soon as they have."
        ),
        MemberStatus.STATEMENT: _(
            "Please read the phrase I sent you aloud as a voice or video message. "
            "Send /consent to get a new phrase."
        ),
        MemberStatus.VERIFIED: _("You are verified in the family space for {subject}."),
    }
    return steps[member.status].format(subject=subject)


def start_over_text(_: Gettext, db: Database, space: Space) -> str:
    """How a family whose consent was withdrawn makes greetings again."""
    if space.deceased:
        return _(
            "To start over, a verified relative authorises again with /consent; then send the "
            "photo and voice notes again."
        )
    if subject_may_rejoin(db, space):
        return _(
            "To start over, {subject} needs a new link, which the family space's owner gets "
            "with /invite: opening it, {subject} gives consent again from their own Telegram "
            "account. Then send the photo and voice notes again."
        ).format(subject=space.subject_name or "")
    return _(
        "To start over, {subject} gives consent again with /consent; then send the photo and "
        "voice notes again."
    ).format(subject=space.subject_name or "")


def consent_step_text(
    _: Gettext, db: Database, space: Space, now: datetime, member: Member | None = None
) -> str:
    """Why no greeting can be made until consent is given, and who gives it (said to
    ``member``, or to any relative): a deceased subject's relatives with /consent (where an
    authorisation waits for co-signers, what is left to do: ``cosign_step_text``); a living
    subject themself, sent a link with /invite until they have joined and from then on with
    /consent in their own chat. A consent whose year has run out is named as such, with its
    date: the family had it, and may not know it lasts a year."""
    subject = space.subject_name or ""
    role = member.role if member is not None else Role.MEMBER
    lapsed = lapsed_grant(db, space, now)
    # Before any year ended, an authorisation short of co-signers is the whole story; after one,
    # the end and its material's date come first, and /consent shows the rest.
    if space.deceased and lapsed is None and member is not None:
        pending = awaiting_cosigners(db, space, now)
        if pending is not None:
            return cosign_step_text(_, db, space, pending, member)
    ended = (lapsed.valid_until or "")[:10] if lapsed is not None else ""
    if role == Role.SUBJECT and lapsed is not None:
        text = _("Your consent ended on {date}: consent lasts one year. Send /consent to give "
                 "it again.")  # fmt: skip
    elif role == Role.SUBJECT:
        text = _("Next: consent. Send /consent to see what is needed.")
    elif space.deceased and lapsed is not None:
        text = _(
            "The authorisation of greetings from {subject} ended on {date}: it lasts one year. "
            "Send /consent to authorise them again."
        )
    elif space.deceased:
        text = _(
            "Greetings can be made once verified relatives have authorised them. "
            "Send /consent to authorise."
        )
    elif lapsed is not None:
        text = _(
            "{subject}'s consent ended on {date}: consent lasts one year. Ask {subject} to send "
            "me /consent from their own Telegram account to give it again."
        )
    elif subject_joined(db, space.id):
        text = _(
            "Greetings can be made once {subject} has consented. Ask {subject} to send me "
            "/consent from their own Telegram account."
        )
    else:
        text = _(
            "Greetings can be made once {subject} has consented from their own Telegram "
            "account. Send /invite to get a link for them."
        )
    text = text.format(subject=subject, date=ended)
    if lapsed is None:
        return text
    return sentences(text, _material_text(_, space, lapsed, now, role))


def cosign_step_text(
    _: Gettext, db: Database, space: Space, grant: ConsentRecord, member: Member
) -> str:
    """Where an authorisation short of co-signers leaves ``member``. Having signed it: how many
    must still sign and, for the owner when too few verified relatives are left to sign it, that
    /invite brings them (she signed alone, and was told only that co-signers were needed). Not
    having signed it: that it waits for them."""
    signed = signatures(db, grant)
    if member.user_id not in signed:
        return _("An authorisation awaits your co-signature: send /consent to read it.")
    missing = signatures_missing(db, space, grant)
    text = _(
        "Your authorisation is recorded. {count} more verified relative(s) must co-sign."
    ).format(count=missing)
    can_sign = [m for m in members_of(db, space.id) if m.verified and m.user_id not in signed]
    if member.role != Role.OWNER or len(can_sign) >= missing:
        return text
    invite = _("Invite relatives with /invite: once verified, each co-signs it with /consent.")
    return sentences(text, invite)


def _material_text(
    _: Gettext, space: Space, lapsed: ConsentRecord, now: datetime, role: Role
) -> str:
    """What becomes of the photos and voice notes once consent has ended: kept until a date,
    or deleted on it."""
    deleted_on = material_deleted_on(lapsed)
    if deleted_on > now and role == Role.SUBJECT:
        text = _("Unless you give it again by {date}, your photos, videos and voice notes kept "
                 "for greetings are deleted that day.")  # fmt: skip
    elif deleted_on > now:
        text = _(
            "Unless it is given again by {date}, the photos, videos and voice notes of "
            "{subject} kept for greetings are deleted that day."
        )
    elif role == Role.SUBJECT:
        text = _(
            "Your photos, videos and voice notes kept for greetings were deleted on {date}; "
            "greetings already sent stay with your family. Once you give it again, your family "
            "can send new ones."
        )
    else:
        text = _(
            "The photos, videos and voice notes of {subject} kept for greetings were deleted "
            "on {date}; greetings already sent stay in your chats. Once it is given again, "
            "send new ones."
        )
    return text.format(subject=space.subject_name or "", date=deleted_on.date().isoformat())
