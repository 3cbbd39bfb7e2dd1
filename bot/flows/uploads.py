"""Receiving a member's file safely: Telegram's download limit, streamed into an in-memory file
(``bot/plaintext.py``), then a check in a worker process (``bot/analysis.py``) before anything
keeps it (sealed, in the vault)."""

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import structlog
from telegram import Message
from telegram.error import BadRequest
from telegram.ext import CallbackContext

from bot.flows.feedback import ingest_error_text
from bot.i18n import Gettext
from bot.plaintext import MemoryFiles
from bot.services import services_of
from engine import IngestError

log = structlog.get_logger(__name__)

# Telegram lets bots download files up to 20 MB through getFile; larger ones cannot reach us.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
_DOWNLOAD_TIMEOUT_S = 120.0
_DOWNLOAD_KEEPALIVE_S = 60.0
"""How long an idle connection to the file server is kept. httpx's default, 5 s, is shorter than
a member takes between a photo and the next, and than a photo's own check under load, so each
file would open a new connection; a server that closes sooner costs only that new connection."""


def download_client() -> httpx.AsyncClient:
    """The one client every download of the bot's life goes through (``Services.downloads``)."""
    return httpx.AsyncClient(
        timeout=_DOWNLOAD_TIMEOUT_S, limits=httpx.Limits(keepalive_expiry=_DOWNLOAD_KEEPALIVE_S)
    )


Checked = TypeVar("Checked")


async def fetch_checked(
    context: CallbackContext[Any, Any, Any, Any],
    message: Message,
    _: Gettext,
    file_id: str,
    file_size: int | None,
    check: Callable[[Path], Awaitable[Checked]],
) -> tuple[bytes, Checked] | None:
    """Download a file into the bot's memory (never a file on disk, ``bot/plaintext.py``) and
    run ``check`` (one of ``Analyses``) on it before anything keeps it; a few uploads at a time.

    Returns None after telling the member what to do instead; nothing stored is touched then.
    """
    too_big = _(
        "That file is larger than 20 MB, the most Telegram lets me receive. "
        "Please send a shorter recording or a smaller photo."
    )
    services = services_of(context)
    async with services.analyses.slot():
        with MemoryFiles() as memory:
            candidate = memory.empty("upload")
            if not await download_within_limit(
                context, message, _, file_id, file_size, too_big, candidate
            ):
                return None
            try:
                verdict = await check(candidate)
            except IngestError as error:
                await message.reply_text(ingest_error_text(_, error))
                return None
            return candidate.read_bytes(), verdict


async def download_within_limit(
    context: CallbackContext[Any, Any, Any, Any],
    message: Message,
    _: Gettext,
    file_id: str,
    file_size: int | None,
    too_big: str,
    target: Path,
) -> bool:
    """Stream the file to ``target``, or reply and return False: ``too_big`` when Telegram
    refuses bots the download (over MAX_DOWNLOAD_BYTES, which the message says before getFile
    would fail; no more than that is ever read, whatever the sizes said), and a request to
    send it again when Telegram's file server fails."""
    if file_size is not None and file_size > MAX_DOWNLOAD_BYTES:
        await message.reply_text(too_big)
        return False
    try:
        telegram_file = await context.bot.get_file(file_id)
    except BadRequest as error:
        if "too big" not in error.message.lower():
            raise
        await message.reply_text(too_big)
        return False
    assert telegram_file.file_path is not None, "getFile always names the file"
    written = 0
    try:
        async with services_of(context).downloads.stream(
            "GET", telegram_file.file_path
        ) as response:
            response.raise_for_status()
            with target.open("wb") as out:
                async for chunk in response.aiter_bytes():
                    written += len(chunk)
                    if written > MAX_DOWNLOAD_BYTES:
                        await message.reply_text(too_big)
                        return False
                    out.write(chunk)
    except httpx.HTTPError as error:
        # Logged without httpx's message: the file's URL holds the bot token.
        status = error.response.status_code if isinstance(error, httpx.HTTPStatusError) else None
        log.warning("download.failed", error=type(error).__name__, status=status)
        await message.reply_text(
            _("I could not fetch that file from Telegram just now. Please send it again.")
        )
        return False
    return True
