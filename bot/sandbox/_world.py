"""Everything the stand-in remembers: users, chats, messages, updates, payments and what it saw.

Bot API handlers and the control API both act on this one object; every change is announced on
a single condition so that long polls (getUpdates, the webhook sender, the control API's
wait-for-message) wake the moment something they wait for happens instead of polling.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.sandbox._errors import QUERY_TOO_OLD, ApiError, bad_request
from bot.sandbox._records import (
    CallbackAnswerRecord,
    ChatActionRecord,
    CommandsRecord,
    ErrorRecord,
    FileDownload,
    JsonObject,
    MessageEdit,
    PaymentOutcome,
    SandboxUser,
    SentInvoice,
    SentMessage,
    StarCharge,
    StarRefund,
)

_MEDIA_KINDS = ("photo", "video", "video_note", "document", "voice", "audio")
# The account Telegram names as the sender of an anonymous group admin's messages.
_ANONYMOUS_ADMIN: JsonObject = {
    "id": 1087968824,
    "is_bot": True,
    "first_name": "Group",
    "username": "GroupAnonymousBot",
}
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)


@dataclass(frozen=True, slots=True)
class Webhook:
    url: str
    secret_token: str | None
    max_connections: int


@dataclass(slots=True)
class _Message:
    wire: JsonObject
    record: SentMessage | None
    """Present only for messages the bot sent: the control API's view of them."""
    deleted: bool = False


@dataclass(slots=True)
class _PreCheckout:
    """A Pay press waiting for the bot: ``answer`` is (ok, error_message) once it replied."""

    user_id: int
    message_id: int
    answer: tuple[bool, str | None] | None = None


class World:
    """One bot's Telegram: its private chats with sandbox users, the groups and channels they
    write in (made on first use), and everything said in them."""

    def __init__(self, bot_user: JsonObject) -> None:
        self.bot_user = bot_user
        self.errors: list[ErrorRecord] = []
        self.downloads: list[FileDownload] = []
        self.chat_actions: list[ChatActionRecord] = []
        self.callback_answers: list[CallbackAnswerRecord] = []
        self._commands: dict[tuple[str, str], CommandsRecord] = {}
        self._changed = asyncio.Condition()
        self._closing = False
        self._users: dict[int, SandboxUser] = {}
        self._groups: dict[int, JsonObject] = {}
        self._blocking: set[int] = set()
        self._messages: dict[int, dict[int, _Message]] = {}
        self._updates: list[JsonObject] = []
        self._update_ids = itertools.count(1)
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._revision = 0
        self._open_queries: set[str] = set()
        self._pre_checkouts: dict[str, _PreCheckout] = {}
        self.charges: list[StarCharge] = []
        self.refunds: list[StarRefund] = []
        self.sent_listeners: list[Callable[[SentMessage], None]] = []
        """Told of each message the bot sends, as it is stored: an in-process player of many
        chats (the load benchmark) waits per chat instead of waking on every change."""
        self.webhook: Webhook | None = None
        self._webhook_error: tuple[int, str] | None = None

    async def close(self) -> None:
        """Release every waiter so that shutdown never sits out a long poll's timeout."""
        self._closing = True
        await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _wait(self, predicate: Callable[[], bool], seconds: float | None) -> None:
        """Wait until ``predicate`` holds, for at most ``seconds``; expiry is not an error."""
        async with self._changed:
            try:
                async with asyncio.timeout(seconds):
                    await self._changed.wait_for(lambda: self._closing or predicate())
            except TimeoutError:
                pass

    # Chats and messages

    def chat(self, chat_id: int) -> JsonObject:
        if chat_id in self._groups:
            return self._groups[chat_id]
        user = self._users.get(chat_id)
        if user is None:
            raise bad_request("chat not found")
        chat: JsonObject = {"id": user.id, "type": "private", "first_name": user.first_name}
        if user.username is not None:
            chat["username"] = user.username
        return chat

    def reachable(self, chat_id: int) -> None:
        """Refuse, as Telegram does, to deliver anything to an unknown or blocking user."""
        self.chat(chat_id)
        if chat_id in self._blocking:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    def set_blocked(self, user: SandboxUser, blocked: bool) -> None:
        self._users[user.id] = user
        if blocked:
            self._blocking.add(user.id)
        else:
            self._blocking.discard(user.id)

    def _store(self, chat_id: int, sender: JsonObject | None, content: JsonObject) -> _Message:
        messages = self._messages.setdefault(chat_id, {})
        wire = {
            "message_id": len(messages) + 1,
            "chat": self.chat(chat_id),
            "date": int(time.time()),
            **content,
        }
        if sender is not None:  # a channel's post has no "from"
            wire["from"] = sender
        message = _Message(wire, None)
        messages[wire["message_id"]] = message
        return message

    def _live(self, chat_id: int, message_id: int) -> _Message | None:
        message = self._messages.get(chat_id, {}).get(message_id)
        return None if message is None or message.deleted else message

    def _group(self, group_id: int, kind: str) -> JsonObject:
        return self._groups.setdefault(
            group_id, {"id": group_id, "type": kind, "title": f"{kind.title()} {-group_id}"}
        )

    async def user_message(
        self,
        user: SandboxUser,
        content: JsonObject,
        group_id: int | None = None,
        *,
        anonymous: bool = False,
    ) -> JsonObject:
        """``user`` says something in their private chat, or in a group; ``anonymous`` as an
        anonymous admin of that group (Telegram then names the group, not the user)."""
        self._users[user.id] = user
        if group_id is None:
            if anonymous:
                raise bad_request("only a group's admin can write anonymously")
            message = self._store(user.id, user.to_telegram(), content)
        else:
            group = self._group(group_id, "group")
            extra = {"sender_chat": group} if anonymous else {}
            sender = _ANONYMOUS_ADMIN if anonymous else user.to_telegram()
            message = self._store(group_id, sender, content | extra)
        await self._push("message", message.wire)
        return message.wire

    async def edit_user_message(
        self, user: SandboxUser, group_id: int | None, message_id: int, text: str
    ) -> JsonObject:
        """The user edits a text message of their own: the bot gets an ``edited_message``."""
        chat_id = user.id if group_id is None else group_id
        message = self._live(chat_id, message_id)
        if message is None or message.wire.get("from", {}).get("id") != user.id:
            raise bad_request("message to edit not found")
        if "text" not in message.wire:
            raise bad_request("there is no text in the message to edit")
        message.wire.update(text=text, edit_date=int(time.time()))
        await self._push("edited_message", dict(message.wire))
        return message.wire

    async def channel_post(self, channel_id: int, text: str) -> JsonObject:
        """A post in a channel the bot is in: no ``from``, the channel as its sender_chat."""
        channel = self._group(channel_id, "channel")
        message = self._store(channel_id, None, {"text": text, "sender_chat": channel})
        await self._push("channel_post", message.wire)
        return message.wire

    async def press_button(
        self,
        user: SandboxUser,
        message_id: int,
        data: str,
        group_id: int | None = None,
        forged: bool = False,
    ) -> str:
        """The user presses a button of a bot message; ``forged`` sends ``data`` whatever the
        buttons carry, as a modified client can (Telegram passes it on unchecked)."""
        chat_id = user.id if group_id is None else group_id
        message = self._live(chat_id, message_id)
        if message is None or message.record is None:
            raise bad_request(f"the bot sent no message {message_id} to chat {chat_id}")
        keyboard = (message.record.reply_markup or {}).get("inline_keyboard", [])
        carried = any(button.get("callback_data") == data for row in keyboard for button in row)
        if not carried and not forged:
            raise bad_request(f"message {message_id} has no button with callback_data {data!r}")
        query_id = str(secrets.randbits(62))
        self._open_queries.add(query_id)
        await self._push(
            "callback_query",
            {
                "id": query_id,
                "from": user.to_telegram(),
                "message": message.wire,
                "chat_instance": str(chat_id),
                "data": data,
            },
        )
        return query_id

    def answer_callback(self, answer: CallbackAnswerRecord) -> None:
        if answer.callback_query_id not in self._open_queries:
            raise bad_request(QUERY_TOO_OLD)
        self._open_queries.remove(answer.callback_query_id)
        self.callback_answers.append(answer)

    async def bot_message(
        self,
        chat_id: int,
        method: str,
        content: JsonObject,
        markup: JsonObject | None,
        supports_streaming: bool | None = None,
        invoice: SentInvoice | None = None,
    ) -> JsonObject:
        message = self._store(chat_id, self.bot_user, content | _wire_markup(markup))
        wire = message.wire
        found: Any = next((wire[kind] for kind in _MEDIA_KINDS if kind in wire), {})
        media: JsonObject = found[-1] if isinstance(found, list) else found
        message.record = SentMessage(
            chat_id=chat_id,
            message_id=wire["message_id"],
            method=method,
            date=wire["date"],
            text=wire.get("text"),
            caption=wire.get("caption"),
            reply_markup=markup,
            file_id=media.get("file_id"),
            file_name=media.get("file_name"),
            mime_type=media.get("mime_type"),
            duration=media.get("duration"),
            width=media.get("width", media.get("length")),
            height=media.get("height", media.get("length")),
            supports_streaming=supports_streaming,
            thumbnail_file_id=media.get("thumbnail", {}).get("file_id"),
            cover_file_id=media["cover"][-1]["file_id"] if media.get("cover") else None,
            invoice=invoice,
        )
        for listener in self.sent_listeners:
            listener(message.record)
        await self._bump()
        return wire

    def _editable(self, chat_id: int, message_id: int) -> _Message:
        message = self._live(chat_id, message_id)
        if message is None:
            raise bad_request("message to edit not found")
        if message.record is None:
            raise bad_request("message can't be edited")
        return message

    def media_to_edit(self, chat_id: int, message_id: int) -> None:
        """Refuse editMessageMedia as Telegram does, before the new file is taken in."""
        message = self._editable(chat_id, message_id)
        if not any(kind in message.wire for kind in _MEDIA_KINDS):
            raise bad_request("there is no media in the message to edit")

    async def edit(
        self,
        chat_id: int,
        message_id: int,
        method: str,
        text: str | None,
        markup: JsonObject | None,
        media: JsonObject | None = None,
        caption: str | None = None,
    ) -> JsonObject:
        """Apply an edit; ``text`` is None for editMessageReplyMarkup, which keeps the text;
        ``media`` (with its ``caption``) replaces a media message's file, for editMessageMedia."""
        message = self._editable(chat_id, message_id)
        if text is not None and "text" not in message.wire:
            raise bad_request("there is no text in the message to edit")
        record = message.record
        assert record is not None
        new_text = record.text if text is None else text
        if media is None and new_text == record.text and markup == record.reply_markup:
            raise bad_request(_NOT_MODIFIED)
        message.wire.pop("reply_markup", None)
        message.wire.update(_wire_markup(markup), edit_date=int(time.time()))
        if text is not None:
            message.wire["text"] = text
        update: dict[str, object] = {}
        file_id = None
        if media is not None:
            self.media_to_edit(chat_id, message_id)
            for kind in (*_MEDIA_KINDS, "caption"):
                message.wire.pop(kind, None)
            message.wire.update(media | ({"caption": caption} if caption else {}))
            file_id = media["photo"][-1]["file_id"]
            update = {"file_id": file_id, "caption": caption,
                      "width": media["photo"][-1]["width"],
                      "height": media["photo"][-1]["height"]}  # fmt: skip
        message.record = record.model_copy(
            update={
                "text": new_text,
                "reply_markup": markup,
                **update,
                "edits": [
                    *record.edits,
                    MessageEdit(
                        method=method,
                        text=text,
                        reply_markup=markup,
                        at=time.time(),
                        file_id=file_id,
                        caption=caption,
                    ),
                ],
            }
        )
        await self._bump()
        return message.wire

    async def delete(self, chat_id: int, message_id: int, max_age_s: float) -> None:
        message = self._live(chat_id, message_id)
        if message is None:
            raise bad_request("message to delete not found")
        if time.time() - message.wire["date"] >= max_age_s:
            raise bad_request("message can't be deleted for everyone")
        message.deleted = True
        if message.record is not None:
            message.record = message.record.model_copy(update={"deleted": True})
        await self._bump()

    async def _bump(self) -> None:
        self._revision += 1
        await self._notify()

    def sent(self, chat_id: int) -> list[SentMessage]:
        return [
            message.record
            for message in self._messages.get(chat_id, {}).values()
            if message.record is not None
        ]

    async def wait_sent(
        self, chat_id: int, after_revision: int, seconds: float
    ) -> tuple[int, list[SentMessage]]:
        """Long poll for a change to what the bot sent, so test helpers need not busy-wait."""
        await self._wait(lambda: self._revision > after_revision, seconds)
        return self._revision, self.sent(chat_id)

    # Payments in Telegram Stars

    async def pay(self, user: SandboxUser, message_id: int, timeout_s: float) -> PaymentOutcome:
        """The user presses Pay: ask the bot, then charge only if it confirms in time.

        As in Telegram, a pre_checkout_query id is good for one answer within the timeout, and
        an invoice in a private chat can be paid once (its button then shows the receipt).
        """
        message = self._live(user.id, message_id)
        invoice = None if message is None or message.record is None else message.record.invoice
        if invoice is None:
            raise bad_request(f"the bot sent no invoice {message_id} to chat {user.id}")
        invoice_ref = (user.id, message_id)
        paying = [(query.user_id, query.message_id) for query in self._pre_checkouts.values()]
        paid = [(charge.user_id, charge.message_id) for charge in self.charges]
        if invoice_ref in paying or invoice_ref in paid:
            raise bad_request(f"invoice {message_id} is already paid or being paid")
        query_id = str(secrets.randbits(62))
        query = self._pre_checkouts[query_id] = _PreCheckout(user.id, message_id)
        await self._push(
            "pre_checkout_query",
            {
                "id": query_id,
                "from": user.to_telegram(),
                "currency": invoice.currency,
                "total_amount": invoice.total_amount,
                "invoice_payload": invoice.payload,
            },
        )
        await self._wait(lambda: query.answer is not None, timeout_s)
        del self._pre_checkouts[query_id]  # answered or expired, the id is spent
        if query.answer is None:
            return PaymentOutcome(status="timeout", pre_checkout_query_id=query_id)
        ok, error_message = query.answer
        if not ok:
            return PaymentOutcome(
                status="declined", pre_checkout_query_id=query_id, error_message=error_message
            )
        charge = StarCharge(
            telegram_payment_charge_id=f"stx{secrets.token_urlsafe(32)}",
            provider_payment_charge_id=f"{user.id}_{len(self.charges) + 1}",
            user_id=user.id,
            message_id=message_id,
            invoice_payload=invoice.payload,
            currency=invoice.currency,
            total_amount=invoice.total_amount,
            date=int(time.time()),
        )
        self.charges.append(charge)
        await self.user_message(user, {"successful_payment": _payment(charge)})
        return PaymentOutcome(
            status="paid",
            pre_checkout_query_id=query_id,
            telegram_payment_charge_id=charge.telegram_payment_charge_id,
        )

    async def answer_pre_checkout(self, query_id: str, ok: bool, error_message: str | None) -> None:
        query = self._pre_checkouts.get(query_id)
        if query is None or query.answer is not None:
            raise bad_request(QUERY_TOO_OLD)
        query.answer = (ok, error_message)
        await self._notify()

    async def refund(self, user_id: int, charge_id: str) -> None:
        """Return a charge to its user, once; the user's chat then shows a refunded_payment.

        Telegram documents CHARGE_ALREADY_REFUNDED; for a charge it does not know (or that is
        another user's) it answers CHARGE_NOT_FOUND.
        """
        user = self._users.get(user_id)
        if user is None:
            raise bad_request("USER_ID_INVALID")
        charge = next(
            (
                charge
                for charge in self.charges
                if charge.telegram_payment_charge_id == charge_id and charge.user_id == user_id
            ),
            None,
        )
        if charge is None:
            raise bad_request("CHARGE_NOT_FOUND")
        if any(refund.telegram_payment_charge_id == charge_id for refund in self.refunds):
            raise bad_request("CHARGE_ALREADY_REFUNDED")
        self.refunds.append(
            StarRefund(
                telegram_payment_charge_id=charge_id,
                user_id=user_id,
                total_amount=charge.total_amount,
                date=int(time.time()),
            )
        )
        await self.user_message(user, {"refunded_payment": _payment(charge)})

    # Commands

    def set_commands(self, record: CommandsRecord) -> None:
        self._commands[_commands_key(record.scope, record.language_code)] = record

    def get_commands(self, scope: JsonObject, language_code: str) -> list[JsonObject]:
        record = self._commands.get(_commands_key(scope, language_code))
        return [] if record is None else record.commands

    def commands(self) -> list[CommandsRecord]:
        return list(self._commands.values())

    # Updates: long polling and webhook

    async def _push(self, kind: str, payload: JsonObject) -> None:
        self._updates.append({"update_id": next(self._update_ids), kind: payload})
        await self._notify()

    def _deliverable(self) -> list[JsonObject]:
        allowed = self._allowed_updates
        return [update for update in self._updates if not allowed or _kind(update) in allowed]

    async def get_updates(
        self, offset: int | None, limit: int, seconds: float, allowed: list[str] | None
    ) -> list[JsonObject]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        if allowed is not None:
            self._allowed_updates = allowed
        if offset is not None:
            self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        await self._notify()  # ends an older poll, which Telegram answers with a conflict
        await self._wait(
            lambda: generation != self._poll_generation or bool(self._deliverable()), seconds
        )
        if generation != self._poll_generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        return self._deliverable()[:limit]

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            self._updates = self._updates[offset:]
        else:
            self._updates = [update for update in self._updates if update["update_id"] >= offset]

    def set_webhook(self, webhook: Webhook | None, allowed: list[str] | None, drop: bool) -> None:
        self.webhook = webhook
        self._webhook_error = None
        if allowed is not None:
            self._allowed_updates = allowed
        if drop:
            self._updates.clear()

    def webhook_info(self) -> JsonObject:
        info: JsonObject = {
            "url": "" if self.webhook is None else self.webhook.url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook is not None:
            info["max_connections"] = self.webhook.max_connections
            if self._allowed_updates:
                info["allowed_updates"] = self._allowed_updates
        if self._webhook_error is not None:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def next_for_webhook(self) -> tuple[Webhook, JsonObject] | None:
        """The oldest update to POST, waiting for one; None once the stand-in is closing."""
        await self._wait(lambda: self.webhook is not None and bool(self._deliverable()), None)
        if self._closing or self.webhook is None:
            return None
        return self.webhook, self._deliverable()[0]

    def webhook_result(self, webhook: Webhook, update: JsonObject, error: str | None) -> None:
        if webhook != self.webhook:
            return
        if error is None:
            self._confirm(update["update_id"] + 1)
        else:
            self._webhook_error = (int(time.time()), error)


def _wire_markup(markup: JsonObject | None) -> JsonObject:
    """Telegram echoes only inline keyboards back in the Message it returns."""
    return {"reply_markup": markup} if markup and "inline_keyboard" in markup else {}


def _payment(charge: StarCharge) -> JsonObject:
    """The fields SuccessfulPayment and RefundedPayment share."""
    return {
        "currency": charge.currency,
        "total_amount": charge.total_amount,
        "invoice_payload": charge.invoice_payload,
        "telegram_payment_charge_id": charge.telegram_payment_charge_id,
        "provider_payment_charge_id": charge.provider_payment_charge_id,
    }


def _kind(update: JsonObject) -> str:
    return next(key for key in update if key != "update_id")


def _commands_key(scope: JsonObject, language_code: str) -> tuple[str, str]:
    return repr(sorted(scope.items())), language_code
