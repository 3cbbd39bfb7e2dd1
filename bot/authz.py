"""Who may do what: the single place where every permission is decided and enforced.

Handlers never check membership, verification or consent themselves. The handler registry
(``bot/flows/__init__.py``) wraps each guarded handler with :func:`guarded`, which asks
:func:`check` and, on refusal, tells the person why and what to do next and writes an audit
entry (one account's same refusal, repeated, once a minute: ``bot.audit.RepeatedEntries``). The
/verify answer asks :func:`may_see_render` how much to show. Before any handler runs,
:func:`admit` decides whether an update belongs in the chat it came from: a person's family,
consent, files and orders only in their private chat, moderation only in the admin chat. Render
jobs ask :func:`bot.family.consent.current_consent` again right before rendering and before
delivering, because consent can be withdrawn while a render runs.
"""

import functools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any

from telegram import Chat, Update
from telegram.ext import CallbackContext

from bot.family.consent import current_consent
from bot.family.guidance import consent_step_text, start_over_text, verification_step_text
from bot.family.spaces import (
    Role,
    SpaceStatus,
    get_space,
    membership_of,
    subject_joined,
    subject_may_rejoin,
)
from bot.i18n import Gettext, sentences
from bot.services import Services, services_of
from bot.storage import remember_user

Context = CallbackContext[Any, Any, Any, Any]
Handler = Callable[[Update, Context], Coroutine[Any, Any, None]]


class Permission(StrEnum):
    UPLOAD_FOOTAGE = "upload_footage"
    ORDER = "order"
    INVITE = "invite"
    CONSENT = "consent"  # the living subject's own spoken consent, or /consent's first step
    AUTHORISE = "authorise"  # next of kin authorising, co-signing or vetoing: deceased only
    REVOKE = "revoke"
    MODERATE = "moderate"
    GET_ORIGINAL = "get_original"  # the untouched file of a greeting of one's own family


class Where(Enum):
    """Where a command, button or text is meant to be used."""

    PRIVATE = "private"  # a person's own family, files and orders: their private chat
    ADMIN_CHAT = "admin_chat"  # moderation, which shows families' data: the admin chat only
    PRIVATE_OR_ADMIN_CHAT = "private_or_admin_chat"  # /admin_login: answered privately anyway


class Admission(Enum):
    """What becomes of an update before any handler sees it."""

    HANDLE = "handle"
    IGNORE = "ignore"  # not for the bot: chatter in a group, an edit, a channel's post
    GO_PRIVATE = "go_private"  # asked in a group: "talk to me in a private chat"
    ADMIN_CHAT_ONLY = "admin_chat_only"  # moderation asked outside the admin chat
    UNKNOWN_SENDER = "unknown_sender"  # asked as a group or channel: nobody to answer for


def admit(
    update: Update, admin_chat_id: int | None, where: Where, asked: bool, is_admin: bool
) -> Admission:
    """Whether ``update`` may reach its handler in the chat it came from.

    ``asked`` is a command or a button press meant for this bot: a refusal is answered (once);
    anything else that does not belong is ignored silently. Only new messages, button presses
    and payments' pre-checkout queries are handled: an edited message is not a new request,
    though in a private chat it is let through to be told so (``bot.flows._edited``).
    Moderation asked by someone who is no moderator goes on to :func:`guarded`, which refuses
    it for that reason (and audits it) wherever it was asked.
    """
    user, chat = update.effective_user, update.effective_chat
    if update.edited_message is not None:
        private = chat is not None and chat.type == Chat.PRIVATE
        by_a_person = user is not None and not user.is_bot
        return Admission.HANDLE if private and by_a_person else Admission.IGNORE
    if update.message is None and update.callback_query is None:
        return Admission.HANDLE if update.pre_checkout_query is not None else Admission.IGNORE
    sent_as_chat = update.message is not None and update.message.sender_chat is not None
    if sent_as_chat or user is None:
        # An anonymous group admin, a channel's post forwarded into its group: the account
        # behind it is unknown, so nothing personal or moderating can be done for it.
        return Admission.UNKNOWN_SENDER if asked else Admission.IGNORE
    if chat is None or user.is_bot or chat.type == Chat.CHANNEL:
        return Admission.IGNORE
    if where != Where.PRIVATE and not is_admin:
        return Admission.HANDLE
    if chat.type == Chat.PRIVATE:
        if where == Where.ADMIN_CHAT and chat.id != admin_chat_id:
            return Admission.ADMIN_CHAT_ONLY
        return Admission.HANDLE
    if chat.id == admin_chat_id and where != Where.PRIVATE:
        return Admission.HANDLE
    if not asked:
        return Admission.IGNORE
    if where == Where.PRIVATE or chat.id == admin_chat_id:
        return Admission.GO_PRIVATE
    return Admission.ADMIN_CHAT_ONLY


@dataclass(frozen=True)
class Denial:
    reason: str  # a stable code for the audit log
    message: str  # what the person reads, in their language


def in_family(services: Services, user_id: int, space_id: str | None) -> bool:
    """A verified member of that family space, whatever has become of its consent since."""
    member = membership_of(services.db, user_id)
    return member is not None and member.verified and member.space_id == space_id


def may_see_render(services: Services, user_id: int, space_id: str | None) -> bool:
    """Who sees a /verify answer in detail (render, family, consent): the render's own family
    and the moderators; everyone else learns only whether this service made the file."""
    return services.is_admin(user_id) or in_family(services, user_id, space_id)


def check(
    services: Services,
    user_id: int,
    permission: Permission,
    _: Gettext,
    space_id: str | None = None,
) -> Denial | None:
    """None when ``user_id`` may do ``permission`` now; otherwise why not, in words.

    ``space_id`` is the family a greeting belongs to, for permissions about one greeting.
    """
    if permission == Permission.MODERATE:
        if services.is_admin(user_id):
            return None
        return Denial("not_admin", _("This command is only for Tuanyuan's moderators."))
    if permission == Permission.GET_ORIGINAL:
        # Checked before the space's state: after a revocation the family is told the file is
        # gone, not that the space is closed.
        if in_family(services, user_id, space_id):
            return None
        return Denial(
            "other_family",
            _("Only verified members of this greeting's family can get its original file."),
        )
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
    # After a revocation consent may be given again, as a new record: nothing else until then.
    if space.status == SpaceStatus.REVOKED and not (
        permission == Permission.CONSENT
        or (permission == Permission.INVITE and subject_may_rejoin(services.db, space))
    ):
        return Denial(
            "revoked",
            sentences(
                _(
                    "Consent for {subject} was withdrawn, so nothing more can be made in this "
                    "family space."
                ).format(subject=subject),
                start_over_text(_, services.db, space),
            ),
        )
    if space.status == SpaceStatus.SETUP:
        return Denial(
            "setup", _("Your family space is not ready yet: please answer my last question first.")
        )
    if permission == Permission.INVITE:
        if member.role != Role.OWNER:
            return Denial(
                "not_owner", _("Only the person who created this family space can invite others.")
            )
        if member.phone_number is None:
            # Links let people into a family's data: whoever hands them out must be known.
            return Denial("unverified", verification_step_text(_, member, space))
        return None
    if permission == Permission.AUTHORISE and not space.deceased:
        # A living subject consents by reading a phrase aloud; a button would skip it.
        return Denial(
            "living_subject",
            _(
                "Only relatives of someone who has died authorise greetings. {subject} gives "
                "consent personally, by reading a phrase aloud."
            ).format(subject=subject),
        )
    if permission in (Permission.CONSENT, Permission.REVOKE) and not space.deceased:
        if member.role != Role.SUBJECT:
            if subject_joined(services.db, space.id):
                how = _("{subject} does it in their own chat with me: /consent to give it, "
                        "/revoke to withdraw it.").format(subject=subject)  # fmt: skip
            else:
                how = _("Send /invite to get a link for them.")
            only = _("Only {subject} can give or withdraw their consent, from their own Telegram "
                     "account.").format(subject=subject)  # fmt: skip
            return Denial("not_subject", sentences(only, how))
        if member.phone_number is None:
            # Whoever opened the subject's link is not yet known to be the subject: they
            # cannot close the family's space in the subject's name.
            return Denial("unverified", verification_step_text(_, member, space))
        return None
    if not member.verified:
        return Denial("unverified", verification_step_text(_, member, space))
    if permission in (Permission.CONSENT, Permission.REVOKE, Permission.AUTHORISE):
        return None
    now = services.clock.now()
    if current_consent(services.db, space, now) is None:
        return Denial("no_consent", consent_step_text(_, services.db, space, now, member))
    return None


def guarded(
    permission: Permission,
    handler: Handler,
    concerns: Callable[[Update, Services], str | None] | None = None,
) -> Handler:
    """``handler``, run only when the sender holds ``permission``; ``concerns`` says which
    family's greeting the update is about, for permissions about one greeting."""

    @functools.wraps(handler)
    async def guard(update: Update, context: Context) -> None:
        user = update.effective_user
        assert user is not None
        services = services_of(context)
        remember_user(services.db, user.id, user.first_name, user.language_code)
        _ = services.gettext_of(user.id)
        space_id = None if concerns is None else concerns(update, services)
        denial = check(services, user.id, permission, _, space_id)
        if denial is None:
            await handler(update, context)
            return
        left_out = services.denials.left_out_before((user.id, permission.value, denial.reason))
        if left_out is not None:
            services.audit.record(
                user.id,
                "authz.denied",
                permission=permission.value,
                reason=denial.reason,
                repeats_left_out=left_out or None,
            )
        if update.callback_query is not None:
            await update.callback_query.answer()
        if update.effective_message is not None:
            await update.effective_message.reply_text(denial.message)

    return guard
