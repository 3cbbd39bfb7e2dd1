"""What goes with every delivered greeting: its shape (how Telegram shows it), the call that
sends it in that shape, its file name and the "Get the original file" button.

Telegram's apps may recompress a video or drop its metadata when it is forwarded, so a button
under it fetches the untouched original as a document (``bot/flows/verify.py``): the file to
keep or pass on, with its AIGC label and C2PA credentials. When each send happens, and that it
happens once, is the order desk's (``bot/orders``).
"""

from collections.abc import Awaitable
from enum import StrEnum

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ChatAction

from bot.i18n import Gettext
from bot.storage import Order
from engine import Aspect

# Followed by the order id (16 characters): far inside callback_data's 64 bytes.
ORIGINAL_PREFIX = "orig:"


class Shape(StrEnum):
    """How the greeting arrives: a video (landscape, vertical for Stories, square), a round
    video note (``sendVideoNote``) or a voice message (``sendVoice``)."""

    LANDSCAPE = "landscape"
    VERTICAL = "vertical"
    SQUARE = "square"
    ROUND = "round"
    VOICE = "voice"


DEFAULT_SHAPE = Shape.LANDSCAPE
# The picture each shape is rendered at; a voice note is the sound of a square render.
ASPECT: dict[Shape, Aspect] = {
    Shape.LANDSCAPE: "16:9",
    Shape.VERTICAL: "9:16",
    Shape.SQUARE: "1:1",
    Shape.ROUND: "1:1",
    Shape.VOICE: "1:1",
}


# What the chat shows while the greeting uploads ("sending a video...").
CHAT_ACTION: dict[Shape, ChatAction] = {
    Shape.LANDSCAPE: ChatAction.UPLOAD_VIDEO,
    Shape.VERTICAL: ChatAction.UPLOAD_VIDEO,
    Shape.SQUARE: ChatAction.UPLOAD_VIDEO,
    Shape.ROUND: ChatAction.UPLOAD_VIDEO_NOTE,
    Shape.VOICE: ChatAction.UPLOAD_VOICE,
}


def shape_of(order: Order) -> Shape:
    return Shape(order.shape) if order.shape else DEFAULT_SHAPE


def is_voice_message(order: Order) -> bool:
    """Sound alone: no face in it, and no picture or manifest to carry marks."""
    return shape_of(order) == Shape.VOICE


def has_caption(order: Order) -> bool:
    """A video note carries no caption: its words go in a message of their own."""
    return shape_of(order) != Shape.ROUND


def send_greeting(
    bot: Bot,
    order: Order,
    chat_id: int,
    media: bytes | str,
    caption: str | None,
    markup: InlineKeyboardMarkup | None,
    cover: bytes | None = None,
    round_as_note: bool = True,
) -> Awaitable[Message]:
    """The one call that puts the greeting (``media``: its bytes, or the file id Telegram gave
    an earlier send) in a chat in the order's shape; ``cover`` (the render's still) is the
    video's cover and the note's thumbnail. ``round_as_note`` False sends a round greeting as
    a square video (a moderator's card needs its caption)."""
    shape = shape_of(order)
    duration = round(order.duration_s or 0)
    if shape == Shape.VOICE:
        return bot.send_voice(chat_id, voice=media, duration=duration, caption=caption,
                              reply_markup=markup, filename=greeting_filename(order))  # fmt: skip
    if shape == Shape.ROUND and round_as_note:
        return bot.send_video_note(chat_id, video_note=media, duration=duration,
                                   length=order.width, thumbnail=cover, reply_markup=markup,
                                   filename=greeting_filename(order))  # fmt: skip
    return bot.send_video(
        chat_id,
        video=media,
        cover=cover,
        thumbnail=cover,
        duration=duration,
        width=order.width,
        height=order.height,
        supports_streaming=True,
        caption=caption,
        reply_markup=markup,
        filename=greeting_filename(order),
    )


def greeting_filename(order: Order) -> str:
    """The festival and the day it was made, as a family would name it: never the order's id."""
    suffix = ".ogg" if shape_of(order) == Shape.VOICE else ".mp4"
    return f"greeting-{order.template_id or 'festival'}-{order.created_at[:10]}{suffix}"


def original_button(_: Gettext, order: Order) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(
        _("Get the original file"), callback_data=ORIGINAL_PREFIX + order.id
    )
    return InlineKeyboardMarkup([[button]])


def original_caption(_: Gettext, order: Order) -> str:
    """What the original file keeps that a forwarded copy may lose."""
    if is_voice_message(order):
        return _(
            "The original file, exactly as Tuanyuan made it, with its AI label and sound "
            "watermark. Share this file to keep them."
        )
    return _(
        "The original file, exactly as Tuanyuan made it, with its AI label, watermarks and "
        "content credentials. Share this file to keep them."
    )
