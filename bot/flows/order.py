"""The greeting order: a portrait, a voice note, a festival and a recipient, in any order.

Each step is saved in the member's draft order as soon as it arrives, and the reply always
says what is still missing, so a member who leaves and comes back later is never lost. These
handlers run only for verified members of a space with a current consent: the registry wraps
them with ``bot.authz.guarded``, so they can rely on a membership being there.
"""

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction

from bot.family.consent import current_consent
from bot.family.spaces import Member, get_space, membership_of
from bot.flows.basics import Context as _Context
from bot.flows.basics import bounded_text, remember_sender
from bot.flows.uploads import fetch_checked
from bot.i18n import Gettext
from bot.services import Services, services_of
from bot.storage import MediaKind, Order, OrderStatus
from bot.storage.media import record_media
from bot.storage.orders import draft_for, open_draft, update_order
from engine import check_portrait, check_voice, list_templates, template_title

Context = _Context
TEMPLATE_PREFIX = "tpl:"
MAX_RECIPIENT_CHARS = 40


def _caller(update: Update, context: Context) -> tuple[Services, Message, int, Gettext]:
    remember_sender(update, context)
    services = services_of(context)
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    return services, message, user.id, services.gettext_of(user.id)


def _member(services: Services, user_id: int) -> Member:
    member = membership_of(services.db, user_id)
    assert member is not None, "order handlers run behind bot.authz.guarded"
    return member


def _keep_upload(
    services: Services, member: Member, data: bytes, kind: MediaKind, mime_type: str
) -> str:
    media_id = services.vault.put_bytes(data)
    record_media(services.db, services.clock, media_id, kind, mime_type, len(data),
                 member.user_id, member.space_id)  # fmt: skip
    return media_id


def _template_keyboard(language: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    template_title(template_id, language),  # type: ignore[arg-type]
                    callback_data=TEMPLATE_PREFIX + template_id,
                )
            ]
            for template_id in list_templates()
        ]
    )


async def _ask_next_step(message: Message, order: Order, _: Gettext) -> None:
    if order.portrait_id is None:
        await message.reply_text(_("Now send a clear photo of their face."))
    elif order.voice_id is None:
        await message.reply_text(
            _("Now send a voice note of them speaking. About 20 seconds is best.")
        )
    elif order.template_id is None:
        await message.reply_text(
            _("Which festival is the greeting for?"),
            reply_markup=_template_keyboard(order.language),
        )
    else:
        await message.reply_text(
            _("Who is the greeting for? Type their name, for example: Grandma.")
        )


async def receive_portrait(update: Update, context: Context) -> None:
    services, message, user_id, _ = _caller(update, context)
    source = message.photo[-1] if message.photo else message.document
    assert source is not None
    mime_type = (message.document.mime_type if message.document else None) or "image/jpeg"
    fetched = await fetch_checked(
        context, message, _, source.file_id, source.file_size, check_portrait
    )
    if fetched is None:
        return
    member = _member(services, user_id)
    portrait_id = _keep_upload(services, member, fetched[0], MediaKind.PORTRAIT, mime_type)
    draft = open_draft(services.db, user_id, message.chat_id, services.language_of(user_id),
                       member.space_id)  # fmt: skip
    draft = update_order(services.db, draft.id, portrait_id=portrait_id)
    await message.reply_text(_("Thank you, I have the photo."))
    await _ask_next_step(message, draft, _)


async def receive_voice(update: Update, context: Context) -> None:
    services, message, user_id, _ = _caller(update, context)
    source = message.voice or message.audio or message.document
    assert source is not None
    fetched = await fetch_checked(
        context, message, _, source.file_id, source.file_size, check_voice
    )
    if fetched is None:
        return
    member = _member(services, user_id)
    mime_type = getattr(source, "mime_type", None) or "audio/ogg"
    voice_id = _keep_upload(services, member, fetched[0], MediaKind.VOICE, mime_type)
    draft = open_draft(services.db, user_id, message.chat_id, services.language_of(user_id),
                       member.space_id)  # fmt: skip
    draft = update_order(services.db, draft.id, voice_id=voice_id)
    voice = fetched[1]
    await message.reply_text(
        _(
            "Thank you, I have the voice note: {speech:.1f} s of clear speech "
            "of the {recommended:.0f} s recommended."
        ).format(speech=voice.speech_s, recommended=voice.recommended_s)
    )
    await _ask_next_step(message, draft, _)


async def template_chosen(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    services, message, user_id, _ = _caller(update, context)
    template_id = query.data.removeprefix(TEMPLATE_PREFIX)
    draft = draft_for(services.db, user_id)
    await query.answer()
    if draft is None or draft.missing_media or template_id not in list_templates():
        await message.reply_text(_("That choice has expired. Send /start to begin again."))
        return
    draft = update_order(services.db, draft.id, template_id=template_id)
    await query.edit_message_reply_markup(reply_markup=None)
    await _ask_next_step(message, draft, _)


async def receive_text(update: Update, context: Context) -> None:
    services, message, user_id, _ = _caller(update, context)
    draft = draft_for(services.db, user_id)
    if draft is None or draft.missing_media or draft.template_id is None:
        if draft is None:
            await message.reply_text(
                _("To make a greeting, start by sending a photo of their face.")
            )
        else:
            await _ask_next_step(message, draft, _)
        return
    recipient = await bounded_text(
        message, MAX_RECIPIENT_CHARS, _("Please type a name of at most {limit} characters.")
    )
    if recipient is None:
        return
    space = get_space(services.db, _member(services, user_id).space_id)
    consent = current_consent(services.db, space, services.clock.now())
    assert consent is not None, "ordering is guarded by a current consent"
    update_order(services.db, draft.id, recipient=recipient, status=OrderStatus.QUEUED,
                 consent_id=consent.id)  # fmt: skip
    services.audit.record(user_id, "order.placed", order=draft.id, space=space.id,
                          consent=consent.id)  # fmt: skip
    await message.reply_text(
        _("I am making the greeting for {recipient} now. It usually takes about a minute.").format(
            recipient=recipient
        )
    )
    await message.reply_chat_action(ChatAction.UPLOAD_VIDEO)
    services.jobs.submit(draft.id)


async def cancel(update: Update, context: Context) -> None:
    services, message, user_id, _ = _caller(update, context)
    draft = draft_for(services.db, user_id)
    if draft is None:
        await message.reply_text(_("There is no greeting in preparation."))
        return
    update_order(services.db, draft.id, status=OrderStatus.CANCELLED)
    await message.reply_text(_("I have discarded the greeting you were preparing."))
