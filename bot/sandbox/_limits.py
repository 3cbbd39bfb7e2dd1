"""Telegram's documented limits, gathered in one value so tests can tighten them."""

from __future__ import annotations

from dataclasses import dataclass

_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Bot API limits the stand-in enforces.

    The defaults are the public Bot API figures; tests shrink them (a 1 MiB upload cap, a
    per-chat burst of 1) to reach every error path without moving megabytes or waiting
    seconds.
    """

    max_text_length: int = 4096
    """UTF-16 code units, as Telegram counts them (an emoji outside the BMP costs two)."""
    max_caption_length: int = 1024
    max_callback_data_bytes: int = 64
    max_download_bytes: int = 20 * _MIB
    """getFile refuses larger files: bots cannot download them from the cloud API."""
    max_upload_bytes: int = 50 * _MIB
    max_photo_bytes: int = 10 * _MIB
    max_photo_dimensions_sum: int = 10_000
    max_photo_aspect_ratio: float = 20.0
    max_video_note_length: int = 640
    """A video note's diameter: a square video at most this many pixels across."""
    max_video_note_duration_s: float = 60.0
    max_delete_age_s: float = 48 * 3600
    """A bot may delete a message in a private chat only this long after sending it."""
    messages_per_second: float = 30.0
    """Sustained rate of message-sending calls across all chats."""
    chat_messages_per_second: float = 1.0
    """Sustained rate of message-sending calls into one chat."""
    chat_burst: int = 3
    """Messages one chat may receive back to back before its rate applies."""
    pre_checkout_timeout_s: float = 10.0
    """How long a user's Pay waits for answerPreCheckoutQuery before the payment fails."""
