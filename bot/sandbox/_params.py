"""Bot API method parameters: one pydantic model per method, the only place requests are checked.

Each model's class name is the method's name, so registering a handler needs nothing more.
Checks that depend on :class:`Limits` read them from the validation context and raise
:class:`ApiError` directly (pydantic lets that through) when Telegram has a specific wording;
everything else becomes "<param> is empty" or the field's "invalid" wording in
:func:`parse_params`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from bot.sandbox._errors import QUERY_TOO_OLD, ApiError, bad_request
from bot.sandbox._limits import Limits
from bot.sandbox._wire import Upload, loads_if_text

_EMPTY = {
    "text": "message text is empty",
    "photo": "there is no photo in the request",
    "video": "there is no video in the request",
    "document": "there is no document in the request",
    "voice": "there is no voice in the request",
    "audio": "there is no audio in the request",
    # The Bot API's wording for its get_required_string_arg checks.
    **{
        name: f'parameter "{name}" is required'
        for name in ("title", "description", "payload", "currency", "telegram_payment_charge_id")
    },
    "prices": "can't parse prices JSON object",
    "user_id": "invalid user_id specified",
    # An absent id reads as 0, which Telegram answers like any unknown query id.
    "pre_checkout_query_id": QUERY_TOO_OLD,
}
_INVALID = {
    "chat_id": "chat not found",
    "reply_markup": "can't parse reply keyboard markup JSON object",
    "media": "can't parse InputMedia JSON object",
    "commands": "can't parse commands JSON object",
    "scope": "can't parse BotCommandScope JSON object",
    "allowed_updates": "can't parse allowed updates JSON array",
    "action": "wrong parameter action in request",
    "file_id": "invalid file_id",
    "callback_query_id": QUERY_TOO_OLD,
    "pre_checkout_query_id": QUERY_TOO_OLD,
    "secret_token": "secret token contains unallowed characters",
    "prices": "can't parse prices JSON object",
    "user_id": "invalid user_id specified",
}
_STARS = "XTR"
"""Telegram Stars, the only currency the stand-in takes: digital goods are sold in nothing else."""
_MAX_PAYLOAD_BYTES = 128
_EMPTY_ERRORS = {"missing", "empty"}


def _limits(info: ValidationInfo) -> Limits:
    assert isinstance(info.context, Limits)
    return info.context


def utf16_length(text: str) -> int:
    """Length as Telegram measures text: in UTF-16 code units, for limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _check_text(text: str, info: ValidationInfo) -> str:
    if not text.strip():
        raise PydanticCustomError("empty", "text is blank")
    if utf16_length(text) > _limits(info).max_text_length:
        raise bad_request("message is too long")
    return text


def _check_caption(caption: str | None, info: ValidationInfo) -> str | None:
    if caption is not None and utf16_length(caption) > _limits(info).max_caption_length:
        raise bad_request("message caption is too long")
    return caption


def _check_photo(photo: Upload | str, info: ValidationInfo) -> Upload | str:
    # Telegram documents a 10 MB cap for uploaded photos; the Bot API passes the MTProto error
    # through as "PHOTO_SAVE_FILE_INVALID" (PHOTO_INVALID_DIMENSIONS is about width and height).
    if isinstance(photo, Upload) and photo.size > _limits(info).max_photo_bytes:
        raise bad_request("PHOTO_SAVE_FILE_INVALID")
    return photo


def _chat_id(value: Any) -> Any:
    if isinstance(value, str) and value.startswith("@"):
        raise ValueError("the stand-in only knows private chats, addressed by numeric id")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", arbitrary_types_allowed=True)


class _Button(_Model):
    model_config = ConfigDict(extra="allow")
    text: str


class InlineButton(_Button):
    callback_data: str | None = None


class InlineKeyboardMarkup(_Model):
    model_config = ConfigDict(extra="allow")
    inline_keyboard: list[list[InlineButton]]


class _ReplyKeyboardMarkup(_Model):
    model_config = ConfigDict(extra="allow")
    keyboard: list[list[_Button | str]]


class _ReplyKeyboardRemove(_Model):
    model_config = ConfigDict(extra="allow")
    remove_keyboard: Literal[True]


class _ForceReply(_Model):
    model_config = ConfigDict(extra="allow")
    force_reply: Literal[True]


def _check_buttons(markup: _Model, info: ValidationInfo) -> _Model:
    if isinstance(markup, InlineKeyboardMarkup):
        limit = _limits(info).max_callback_data_bytes
        for row in markup.inline_keyboard:
            for button in row:
                data = button.callback_data
                if data is not None and not 1 <= len(data.encode()) <= limit:
                    raise bad_request("BUTTON_DATA_INVALID")
    return markup


Json = BeforeValidator(loads_if_text)
ChatId = Annotated[int, BeforeValidator(_chat_id)]
Text = Annotated[str, AfterValidator(_check_text)]
Caption = Annotated[str | None, AfterValidator(_check_caption)]
Markup = Annotated[
    InlineKeyboardMarkup | _ReplyKeyboardMarkup | _ReplyKeyboardRemove | _ForceReply,
    Json,
    AfterValidator(_check_buttons),
]
Media = Upload | str
"""A fresh upload, or the file_id of a file Telegram already has."""
AllowedUpdates = Annotated[list[str] | None, Json]


class GetMe(_Model):
    pass


class GetUpdates(_Model):
    offset: int | None = None
    limit: Annotated[int, Field(ge=1, le=100)] = 100
    timeout: Annotated[float, Field(ge=0)] = 0
    allowed_updates: AllowedUpdates = None


class SetWebhook(_Model):
    url: str = ""
    secret_token: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,256}$")] | None = None
    drop_pending_updates: bool = False
    max_connections: Annotated[int, Field(ge=1, le=100)] = 40
    allowed_updates: AllowedUpdates = None


class DeleteWebhook(_Model):
    drop_pending_updates: bool = False


class GetWebhookInfo(_Model):
    pass


class ToChat(_Model):
    chat_id: ChatId


class SendChatAction(ToChat):
    action: Literal[
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ]


class Send(ToChat):
    """A call that puts a new message into a chat, and so counts against flood control."""

    reply_markup: Markup | None = None


class SendMessage(Send):
    text: Text


class SendMedia(Send):
    caption: Caption = None


class SendPhoto(SendMedia):
    photo: Annotated[Media, AfterValidator(_check_photo)]


class SendVideo(SendMedia):
    video: Media
    duration: int | None = None
    width: int | None = None
    height: int | None = None
    supports_streaming: bool | None = None
    thumbnail: Media | None = None
    cover: Media | None = None


class SendVideoNote(Send):
    """A round video message: no caption, and no sending by URL."""

    video_note: Media
    duration: int | None = None
    length: Annotated[int, Field(ge=1)] | None = None
    thumbnail: Media | None = None


class SendDocument(SendMedia):
    document: Media
    thumbnail: Media | None = None


class SendVoice(SendMedia):
    voice: Media
    duration: int | None = None


class SendAudio(SendMedia):
    audio: Media
    duration: int | None = None
    performer: str | None = None
    title: str | None = None
    thumbnail: Media | None = None


class MessageRef(ToChat):
    message_id: int


class EditMessageText(MessageRef):
    text: Text
    reply_markup: Markup | None = None


class EditMessageReplyMarkup(MessageRef):
    reply_markup: Markup | None = None


class InputMediaPhoto(_Model):
    """The new content of an edited media message: the stand-in knows photos only."""

    type: Literal["photo"]
    media: Annotated[Media, AfterValidator(_check_photo)]
    caption: Caption = None


class EditMessageMedia(MessageRef):
    """``media`` is an InputMedia JSON object; its ``attach://name`` names an upload sent
    beside it in the same request, which is how a new file travels with the edit."""

    media: InputMediaPhoto
    reply_markup: Markup | None = None

    @model_validator(mode="before")
    @classmethod
    def _attach(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        try:
            media = loads_if_text(data.get("media"))
        except ValueError:
            return data  # left for the field's own check: "can't parse InputMedia"
        if not isinstance(media, dict):
            return data
        source = media.get("media")
        if isinstance(source, str) and source.startswith("attach://"):
            media = {**media, "media": data.get(source.removeprefix("attach://"), source)}
        return {**data, "media": media}


class DeleteMessage(MessageRef):
    pass


class AnswerCallbackQuery(_Model):
    callback_query_id: str
    text: str | None = None
    show_alert: bool = False
    url: str | None = None


class BotCommand(_Model):
    command: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,32}$")]
    description: Annotated[str, Field(min_length=1, max_length=256)]


class BotCommandScope(_Model):
    model_config = ConfigDict(extra="forbid")
    type: Literal[
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    ] = "default"
    chat_id: int | str | None = None
    user_id: int | None = None


class _CommandsQuery(_Model):
    scope: Annotated[BotCommandScope, Json] = BotCommandScope()
    language_code: str = ""


class SetMyCommands(_CommandsQuery):
    commands: Annotated[list[BotCommand], Json, Field(max_length=100)]


class GetMyCommands(_CommandsQuery):
    pass


class GetFile(_Model):
    file_id: str


class LabeledPrice(_Model):
    label: str
    amount: int


def _check_payload(payload: str) -> str:
    if len(payload.encode()) > _MAX_PAYLOAD_BYTES:
        raise bad_request("INVOICE_PAYLOAD_INVALID")
    return payload


class SendInvoice(Send):
    """Telegram does not document its wording for an over-long title or description; those
    get the stand-in's generic "invalid title specified"."""

    title: Annotated[str, Field(max_length=32)]
    description: Annotated[str, Field(max_length=255)]
    payload: Annotated[str, AfterValidator(_check_payload)]
    currency: str
    prices: Annotated[list[LabeledPrice], Json]
    provider_token: str = ""
    start_parameter: str = ""
    max_tip_amount: int = 0
    suggested_tip_amounts: Annotated[list[int], Json] = []

    @model_validator(mode="after")
    def _check_stars(self) -> Self:
        """Stars invoices have one price, no provider and no tips; other currencies need a
        payment provider, and the stand-in connects to none."""
        if self.currency != _STARS:
            raise bad_request("PAYMENT_PROVIDER_INVALID")
        if (
            self.provider_token
            or len(self.prices) != 1
            or self.max_tip_amount
            or self.suggested_tip_amounts
        ):
            raise bad_request("STARS_INVOICE_INVALID")
        if self.total_amount <= 0:
            raise bad_request("total price must be positive")
        return self

    @property
    def total_amount(self) -> int:
        return sum(price.amount for price in self.prices)


class AnswerPreCheckoutQuery(_Model):
    pre_checkout_query_id: str
    ok: bool = False
    """The Bot API reads an absent ``ok`` as false, which then needs a reason."""
    error_message: str | None = None

    @model_validator(mode="after")
    def _check_reason(self) -> Self:
        if not self.ok and self.error_message is None:
            raise bad_request('parameter "error_message" is required')
        return self


class RefundStarPayment(_Model):
    user_id: int
    telegram_payment_charge_id: str


_P = TypeVar("_P", bound=BaseModel)


def parse_params(model: type[_P], params: Mapping[str, Any], limits: Limits) -> _P:
    """Validate ``params`` for one method, reporting the first problem as Telegram would."""
    try:
        return model.model_validate(params, context=limits)
    except ValidationError as exc:
        raise _describe(exc.errors()[0]) from None


def _describe(error: ErrorDetails) -> ApiError:
    field = str(error["loc"][0]) if error["loc"] else "parameters"
    if error["type"] in _EMPTY_ERRORS:
        return bad_request(_EMPTY.get(field, f"{field} is empty"))
    return bad_request(_INVALID.get(field, f"invalid {field} specified"))
