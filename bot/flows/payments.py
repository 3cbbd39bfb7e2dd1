"""Paying for a greeting in Telegram Stars: the last check before the money moves, and the
payment itself.

Telegram asks with a ``pre_checkout_query`` and gives the bot 10 seconds to answer; the desk
checks the order and its consent again, from SQLite alone, so the answer is quick. The order
goes on only when the ``successful_payment`` message arrives.
"""

from telegram import Update

from bot.flows.basics import Context, remember_sender
from bot.services import services_of


async def pre_checkout(update: Update, context: Context) -> None:
    query = update.pre_checkout_query
    assert query is not None
    services = services_of(context)
    problem = services.orders.checkout_problem(
        query.invoice_payload, query.from_user.id, query.currency, query.total_amount
    )
    if problem is None:
        await query.answer(ok=True)
    else:
        services.audit.record(query.from_user.id, "payment.declined", order=query.invoice_payload)
        await query.answer(ok=False, error_message=problem)


async def successful_payment(update: Update, context: Context) -> None:
    remember_sender(update, context)
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None and message.successful_payment is not None
    payment = message.successful_payment
    services = services_of(context)
    await services.orders.paid(
        payment.invoice_payload, user.id, payment.telegram_payment_charge_id, payment.total_amount
    )
    _ = services.gettext_of(user.id)
    await message.reply_text(_("Thank you, the payment is received."))


async def refund_noted(update: Update, context: Context) -> None:
    """Telegram's service message after a refund: nothing to answer (the member was told)."""
