"""Conversation flows: what the bot answers to each kind of update.

Handlers are registered here in one place so the precedence between them is visible at once:
commands first, then button presses, then media, then free text. This is also where each
handler gets its permission (``bot.authz.guarded``): no handler checks rights by itself. Media
and text mean different things at different steps (a voice note or a video is a consent
statement for a subject who owes one, footage otherwise), so they go through small routers
that look up the sender's step and pick the handler. One router runs ahead of all of them
(group -1): a file sent after /verify is checked for this service's marks, whatever else it
could have been. Ahead of everything (group -2) ``bot.authz.admit`` decides whether an update
belongs in its chat at all: what is personal only in a private chat, moderation only in the
admin chat, edits and updates without a sender never as requests; then the sender's flood
limit (``bot.pacing.FloodGuard``) is applied.
"""

import asyncio
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Message, Update
from telegram.constants import MessageEntityType
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    PreCheckoutQueryHandler,
    TypeHandler,
    filters,
)

from bot.authz import Admission, Permission, Where, admit, guarded
from bot.campaigns import NEVER_PREFIX, NO_MESSAGE, NO_PREFIX, YES_PREFIX, ZONE_PREFIX
from bot.delivery import ORIGINAL_PREFIX
from bot.family.consent import open_challenge
from bot.family.spaces import MemberStatus, Role, SetupStep, SpaceStatus, get_space, membership_of
from bot.flows import (
    admin,
    basics,
    campaign,
    consent,
    family,
    greetings,
    moderation,
    order,
    payments,
    picker,
    privacy,
    resume,
    verify,
)
from bot.flows.basics import Context
from bot.flows.errors import on_error
from bot.i18n import sentences
from bot.orders import (
    APPROVE_PREFIX,
    BACK_PREFIX,
    CANCEL_PREFIX,
    CHANGE_PREFIX,
    FLAG_PREFIX,
    REASON_PREFIX,
    REJECT_PREFIX,
    REMAKE_PREFIX,
    RESEND_PREFIX,
    REVOKE_FROM_NOTICE,
    SEND_PREFIX,
)
from bot.pacing import Pace, is_payment
from bot.services import Services, services_of
from bot.storage.orders import draft_for

_portrait = guarded(Permission.UPLOAD_FOOTAGE, order.receive_portrait)
_voice = guarded(Permission.UPLOAD_FOOTAGE, order.receive_voice)
_footage = guarded(Permission.UPLOAD_FOOTAGE, order.receive_footage)
_order_text = guarded(Permission.ORDER, order.receive_text)
_new_words = guarded(Permission.ORDER, greetings.receive_new_words_of_sender)
_statement = guarded(Permission.CONSENT, consent.receive_statement)
_typed_statement = guarded(Permission.CONSENT, consent.statement_typed)
_campaign_answer = guarded(Permission.ORDER, campaign.family_typed)


async def _start(update: Update, context: Context) -> None:
    """``/start <payload>`` is an invite link being opened; plain ``/start`` is a greeting.
    Either is a chat's first message: its command menu is set then."""
    basics.remember_sender(update, context)
    await basics.own_menu(update, context)
    if context.args and campaign.is_join_payload(context.args[0]):
        await campaign.join(update, context, context.args[0])
    elif context.args:
        await family.join(update, context, context.args[0])
    else:
        await resume.start_card(update, context)


async def _language_chosen(update: Update, context: Context) -> None:
    """The new language, then where the sender is, in it: a member who switches halfway
    through a greeting was left with its last question in the language they just left."""
    chosen = await basics.language_chosen(update, context)
    if chosen is not None:
        assert update.effective_user is not None
        order.follow_language(services_of(context), update.effective_user.id, chosen)
        await resume.start_card(update, context)


async def _cancel(update: Update, context: Context) -> None:
    """/cancel leaves whatever the sender is in: a family space's set-up, else a greeting."""
    if not await family.cancel_setup(update, context):
        await order.cancel(update, context)


async def _image(update: Update, context: Context) -> None:
    """A relative asked for a proof document sends one; anyone else sends a portrait."""
    assert update.effective_user is not None
    member = membership_of(services_of(context).db, update.effective_user.id)
    if member is not None and member.status == MemberStatus.PROOF:
        await _proof(update, context)
    else:
        await _portrait(update, context)


async def _proof(update: Update, context: Context) -> None:
    assert update.effective_user is not None
    member = membership_of(services_of(context).db, update.effective_user.id)
    if member is None or member.status != MemberStatus.PROOF:
        await order.receive_unusable(update, context)
        return
    await family.receive_proof(update, context, member)


def _awaits_statement(services: Services, user_id: int) -> bool:
    """Whether the sender's recording (or typing) now answers a consent phrase: one was asked
    for, and they are still to consent or it has not expired. A consented subject who asked to
    renew and never read the phrase sends voice notes for greetings again once it expires."""
    challenge = open_challenge(services.db, user_id)
    if challenge is None:
        return False
    member = membership_of(services.db, user_id)
    renewing = member is not None and member.verified
    return not (renewing and challenge.expired(services.clock.now()))


async def _recording(update: Update, context: Context) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    if _awaits_statement(services_of(context), user.id):
        await _statement(update, context)
    elif message.video or message.video_note or (message.document and _is_video(message)):
        await _footage(update, context)
    else:
        await _voice(update, context)


def _is_video(message: Message) -> bool:
    assert message.document is not None
    return (message.document.mime_type or "").startswith("video/")


async def _text(update: Update, context: Context) -> None:
    assert update.effective_user is not None
    services = services_of(context)
    if moderation.owes_a_note(update, context):
        await moderation.receive_note(update, context)
        return
    if greetings.awaiting_new_words(update, context) is not None:
        await _new_words(update, context)
        return
    if campaign.drafting(update, context):
        await campaign.organiser_typed(update, context)
        return
    if campaign.answering(update, context):
        await _campaign_answer(update, context)
        return
    member = membership_of(services.db, update.effective_user.id)
    if member is not None and member.role == Role.OWNER:
        space = get_space(services.db, member.space_id)
        # The name typed again once its question is asked (a typo seen in it) replaces it.
        naming = space.setup_step in (SetupStep.NAME, SetupStep.STATUS)
        if space.status == SpaceStatus.SETUP and naming:
            await family.subject_name_given(update, context, space)
            return
    if member is not None and member.status == MemberStatus.RELATION:
        await family.relation_given(update, context, member)
        return
    if _awaits_statement(services, update.effective_user.id):
        await _typed_statement(update, context)
        return
    await _order_text(update, context)


async def _edited(update: Update, context: Context) -> None:
    """Someone correcting what they typed by editing it (a typo in a name or in the greeting's
    words): each step took the text as it was first sent, and an edit taken now could land in
    another step (a corrected name taken as the greeting's words). So they are told, and how to
    correct it: the subject's name typed again while the space is made, or the greeting's step
    asked again, whose buttons change any of it. Any other edit is not a request: nothing is
    answered."""
    message, user = update.edited_message, update.effective_user
    assert message is not None and user is not None
    services = services_of(context)
    naming = family.space_in_setup(services, user.id, SetupStep.STATUS)
    draft = draft_for(services.db, user.id)
    if message.text is not None and (naming is not None or draft is not None):
        _ = services.gettext_of(user.id)
        told = _("I read each message as it was first sent: a change made to it afterwards "
                 "does not reach me.")  # fmt: skip
        if naming is not None:
            await message.reply_text(sentences(told, _("To correct the name, type it again.")))
        elif draft is not None:
            await message.reply_text(told)
            await order.ask_next_step(message, services, draft, _)
    raise ApplicationHandlerStop


# Moderation shows families' data: its commands and buttons work only in the admin chat.
_MODERATION_COMMANDS = {
    "review": admin.review,
    "renders": admin.renders,
    "queue": moderation.queue,
    "rules": moderation.rules,
    "campaign": campaign.campaign_command,
    "campaign_report": campaign.report_command,
}
_ORDER_CARD_BUTTONS = (APPROVE_PREFIX, REJECT_PREFIX, REASON_PREFIX, CHANGE_PREFIX, FLAG_PREFIX,
                       BACK_PREFIX)  # fmt: skip
_MODERATION_BUTTONS = (*_ORDER_CARD_BUTTONS, campaign.ORGANISER_PREFIX, admin.APPROVE_PREFIX,
                       admin.REJECT_PREFIX, admin.REASON_PREFIX, admin.BACK_PREFIX)  # fmt: skip
_ADMIN_LOGIN = "admin_login"


def _command(message: Message | None) -> tuple[str, str] | None:
    """The command a message starts with and the bot it names ("/help@this_bot"), if any."""
    if message is None or not message.text or not message.entities:
        return None
    entity = message.entities[0]
    if entity.type != MessageEntityType.BOT_COMMAND or entity.offset != 0:
        return None
    command, _at, addressee = message.text[1 : entity.length].partition("@")
    return command.lower(), addressee.lower()


def _where(update: Update, context: Context, command: str | None) -> Where:
    if command == _ADMIN_LOGIN:
        return Where.PRIVATE_OR_ADMIN_CHAT
    query = update.callback_query
    if (
        command in _MODERATION_COMMANDS
        or (query is not None and (query.data or "").startswith(_MODERATION_BUTTONS))
        or (command is None and query is None and (moderation.owes_a_note(update, context)
                                                   or campaign.drafting(update, context)))
    ):  # fmt: skip
        return Where.ADMIN_CHAT
    return Where.PRIVATE


async def _admit(update: Update, context: Context) -> None:
    """Stop an update that does not belong in its chat before any handler sees it, answering
    a refused command or button once (``bot.authz.admit`` decides)."""
    command, addressee = _command(update.message) or (None, "")
    if addressee and addressee != context.bot.username.lower():
        raise ApplicationHandlerStop  # another bot's command in a group: not ours to answer
    asked = command is not None or update.callback_query is not None
    where = _where(update, context, command)
    services, user = services_of(context), update.effective_user
    is_admin = user is not None and services.is_admin(user.id)
    admission = admit(update, services.settings.admin_chat_id, where, asked, is_admin)
    if admission == Admission.IGNORE:
        raise ApplicationHandlerStop
    if user is not None and not is_payment(update):
        verdict = services.flood.check(user.id)
        if verdict.pace == Pace.SLOW_DOWN:
            await basics.slow_down(update, context, verdict.wait_s)
        if verdict.pace != Pace.PASS:
            raise ApplicationHandlerStop
    if admission != Admission.HANDLE:
        await basics.refuse_here(update, context, admission)
        raise ApplicationHandlerStop


_turns: "weakref.WeakValueDictionary[int, asyncio.Lock]" = weakref.WeakValueDictionary()


def _in_turn(
    handler: Callable[[Update, Context], Coroutine[Any, Any, None]],
) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
    """``handler`` for one sender's files one at a time, in the order they were sent, while
    everyone else's updates go on (a lock per sender, forgotten once nobody holds it)."""

    async def in_turn(update: Update, context: Context) -> None:
        assert update.effective_user is not None
        key = update.effective_user.id
        turn = _turns.get(key)
        if turn is None:
            turn = _turns[key] = asyncio.Lock()
        async with turn:
            await handler(update, context)

    return in_turn


def register_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    add = application.add_handler
    add(TypeHandler(Update, _admit), group=-2)
    application.add_error_handler(on_error)
    add(CommandHandler("start", _start))
    add(CommandHandler("help", basics.help_command))
    add(CommandHandler("language", basics.choose_language))
    add(CommandHandler("newspace", family.new_space))
    add(CommandHandler("invite", guarded(Permission.INVITE, family.invite)))
    add(CommandHandler("consent", guarded(Permission.CONSENT, consent.consent_command)))
    add(CommandHandler("revoke", guarded(Permission.REVOKE, consent.revoke_command)))
    add(CommandHandler("mydata", privacy.my_data))
    add(CommandHandler("delete_me", privacy.delete_me))
    for name, handler in _MODERATION_COMMANDS.items():
        add(CommandHandler(name, guarded(Permission.MODERATE, handler)))
    add(CommandHandler(_ADMIN_LOGIN, guarded(Permission.MODERATE, admin.admin_login)))
    add(CommandHandler("cancel", _cancel))
    add(CommandHandler("orders", greetings.my_orders))
    add(PreCheckoutQueryHandler(payments.pre_checkout))
    add(MessageHandler(filters.SUCCESSFUL_PAYMENT, payments.successful_payment))
    # Telegram's own note that a refund went through: the desk already told the member.
    add(MessageHandler(filters.StatusUpdate.REFUNDED_PAYMENT, payments.refund_noted))
    add(CommandHandler(verify.COMMAND, verify.verify_command))
    # An edit reaches no step (each took the message as first sent): caught before any does.
    add(MessageHandler(filters.UpdateType.EDITED_MESSAGE, _edited), group=-1)
    add(MessageHandler(filters.VIDEO | filters.VIDEO_NOTE | filters.ANIMATION | filters.VOICE
                       | filters.Document.ALL, verify.route), group=-1)  # fmt: skip

    def on_button(prefix: str, handler: Any) -> None:
        add(CallbackQueryHandler(handler, pattern=rf"^{prefix}"))

    on_button(basics.LANGUAGE_PREFIX, _language_chosen)
    on_button(order.TEMPLATE_PREFIX, guarded(Permission.ORDER, order.template_chosen))
    on_button(order.MORE_FESTIVALS, guarded(Permission.ORDER, order.more_festivals))
    on_button(order.PICTURES_PREFIX, guarded(Permission.ORDER, picker.page_pressed))
    on_button(order.LAST_PHOTO, guarded(Permission.ORDER, order.last_photo_chosen))
    on_button(order.WORDS_PREFIX, guarded(Permission.ORDER, order.words_chosen))
    for prefix in (SEND_PREFIX, REMAKE_PREFIX, CANCEL_PREFIX, RESEND_PREFIX):
        on_button(prefix, greetings.preview_pressed)
    for prefix in _ORDER_CARD_BUTTONS:
        on_button(prefix, guarded(Permission.MODERATE, moderation.card_pressed))
    on_button(order.LIKENESS_PREFIX, guarded(Permission.ORDER, order.likeness_chosen))
    on_button(order.SPOKEN_PREFIX, guarded(Permission.ORDER, order.spoken_language_chosen))
    on_button(order.SHAPE_PREFIX, guarded(Permission.ORDER, order.shape_chosen))
    on_button(family.SUBJECT_STATUS_PREFIX, family.subject_status_chosen)
    on_button(family.SUBJECT_LANGUAGE_PREFIX, family.subject_language_chosen)
    on_button(family.INVITE_PREFIX, guarded(Permission.INVITE, family.invite_chosen))
    on_button(consent.AUTHORISE, guarded(Permission.AUTHORISE, consent.authorise_pressed))
    for prefix in (consent.COSIGN_PREFIX, consent.VETO_PREFIX):
        on_button(prefix, guarded(Permission.AUTHORISE, consent.cosign_or_veto_pressed))
    on_button(family.PROOF_PREFIX, family.proof_answered)
    on_button(consent.REVOKE_CONFIRM, guarded(Permission.REVOKE, consent.revoke_confirmed))
    on_button(consent.REVOKE_KEEP, guarded(Permission.REVOKE, consent.revoke_kept))
    on_button(REVOKE_FROM_NOTICE, guarded(Permission.REVOKE, consent.revoke_asked))
    on_button(privacy.DELETE_CONFIRM, privacy.delete_confirmed)
    on_button(privacy.DELETE_KEEP, privacy.delete_kept)
    on_button(campaign.ORGANISER_PREFIX, guarded(Permission.MODERATE, campaign.organiser_pressed))
    on_button(YES_PREFIX, guarded(Permission.ORDER, campaign.yes_pressed))
    on_button(NO_PREFIX, campaign.answer_pressed)
    on_button(NEVER_PREFIX, campaign.answer_pressed)
    on_button(ZONE_PREFIX, guarded(Permission.ORDER, campaign.zone_pressed))
    on_button(NO_MESSAGE, guarded(Permission.ORDER, campaign.no_message_pressed))
    on_button(admin.APPROVE_PREFIX, guarded(Permission.MODERATE, admin.approve_pressed))
    on_button(admin.REJECT_PREFIX, guarded(Permission.MODERATE, admin.reject_pressed))
    on_button(admin.REASON_PREFIX, guarded(Permission.MODERATE, admin.reason_pressed))
    on_button(admin.BACK_PREFIX, guarded(Permission.MODERATE, admin.back_pressed))
    on_button(ORIGINAL_PREFIX, guarded(Permission.GET_ORIGINAL, verify.original_pressed,
                                       verify.original_concerns))  # fmt: skip
    add(CallbackQueryHandler(basics.stale_button))

    add(MessageHandler(filters.CONTACT, family.receive_contact))
    # Files take a download and an analysis: they are handled beside other updates (block=False),
    # so one member's upload never holds up anyone else's chat; each member's in turn.
    add(MessageHandler(filters.PHOTO | filters.Document.IMAGE, _in_turn(_image), block=False))
    add(MessageHandler(filters.Document.PDF, _in_turn(_proof), block=False))
    add(MessageHandler(filters.VOICE | filters.AUDIO | filters.Document.AUDIO
                       | filters.VIDEO | filters.VIDEO_NOTE | filters.Document.VIDEO,
                       _in_turn(_recording), block=False))  # fmt: skip
    add(MessageHandler(filters.TEXT & ~filters.COMMAND, _text))
    add(MessageHandler(filters.ALL, order.receive_unusable))
