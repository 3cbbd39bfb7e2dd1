"""Moderation: Tuanyuan's admins review relatives' proof documents in the admin chat.

Admins are configured by Telegram user id (``TUANYUAN_ADMIN_IDS``); the documents go to
``TUANYUAN_ADMIN_CHAT_ID`` with Approve and Reject buttons. Rejection reasons are fixed choices,
so the member reads the reason in their own language, whatever language the admin uses; the
decision itself is ``bot.family.proofs``'s, shared with the admin web.
"""

import mimetypes

import structlog
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
)

from bot.admin_sessions import issue_login
from bot.family import proofs
from bot.family.spaces import Member, Space, get_space
from bot.flows.basics import Context, remember_sender, remove_buttons
from bot.i18n import Gettext
from bot.services import Services, services_of
from bot.storage.media import media_type
from bot.storage.orders import latest_rendered
from bot.storage.users import first_name

log = structlog.get_logger(__name__)

APPROVE_PREFIX = "adm:ok:"
REJECT_PREFIX = "adm:no:"
REASON_PREFIX = "adm:why:"
BACK_PREFIX = "adm:back:"  # from the reasons to Approve / Reject: Reject was a slip


def _review_keyboard(_: Gettext, member: Member) -> InlineKeyboardMarkup:
    key = f"{member.space_id}:{member.user_id}"
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(_("Approve"), callback_data=APPROVE_PREFIX + key),
        InlineKeyboardButton(_("Reject"), callback_data=REJECT_PREFIX + key),
    ]])  # fmt: skip


async def send_for_review(bot: Bot, services: Services, member: Member, space: Space) -> None:
    """Put one proof document in front of the moderators, with the facts they judge it by."""
    chat_id = services.settings.admin_chat_id
    if chat_id is None or member.proof_media_id is None:
        log.warning("review.no_admin_chat", space_id=space.id, user_id=member.user_id)
        return
    _ = services.gettext_of(chat_id)
    caption = _(
        "Proof document for review. {name} (user {user_id}) says they are {relation} of the "
        "late {subject} (family space {space})."
    ).format(name=first_name(services.db, member.user_id) or "…", user_id=member.user_id,
             relation=member.relation, subject=space.subject_name, space=space.id)  # fmt: skip
    # Named for its type, so that the moderator's Telegram opens a PDF as one.
    extension = mimetypes.guess_extension(media_type(services.db, member.proof_media_id)) or ""
    await bot.send_document(
        chat_id,
        document=services.vault.read_bytes(member.proof_media_id),
        filename=f"proof-{member.user_id}{extension}",
        caption=caption,
        reply_markup=_review_keyboard(_, member),
    )


async def review(update: Update, context: Context) -> None:
    """/review: send every proof still waiting to the admin chat again."""
    remember_sender(update, context)
    services = services_of(context)
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    waiting = proofs.waiting_for_review(services.db)
    for member in waiting:
        await send_for_review(
            context.bot, services, member, get_space(services.db, member.space_id)
        )
    _ = services.gettext_of(user.id)
    await message.reply_text(
        _("Proof documents waiting for review: {count}").format(count=len(waiting))
    )


RECENT_RENDERS = 10


async def renders(update: Update, context: Context) -> None:
    """/renders: the latest greetings made, with what they showed and which voice spoke them,
    and why: the place an operator sees that XTTS is not being used, and the reason."""
    remember_sender(update, context)
    services = services_of(context)
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    _ = services.gettext_of(user.id)
    xtts = services.settings.xtts_dir
    lines = [
        _("Voice cloning folder (TUANYUAN_XTTS_DIR): {folder}").format(folder=xtts)
        if xtts is not None
        else _("Voice cloning folder (TUANYUAN_XTTS_DIR): not set"),
        _("VoxCPM2 folder (TUANYUAN_VOXCPM_DIR): {folder}").format(
            folder=services.settings.voxcpm_dir or _("not set")
        ),
        _("Licence declared for cloning weights (TUANYUAN_VOICE_LICENCE): {licence}").format(
            licence=services.settings.voice_licence or _("not declared")
        ),
    ]
    rendered = latest_rendered(services.db, RECENT_RENDERS)
    for order in rendered:
        lines.append(
            _("{order} ({status}, {template}): {likeness}, voice {voice}: {reason}").format(
                order=order.id,
                status=order.status.value,
                template=order.template_id,
                likeness=order.likeness,
                voice=order.voice,
                reason=order.voice_reason,
            )
        )
    if not rendered:
        lines.append(_("No greeting has been rendered yet."))
    await message.reply_text("\n".join(lines))


async def _settle(update: Update, context: Context) -> tuple[Services, Message, Member, int] | None:
    """The proof a review button names ("adm:<decision>:[<reason>:]<space>:<user>"), while it
    is still under review."""
    remember_sender(update, context)
    services = services_of(context)
    query = update.callback_query
    assert query is not None and query.data is not None and query.message is not None
    await query.answer()
    key = query.data.split(":", 2)[2]
    if query.data.startswith(REASON_PREFIX):
        key = key.partition(":")[2]
    space_id, _sep, user_id = key.partition(":")
    message = update.effective_message
    assert message is not None
    _ = services.gettext_of(query.from_user.id)
    try:
        member = (
            proofs.under_review(services.db, services.audit, space_id, int(user_id),
                                query.from_user.id)
            if user_id.isdigit() else None
        )  # fmt: skip
    except proofs.OwnFamily:
        await message.reply_text(proofs.own_family_text(_))
        return None
    if member is None:
        await message.reply_text(_("This review is already settled."))
        return None
    return services, message, member, query.from_user.id


async def approve_pressed(update: Update, context: Context) -> None:
    settled = await _settle(update, context)
    if settled is None:
        return
    services, message, member, admin_id = settled
    assert update.callback_query is not None
    await remove_buttons(update.callback_query)
    _ = services.gettext_of(admin_id)
    await message.reply_text(_("Approved."))
    await proofs.approve(context.bot, services.db, services.audit, services.clock, member, admin_id)


async def reject_pressed(update: Update, context: Context) -> None:
    settled = await _settle(update, context)
    if settled is None:
        return
    services, message, member, admin_id = settled
    _ = services.gettext_of(admin_id)
    key = f"{member.space_id}:{member.user_id}"
    await message.edit_reply_markup(
        reply_markup=InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        proofs.reason_text(_, code), callback_data=f"{REASON_PREFIX}{code}:{key}"
                    )
                ]
                for code in proofs.REJECTION_REASONS
            ]
            + [[InlineKeyboardButton(_("Back"), callback_data=BACK_PREFIX + key)]]
        )
    )


async def back_pressed(update: Update, context: Context) -> None:
    settled = await _settle(update, context)
    if settled is None:
        return
    services, message, member, admin_id = settled
    await message.edit_reply_markup(
        reply_markup=_review_keyboard(services.gettext_of(admin_id), member)
    )


async def reason_pressed(update: Update, context: Context) -> None:
    settled = await _settle(update, context)
    if settled is None:
        return
    services, message, member, admin_id = settled
    query = update.callback_query
    assert query is not None and query.data is not None
    code = query.data.removeprefix(REASON_PREFIX).partition(":")[0]
    if code not in proofs.REJECTION_REASONS:
        return
    await remove_buttons(query)
    _ = services.gettext_of(admin_id)
    await message.reply_text(_("Rejected."))
    await proofs.reject(context.bot, services.db, services.audit, member, admin_id, code)


async def admin_login(update: Update, context: Context) -> None:
    """/admin_login: a one-time link to the admin web, sent to the admin's own private chat
    (never into a group), without a link preview (a preview fetch would spend nothing, but
    the link is nobody else's to see)."""
    remember_sender(update, context)
    services = services_of(context)
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    _ = services.gettext_of(user.id)
    secret = issue_login(services.db, services.clock, user.id)
    services.audit.record(user.id, "web.login_link_sent")
    await context.bot.send_message(
        user.id,
        _(
            "Your link to the admin web. It works once, for 5 minutes, and only for you:\n{link}"
        ).format(link=f"{services.settings.web_url}/login/{secret}"),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
