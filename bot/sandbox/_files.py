"""The stand-in's file cloud: every uploaded or user-sent file, on disk, addressed by file_id."""

from __future__ import annotations

import asyncio
import io
import itertools
import mimetypes
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image, UnidentifiedImageError

from bot.sandbox._errors import bad_request
from bot.sandbox._limits import Limits
from bot.sandbox._records import JsonObject
from bot.sandbox._wire import Upload

_THUMBNAIL_SIDES = (90, 320, 800)
"""Telegram's "s", "m" and "x" photo sizes; only those smaller than the original are made."""


@dataclass(frozen=True, slots=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    """Relative path, as getFile reports it and /file/bot<token>/<file_path> serves it."""
    file_size: int

    def to_telegram(self) -> JsonObject:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
        }


class FileStore:
    """Files live under ``root``; only the index is in memory, so large videos cost no RAM."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._counter = itertools.count(1)
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._photo_sizes: dict[str, list[JsonObject]] = {}
        self._thumbnails: dict[str, JsonObject] = {}

    def get(self, file_id: str) -> StoredFile | None:
        return self._by_id.get(file_id)

    def by_path(self, file_path: str) -> StoredFile | None:
        return self._by_path.get(file_path)

    def local_path(self, stored: StoredFile) -> Path:
        return self._root / stored.file_path

    async def read(self, stored: StoredFile) -> bytes:
        return await asyncio.to_thread(self.local_path(stored).read_bytes)

    async def save(self, source: Upload | bytes, folder: str, suffix: str) -> StoredFile:
        number = next(self._counter)
        relative = f"{folder}/file_{number}{suffix}"
        target = self._root / relative
        size = await asyncio.to_thread(_write, target, source)
        stored = StoredFile(
            file_id=f"{folder[:2].upper()}{number}-{secrets.token_urlsafe(24)}",
            file_unique_id=secrets.token_urlsafe(9),
            file_path=relative,
            file_size=size,
        )
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored
        return stored

    async def media(self, source: Upload | str, folder: str, suffix: str | None) -> StoredFile:
        """Resolve a media parameter: store a fresh upload, or look up a known file_id.

        ``suffix`` names the stored file the way Telegram does for its type (photos are always
        ".jpg"); None keeps the uploaded file's own extension, as for documents.
        """
        if isinstance(source, Upload):
            return await self.save(source, folder, _suffix(source) if suffix is None else suffix)
        stored = self.get(source)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return stored

    async def photo(self, source: Upload | str, limits: Limits) -> list[JsonObject]:
        """PhotoSize list, smallest first; the largest size is the very bytes that were sent.

        Sizes are remembered by the largest file_id, so re-sending a photo by file_id (as bots
        that cache file_ids do) answers with the same sizes instead of making new thumbnails.
        """
        original = await self.media(source, "photos", ".jpg")
        known = self._photo_sizes.get(original.file_id)
        if known is not None:
            return known
        data = await self.read(original)
        width, height, thumbnails = await asyncio.to_thread(_analyse_photo, data, limits)
        sizes = []
        for thumbnail, thumb_width, thumb_height in thumbnails:
            stored = await self.save(thumbnail, "photos", ".jpg")
            sizes.append(stored.to_telegram() | {"width": thumb_width, "height": thumb_height})
        sizes.append(original.to_telegram() | {"width": width, "height": height})
        self._photo_sizes[original.file_id] = sizes
        return sizes

    async def thumbnail(self, upload: Upload | str | None, file_id: str) -> JsonObject | None:
        """A PhotoSize for the thumbnail uploaded with ``file_id``'s file, or the one that file
        had before; None when there is none or the upload is no image at all."""
        if not isinstance(upload, Upload):
            return self._thumbnails.get(file_id)
        data = await asyncio.to_thread(upload.read)
        try:
            width, height = (await asyncio.to_thread(_open_image, data)).size
        except (_NotAnImage, Image.DecompressionBombError):
            return self._thumbnails.get(file_id)
        stored = await self.save(data, "thumbnails", ".jpg")
        self._thumbnails[file_id] = stored.to_telegram() | {"width": width, "height": height}
        return self._thumbnails[file_id]


class _NotAnImage(Exception):
    pass


def _open_image(data: bytes) -> Image.Image:
    """The image with only its header read, so that its size is known before any pixel is
    decoded. Raises Image.DecompressionBombError for a header beyond Pillow's own limit."""
    try:
        return Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError) as exc:
        raise _NotAnImage from exc


def _suffix(upload: Upload) -> str:
    return (
        PurePosixPath(upload.filename).suffix
        or mimetypes.guess_extension(upload.content_type)
        or ""
    )


def _write(target: Path, source: Upload | bytes) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(source, bytes):
        return target.write_bytes(source)
    source.file.seek(0)
    with target.open("wb") as out:
        shutil.copyfileobj(source.file, out)
    return source.size


def _analyse_photo(data: bytes, limits: Limits) -> tuple[int, int, list[tuple[bytes, int, int]]]:
    try:
        image = _open_image(data)
    except _NotAnImage as exc:
        raise bad_request("IMAGE_PROCESS_FAILED") from exc
    except Image.DecompressionBombError as exc:
        # Pillow's limit (89 megapixels) is far beyond Telegram's dimension limit.
        raise bad_request("PHOTO_INVALID_DIMENSIONS") from exc
    width, height = image.size
    if width + height > limits.max_photo_dimensions_sum or max(
        width, height
    ) > limits.max_photo_aspect_ratio * min(width, height):
        raise bad_request("PHOTO_INVALID_DIMENSIONS")
    try:
        image.load()
    except OSError as exc:
        raise bad_request("IMAGE_PROCESS_FAILED") from exc
    thumbnails = []
    for side in _THUMBNAIL_SIDES:
        if side >= max(width, height):
            break
        thumbnail = image.convert("RGB")
        thumbnail.thumbnail((side, side))
        buffer = io.BytesIO()
        thumbnail.save(buffer, "JPEG", quality=80)
        thumbnails.append((buffer.getvalue(), *thumbnail.size))
    return width, height, thumbnails
