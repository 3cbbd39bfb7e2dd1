"""/start as a card: where the sender is and the one thing to do next, not the whole manual.

People press /start when they are lost (a stale keyboard, a week away, a new phone), so the
answer is short: what is done, then the next step with its button when it has one. The long
explanation is /help's.
"""

from telegram import Update

from bot.family.consent import current_consent
from bot.family.guidance import consent_step_text, start_over_text
from bot.family.spaces import SpaceStatus, get_space, membership_of
from bot.flows.basics import Context, caller
from bot.flows.campaign import ask_again, asked_last
from bot.flows.family import ask_setup_step, send_next_step
from bot.flows.order import ask_for_photo, ask_next_step
from bot.i18n import sentences
from bot.orders import status_line
from bot.storage.orders import draft_for, orders_of


async def start_card(update: Update, context: Context) -> None:
    services, message, user_id, _ = caller(update, context)
    member = membership_of(services.db, user_id)
    if member is None:
        await message.reply_text(
            _(
                "Welcome to Tuanyuan: festival greeting videos in the voice and face of someone "
                "you love, made only with consent.\n\nNext: send /newspace to create a family "
                "space for them, or open the invite link a relative sent you. /help explains "
                "everything."
            )
        )
        return
    space = get_space(services.db, member.space_id)
    subject = space.subject_name or "…"
    if space.status == SpaceStatus.SETUP:
        await message.reply_text(_("You are creating a family space (send /cancel to stop)."))
        await ask_setup_step(message, space, _)
        return
    done = _("Family space for {subject}.").format(subject=subject)
    if space.status == SpaceStatus.REVOKED:
        await message.reply_text(
            sentences(done, _(
                "Consent was withdrawn and everything made from {subject}'s face and voice was "
                "deleted."
            ).format(subject=subject), start_over_text(_, services.db, space))
        )  # fmt: skip
        return
    if not member.verified:
        await send_next_step(message, _, member, space, before=done)
        return
    now = services.clock.now()
    if current_consent(services.db, space, now) is None:
        step = consent_step_text(_, services.db, space, now, member)
        await message.reply_text(sentences(done, step))
        return
    latest = orders_of(services.db, user_id, 1)
    if latest:
        status = status_line(_, services.language_of(user_id), latest[0])
        done += "\n" + _("Your latest greeting: {status}").format(status=status)
    await message.reply_text(done)
    invitation = asked_last(services, user_id)
    draft = draft_for(services.db, user_id)
    if invitation is not None:
        await ask_again(message, services, user_id, invitation, _)
    elif draft is not None:
        await ask_next_step(message, services, draft, _)
    else:
        await ask_for_photo(message, services, member, _)
