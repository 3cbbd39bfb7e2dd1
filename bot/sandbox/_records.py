"""What the control API reports, shared by the server that writes it and the client that reads it.

Keeping these models in one module makes the JSON between the two a checked contract instead of
two hand-written dict layouts that drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SandboxUser:
    """A Telegram user played by a test; its private chat with the bot has the same id."""

    id: int
    first_name: str
    language_code: str = "en"
    username: str | None = None

    def to_telegram(self) -> JsonObject:
        user: JsonObject = {
            "id": self.id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": self.language_code,
        }
        if self.username is not None:
            user["username"] = self.username
        return user


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class MessageEdit(_Record):
    """One successful edit, kept so tests can see how a message evolved, not just its end."""

    method: str
    text: str | None = None
    reply_markup: JsonObject | None = None
    at: float = 0.0  # when it was made (Unix time, sub-second), to check a bot's pace
    file_id: str | None = None  # editMessageMedia's new file: an upload's new id, or the one sent
    caption: str | None = None


class SentInvoice(_Record):
    """An invoice the bot sent, with the payload Telegram keeps from the user but the test needs."""

    title: str
    description: str
    payload: str
    currency: str
    total_amount: int


class SentMessage(_Record):
    """A message the bot sent, as it stands now (edits applied, deletion marked)."""

    chat_id: int
    message_id: int
    method: str
    date: int
    text: str | None = None
    caption: str | None = None
    reply_markup: JsonObject | None = None
    file_id: str | None = None
    """The sent file; for a photo, its largest size (the bytes the bot uploaded)."""
    file_name: str | None = None
    mime_type: str | None = None
    duration: int | None = None
    width: int | None = None
    height: int | None = None
    supports_streaming: bool | None = None
    thumbnail_file_id: str | None = None
    cover_file_id: str | None = None
    """sendVideo's cover: its largest size."""
    invoice: SentInvoice | None = None
    edits: list[MessageEdit] = []
    deleted: bool = False


class ErrorRecord(_Record):
    method: str
    code: int
    description: str


class FileDownload(_Record):
    """A file the bot fetched from the file server, and the client port it came from: which
    downloads shared one connection."""

    file_path: str
    client_port: int


class ChatActionRecord(_Record):
    chat_id: int
    action: str


class CommandsRecord(_Record):
    scope: JsonObject
    language_code: str
    commands: list[JsonObject]


class CallbackAnswerRecord(_Record):
    callback_query_id: str
    text: str | None = None
    show_alert: bool = False
    url: str | None = None


class PaymentOutcome(_Record):
    """How a user's press on Pay ended, from the user's side of the checkout."""

    status: Literal["paid", "declined", "timeout"]
    """A "timeout" means the bot did not answer the pre_checkout_query in the Limits' time."""
    pre_checkout_query_id: str
    error_message: str | None = None
    """The reason the bot gave the user when it declined."""
    telegram_payment_charge_id: str | None = None
    """Set when paid: what the bot needs to refund the payment."""


class StarCharge(_Record):
    """A completed Telegram Stars payment, kept so tests can count what users were charged."""

    telegram_payment_charge_id: str
    provider_payment_charge_id: str
    user_id: int
    message_id: int
    """The invoice message that was paid."""
    invoice_payload: str
    currency: str
    total_amount: int
    date: int


class StarRefund(_Record):
    """A successful refundStarPayment; a charge appears here at most once."""

    telegram_payment_charge_id: str
    user_id: int
    total_amount: int
    date: int


class HeldResponse(_Record):
    """A Bot API call the stand-in carried out but has not yet answered (see hold_responses)."""

    method: str
    chat_id: int | None = None
    message_id: int | None = None
    """The message the call created or changed, when its result is one."""
