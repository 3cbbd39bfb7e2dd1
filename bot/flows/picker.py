"""Choosing the festival by picture: a paged card under the festival question, one template at a
time, with Previous / Next / Choose.

Each page is a still of the template in the member's language and in the aspect their greeting
will have (the landscape look for a voice greeting, which has no picture), so what they choose
is what they will see. A still takes about a second to make, off the event loop; once sent,
Telegram's file id for it is kept with the picture's digest (``bot.storage.stills``) and every
later page showing it is resent by id. A restarted bot makes each still once more, on its first
showing, to learn its digest: a template redrawn by an upgrade is then sent anew, not as the
old picture. Choose carries the festival keyboard's own ``tpl:<id>``, so choosing here and
there are one path (``bot.flows.order.template_chosen``).
"""

import asyncio
import hashlib
import io
from datetime import date

from babel.dates import format_date
from sqlite_utils import Database
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto, Message, Update
from telegram.constants import ChatAction

from bot.delivery import ASPECT, Shape
from bot.festivals import next_date
from bot.flows.basics import Context, caller
from bot.flows.order import PICTURES_PREFIX, TEMPLATE_PREFIX, festivals, shape_for
from bot.i18n import Gettext, Language
from bot.storage.orders import draft_for
from bot.storage.stills import remember_still, still_file_id
from engine import Aspect, preview_still, template_festival, template_title

_STILL_QUALITY = 88
# Babel's locale for each language's dates: Taiwan's and the mainland's long forms.
_DATE_LOCALES: dict[Language, str] = {"zh-Hant": "zh_Hant_TW", "zh-Hans": "zh_Hans_CN", "en": "en"}


def _caption(_: Gettext, template_id: str, language: Language, today: date) -> str:
    when = next_date(template_festival(template_id), today)
    day = (
        _("Any day of the year")
        if when is None
        else format_date(when, format="long", locale=_DATE_LOCALES[language])
    )
    return f"{template_title(template_id, language)}\n{day}"


def _page_buttons(_: Gettext, order: list[str], template_id: str) -> InlineKeyboardMarkup:
    """Previous and Next go round the list; Choose is the festival keyboard's own button."""
    at = order.index(template_id)
    previous, following = order[at - 1], order[(at + 1) % len(order)]
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(_("Previous"), callback_data=PICTURES_PREFIX + previous),
                InlineKeyboardButton(_("Next"), callback_data=PICTURES_PREFIX + following),
            ],
            [
                InlineKeyboardButton(
                    _("Choose this one"), callback_data=TEMPLATE_PREFIX + template_id
                )
            ],
        ]
    )


def picture_aspect(shape: Shape) -> Aspect:
    """The aspect the member's greeting is drawn in; a voice greeting shows the landscape look."""
    return "16:9" if shape == Shape.VOICE else ASPECT[shape]


_StillKey = tuple[str, Language, Aspect]
# The digest of each still as this code draws it, made once per process: a file id kept for
# another digest (from before an upgrade) is not used.
_digests: dict[_StillKey, str] = {}


async def _still(message: Message, key: _StillKey) -> bytes:
    await message.get_bot().send_chat_action(message.chat_id, ChatAction.UPLOAD_PHOTO)
    image = await asyncio.to_thread(preview_still, *key)
    buffer = io.BytesIO()
    await asyncio.to_thread(image.save, buffer, "JPEG", quality=_STILL_QUALITY)
    _digests[key] = hashlib.sha256(buffer.getvalue()).hexdigest()
    return buffer.getvalue()


async def _known_or_made(message: Message, db: Database, key: _StillKey) -> tuple[str | bytes, str]:
    """The still's file id where it was uploaded as the picture this code draws, else the
    picture; and its digest."""
    made = None if key in _digests else await _still(message, key)
    known = still_file_id(db, *key, _digests[key])
    if known is not None:
        return known, _digests[key]
    return made if made is not None else await _still(message, key), _digests[key]


async def page_pressed(update: Update, context: Context) -> None:
    """ "See them in pictures" under the festival question opens the card; its Previous and
    Next turn it to another template, editing the same photo."""
    query = update.callback_query
    assert query is not None and query.data is not None
    services, message, user_id, _ = caller(update, context)
    await query.answer()
    template_id = query.data.removeprefix(PICTURES_PREFIX)
    soon, later = festivals(services)
    order = [*soon, *later]
    draft = draft_for(services.db, user_id)
    if draft is None or template_id not in order:
        await message.reply_text(_("That choice has expired. Send /start to begin again."))
        return
    language = draft.language
    aspect = picture_aspect(shape_for(services, draft))
    caption = _caption(_, template_id, language, services.clock.now().date())
    markup = _page_buttons(_, order, template_id)
    key: _StillKey = (template_id, language, aspect)
    photo, digest = await _known_or_made(message, services.db, key)
    if message.photo:
        edited = await query.edit_message_media(
            InputMediaPhoto(photo, caption=caption), reply_markup=markup
        )
        assert isinstance(edited, Message), "a bot's own message comes back edited"
        sent = edited
    else:
        sent = await message.reply_photo(photo, caption=caption, reply_markup=markup)
    if isinstance(photo, bytes):
        remember_still(services.db, *key, digest, sent.photo[-1].file_id)
