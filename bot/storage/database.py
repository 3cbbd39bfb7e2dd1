"""Opening the database and bringing its schema up to date.

Migrations are plain functions applied in order and recorded in SQLite's ``user_version``, so
an old database file is upgraded in place on start-up and never rebuilt from scratch.
"""

from collections.abc import Callable
from pathlib import Path

from sqlite_utils import Database


def _create_users_and_media(db: Database) -> None:
    db.table("users").create(
        {"id": int, "first_name": str, "language": str, "created_at": str},
        pk="id",
    )
    db.table("media").create(
        {
            "sha256": str,
            "kind": str,
            "mime_type": str,
            "size_bytes": int,
            "uploaded_by": int,
            "created_at": str,
        },
        pk="sha256",
    )


def _create_orders(db: Database) -> None:
    db.table("orders").create(
        {
            "id": str,
            "user_id": int,
            "chat_id": int,
            "status": str,
            "language": str,
            "portrait_sha256": str,
            "voice_sha256": str,
            "template_id": str,
            "recipient": str,
            "video_sha256": str,
            "telegram_file_id": str,
            "error": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="id",
        not_null={"user_id", "chat_id", "status", "language", "created_at", "updated_at"},
    )
    db.table("orders").create_index(["user_id", "status"])
    db.table("orders").create_index(["status"])


MIGRATIONS: tuple[Callable[[Database], None], ...] = (
    _create_users_and_media,
    _create_orders,
)
SCHEMA_VERSION = len(MIGRATIONS)


def _user_version(db: Database) -> int:
    row = db.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def open_database(path: Path) -> Database:
    """Open (creating if needed) the bot's database and apply any pending migrations.

    Each migration runs in its own transaction together with the version bump, so a crash
    mid-upgrade leaves the file at the last complete version rather than half-migrated.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    db = Database(path)
    db.enable_wal()
    db.execute("PRAGMA foreign_keys = ON")
    current = _user_version(db)
    if current > SCHEMA_VERSION:
        raise RuntimeError(
            f"{path} has schema version {current}, newer than this release ({SCHEMA_VERSION})."
        )
    for version, migration in enumerate(MIGRATIONS[current:], start=current + 1):
        with db.conn:
            migration(db)
            db.execute(f"PRAGMA user_version = {version}")
    return db
