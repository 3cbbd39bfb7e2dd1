"""The member's orders once placed: the preview's buttons, new words a moderator asked for,
and /orders.

Each button names its order; the desk checks that the presser is the requester and that the
order is still at that step, so an old or forged button does nothing but say so.
"""

from telegram import Update

from bot.flows.basics import Context, remember_sender
from bot.flows.order import language_of_words, own_words
from bot.i18n import gettext_for
from bot.orders import (
    CANCEL_PREFIX,
    REMAKE_PREFIX,
    RESEND_PREFIX,
    SEND_PREFIX,
    cancelled_text,
    status_line,
)
from bot.services import services_of
from bot.storage import Order, OrderStatus
from bot.storage.orders import find_order, get_order, orders_of, orders_where

RECENT_ORDERS = 10


async def preview_pressed(update: Update, context: Context) -> None:
    """Send it / Make it again / Cancel under a preview, and Show it again under a status."""
    remember_sender(update, context)
    services = services_of(context)
    query = update.callback_query
    assert query is not None and query.data is not None and query.message is not None
    user_id = query.from_user.id
    _ = services.gettext_of(user_id)
    await query.answer()
    desk = services.orders
    order_id = query.data.rpartition(":")[2]
    if find_order(services.db, order_id) is None:  # a forged button: no such order
        done = False
    elif query.data.startswith(SEND_PREFIX):
        done = await desk.send_it(order_id, user_id)
    elif query.data.startswith(REMAKE_PREFIX):
        done = await desk.remake(order_id, user_id)
    elif query.data.startswith(CANCEL_PREFIX):
        done = await desk.cancel(order_id, user_id)
        if done:
            cancelled = cancelled_text(_, get_order(services.db, order_id))
            await context.bot.send_message(query.message.chat.id, cancelled)
    else:
        assert query.data.startswith(RESEND_PREFIX)
        done = await desk.show_again(order_id, user_id, query.id)
    if not done:
        await context.bot.send_message(
            query.message.chat.id, _("This greeting has moved on: send /orders to see where it is.")
        )


def awaiting_new_words(update: Update, context: Context) -> Order | None:
    """The member's order a moderator asked to change, if there is one."""
    assert update.effective_user is not None
    waiting = orders_where(
        services_of(context).db,
        "user_id = ? AND status = ?",
        [update.effective_user.id, OrderStatus.CHANGES_REQUESTED.value],
    )
    return waiting[-1] if waiting else None


async def receive_new_words_of_sender(update: Update, context: Context) -> None:
    """The member's new words after a moderator asked for a change."""
    order = awaiting_new_words(update, context)
    if order is not None:
        await _receive_new_words(update, context, order)


async def _receive_new_words(update: Update, context: Context, order: Order) -> None:
    services = services_of(context)
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    _ = services.gettext_of(user.id)
    words = await own_words(message, language_of_words(services, order), _)
    if words is None:
        return
    await services.orders.new_words(order, words, user.id)
    await message.reply_text(_("Thank you. A moderator will read the new words."))


async def my_orders(update: Update, context: Context) -> None:
    """/orders: the member's greetings and where each one is."""
    remember_sender(update, context)
    services = services_of(context)
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    reader = services.language_of(user.id)
    _ = gettext_for(reader)
    orders = orders_of(services.db, user.id, RECENT_ORDERS)
    if not orders:
        await message.reply_text(_("You have not ordered a greeting yet."))
        return
    lines = [
        f"{order.placed_at[:10] if order.placed_at else ''} {status_line(_, reader, order)}"
        for order in orders
    ]
    await message.reply_text("\n\n".join(lines))
