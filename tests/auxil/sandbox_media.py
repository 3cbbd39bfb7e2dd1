"""Small, valid media payloads for stand-in tests, made on the fly instead of checked in."""

from __future__ import annotations

import io
import os

from PIL import Image


def png(width: int = 640, height: int = 480, color: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "PNG")
    return buffer.getvalue()


def noise(size: int) -> bytes:
    """Opaque bytes standing in for video or audio the stand-in never decodes."""
    return os.urandom(size)
