"""Turning a Bot API request body into one flat parameter mapping, whatever its encoding.

Telegram takes parameters from the query string, urlencoded or multipart forms and JSON bodies
alike; clients such as python-telegram-bot pick the encoding per call (multipart only when a
file rides along). Method handlers should never care which one arrived.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import IO, Any

from aiohttp import web

from bot.sandbox._errors import ApiError, bad_request

_ATTACH = "attach://"


@dataclass(frozen=True, slots=True)
class Upload:
    """A file part of a multipart request, spooled to disk by aiohttp rather than held in memory."""

    file: IO[bytes]
    filename: str
    content_type: str
    size: int

    def read(self) -> bytes:
        self.file.seek(0)
        return self.file.read()


def too_large() -> ApiError:
    return ApiError(413, "Request Entity Too Large")


@contextlib.asynccontextmanager
async def request_parameters(
    request: web.Request, max_upload_bytes: int
) -> AsyncIterator[dict[str, Any]]:
    """Yield the request's parameters, closing its spooled uploads when the caller is done.

    Empty strings are dropped because Telegram treats an empty parameter as an absent one
    ("text=" answers "message text is empty"). An ``attach://name`` value is replaced by the
    upload it names, which is how python-telegram-bot sends thumbnails.
    """
    params: dict[str, Any] = dict(request.query)
    uploads: list[Upload] = []
    try:
        params.update(await _body(request, uploads))
        if sum(upload.size for upload in uploads) > max_upload_bytes:
            raise too_large()
        attached = {name: value for name, value in params.items() if isinstance(value, Upload)}
        for name, value in list(params.items()):
            if isinstance(value, str) and value.startswith(_ATTACH):
                params[name] = attached.get(value.removeprefix(_ATTACH), value)
        yield {name: value for name, value in params.items() if value != ""}
    finally:
        for upload in uploads:
            upload.file.close()


async def _body(request: web.Request, uploads: list[Upload]) -> dict[str, Any]:
    if not request.body_exists:
        return {}
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise bad_request("can't parse JSON encoded request body") from exc
        if not isinstance(body, dict):
            raise bad_request("JSON object expected as request body")
        return body
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge as exc:
        raise too_large() from exc
    except ValueError as exc:  # a form that is not UTF-8, a multipart body that is no multipart
        raise bad_request("can't parse request body") from exc
    fields: dict[str, Any] = {}
    for name, value in form.items():
        if isinstance(value, web.FileField):
            value.file.seek(0, 2)
            upload = Upload(value.file, value.filename, value.content_type, value.file.tell())
            uploads.append(upload)
            fields[name] = upload
        else:
            fields[name] = value
    return fields


def loads_if_text(value: Any) -> Any:
    """Decode a form field holding JSON, leaving already-decoded JSON-body values alone."""
    return json.loads(value) if isinstance(value, str) else value
