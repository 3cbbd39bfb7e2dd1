"""Receiving a member's file safely: Telegram's download limit, then a check before keeping it."""

import asyncio
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from telegram import Message
from telegram.error import BadRequest
from telegram.ext import CallbackContext

from bot.flows.feedback import ingest_error_text
from bot.i18n import Gettext
from engine import IngestError

# Telegram lets bots download files up to 20 MB through getFile; larger ones cannot reach us.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

Checked = TypeVar("Checked")


async def fetch_checked(
    context: CallbackContext[Any, Any, Any, Any],
    message: Message,
    _: Gettext,
    file_id: str,
    file_size: int | None,
    check: Callable[[Path], Checked],
) -> tuple[bytes, Checked] | None:
    """Download a file and run ``check`` on a scratch copy before anything keeps it.

    Returns None after telling the member what to do instead; nothing stored is touched then.
    """
    too_big = _(
        "That file is larger than 20 MB, the most Telegram lets me receive. "
        "Please send a shorter recording or a smaller photo."
    )
    data = await download_within_limit(context, message, file_id, file_size, too_big)
    if data is None:
        return None
    with tempfile.TemporaryDirectory() as scratch:
        candidate = Path(scratch) / "upload"
        candidate.write_bytes(data)
        try:
            verdict = await asyncio.to_thread(check, candidate)
        except IngestError as error:
            await message.reply_text(ingest_error_text(_, error))
            return None
    return data, verdict


async def download_within_limit(
    context: CallbackContext[Any, Any, Any, Any],
    message: Message,
    file_id: str,
    file_size: int | None,
    too_big: str,
) -> bytes | None:
    """The file's bytes, or None after replying ``too_big``: Telegram refuses bots a download
    over MAX_DOWNLOAD_BYTES, which the message says before getFile would fail."""
    if file_size is not None and file_size > MAX_DOWNLOAD_BYTES:
        await message.reply_text(too_big)
        return None
    try:
        telegram_file = await context.bot.get_file(file_id)
    except BadRequest as error:
        if "too big" not in error.message.lower():
            raise
        await message.reply_text(too_big)
        return None
    return bytes(await telegram_file.download_as_bytearray())
