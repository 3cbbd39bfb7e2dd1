"""Proof documents: a relative of a deceased subject shows how they are related, and a
moderator approves or rejects it with a fixed reason.

The decision is made here once, for the admin chat's buttons and the admin web alike: the
member's new status, the audit entry with the moderator's id, and the member told the outcome
in their own language, whatever language the moderator reads.
"""

from collections.abc import Callable

import structlog
from sqlite_utils import Database
from telegram import Bot
from telegram.error import TelegramError

from bot.audit import AuditLog
from bot.clock import Clock, iso
from bot.family.consent import awaiting_cosigners, current_consent
from bot.family.spaces import Member, MemberStatus, get_space, membership_of, update_member
from bot.i18n import Gettext, gettext_for
from bot.storage import get_language

log = structlog.get_logger(__name__)

REJECTION_REASONS = ("unreadable", "mismatch", "not_proof")


def reason_text(_: Gettext, code: str) -> str:
    reasons = {
        "unreadable": _("the document cannot be read"),
        "mismatch": _("the names on the document do not match"),
        "not_proof": _("the document does not show the relation or the death"),
    }
    return reasons[code]


def waiting_for_review(db: Database) -> list[Member]:
    """Members whose proof a moderator has not judged yet, those who joined first first."""
    rows = db.query(
        "SELECT user_id FROM members WHERE status = ? ORDER BY joined_at",
        [MemberStatus.REVIEW.value],
    )
    return [member for row in rows if (member := membership_of(db, int(row["user_id"])))]


class OwnFamily(Exception):
    """The moderator belongs to the family whose proof this is: another moderator decides."""


def under_review(
    db: Database, audit: AuditLog, space_id: str, user_id: int, admin_id: int
) -> Member | None:
    """The member of that space whose proof still waits, for ``admin_id`` to judge; None once
    it was judged. Raises :class:`OwnFamily` (audited) when the moderator is a member of that
    family space themself: nobody vouches for their own relatives."""
    member = membership_of(db, user_id)
    if member is None or member.space_id != space_id or member.status != MemberStatus.REVIEW:
        return None
    moderator = membership_of(db, admin_id)
    if moderator is not None and moderator.space_id == space_id:
        audit.record(admin_id, "admin.own_family_refused", space=space_id, member=user_id)
        raise OwnFamily(space_id)
    return member


def own_family_text(_: Gettext) -> str:
    return _(
        "You are a member of this family space, so another moderator must decide on its "
        "proof documents."
    )


async def approve(
    bot: Bot, db: Database, audit: AuditLog, clock: Clock, member: Member, admin_id: int
) -> None:
    member = update_member(db, member, status=MemberStatus.VERIFIED.value,
                           verified_at=iso(clock.now()), verified_by=admin_id)  # fmt: skip
    audit.record(admin_id, "admin.approved", space=member.space_id, member=member.user_id)
    space = get_space(db, member.space_id)
    now = clock.now()
    # The next step as it stands: a relative verified after the others authorised has
    # nothing to authorise, or an authorisation to co-sign.
    if current_consent(db, space, now) is not None:
        approved = _approved_and_authorised
    elif awaiting_cosigners(db, space, now) is not None:
        approved = _approved_to_co_sign
    else:
        approved = _approved_to_authorise
    await _tell(bot, db, member.user_id, lambda _: approved(_).format(subject=space.subject_name))


def _approved_to_authorise(_: Gettext) -> str:
    return _(
        "A moderator approved your proof document: you are a verified relative of {subject}. "
        "Send /consent to authorise greetings."
    )


def _approved_to_co_sign(_: Gettext) -> str:
    return _(
        "A moderator approved your proof document: you are a verified relative of {subject}. "
        "An authorisation awaits your co-signature: send /consent to read it."
    )


def _approved_and_authorised(_: Gettext) -> str:
    return _(
        "A moderator approved your proof document: you are a verified relative of {subject}. "
        "Greetings from {subject} are authorised: send a clear photo of {subject}'s face to "
        "make one."
    )


async def reject(
    bot: Bot, db: Database, audit: AuditLog, member: Member, admin_id: int, code: str
) -> None:
    """``code`` is one of :data:`REJECTION_REASONS`; the member is asked for another document."""
    update_member(db, member, status=MemberStatus.PROOF.value, review_reason=code)
    audit.record(admin_id, "admin.rejected", space=member.space_id, member=member.user_id,
                 reason=code)  # fmt: skip
    await _tell(bot, db, member.user_id, lambda _: _(
        "A moderator could not accept your proof document: {reason}. "
        "Please send another one, as a photo or a PDF."
    ).format(reason=reason_text(_, code)))  # fmt: skip


async def _tell(bot: Bot, db: Database, user_id: int, compose: Callable[[Gettext], str]) -> None:
    try:
        await bot.send_message(user_id, compose(gettext_for(get_language(db, user_id))))
    except TelegramError as error:
        log.warning("review.outcome_lost", user_id=user_id, error=str(error))
