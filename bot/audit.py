"""The audit log: every sensitive action, appended to a file whose entries are chained.

Each line is one JSON entry carrying the MAC of the line before it; the MAC is an HMAC keyed
from the vault key, so editing, reordering or deleting an entry in the middle breaks the chain,
and an intruder who can write the file still cannot forge a consistent one without the key.
``tuanyuan audit verify`` walks the chain. Entries name people by Telegram user id and things
by their ids: never a phone number, a face, a voice or a file's content.
"""

import hashlib
import hmac
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from bot.clock import Clock, iso

_GENESIS = "0" * 64
DetailValue = str | int | bool | None


def _canonical(entry: dict[str, object]) -> bytes:
    return json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _mac(key: bytes, entry: dict[str, object]) -> str:
    return hmac.new(key, _canonical(entry), hashlib.sha256).hexdigest()


class AuditLog:
    """Append-only; safe to call from the event loop and from worker threads."""

    def __init__(self, path: Path, key: bytes, clock: Clock) -> None:
        self.path = path
        self._key = key
        self._clock = clock
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._seq, self._head = self._tail()

    def _tail(self) -> tuple[int, str]:
        if not self.path.exists():
            return 0, _GENESIS
        last = b""
        with self.path.open("rb") as log:
            for line in log:
                if line.strip():
                    last = line
        if not last:
            return 0, _GENESIS
        entry = json.loads(last)
        return int(entry["seq"]), str(entry["mac"])

    def record(self, actor: int | str, action: str, **details: DetailValue) -> None:
        with self._lock:
            entry: dict[str, object] = {
                "seq": self._seq + 1,
                "at": iso(self._clock.now()),
                "actor": actor,
                "action": action,
                "details": {key: value for key, value in details.items() if value is not None},
                "prev": self._head,
            }
            entry["mac"] = _mac(self._key, entry)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "ab") as log:
                log.write(_canonical(entry) + b"\n")
                log.flush()
                os.fsync(log.fileno())
            self._seq, self._head = self._seq + 1, str(entry["mac"])

    def verify(self) -> "AuditVerdict":
        """The check ``tuanyuan audit verify`` makes, with this log's own key (the admin web)."""
        with self._lock:
            return verify_log(self.path, self._key)

    def entries(self) -> list[dict[str, object]]:
        """Every entry, oldest first (for tests and operators; the chain is not checked here)."""
        if not self.path.exists():
            return []
        lines = self.path.read_bytes().splitlines()
        return [json.loads(line) for line in lines if line.strip()]


@dataclass(frozen=True)
class AuditVerdict:
    intact: bool
    entries: int
    problem: str = ""


def verify_log(path: Path, key: bytes) -> AuditVerdict:
    """Check every entry's MAC, its link to the one before and its byte-exact form."""
    if not path.exists():
        return AuditVerdict(True, 0)
    previous, count = _GENESIS, 0
    for number, line in enumerate(path.read_bytes().split(b"\n"), start=1):
        if not line:
            continue
        try:
            entry = json.loads(line)
            claimed = entry.pop("mac")
        except (ValueError, KeyError, AttributeError, TypeError):
            return AuditVerdict(False, count, f"line {number} is not a log entry")
        if entry.get("prev") != previous or entry.get("seq") != count + 1:
            return AuditVerdict(False, count, f"line {number} does not follow line {number - 1}")
        if not hmac.compare_digest(str(claimed), _mac(key, entry)):
            return AuditVerdict(False, count, f"line {number} was altered")
        # Any byte change that still parses to the same entry (spacing, escapes) counts too.
        if _canonical({**entry, "mac": claimed}) != line:
            return AuditVerdict(False, count, f"line {number} was altered")
        previous, count = str(claimed), count + 1
    return AuditVerdict(True, count)
