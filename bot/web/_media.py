"""Serving a vault file to a moderator: decrypted in memory, never written to disk, with
byte ranges so the browser's video player can start and seek at once."""

import re

from aiohttp import web

from bot.services import Services
from bot.storage.media import media_type

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def vault_file(request: web.Request, services: Services, media_id: str) -> web.Response:
    content_type = media_type(services.db, media_id)
    data = services.vault.read_bytes(media_id)
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}
    asked = _RANGE.fullmatch(request.headers.get("Range", "").strip())
    if asked is None or not any(asked.groups()):
        return web.Response(body=data, content_type=content_type, headers=headers)
    first, last = asked.groups()
    if first:
        start, end = int(first), min(int(last) if last else len(data) - 1, len(data) - 1)
    else:  # the last N bytes
        start, end = max(0, len(data) - int(last)), len(data) - 1
    if start > end:
        raise web.HTTPRequestRangeNotSatisfiable(headers={"Content-Range": f"bytes */{len(data)}"})
    headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
    return web.Response(
        status=206, body=data[start : end + 1], content_type=content_type, headers=headers
    )
