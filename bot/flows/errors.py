"""What becomes of an exception a handler let through (PTB's error handler).

Telegram refusing a call (403: the member blocked the bot; 400: a message gone or unchanged;
429 after the rate limiter's retries ran out) and the network failing are part of running a
bot: one structured line each, no traceback (and after a network failure the person is told to
try again, their reply perhaps lost). Anything else is a bug: logged once with its
traceback, and the person who asked is told, in their language, that it went wrong on the
bot's side, so they are never left without an answer.
"""

from typing import Any

import structlog
from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import CallbackContext

from bot.services import services_of

Context = CallbackContext[Any, Any, Any, Any]
log = structlog.get_logger(__name__)

_TELEGRAM_SIDE = (Forbidden, BadRequest, RetryAfter, NetworkError)
_NOT_TELLABLE = (Forbidden, BadRequest, RetryAfter)
"""Refusals another message would meet too; a network failure that outlasted its retries
(bot/transient.py) may have cost the person their reply, so they are told to try again."""


async def on_error(update: object, context: Context) -> None:
    error = context.error
    user = update.effective_user if isinstance(update, Update) else None
    user_id = None if user is None else user.id
    if isinstance(error, _TELEGRAM_SIDE):
        log.warning(
            "telegram.refused", error=type(error).__name__, detail=str(error), user_id=user_id
        )
        if isinstance(error, _NOT_TELLABLE):
            return
    else:
        log.error("handler.failed", user_id=user_id, exc_info=error)
    chat = update.effective_chat if isinstance(update, Update) else None
    if user is None or chat is None:
        return
    _ = services_of(context).gettext_of(user.id)
    try:
        await context.bot.send_message(
            chat.id, _("Something went wrong on my side. Please try again in a moment.")
        )
    except TelegramError as failed:
        log.warning("telegram.refused", error=type(failed).__name__, detail=str(failed),
                    user_id=user_id)  # fmt: skip
