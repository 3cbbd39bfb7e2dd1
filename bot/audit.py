"""The audit log: every sensitive action, appended to a file whose entries are chained.

Each line is one JSON entry carrying the MAC of the line before it; the MAC is an HMAC keyed
from the vault key, so editing, reordering or deleting an entry in the middle breaks the chain,
and an intruder who can write the file still cannot forge a consistent one without the key.
``tuanyuan audit verify`` walks the chain. Entries name people by Telegram user id and things
by their ids: never a phone number, a face, a voice or a file's content.

A chain cannot tell on its own that entries were cut from its end, or that it was emptied: each
append also writes the chain's length and head MAC into the bot's SQLite database (table
``audit_head``), which truncating the log cannot reach, and verifying compares the two.

A crash in the middle of an append leaves a last line without its newline. It is repaired at
start-up rather than refused: that entry was never complete (its action's head was never
stored), refusing would keep the whole bot down for a power cut, and the repair itself is
recorded as the next entry, with the removed bytes' length and SHA-256, so nothing goes unseen.
A damaged complete line is not a crash's trace: start-up stops and names the command to run.
"""

import contextlib
import hashlib
import hmac
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path

import structlog

from bot.clock import Clock, iso

log = structlog.get_logger(__name__)

_GENESIS = "0" * 64
# The actor of what the bot does by itself (a render ending, a campaign sending, a lapse).
SYSTEM = "system"
DetailValue = str | int | bool | None


def _canonical(entry: dict[str, object]) -> bytes:
    return json.dumps(entry, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _mac(key: bytes, entry: dict[str, object]) -> str:
    return hmac.new(key, _canonical(entry), hashlib.sha256).hexdigest()


class AuditError(Exception):
    """The audit log cannot be continued as it is on disk."""


Head = tuple[int, str]
"""The chain's length and its last entry's MAC."""


def read_head(database: Path) -> Head | None:
    """The head the bot last stored beside its database; None before the first entry (or for a
    log kept without a database, as in some tools' tests)."""
    if not database.is_file():
        return None
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        try:
            row = db.execute("SELECT seq, mac FROM audit_head WHERE id = 1").fetchone()
        except sqlite3.OperationalError:  # a database from before the table
            return None
    return None if row is None else (int(row[0]), str(row[1]))


def _in_wal(connection: sqlite3.Connection) -> bool:
    return str(connection.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal"


# An actor's same repeated entry (e.g. one refusal) is written at most once in this many seconds.
REPEAT_WINDOW_S = 60.0
# Past this many remembered runs of repeats, those whose window has passed are forgotten.
_REMEMBERED_RUNS = 1024


@dataclass
class _Run:
    """One entry, repeated: when it was last written, how many were left out since."""

    written_at: float
    left_out: int = 0


class RepeatedEntries:
    """Which of an often repeated entry the log gets: the first, then the same entry once a
    window at most, saying how many were left out in between.

    Every entry is an fsync on the event loop that every chat waits behind. An account sending
    fifty refused messages a second (the flood guard lets thirty through each window) made every
    other chat's replies wait for thirty fsyncs a window, while the repeats told the log nothing
    the first had not. The count keeps the record whole whenever the entry comes again after the
    window.
    """

    def __init__(
        self, window_s: float = REPEAT_WINDOW_S, now: Callable[[], float] = time.monotonic
    ) -> None:
        self._window_s = window_s
        self._now = now
        self._runs: dict[Hashable, _Run] = {}

    def left_out_before(self, entry: Hashable) -> int | None:
        """None when ``entry`` repeats one written inside the window (leave it out), else how
        many repeats were left out since the last one written (0 for a first)."""
        now = self._now()
        run = self._runs.get(entry)
        if run is not None and now - run.written_at < self._window_s:
            run.left_out += 1
            return None
        if len(self._runs) >= _REMEMBERED_RUNS:
            self._forget_before(now - self._window_s)
        self._runs[entry] = _Run(now)
        return 0 if run is None else run.left_out

    def _forget_before(self, cutoff: float) -> None:
        # A forgotten run's uncounted repeats are lost: only runs whose window has passed, so
        # at most one window's repeats of an actor that stopped.
        for entry in [entry for entry, run in self._runs.items() if run.written_at < cutoff]:
            del self._runs[entry]


class AuditLog:
    """Append-only; safe to call from the event loop and from worker threads.

    ``database`` is the bot's SQLite file (migrated, with its ``audit_head`` table), where the
    head is kept; without it the log cannot tell a cut end (tests of other parts)."""

    def __init__(self, path: Path, key: bytes, clock: Clock, database: Path | None = None) -> None:
        self.path = path
        self._key = key
        self._clock = clock
        self._lock = threading.Lock()
        self._database = database
        self._heads = (
            None
            if database is None
            else sqlite3.connect(database, check_same_thread=False, isolation_level=None)
        )
        if self._heads is not None and _in_wal(self._heads):
            # The head may lag the log after a power cut (a log longer than its head verifies),
            # never lead it: its write is not fsync'd, only ordered in the WAL after the line's
            # own fsync (in WAL mode a lost commit never corrupts the file). That halves the
            # fsyncs each entry blocks the event loop for.
            self._heads.execute("PRAGMA synchronous = NORMAL")
        path.parent.mkdir(parents=True, exist_ok=True)
        removed = self._repair()
        self._seq, self._head = self._tail()
        if removed:
            log.warning("audit.repaired", removed_bytes=len(removed))
            self.record("system", "audit.repaired", removed_bytes=len(removed),
                        removed_sha256=hashlib.sha256(removed).hexdigest())  # fmt: skip

    def _repair(self) -> bytes:
        """Cut a last line that a crash left without its newline; returns what was cut."""
        if not self.path.exists():
            return b""
        data = self.path.read_bytes()
        if not data or data.endswith(b"\n"):
            return b""
        keep = data.rfind(b"\n") + 1
        with self.path.open("r+b") as log_file:
            log_file.truncate(keep)
            os.fsync(log_file.fileno())
        return data[keep:]

    def _tail(self) -> Head:
        if not self.path.exists():
            return 0, _GENESIS
        last = b""
        with self.path.open("rb") as log_file:
            for line in log_file:
                if line.strip():
                    last = line
        if not last:
            return 0, _GENESIS
        try:
            entry = json.loads(last)
            return int(entry["seq"]), str(entry["mac"])
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            raise AuditError(
                f"the last entry of {self.path} is damaged: run `tuanyuan audit verify` to see "
                "where the log stops being intact, and restore it from a backup"
            ) from None

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
            with os.fdopen(fd, "ab") as log_file:
                log_file.write(_canonical(entry) + b"\n")
                log_file.flush()
                os.fsync(log_file.fileno())
            self._seq, self._head = self._seq + 1, str(entry["mac"])
            if self._heads is not None:
                # After the line is on disk: a crash in between leaves the log one entry
                # longer than its stored head, which verifies; never shorter.
                self._heads.execute(
                    "INSERT OR REPLACE INTO audit_head (id, seq, mac) VALUES (1, ?, ?)",
                    [self._seq, self._head],
                )

    def verify(self) -> "AuditVerdict":
        """The check ``tuanyuan audit verify`` makes, with this log's own key (the admin web)."""
        with self._lock:
            head = None if self._database is None else read_head(self._database)
            return verify_log(self.path, self._key, head)

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


def verify_log(path: Path, key: bytes, head: Head | None = None) -> AuditVerdict:
    """Check every entry's MAC, its link to the one before and its byte-exact form, and that
    the chain reaches the stored ``head`` (nothing cut from its end, the log not emptied)."""
    data = path.read_bytes() if path.exists() else b""
    previous, count, at_head = _GENESIS, 0, None
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line:
            continue
        problem = _problem(key, line, previous, count + 1)
        if problem:
            return AuditVerdict(False, count, f"line {number} {problem}")
        previous, count = str(json.loads(line)["mac"]), count + 1
        if head is not None and count == head[0]:
            at_head = previous
    if head is not None and (count < head[0] or at_head != head[1]):
        return AuditVerdict(
            False,
            count,
            f"the log ends after {count} entries, but entry {head[0]} was written to it: "
            "entries were removed from its end, or the log was replaced",
        )
    return AuditVerdict(True, count)


def _problem(key: bytes, line: bytes, previous: str, seq: int) -> str:
    """What is wrong with one line as entry ``seq`` after ``previous``; empty when nothing.

    Whatever bytes the line holds (not JSON, JSON of another shape, text a MAC cannot be
    compared with), the answer is a finding for the report, never an exception."""
    try:
        entry = json.loads(line)
        claimed = entry.pop("mac")
        if entry.get("prev") != previous or entry.get("seq") != seq:
            return "does not follow the entry before it"
        if not hmac.compare_digest(str(claimed).encode(), _mac(key, entry).encode()):
            return "was altered"
        # Any byte change that still parses to the same entry (spacing, escapes) counts too.
        if _canonical({**entry, "mac": claimed}) != line:
            return "was altered"
    except (ValueError, KeyError, AttributeError, TypeError, RecursionError):
        return "is not a log entry"
    return ""
