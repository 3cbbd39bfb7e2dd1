"""Sending finished greetings back into the family's chat.

The video goes as a streamable ``sendVideo`` with its real duration, size and a thumbnail, so
Telegram shows it inline instead of as a file to download. Telegram's apps may recompress a
video or drop its metadata when it is forwarded, so a button under it fetches the untouched
original as a document (``bot/flows/verify.py``): the file to keep or pass on, with its AIGC
label and C2PA credentials.
"""

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Gettext, gettext_for, language_from_telegram
from bot.storage import Order
from engine import RenderResult

# Followed by the order id (16 characters): far inside callback_data's 64 bytes.
ORIGINAL_PREFIX = "orig:"


def greeting_filename(order: Order) -> str:
    return f"greeting-{order.id}.mp4"


def original_button(_: Gettext, order: Order) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(
        _("Get the original file"), callback_data=ORIGINAL_PREFIX + order.id
    )
    return InlineKeyboardMarkup([[button]])


async def send_greeting(bot: Bot, order: Order, result: RenderResult) -> tuple[str, int]:
    """Upload the rendered video; return Telegram's file_id and the message's id.

    Both are kept so that withdrawing consent can forget the file and delete the message.
    """
    _ = gettext_for(language_from_telegram(order.language))
    caption = _("Your greeting for {recipient} is ready. This video was made with AI.").format(
        recipient=order.recipient
    )
    with result.video.open("rb") as video, result.thumbnail.open("rb") as thumbnail:
        message = await bot.send_video(
            chat_id=order.chat_id,
            video=video,
            duration=round(result.duration_s),
            width=result.width,
            height=result.height,
            supports_streaming=True,
            thumbnail=thumbnail,
            caption=caption,
            filename=greeting_filename(order),
            reply_markup=original_button(_, order),
        )
    assert message.video is not None
    return message.video.file_id, message.message_id


async def send_failure_notice(bot: Bot, order: Order) -> None:
    _ = gettext_for(language_from_telegram(order.language))
    await bot.send_message(
        chat_id=order.chat_id,
        text=_(
            "Sorry, I could not make this greeting. Your photo and voice note are kept: "
            "send /start to try again."
        ),
    )
