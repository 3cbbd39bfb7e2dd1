"""Exceptions the caller must tell apart: bad input media versus a failed render."""

from __future__ import annotations


class RenderError(Exception):
    """A render could not be produced (bad spec, broken template or an internal failure).

    Not the sender's fault, so the bot shows a generic apology rather than a hint.
    """


class IngestError(Exception):
    """A media file the sender gave us cannot be used.

    ``code`` is stable so the bot can map it to a localised message; ``details`` carries the
    numbers that message needs (for example the measured and the minimum duration).
    """

    def __init__(self, code: str, message: str, **details: float | int | str) -> None:
        super().__init__(message)
        self.code = code
        self.details: dict[str, float | int | str] = details
