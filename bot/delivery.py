"""What goes with every delivered greeting: its file name and the "Get the original file" button.

Telegram's apps may recompress a video or drop its metadata when it is forwarded, so a button
under it fetches the untouched original as a document (``bot/flows/verify.py``): the file to
keep or pass on, with its AIGC label and C2PA credentials. The sending itself is the order
desk's (``bot/orders``).
"""

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Gettext
from bot.storage import Order

# Followed by the order id (16 characters): far inside callback_data's 64 bytes.
ORIGINAL_PREFIX = "orig:"


def greeting_filename(order: Order) -> str:
    """The festival and the day it was made, as a family would name it: never the order's id."""
    return f"greeting-{order.template_id or 'festival'}-{order.created_at[:10]}.mp4"


def original_button(_: Gettext, order: Order) -> InlineKeyboardMarkup:
    button = InlineKeyboardButton(
        _("Get the original file"), callback_data=ORIGINAL_PREFIX + order.id
    )
    return InlineKeyboardMarkup([[button]])
