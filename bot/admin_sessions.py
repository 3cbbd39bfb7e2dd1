"""Signing moderators in to the admin web: one-time login links and the sessions they open.

A link is asked for in the bot (``/admin_login``), so being a moderator in the web means the
same as in the chat: the Telegram account whose id is in ``TUANYUAN_ADMIN_IDS``. A link works
once, for five minutes, and only for the admin it was made for; a session ends after an idle
spell or when its admin is no longer configured. Only SHA-256 digests of the secrets are
stored, so the database alone signs no one in. Every expiry reads the one clock.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlite_utils import Database

from bot.clock import Clock, iso, parse_iso

LOGIN_TTL = timedelta(minutes=5)
_SECRET_BYTES = 32  # 43 URL-safe characters


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_login(db: Database, clock: Clock, admin_id: int) -> str:
    """A new single-use login secret for ``admin_id``; only its digest is kept."""
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    now = clock.now()
    with db.conn:
        db.table("web_logins").insert(
            {
                "digest": _digest(secret),
                "admin_id": admin_id,
                "created_at": iso(now),
                "expires_at": iso(now + LOGIN_TTL),
            }
        )
    return secret


def login_admin(db: Database, secret: str) -> int | None:
    """Whose link this is (used or not), for greeting them in their language; None if unknown."""
    rows = list(db.query("SELECT admin_id FROM web_logins WHERE digest = ?", [_digest(secret)]))
    return int(rows[0]["admin_id"]) if rows else None


def redeem_login(db: Database, clock: Clock, secret: str) -> int | None:
    """The admin id the link was made for, marking it used; None when it is unknown, used or
    expired. The compare-and-set UPDATE makes two simultaneous redemptions yield one."""
    now = clock.now()
    digest = _digest(secret)
    with db.conn:
        rows = list(db.query("SELECT * FROM web_logins WHERE digest = ?", [digest]))
        if not rows or rows[0]["used_at"] is not None or parse_iso(rows[0]["expires_at"]) <= now:
            return None
        cursor = db.execute(
            "UPDATE web_logins SET used_at = ? WHERE digest = ? AND used_at IS NULL",
            [iso(now), digest],
        )
        return int(rows[0]["admin_id"]) if cursor.rowcount == 1 else None


def open_session(db: Database, clock: Clock, admin_id: int) -> str:
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    now = iso(clock.now())
    with db.conn:
        db.table("web_sessions").insert(
            {"digest": _digest(secret), "admin_id": admin_id, "created_at": now, "seen_at": now}
        )
    return secret


def session_admin(db: Database, clock: Clock, secret: str, idle: timedelta) -> int | None:
    """The admin signed in with this session, which counts as used now; None (and the session
    ended) after ``idle`` without use, or when there is no such session."""
    now = clock.now()
    digest = _digest(secret)
    rows = list(db.query("SELECT admin_id, seen_at FROM web_sessions WHERE digest = ?", [digest]))
    if not rows:
        return None
    if now - parse_iso(rows[0]["seen_at"]) > idle:
        end_session(db, secret)
        return None
    with db.conn:
        db.execute("UPDATE web_sessions SET seen_at = ? WHERE digest = ?", [iso(now), digest])
    return int(rows[0]["admin_id"])


def end_session(db: Database, secret: str) -> None:
    with db.conn:
        db.execute("DELETE FROM web_sessions WHERE digest = ?", [_digest(secret)])


def csrf_token(session_secret: str) -> str:
    """The token every form of this session carries: derived from the session's secret (which
    a page on another site cannot read), so nothing more is stored."""
    return hmac.new(session_secret.encode(), b"csrf", hashlib.sha256).hexdigest()


def csrf_matches(session_secret: str, given: str) -> bool:
    return hmac.compare_digest(csrf_token(session_secret), given)
