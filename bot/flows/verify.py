"""/verify: anyone may ask whether a video was made here; the original file on request.

Whoever sends /verify (no family space needed) is asked for a video; the next video, video
note, voice message (a voice greeting), animation or file they send within VERIFY_WAIT is
checked, as is one sent with /verify as its caption. The render's own family and the
moderators see what the marks and the records say (``bot.authz.may_see_render``); everyone
else only whether this service made the file, so a forwarded greeting tells a stranger nothing
about the family behind it.
"""

from datetime import timedelta

from telegram import Message, Update
from telegram.constants import ChatAction
from telegram.ext import ApplicationHandlerStop

from bot.authz import may_see_render
from bot.delivery import ORIGINAL_PREFIX, greeting_filename, original_caption
from bot.flows.basics import Context, remember_sender
from bot.flows.feedback import ingest_error_text
from bot.flows.uploads import download_within_limit
from bot.i18n import Gettext, Language
from bot.plaintext import MemoryFiles
from bot.services import Services, services_of
from bot.storage import Order, OrderStatus
from bot.storage.orders import find_order
from bot.storage.users import await_file_to_verify, awaits_file_to_verify
from bot.verification import ConsentStatus, Verification, look_up
from bot.workers import WorkerFailed
from engine import IngestError, list_templates, template_title
from engine.provenance import C2paState, MarkReport

VERIFY_WAIT = timedelta(minutes=30)
COMMAND = "verify"


async def verify_command(update: Update, context: Context) -> None:
    remember_sender(update, context)
    services = services_of(context)
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    await_file_to_verify(services.db, user.id, services.clock.now() + VERIFY_WAIT)
    _ = services.gettext_of(user.id)
    await message.reply_text(
        _(
            "Send me the video you want to check, as a video or as a file, within 30 minutes. "
            "I will tell you whether Tuanyuan made it."
        )
    )


def _captioned(message: Message) -> bool:
    words = (message.caption or "").split(maxsplit=1)
    return bool(words) and words[0].split("@")[0] == f"/{COMMAND}"


async def route(update: Update, context: Context) -> None:
    """Runs before every other handler: a file sent after /verify (or with it as caption) is
    checked here and goes no further; any other file goes on to the usual handlers.

    The check runs as a task of its own: the bot handles one update at a time, and downloading
    and decoding a video would hold up every other chat meanwhile.
    """
    remember_sender(update, context)
    services = services_of(context)
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    if not _captioned(message) and not awaits_file_to_verify(
        services.db, user.id, services.clock.now()
    ):
        return
    context.application.create_task(_check(services, context, message, user.id), update=update)
    raise ApplicationHandlerStop


async def _check(services: Services, context: Context, message: Message, user_id: int) -> None:
    """Download, detect in a worker, answer; the wait ends only once a file was checked, so
    after an error the person can send the right file straight away."""
    _ = services.gettext_of(user_id)
    source = (
        message.video or message.video_note or message.animation or message.voice
        or message.document
    )  # fmt: skip
    assert source is not None, "route() is registered for these kinds of message only"
    too_big = _(
        "That file is larger than 20 MB, the most Telegram lets me download. Please send the "
        "video as a file of at most 20 MB: a greeting as Tuanyuan delivered it is smaller."
    )
    with MemoryFiles() as memory:
        candidate = memory.empty("candidate")
        if not await download_within_limit(
            context, message, _, source.file_id, source.file_size, too_big, candidate
        ):
            return
        await message.reply_chat_action(ChatAction.TYPING)
        try:
            report = await services.verifier.detect(candidate)
        except IngestError as error:
            await message.reply_text(ingest_error_text(_, error))
            return
        except (TimeoutError, WorkerFailed):
            await message.reply_text(
                _("I could not finish checking that file. Please send the video again.")
            )
            return
    verification = look_up(services.db, report, services.clock.now())
    await_file_to_verify(services.db, user_id, None)
    family = verification.family.space_id if verification.family else None
    order = verification.render.order_id if verification.render else None
    detailed = may_see_render(services, user_id, family)
    services.audit.record(user_id, "verify.answered", made_by_service=report.made_by_service,
                          detailed=detailed, order=order)  # fmt: skip
    language = services.language_of(user_id)
    await message.reply_text(
        _details(_, language, verification) if detailed else _summary(_, verification)
    )


def _summary(_: Gettext, verification: Verification) -> str:
    """All that someone outside the render's family learns."""
    if verification.made_by_service and verification.voice_message:
        return _("Made by this service: yes. Tuanyuan made this voice message with AI.")
    if verification.made_by_service:
        return _("Made by this service: yes. Tuanyuan made this video with AI.")
    return _("Made by this service: no. I found none of Tuanyuan's marks in this file.")


def _details(_: Gettext, language: Language, verification: Verification) -> str:
    lines = [_summary(_, verification)]
    if verification.render is not None:
        render = verification.render
        # Names and dates, never the order's id: the family reads this.
        lines.append(
            _("Greeting for {recipient}: {festival}, made on {date}").format(
                recipient=render.recipient or "?",
                festival=_festival(render.template_id, language), date=render.created_at[:10],
            )
        )  # fmt: skip
        if render.delivered_at is not None:
            lines.append(_("Delivered on {date}").format(date=render.delivered_at[:10]))
    if verification.family is not None:
        lines.append(_("Family: {subject}").format(subject=verification.family.subject_name))
    if verification.consent is not None:
        lines.append(_consent_text(_, verification.consent.status))
    if verification.voice_message:  # sound alone: no picture to mark, no manifest in Ogg
        lines.append(_mark_text(_, _("Sound watermark"), verification.audio))
        return "\n".join(lines)
    lines.append(_mark_text(_, _("Picture watermark"), verification.video))
    lines.append(_mark_text(_, _("Sound watermark"), verification.audio))
    lines.append(_("Content credentials (C2PA): {state}").format(
        state=_c2pa_text(_, verification.c2pa.state)))  # fmt: skip
    return "\n".join(lines)


def _festival(template_id: str | None, language: Language) -> str:
    """The festival's name; a template retired since the render keeps its id."""
    if template_id is None or template_id not in list_templates():
        return template_id or "?"
    return template_title(template_id, language)


def _consent_text(_: Gettext, status: ConsentStatus) -> str:
    return {
        "current": _("Consent: given, and still in force"),
        "revoked": _("Consent: withdrawn; the photos, voice notes and videos were deleted"),
        "expired": _("Consent: expired"),
        "unknown": _("Consent: unknown, this greeting is no longer in Tuanyuan's records"),
    }[status]


def _mark_text(_: Gettext, name: str, mark: MarkReport) -> str:
    state = _("verified") if mark.mac_valid else _("not found")
    return _("{mark}: {state}, confidence {confidence:.2f}").format(
        mark=name, state=state, confidence=mark.confidence
    )


def _c2pa_text(_: Gettext, state: C2paState) -> str:
    return {
        "trusted": _("valid, signed by Tuanyuan"),
        "valid": _("valid signature, but not Tuanyuan's"),
        "invalid": _("invalid: the file was changed after it was signed"),
        "absent": _("none (apps that recompress a video remove them)"),
    }[state]


# The original file


def _pressed_order(update: Update, services: Services) -> Order | None:
    query = update.callback_query
    assert query is not None and query.data is not None
    return find_order(services.db, query.data.removeprefix(ORIGINAL_PREFIX))


def original_concerns(update: Update, services: Services) -> str | None:
    """The family whose greeting the button belongs to, for ``guarded``."""
    order = _pressed_order(update, services)
    return None if order is None else order.space_id


async def original_pressed(update: Update, context: Context) -> None:
    """Send the file exactly as the engine made it: the vault copy, byte for byte (up to 50 MB,
    uploaded in a task of its own so that other chats are not kept waiting)."""
    services = services_of(context)
    query, message = update.callback_query, update.effective_message
    assert query is not None and message is not None
    _ = services.gettext_of(query.from_user.id)
    await query.answer()
    order = _pressed_order(update, services)
    assert order is not None, "guarded: the button's order belongs to the sender's family"
    if order.video_id is None or not services.vault.exists(order.video_id):
        if order.status == OrderStatus.REVOKED:
            gone = _(
                "The original file of this greeting no longer exists: it was deleted when "
                "consent was withdrawn."
            )
        elif order.rendered_at is None:
            gone = _("This greeting was never made, so it has no original file.")
        else:
            gone = _("The original file of this greeting is no longer kept.")
        await message.reply_text(gone)
        return
    original = services.orders.send_original(
        order.id, query.id, original_caption(_, order), greeting_filename(order)
    )
    context.application.create_task(original, update=update)
    services.audit.record(query.from_user.id, "original.sent", order=order.id)
