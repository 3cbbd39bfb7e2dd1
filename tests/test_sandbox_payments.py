"""Telegram Stars payments in the stand-in: invoices, checkout, refunds, through PTB's real Bot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import Bot, LabeledPrice, Message, Update
from telegram.error import BadRequest

from bot.sandbox import BotApiStandIn, SandboxClient, SandboxError, SandboxUser
from tests.auxil.sandbox import TOKEN


@pytest.fixture
async def invoice(bot: Bot, sandbox: SandboxClient, user: SandboxUser) -> Message:
    """A 50-star invoice in the user's chat, every update before it already confirmed."""
    await sandbox.send_text(user, "/start")
    await _confirm_all(bot)
    return await bot.send_invoice(
        user.id,
        "Greeting video",
        "A festival greeting",
        "order:42",
        "XTR",
        [LabeledPrice("Video", 50)],
    )


@pytest.fixture
async def api(stand_in: BotApiStandIn) -> AsyncIterator[httpx.AsyncClient]:
    """Raw HTTP, for requests PTB would not send."""
    async with httpx.AsyncClient(base_url=f"{stand_in.api_base_url}{TOKEN}/") as client:
        yield client


async def _confirm_all(bot: Bot) -> None:
    updates = await bot.get_updates()
    if updates:
        await bot.get_updates(offset=updates[-1].update_id + 1)


async def _next_update(bot: Bot) -> Update:
    """The oldest pending update, confirmed so the next call sees the one after."""
    (update, *_) = await bot.get_updates(timeout=5)
    await bot.get_updates(offset=update.update_id + 1)
    return update


async def _pay_and_answer(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser, invoice: Message
) -> str:
    """Pay as the user, confirm as the bot; returns the charge id."""
    paying = asyncio.create_task(sandbox.pay_invoice(user, invoice.message_id))
    query = (await _next_update(bot)).pre_checkout_query
    assert query is not None
    assert await bot.answer_pre_checkout_query(query.id, ok=True)
    outcome = await paying
    assert outcome.telegram_payment_charge_id is not None
    await _next_update(bot)  # the successful_payment message
    return outcome.telegram_payment_charge_id


async def test_invoice_is_sent_as_telegram_shows_it(
    invoice: Message, sandbox: SandboxClient, user: SandboxUser
) -> None:
    assert invoice.invoice is not None
    assert (invoice.invoice.title, invoice.invoice.currency, invoice.invoice.total_amount) == (
        "Greeting video",
        "XTR",
        50,
    )
    assert invoice.invoice.start_parameter == ""
    (record,) = await sandbox.sent_messages(user.id)
    assert record.method == "sendInvoice" and record.text is None
    assert record.invoice is not None
    assert (record.invoice.payload, record.invoice.total_amount) == ("order:42", 50)
    assert record.invoice.description == "A festival greeting"


async def test_a_confirmed_checkout_charges_the_user_once(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser, invoice: Message
) -> None:
    paying = asyncio.create_task(sandbox.pay_invoice(user, invoice.message_id))
    query = (await _next_update(bot)).pre_checkout_query
    assert query is not None
    assert (query.from_user.id, query.currency, query.total_amount, query.invoice_payload) == (
        user.id,
        "XTR",
        50,
        "order:42",
    )
    assert not paying.done()
    assert await bot.answer_pre_checkout_query(query.id, ok=True)
    outcome = await paying
    assert (outcome.status, outcome.pre_checkout_query_id) == ("paid", query.id)
    message = (await _next_update(bot)).message
    assert message is not None and message.successful_payment is not None
    payment = message.successful_payment
    assert (message.chat.id, message.from_user and message.from_user.id) == (user.id, user.id)
    assert (payment.currency, payment.total_amount, payment.invoice_payload) == (
        "XTR",
        50,
        "order:42",
    )
    assert payment.telegram_payment_charge_id == outcome.telegram_payment_charge_id
    (charge,) = await sandbox.charges()
    assert (charge.user_id, charge.message_id, charge.total_amount) == (
        user.id,
        invoice.message_id,
        50,
    )
    assert charge.provider_payment_charge_id == payment.provider_payment_charge_id
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_pre_checkout_query(query.id, ok=True)
    with pytest.raises(SandboxError, match="already paid"):
        await sandbox.pay_invoice(user, invoice.message_id)


async def test_a_declined_checkout_shows_the_bots_reason_and_charges_nothing(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser, invoice: Message
) -> None:
    paying = asyncio.create_task(sandbox.pay_invoice(user, invoice.message_id))
    query = (await _next_update(bot)).pre_checkout_query
    assert query is not None
    assert await bot.answer_pre_checkout_query(query.id, ok=False, error_message="Sold out")
    outcome = await paying
    assert (outcome.status, outcome.error_message) == ("declined", "Sold out")
    assert outcome.telegram_payment_charge_id is None
    assert await bot.get_updates() == ()
    assert await sandbox.charges() == []
    # A declined invoice can be tried again.
    assert await _pay_and_answer(bot, sandbox, user, invoice)


@pytest.mark.sandbox_limits(pre_checkout_timeout_s=0.3)
async def test_an_unanswered_checkout_times_out(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser, invoice: Message
) -> None:
    outcome = await sandbox.pay_invoice(user, invoice.message_id)
    assert outcome.status == "timeout"
    (update,) = await bot.get_updates()
    assert update.pre_checkout_query is not None
    assert update.pre_checkout_query.id == outcome.pre_checkout_query_id
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_pre_checkout_query(outcome.pre_checkout_query_id, ok=True)
    assert await sandbox.charges() == []


async def test_declining_needs_a_reason_and_unknown_queries_are_refused(
    api: httpx.AsyncClient, bot: Bot
) -> None:
    response = await api.post(
        "answerPreCheckoutQuery", data={"pre_checkout_query_id": "1", "ok": "false"}
    )
    assert (response.status_code, response.json()["description"]) == (
        400,
        'Bad Request: parameter "error_message" is required',
    )
    with pytest.raises(BadRequest, match="Query is too old"):
        await bot.answer_pre_checkout_query("12345", ok=True)


async def test_a_charge_is_refunded_exactly_once(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser, invoice: Message
) -> None:
    charge_id = await _pay_and_answer(bot, sandbox, user, invoice)
    assert await bot.refund_star_payment(user.id, charge_id)
    message = (await _next_update(bot)).message
    assert message is not None and message.refunded_payment is not None
    assert message.refunded_payment.telegram_payment_charge_id == charge_id
    assert message.refunded_payment.total_amount == 50
    with pytest.raises(BadRequest, match=r"(?i)charge_already_refunded"):
        await bot.refund_star_payment(user.id, charge_id)
    (refund,) = await sandbox.refunds()
    assert (refund.telegram_payment_charge_id, refund.user_id, refund.total_amount) == (
        charge_id,
        user.id,
        50,
    )


async def test_refunds_of_unknown_charges_are_refused(
    bot: Bot,
    sandbox: SandboxClient,
    user: SandboxUser,
    other_user: SandboxUser,
    invoice: Message,
) -> None:
    charge_id = await _pay_and_answer(bot, sandbox, user, invoice)
    await sandbox.send_text(other_user, "/start")
    with pytest.raises(BadRequest, match=r"(?i)charge_not_found"):
        await bot.refund_star_payment(user.id, "stx-no-such-charge")
    with pytest.raises(BadRequest, match=r"(?i)charge_not_found"):
        await bot.refund_star_payment(other_user.id, charge_id)
    with pytest.raises(BadRequest, match=r"(?i)user_id_invalid"):
        await bot.refund_star_payment(424242, charge_id)
    assert await sandbox.refunds() == []


async def test_invoices_are_checked_as_telegram_checks_stars_invoices(
    bot: Bot, api: httpx.AsyncClient, sandbox: SandboxClient, user: SandboxUser
) -> None:
    await sandbox.send_text(user, "/start")
    price = [LabeledPrice("Video", 50)]
    cases: list[tuple[dict[str, object], str]] = [
        ({"currency": "USD", "provider_token": "stripe"}, "PAYMENT_PROVIDER_INVALID"),
        ({"provider_token": "stripe"}, "STARS_INVOICE_INVALID"),
        ({"prices": [*price, LabeledPrice("Music", 5)]}, "STARS_INVOICE_INVALID"),
        ({"max_tip_amount": 10}, "STARS_INVOICE_INVALID"),
        ({"prices": [LabeledPrice("Video", 0)]}, "Total price must be positive"),
        ({"payload": "p" * 129}, "INVOICE_PAYLOAD_INVALID"),
    ]
    for change, error in cases:
        arguments: dict[str, object] = {
            "chat_id": user.id,
            "title": "Greeting video",
            "description": "A festival greeting",
            "payload": "order:42",
            "currency": "XTR",
            "prices": price,
        }
        with pytest.raises(BadRequest, match=rf"(?i){error}"):
            await bot.send_invoice(**(arguments | change))  # type: ignore[arg-type]
    fields = {"chat_id": str(user.id), "description": "d", "payload": "p", "currency": "XTR"}
    response = await api.post(
        "sendInvoice", data=fields | {"prices": '[{"label": "V", "amount": 1}]'}
    )
    assert response.json()["description"] == 'Bad Request: parameter "title" is required'
    response = await api.post("sendInvoice", data=fields | {"title": "t", "prices": "{oops"})
    assert response.json()["description"] == "Bad Request: can't parse prices JSON object"
    assert await sandbox.sent_messages(user.id) == []


async def test_only_an_invoice_can_be_paid(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    await sandbox.send_text(user, "/start")
    text = await bot.send_message(user.id, "Not an invoice")
    with pytest.raises(SandboxError, match="no invoice"):
        await sandbox.pay_invoice(user, text.message_id)
    with pytest.raises(SandboxError, match="no invoice"):
        await sandbox.pay_invoice(user, 999)
