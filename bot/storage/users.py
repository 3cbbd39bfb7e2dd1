"""The few facts the bot keeps about a Telegram user: who they are and which language they read."""

from datetime import UTC, datetime

from sqlite_utils import Database

from bot.i18n import DEFAULT_LANGUAGE, Language, language_from_telegram


def remember_user(db: Database, user_id: int, first_name: str, language_code: str | None) -> None:
    """Record a user on first contact, taking their language from Telegram's language_code.

    A language chosen later with /language is kept: later updates never overwrite it.
    """
    if db.table("users").count_where("id = ?", [user_id]):
        return
    db.table("users").insert(
        {
            "id": user_id,
            "first_name": first_name,
            "language": language_from_telegram(language_code),
            "created_at": datetime.now(UTC).isoformat(),
        }
    )


def get_language(db: Database, user_id: int) -> Language:
    rows = list(db.query("SELECT language FROM users WHERE id = ?", [user_id]))
    if not rows:
        return DEFAULT_LANGUAGE
    return language_from_telegram(rows[0]["language"])


def set_language(db: Database, user_id: int, language: Language) -> None:
    db.table("users").update(user_id, {"language": language})
