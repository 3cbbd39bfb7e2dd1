"""A member's own data: /mydata sends it all, /delete_me removes the member and what they sent."""

import contextlib

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot.family.consent import current_consent
from bot.family.erasure import delete_member, withdraws_consent
from bot.family.export import export_member, remember_export
from bot.family.spaces import (
    Role,
    Space,
    SpaceStatus,
    get_space,
    members_of,
    membership_of,
)
from bot.flows.basics import Context, remember_sender, remove_buttons
from bot.flows.consent import receipt_text, tell_withdrawn
from bot.i18n import Gettext, sentences
from bot.services import Services, services_of

DELETE_CONFIRM = "delme:yes"
DELETE_KEEP = "delme:no"


async def my_data(update: Update, context: Context) -> None:
    remember_sender(update, context)
    services = services_of(context)
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    _ = services.gettext_of(user.id)
    archive, left_out = export_member(services, user.id)
    services.audit.record(user.id, "data.exported", files_left_out=left_out)
    member = membership_of(services.db, user.id)
    if member is not None and member.role == Role.SUBJECT:
        caption = _(
            "Everything Tuanyuan keeps about you: data.json, the files you sent, and the photos, "
            "videos and recordings of you that your family sent, with the greetings made from "
            "them."
        )
    else:
        caption = _("Everything Tuanyuan keeps about you: data.json and the files you sent.")
    if left_out:
        caption += "\n" + _(
            "{count} file(s) did not fit Telegram's 50 MB limit and were left out."
        ).format(count=left_out)
    sent = await message.reply_document(archive, filename="tuanyuan-my-data.zip", caption=caption)
    space_id = member.space_id if member is not None else None
    remember_export(services.db, user.id, space_id, sent.message_id, services.clock.now())


async def delete_me(update: Update, context: Context) -> None:
    remember_sender(update, context)
    services = services_of(context)
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    _ = services.gettext_of(user.id)
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(_("Delete me and my files"), callback_data=DELETE_CONFIRM)],
            [InlineKeyboardButton(_("Cancel"), callback_data=DELETE_KEEP)],
        ]
    )
    member = membership_of(services.db, user.id)
    if member is not None and withdraws_consent(member):
        warning = _(
            "This removes you from your family space and deletes everything you sent: photos, "
            "voice notes, documents and your greetings. You are the person in the greetings, so "
            "your consent is withdrawn too and everything made from your face and voice is "
            "deleted. This cannot be undone."
        )
    else:
        warning = _(
            "This removes you from your family space and deletes everything you sent: photos, "
            "voice notes, documents and your greetings. This cannot be undone."
        )
    await message.reply_text(warning, reply_markup=keyboard)


async def delete_kept(update: Update, context: Context) -> None:
    """Cancel under /delete_me's question: the question shows the answer, nothing changes."""
    query = update.callback_query
    assert query is not None
    _ = services_of(context).gettext_of(query.from_user.id)
    await query.answer()
    await query.edit_message_text(_("Nothing was deleted."))


async def delete_confirmed(update: Update, context: Context) -> None:
    services = services_of(context)
    query = update.callback_query
    assert query is not None and update.effective_message is not None
    _ = services.gettext_of(query.from_user.id)
    await query.answer()
    await remove_buttons(query)
    user_id = query.from_user.id
    member = membership_of(services.db, user_id)
    space = get_space(services.db, member.space_id) if member is not None else None
    now = services.clock.now()
    consented = space is not None and current_consent(services.db, space, now) is not None
    receipt = await delete_member(services, context.bot, user_id)
    await update.effective_message.reply_text(
        _(
            "You have been removed and your files deleted. Deletion receipt:\n{receipt}\n\n"
            "Kept: the consent records you signed, which hold no face or voice data."
        ).format(receipt=receipt_text(_, receipt))
    )
    if space is not None:
        await _tell_the_family(
            context.bot, services, space, consented, user_id, query.from_user.first_name
        )


async def _tell_the_family(
    bot: Bot, services: Services, before: Space, consented: bool, left: int, name: str
) -> None:
    """Who stays learns what the departure changed for them: consent withdrawn when it closed
    the space; an authorisation that stood on the leaver's signature gone (greetings stop);
    for the relative who inherits the space, that it is theirs to look after."""
    after = get_space(services.db, before.id)
    if before.status != SpaceStatus.REVOKED and after.status == SpaceStatus.REVOKED:
        await tell_withdrawn(bot, services, after, left)
        return
    lost = consented and current_consent(services.db, after, services.clock.now()) is None
    heir = after.owner_id if after.owner_id != before.owner_id else None
    if not lost and heir is None:
        return

    def compose(_: Gettext, inherits: bool) -> str:
        parts = [_("{name} has left the family space for {subject}.").format(
            name=name, subject=after.subject_name)]  # fmt: skip
        if inherits:
            parts.append(_("You now look after it: you invite relatives with /invite."))
        if lost:
            parts.append(
                _(
                    "Their signature was part of the authorisation of greetings from "
                    "{subject}, so greetings stop until enough verified relatives have "
                    "signed again: send /consent."
                ).format(subject=after.subject_name)
            )
        return sentences(*parts)  # fmt: skip

    for member in members_of(services.db, after.id):
        if member.user_id == heir or (lost and member.verified):
            _ = services.gettext_of(member.user_id)
            with contextlib.suppress(TelegramError):  # blocked: /start shows it all the same
                await bot.send_message(member.user_id, compose(_, member.user_id == heir))
