"""The one source of "now" for every rule that expires: invites, liveness phrases, consent.

Services take a Clock instead of calling ``datetime.now`` so tests can move time forward by
hours in an instant, and every timestamp the bot stores is timezone-aware UTC.
"""

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """The stored form of a moment: ISO 8601 in UTC, which also sorts correctly as text."""
    return moment.astimezone(UTC).isoformat()


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)
