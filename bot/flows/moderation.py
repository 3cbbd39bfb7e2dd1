"""Moderators and greeting requests, in the admin chat: the order cards' buttons, the note
behind "Ask for a change", /queue and /rules.

The decisions themselves (what the order becomes, what the family is told, the refund) are
the order desk's; this module reads the buttons and the admins' words. Every decision is
audited there with the admin's id.
"""

from dataclasses import replace

from telegram import CallbackQuery, Update

from bot.flows.basics import Context, remember_sender, remove_buttons
from bot.i18n import LANGUAGES, sentences
from bot.moderation import (
    await_note,
    clean_note,
    load_rules,
    owes_note,
    save_rules,
    take_note_order,
)
from bot.orders import (
    APPROVE_PREFIX,
    BACK_PREFIX,
    CHANGE_PREFIX,
    FLAG_PREFIX,
    REASON_PREFIX,
    REJECT_PREFIX,
    UNDER_REVIEW,
    reason_buttons,
    rejection_reasons,
)
from bot.services import Services, services_of
from bot.storage import OrderStatus
from bot.storage.orders import find_order


def _admin(update: Update, context: Context) -> tuple[Services, int]:
    remember_sender(update, context)
    assert update.effective_user is not None
    return services_of(context), update.effective_user.id


async def card_pressed(update: Update, context: Context) -> None:
    services, admin_id = _admin(update, context)
    query = update.callback_query
    assert query is not None and query.data is not None and query.message is not None
    _ = services.gettext_of(admin_id)
    await query.answer()
    data = query.data
    order_id = data.rpartition(":")[2]
    order = find_order(services.db, order_id)
    desk = services.orders
    chat_id = query.message.chat.id
    if order is None:
        await _settled(query, context, services, admin_id, order_id)
        return
    if data.startswith((REJECT_PREFIX, BACK_PREFIX)):
        if order.status not in UNDER_REVIEW:
            await _settled(query, context, services, admin_id, order_id)
        elif data.startswith(REJECT_PREFIX):
            await query.edit_message_reply_markup(reply_markup=reason_buttons(_, order))
        else:
            await query.edit_message_reply_markup(reply_markup=desk.card(order)[1])
        return
    if data.startswith(FLAG_PREFIX):
        desk.flag_family(order_id, admin_id)
        await context.bot.send_message(
            chat_id, _("Every greeting of this family will now be reviewed.")
        )
        return
    if data.startswith(CHANGE_PREFIX):
        if order.status != "moderation":
            await _settled(query, context, services, admin_id, order_id)
            return
        await_note(services.db, admin_id, order_id, services.clock.now())
        await context.bot.send_message(
            chat_id, _("Type the change you ask for; the family will read it as you write it.")
        )
        return
    if data.startswith(APPROVE_PREFIX):
        done = await desk.approve(order_id, admin_id)
        answer = _("Approved.")
    else:
        assert data.startswith(REASON_PREFIX)
        code = data.removeprefix(REASON_PREFIX).partition(":")[0]
        done = code in rejection_reasons(order) and await desk.reject(order_id, admin_id, code)
        answer = _("Rejected.")
    if not done:
        await _settled(query, context, services, admin_id, order_id)
        return
    await remove_buttons(query)
    await context.bot.send_message(chat_id, answer)


async def _settled(
    query: CallbackQuery, context: Context, services: Services, admin_id: int, order_id: str
) -> None:
    """A card pressed after its request was settled elsewhere (another moderator, the admin web,
    the family): its buttons come off, and the moderator reads why when the family withdrew it,
    since the card still shows it as waiting."""
    _ = services.gettext_of(admin_id)
    order = find_order(services.db, order_id)
    why = {
        OrderStatus.CANCELLED: _("The member cancelled it."),
        OrderStatus.REVOKED: _("Consent was withdrawn, and everything made for it deleted."),
    }
    text = _("This request is already settled.")
    if order is not None and order.status in why:
        text = sentences(text, why[order.status])
    await remove_buttons(query)
    assert query.message is not None
    await context.bot.send_message(query.message.chat.id, text)


def owes_a_note(update: Update, context: Context) -> bool:
    """An admin's text in the admin chat right after "Ask for a change" is the note."""
    services = services_of(context)
    chat, user = update.effective_chat, update.effective_user
    return (
        chat is not None
        and user is not None
        and chat.id == services.settings.admin_chat_id
        and services.is_admin(user.id)
        and owes_note(services.db, user.id)
    )


async def receive_note(update: Update, context: Context) -> None:
    services, admin_id = _admin(update, context)
    message = update.effective_message
    assert message is not None
    _ = services.gettext_of(admin_id)
    note = clean_note(message.text or "")
    order_id = take_note_order(services.db, admin_id)
    if (
        order_id is None
        or not note
        or not await services.orders.ask_change(order_id, admin_id, note)
    ):
        await message.reply_text(_("This request is already settled."))
        return
    await message.reply_text(_("Sent to the family. Their new words will come back here."))


async def queue(update: Update, context: Context) -> None:
    """/queue: what waits for a moderator, oldest first, each as its card again."""
    services, admin_id = _admin(update, context)
    message = update.effective_message
    assert message is not None
    _ = services.gettext_of(admin_id)
    waiting = services.orders.waiting_for_moderation()
    await message.reply_text(
        _("Greeting requests waiting for moderation: {count}, oldest first.").format(
            count=len(waiting)
        )
    )
    if waiting:
        await services.orders.repost_cards(message.chat_id)


async def rules(update: Update, context: Context) -> None:
    """/rules shows the deployment's moderation rules; with arguments it changes one:
    ``/rules words en word1 word2`` (``-`` empties the list), ``/rules limits 5 10`` (per member
    and per family per day), ``/rules videos on|off`` (review every finished video)."""
    services, admin_id = _admin(update, context)
    message = update.effective_message
    assert message is not None
    _ = services.gettext_of(admin_id)
    args = context.args or []
    current = load_rules(services.db)
    changed = None
    if len(args) >= 3 and args[0] == "words" and args[1] in LANGUAGES:
        listed = () if args[2:] == ["-"] else tuple(dict.fromkeys(args[2:]))
        changed = current.with_words(LANGUAGES[LANGUAGES.index(args[1])], listed)
    elif len(args) == 3 and args[0] == "limits" and args[1].isdigit() and args[2].isdigit():
        changed = replace(
            current, member_orders_per_day=int(args[1]), family_orders_per_day=int(args[2])
        )
    elif len(args) == 2 and args[0] == "videos" and args[1] in ("on", "off"):
        changed = replace(current, review_videos=args[1] == "on")
    elif args:
        await message.reply_text(
            _(
                "I did not understand. Examples: /rules words en word1 word2, /rules words en -, "
                "/rules limits 5 10, /rules videos on"
            )
        )
        return
    if changed is not None:
        save_rules(services.db, changed)
        services.audit.record(admin_id, "moderation.rules_changed", rule=args[0])
        current = changed
    words = "; ".join(
        f"{language}: {', '.join(found)}" for language, found in current.words.items()
    )
    await message.reply_text(
        _(
            "Moderation rules:\n"
            "Words that send an order to review: {words}\n"
            "Orders per member per day: {member}; per family per day: {family}\n"
            "Review every finished video before the family sees it: {videos}"
        ).format(
            words=words or _("none"),
            member=current.member_orders_per_day,
            family=current.family_orders_per_day,
            videos=_("yes") if current.review_videos else _("no"),
        )
    )
