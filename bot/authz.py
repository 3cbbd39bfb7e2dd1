"""Who may do what: the single place where every permission is decided and enforced.

Handlers never check membership, verification or consent themselves. The handler registry
(``bot/flows/__init__.py``) wraps each guarded handler with :func:`guarded`, which asks
:func:`check` and, on refusal, tells the person why and what to do next and writes an audit
entry. Render jobs ask :func:`bot.family.consent.current_consent` again right before rendering
and before delivering, because consent can be withdrawn while a render runs.
"""

import functools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from telegram import Update
from telegram.ext import CallbackContext

from bot.family.consent import current_consent
from bot.family.guidance import verification_step_text
from bot.family.spaces import Role, SpaceStatus, get_space, membership_of
from bot.i18n import Gettext
from bot.services import Services, services_of
from bot.storage import remember_user

Context = CallbackContext[Any, Any, Any, Any]
Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]


class Permission(StrEnum):
    UPLOAD_FOOTAGE = "upload_footage"
    ORDER = "order"
    INVITE = "invite"
    CONSENT = "consent"
    REVOKE = "revoke"
    MODERATE = "moderate"


@dataclass(frozen=True)
class Denial:
    reason: str  # a stable code for the audit log
    message: str  # what the person reads, in their language


def check(services: Services, user_id: int, permission: Permission, _: Gettext) -> Denial | None:
    """None when ``user_id`` may do ``permission`` now; otherwise why not, in words."""
    if permission == Permission.MODERATE:
        if services.is_admin(user_id):
            return None
        return Denial("not_admin", _("This command is only for Tuanyuan's moderators."))
    member = membership_of(services.db, user_id)
    if member is None:
        return Denial(
            "not_member",
            _(
                "Only verified members of a family space can do this. Send /newspace to create "
                "a space for your loved one, or open the invite link a relative sent you."
            ),
        )
    space = get_space(services.db, member.space_id)
    subject = space.subject_name or ""
    if space.status == SpaceStatus.REVOKED:
        return Denial(
            "revoked",
            _(
                "Consent for {subject} was withdrawn, so nothing more can be made in this "
                "family space."
            ).format(subject=subject),
        )
    if space.status == SpaceStatus.SETUP:
        return Denial(
            "setup", _("Your family space is not ready yet: please answer my last question first.")
        )
    if permission == Permission.INVITE:
        if member.role == Role.OWNER:
            return None
        return Denial(
            "not_owner", _("Only the person who created this family space can invite others.")
        )
    if permission in (Permission.CONSENT, Permission.REVOKE) and not space.deceased:
        if member.role == Role.SUBJECT:
            return None
        return Denial(
            "not_subject",
            _(
                "Only {subject} can give or withdraw their consent, from their own Telegram "
                "account. Send /invite to get a link for them."
            ).format(subject=subject),
        )
    if not member.verified:
        return Denial("unverified", verification_step_text(_, member, space))
    if permission in (Permission.CONSENT, Permission.REVOKE):
        return None
    if current_consent(services.db, space, services.clock.now()) is None:
        if space.deceased:
            text = _(
                "Greetings can be made once verified relatives have authorised them. "
                "Send /consent to authorise."
            )
        else:
            text = _(
                "Greetings can be made once {subject} has consented from their own Telegram "
                "account. Send /invite to get a link for them."
            )
        return Denial("no_consent", text.format(subject=subject))
    return None


def guarded(permission: Permission, handler: Handler) -> Handler:
    """``handler``, run only when the sender holds ``permission``."""

    @functools.wraps(handler)
    async def guard(update: Update, context: Context) -> None:
        user = update.effective_user
        assert user is not None
        services = services_of(context)
        remember_user(services.db, user.id, user.first_name, user.language_code)
        _ = services.gettext_of(user.id)
        denial = check(services, user.id, permission, _)
        if denial is None:
            await handler(update, context)
            return
        services.audit.record(
            user.id, "authz.denied", permission=permission.value, reason=denial.reason
        )
        if update.callback_query is not None:
            await update.callback_query.answer()
        if update.effective_message is not None:
            await update.effective_message.reply_text(denial.message)

    return guard
