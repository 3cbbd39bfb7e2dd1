"""The greeting order: a portrait, a voice note, a festival and a recipient, in any order.

Each step is saved in the member's draft order as soon as it arrives, and the reply always
says what is still missing, so a member who leaves and comes back later is never lost.
"""

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest
from telegram.ext import CallbackContext

from bot.flows.basics import Context as _Context
from bot.flows.basics import remember_sender
from bot.flows.feedback import ingest_error_text
from bot.i18n import Gettext
from bot.services import Services, services_of
from bot.storage import Order, OrderStatus
from bot.storage.media import record_media
from bot.storage.orders import draft_for, open_draft, update_order
from engine import IngestError, check_portrait, check_voice, list_templates, template_title

Context = _Context
TEMPLATE_PREFIX = "tpl:"
# Telegram lets bots download files up to 20 MB through getFile; larger ones cannot reach us.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
MAX_RECIPIENT_CHARS = 40


def _caller(update: Update, context: Context) -> tuple[Services, Message, int, Gettext]:
    remember_sender(update, context)
    services = services_of(context)
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    return services, message, user.id, services.gettext_of(user.id)


async def _fetch_checked(
    context: CallbackContext[Any, Any, Any, Any],
    message: Message,
    _: Gettext,
    file_id: str,
    file_size: int | None,
    check: Callable[[Path], object],
) -> bytes | None:
    """Download a member's file and run the engine's ingest check on it before keeping it.

    Returns None after telling the member what to do instead; nothing stored is touched then.
    """
    too_big = _(
        "That file is larger than 20 MB, the most Telegram lets me receive. "
        "Please send a shorter recording or a smaller photo."
    )
    if file_size is not None and file_size > MAX_DOWNLOAD_BYTES:
        await message.reply_text(too_big)
        return None
    try:
        telegram_file = await context.bot.get_file(file_id)
    except BadRequest as error:
        if "too big" not in error.message.lower():
            raise
        await message.reply_text(too_big)
        return None
    data = bytes(await telegram_file.download_as_bytearray())
    with tempfile.TemporaryDirectory() as scratch:
        candidate = Path(scratch) / "upload"
        candidate.write_bytes(data)
        try:
            await asyncio.to_thread(check, candidate)
        except IngestError as error:
            await message.reply_text(ingest_error_text(_, error))
            return None
    return data


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
    if order.portrait_sha256 is None:
        await message.reply_text(_("Now send a clear photo of their face."))
    elif order.voice_sha256 is None:
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
    mime_type = message.document.mime_type if message.document else "image/jpeg"
    data = await _fetch_checked(
        context, message, _, source.file_id, source.file_size, check_portrait
    )
    if data is None:
        return
    sha256 = services.media.put_bytes(data)
    record_media(services.db, sha256, "portrait", mime_type or "image/jpeg", len(data), user_id)
    draft = open_draft(services.db, user_id, message.chat_id, services.language_of(user_id))
    draft = update_order(services.db, draft.id, portrait_sha256=sha256)
    await message.reply_text(_("Thank you, I have the photo."))
    await _ask_next_step(message, draft, _)


async def receive_voice(update: Update, context: Context) -> None:
    services, message, user_id, _ = _caller(update, context)
    source = message.voice or message.audio or message.document
    assert source is not None
    data = await _fetch_checked(context, message, _, source.file_id, source.file_size, check_voice)
    if data is None:
        return
    sha256 = services.media.put_bytes(data)
    mime_type = getattr(source, "mime_type", None) or "audio/ogg"
    record_media(services.db, sha256, "voice", mime_type, len(data), user_id)
    draft = open_draft(services.db, user_id, message.chat_id, services.language_of(user_id))
    draft = update_order(services.db, draft.id, voice_sha256=sha256)
    await message.reply_text(_("Thank you, I have the voice note."))
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
    recipient = " ".join((message.text or "").split())
    if not recipient or len(recipient) > MAX_RECIPIENT_CHARS:
        await message.reply_text(
            _("Please type a name of at most {limit} characters.").format(limit=MAX_RECIPIENT_CHARS)
        )
        return
    update_order(services.db, draft.id, recipient=recipient, status=OrderStatus.QUEUED)
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
