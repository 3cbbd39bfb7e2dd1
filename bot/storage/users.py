"""The few facts the bot keeps about a Telegram user: who they are and which language they read."""

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from bot.clock import iso, parse_iso
from bot.i18n import DEFAULT_LANGUAGE, Language, language_from_telegram
from bot.storage.database import changed_at
from bot.words import clean_words

# Where a reader of each language most likely lives, until they choose (asked once).
DEFAULT_TIME_ZONES: dict[Language, str] = {
    "zh-Hant": "Asia/Taipei",
    "zh-Hans": "Asia/Shanghai",
    "en": "Europe/London",
}


def remember_user(db: Database, user_id: int, first_name: str, language_code: str | None) -> None:
    """Record a user on first contact, taking their language from Telegram's language_code.

    A language chosen later with /language is kept: later updates never overwrite it. The
    name is whatever the person put in their Telegram profile, so it is cleaned like any text
    typed to the bot before a moderator's card or the admin web shows it.
    """
    if db.table("users").count_where("id = ?", [user_id]):
        return
    db.table("users").insert(
        {
            "id": user_id,
            "first_name": clean_words(first_name),
            "language": language_from_telegram(language_code),
            "created_at": changed_at(),
        }
    )


def first_name(db: Database, user_id: int) -> str | None:
    """The name Telegram last gave for this user (what a moderator's card calls them)."""
    rows = list(db.query("SELECT first_name FROM users WHERE id = ?", [user_id]))
    return str(rows[0]["first_name"]) if rows else None


def get_language(db: Database, user_id: int) -> Language:
    rows = list(db.query("SELECT language FROM users WHERE id = ?", [user_id]))
    if not rows:
        return DEFAULT_LANGUAGE
    return language_from_telegram(rows[0]["language"])


def set_language(db: Database, user_id: int, language: Language) -> None:
    db.table("users").update(user_id, {"language": language})


def await_file_to_verify(db: Database, user_id: int, until: datetime | None) -> None:
    """After /verify the user's next video or file is checked, until ``until``; None ends it.

    Kept in the database, like an order draft, so a restarted bot still knows who is waiting.
    """
    db.table("users").update(user_id, {"verify_until": None if until is None else iso(until)})


def awaits_file_to_verify(db: Database, user_id: int, now: datetime) -> bool:
    rows = list(db.query("SELECT verify_until FROM users WHERE id = ?", [user_id]))
    until = rows[0]["verify_until"] if rows else None
    return until is not None and now < parse_iso(until)


def time_zone_of(db: Database, user_id: int) -> str | None:
    """The IANA time zone the user chose for campaign greetings, if they were asked yet."""
    rows = list(db.query("SELECT time_zone FROM users WHERE id = ?", [user_id]))
    return str(rows[0]["time_zone"]) if rows and rows[0]["time_zone"] else None


def zone_of(db: Database, user_id: int) -> ZoneInfo:
    """The user's time zone: the one they chose, else the default for their language."""
    chosen = time_zone_of(db, user_id)
    return ZoneInfo(chosen or DEFAULT_TIME_ZONES[get_language(db, user_id)])


def set_time_zone(db: Database, user_id: int, time_zone: str) -> None:
    db.table("users").update(user_id, {"time_zone": time_zone})


def opted_out(db: Database, user_id: int) -> bool:
    """ "Never send me campaigns" was pressed."""
    rows = list(db.query("SELECT campaigns_opt_out FROM users WHERE id = ?", [user_id]))
    return bool(rows and rows[0]["campaigns_opt_out"])


def opt_out(db: Database, user_id: int) -> None:
    db.table("users").update(user_id, {"campaigns_opt_out": 1})
