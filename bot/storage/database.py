"""Opening the database and bringing its schema up to date.

Migrations are plain functions applied in order and recorded in SQLite's ``user_version``, so
an old database file is upgraded in place on start-up and never rebuilt from scratch.
"""

import contextlib
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database

from engine.provenance import token_for_render_id


def changed_at() -> str:
    """When a row changes (``updated_at``), by the machine's clock rather than the bot's
    ``Clock``: it orders what happened (which question was asked last), and tests move the
    bot's clock across years in a second."""
    return datetime.now(UTC).isoformat()


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


def _add_family_trust(db: Database) -> None:
    """Family spaces, verification, consent and its revocation (issue #3).

    Media ids stop being content hashes (the vault names files by random ids), so the columns
    lose their ``sha256`` names; every media row and order now belongs to one family space.
    """
    db.execute("ALTER TABLE media RENAME COLUMN sha256 TO id")
    db.execute("ALTER TABLE media ADD COLUMN space_id TEXT")
    db.table("media").create_index(["space_id"])
    db.table("media").create_index(["uploaded_by"])
    for old, new in (
        ("portrait_sha256", "portrait_id"),
        ("voice_sha256", "voice_id"),
        ("video_sha256", "video_id"),
    ):
        db.execute(f"ALTER TABLE orders RENAME COLUMN {old} TO {new}")
    for column in ("space_id TEXT", "consent_id TEXT", "delivered_message_id INTEGER"):
        db.execute(f"ALTER TABLE orders ADD COLUMN {column}")
    db.table("orders").create_index(["space_id"])
    db.table("spaces").create(
        {
            "id": str,
            "owner_id": int,
            "subject_name": str,
            "subject_status": str,
            "subject_languages": str,
            "status": str,
            "setup_step": str,
            "cosigners_required": int,
            "created_at": str,
            "closed_at": str,
        },
        pk="id",
        not_null={"id", "owner_id", "status", "cosigners_required", "created_at"},
    )
    db.table("members").create(
        {
            "space_id": str,
            "user_id": int,
            "role": str,
            "status": str,
            "relation": str,
            "phone_number": str,
            "proof_media_id": str,
            "review_reason": str,
            "joined_at": str,
            "verified_at": str,
            "verified_by": int,
        },
        pk=("space_id", "user_id"),
        not_null={"space_id", "user_id", "role", "status", "joined_at"},
    )
    # One family space per Telegram account: the chat always knows which family it speaks for.
    db.table("members").create_index(["user_id"], unique=True)
    db.table("invites").create(
        {
            "token_sha256": str,
            "space_id": str,
            "role": str,
            "created_by": int,
            "created_at": str,
            "expires_at": str,
            "used_by": int,
            "used_at": str,
        },
        pk="token_sha256",
        not_null={"space_id", "role", "created_by", "created_at", "expires_at"},
    )
    db.table("challenges").create(
        {
            "id": str,
            "space_id": str,
            "user_id": int,
            "phrase": str,
            "language": str,
            "created_at": str,
            "expires_at": str,
        },
        pk="id",
        not_null={"space_id", "user_id", "phrase", "language", "created_at", "expires_at"},
    )
    db.table("consent_records").create(
        {
            "id": str,
            "space_id": str,
            "kind": str,
            "refers_to": str,
            "actor_id": int,
            "relation": str,
            "method": str,
            "subject_name": str,
            "subject_status": str,
            "scope": str,
            "wording": str,
            "wording_version": str,
            "language": str,
            "proof_refs": str,
            "evidence_commitment": str,
            "created_at": str,
            "valid_until": str,
            "record_hash": str,
        },
        pk="id",
        not_null={"space_id", "kind", "actor_id", "created_at", "record_hash"},
    )
    db.table("consent_records").create_index(["space_id", "kind"])
    for event in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER consent_records_immutable_{event.lower()} "
            f"BEFORE {event} ON consent_records "
            "BEGIN SELECT RAISE(ABORT, 'consent records are immutable'); END"
        )
    # The recording behind a consent: a link that revocation deletes with the recording.
    db.table("consent_evidence").create(
        {"consent_id": str, "media_id": str}, pk=("consent_id", "media_id")
    )
    db.table("tombstones").create(
        {"space_id": str, "revoked_at": str, "revoked_by": int, "removed": str}, pk="space_id"
    )


def _add_verification(db: Database) -> None:
    """Recognising delivered greetings (issue #7): a watermark token read from a file must find
    its order, so each order keeps its token, uniquely indexed; orders keep when they were
    delivered; a user who sent /verify is waiting for a file until ``verify_until``.

    Every render so far was marked with ``token_for_render_id(order id)``, so the backfill
    computes the same. Should two existing orders share a token (about n**2 / 2**41), the older
    keeps it and the newer keeps none: detection then finds it by its signed C2PA render id.
    """
    for table, column in (
        ("orders", "watermark_token INTEGER"),
        ("orders", "delivered_at TEXT"),
        ("users", "verify_until TEXT"),
    ):
        db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
    taken: set[int] = set()
    for row in list(db.query("SELECT id FROM orders ORDER BY created_at, id")):
        token = token_for_render_id(row["id"])
        if token not in taken:
            taken.add(token)
            db.execute("UPDATE orders SET watermark_token = ? WHERE id = ?", [token, row["id"]])
    # The last change to a delivered order was its delivery.
    db.execute("UPDATE orders SET delivered_at = updated_at WHERE status = 'delivered'")
    db.table("orders").create_index(["watermark_token"], unique=True)


def _add_likeness(db: Database) -> None:
    """Footage clips, derived speaker profiles and how each order shows and voices the subject
    (issue #5).

    ``media.derived_from`` names the samples a speaker profile was computed from, so a new or
    deleted voice note makes it stale; ``media.details`` keeps what the engine measured on an
    upload (a clip's usability). The subject's languages become spoken ones: written Chinese
    in either script was Mandarin's only way to be chosen.
    """
    db.execute("ALTER TABLE media ADD COLUMN derived_from TEXT")
    db.execute("ALTER TABLE media ADD COLUMN details TEXT")
    for column in ("likeness TEXT", "spoken_language TEXT", "voice TEXT", "voice_reason TEXT"):
        db.execute(f"ALTER TABLE orders ADD COLUMN {column}")
    spoken = {"zh-Hant": "cmn", "zh-Hans": "cmn", "en": "en"}
    for row in list(db.query("SELECT id, subject_languages FROM spaces")):
        chosen = json.loads(row["subject_languages"] or "[]")
        languages = [
            code for code in ("cmn", "yue", "en") if code in {spoken.get(c, c) for c in chosen}
        ]
        db.execute(
            "UPDATE spaces SET subject_languages = ? WHERE id = ?",
            [json.dumps(languages), row["id"]],
        )


def _add_order_lifecycle(db: Database) -> None:
    """Orders as a service (issue #12): the family's own words, moderation, payment in Stars,
    preview and takes, render attempts, the progress message, and a ledger of every message
    and refund sent for an order, written before and after each call, so that a restart never
    repeats one.

    ``spaces.flagged``: an admin asked to review every order of that family.
    ``moderation_rules``: per-deployment rules, one JSON value per name.
    ``moderation_notes``: an admin who pressed "Ask for a change" and owes the note.
    """
    columns = (
        "message TEXT",
        "sender TEXT",
        "text_step TEXT",
        "take INTEGER NOT NULL DEFAULT 0",
        "attempts INTEGER NOT NULL DEFAULT 0",
        "next_attempt_at TEXT",
        "placed_at TEXT",
        "queued_at TEXT",
        "review_reasons TEXT",
        "review_since TEXT",
        "moderation_round INTEGER NOT NULL DEFAULT 0",
        "moderator_note TEXT",
        "reject_reason TEXT",
        "price_stars INTEGER NOT NULL DEFAULT 0",
        "charge_id TEXT",
        "paid_at TEXT",
        "refund_due INTEGER NOT NULL DEFAULT 0",
        "refunded_at TEXT",
        "status_message_id INTEGER",
        "preview_message_id INTEGER",
        "thumbnail_id TEXT",
        "duration_s REAL",
        "width INTEGER",
        "height INTEGER",
    )
    for column in columns:
        db.execute(f"ALTER TABLE orders ADD COLUMN {column}")
    db.execute(
        "UPDATE orders SET placed_at = created_at, queued_at = updated_at"
        " WHERE status != 'collecting'"
    )
    db.execute("ALTER TABLE spaces ADD COLUMN flagged INTEGER NOT NULL DEFAULT 0")
    db.table("order_sends").create(
        {
            "key": str,
            "order_id": str,
            "state": str,
            "message_id": int,
            "file_id": str,
            "error": str,
            "created_at": str,
            "updated_at": str,
        },
        pk="key",
        not_null={"order_id", "state", "created_at", "updated_at"},
    )
    db.table("order_sends").create_index(["order_id"])
    db.table("moderation_rules").create({"name": str, "value": str}, pk="name")
    db.table("moderation_notes").create(
        {"admin_id": int, "order_id": str, "created_at": str}, pk="admin_id"
    )


def _add_admin_web(db: Database) -> None:
    """The admin web (issue #15): one-time login links and signed-in sessions, each kept only
    as the SHA-256 of its secret, so a copy of the database signs no one in; and how long each
    order's render took (``orders.render_s``, seconds of the latest take), for the render-time
    percentiles and the metrics, read at scrape time rather than counted in memory.
    """
    db.table("web_logins").create(
        {"digest": str, "admin_id": int, "created_at": str, "expires_at": str, "used_at": str},
        pk="digest",
        not_null={"admin_id", "created_at", "expires_at"},
    )
    db.table("web_sessions").create(
        {"digest": str, "admin_id": int, "created_at": str, "seen_at": str},
        pk="digest",
        not_null={"admin_id", "created_at", "seen_at"},
    )
    db.execute("ALTER TABLE orders ADD COLUMN render_s REAL")


def _add_campaigns(db: Database) -> None:
    """Festival campaigns (issue #14): one template for many families, delivered on the day.

    ``campaigns``: what an organiser set up (template, festival date, local send time, audience,
    invitation text per language); ``campaign_drafts``: an admin's answers while /campaign asks;
    ``campaign_joiners``: who opened a campaign's own invite link; ``campaign_invitations``: one
    row per family invited, its answer and the answers after Yes. A campaign greeting is an order
    (``orders.campaign_id``) delivered at ``orders.send_at``; ``sampled`` sends its video to a
    moderator; ``rendered_at`` and ``reviewed_at`` date the report. ``users.time_zone`` is asked
    once; ``users.campaigns_opt_out`` is "Never send me campaigns". ``paused_at`` and
    ``paused_by`` hold a paused campaign back (who paused it, when) until it is resumed.
    """
    db.table("campaigns").create(
        {
            "id": str,
            "template_id": str,
            "festival_date": str,
            "send_time": str,
            "audience": str,
            "invite_code": str,
            "texts": str,
            "invite_days": int,
            "sample_percent": int,
            "created_by": int,
            "created_at": str,
            "invited_at": str,
            "paused_at": str,
            "paused_by": int,
        },
        pk="id",
        not_null={"template_id", "festival_date", "send_time", "audience", "texts", "created_at"},
    )
    db.table("campaigns").create_index(["invite_code"], unique=True)
    db.table("campaign_drafts").create(
        {"admin_id": int, "step": str, "fields": str, "created_at": str}, pk="admin_id"
    )
    db.table("campaign_joiners").create(
        {"campaign_id": str, "user_id": int, "joined_at": str}, pk=("campaign_id", "user_id")
    )
    db.table("campaign_invitations").create(
        {
            "campaign_id": str,
            "space_id": str,
            "user_id": int,
            "chat_id": int,
            "state": str,
            "step": str,
            "recipient": str,
            "message": str,
            "order_id": str,
            "invited_at": str,
            "answered_at": str,
        },
        pk=("campaign_id", "space_id"),
        not_null={"user_id", "chat_id", "state"},
    )
    db.table("campaign_invitations").create_index(["user_id"])
    for column in (
        "campaign_id TEXT",
        "send_at TEXT",
        "sampled INTEGER NOT NULL DEFAULT 0",
        "rendered_at TEXT",
        "reviewed_at TEXT",
    ):
        db.execute(f"ALTER TABLE orders ADD COLUMN {column}")
    db.table("orders").create_index(["campaign_id"])
    db.execute("ALTER TABLE users ADD COLUMN time_zone TEXT")
    db.execute("ALTER TABLE users ADD COLUMN campaigns_opt_out INTEGER NOT NULL DEFAULT 0")


def _add_audit_head(db: Database) -> None:
    """The audit chain's length and last MAC, kept where truncating the log cannot reach."""
    db.table("audit_head").create({"id": int, "seq": int, "mac": str}, pk="id")


def _add_order_shape(db: Database) -> None:
    """The greeting's shape (bot.delivery.Shape): a video in one of three aspects, a round
    video note or a voice note; None before the member chose, which is the remembered one."""
    db.execute("ALTER TABLE orders ADD COLUMN shape TEXT")


def _add_preview_stills(db: Database) -> None:
    """The template picker's stills (``bot.flows.picker``): Telegram's file id of each one sent,
    per template, language and aspect, so a still is made and uploaded once, then resent by id."""
    db.table("preview_stills").create(
        {"template_id": str, "language": str, "aspect": str, "file_id": str},
        pk=("template_id", "language", "aspect"),
        not_null={"file_id"},
    )


def _add_still_digests(db: Database) -> None:
    """Which picture each picker still's file id was uploaded as: ids kept from before an
    upgrade that redrew the templates have none, so their stills are made and sent again."""
    db.execute("ALTER TABLE preview_stills ADD COLUMN digest TEXT")


def _add_departures(db: Database) -> None:
    """Members leaving (/delete_me): written before anything is deleted and removed once all
    is, so a leaving a crash cut short is finished at start-up
    (``bot.family.erasure.finish_departures``)."""
    db.table("departures").create({"user_id": int, "requested_at": str}, pk="user_id")


def _add_consent_notices(db: Database) -> None:
    """Who was told of a consent's year ending, per grant: written before each message is
    sent, so no pass sends one twice (``bot.family.renewal``)."""
    db.table("consent_notices").create(
        {"grant_id": str, "kind": str, "user_id": int, "noticed_at": str},
        pk=("grant_id", "kind", "user_id"),
    )


def _add_invitation_updates(db: Database) -> None:
    """When an accepted invitation last asked its family something: typed text answers the
    question asked last, the campaign's or the member's own greeting's."""
    db.execute("ALTER TABLE campaign_invitations ADD COLUMN updated_at TEXT")


def _add_exports(db: Database) -> None:
    """The /mydata archives in members' chats: they hold the files they list, so deleting the
    files deletes them too (``bot.family.export``)."""
    db.table("exports").create(
        {"user_id": int, "message_id": int, "space_id": str, "sent_at": str},
        pk=("user_id", "message_id"),
        not_null={"sent_at"},
    )
    db.table("exports").create_index(["space_id"])


MIGRATIONS: tuple[Callable[[Database], None], ...] = (
    _create_users_and_media,
    _create_orders,
    _add_family_trust,
    _add_verification,
    _add_likeness,
    _add_order_lifecycle,
    _add_admin_web,
    _add_campaigns,
    _add_audit_head,
    _add_order_shape,
    _add_preview_stills,
    _add_still_digests,
    _add_departures,
    _add_consent_notices,
    _add_invitation_updates,
    _add_exports,
)
SCHEMA_VERSION = len(MIGRATIONS)


def known_column(db: Database, table: str, name: str) -> str:
    """``name`` quoted as a column of ``table``, once the schema says it is one: SQLite binds
    values, never names, so a name in SQL text comes from the schema, not from a caller."""
    if name not in db.table(table).columns_dict:
        raise ValueError(f"{table} has no column {name!r}")
    return f"[{name}]"


def _user_version(db: Database) -> int:
    row = db.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def open_database(path: Path) -> Database:
    """Open (creating if needed) the bot's database and apply any pending migrations.

    Each migration runs in its own transaction together with the version bump, so a crash
    mid-upgrade leaves the file at the last complete version rather than half-migrated.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # Names, relations and phone-verification state: readable by the bot's user only, like the
    # vault and the audit log. SQLite gives its -wal and -shm files the database's own mode;
    # files left by an older release are narrowed too.
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for kept in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        with contextlib.suppress(FileNotFoundError):
            kept.chmod(0o600)
    db = Database(path)
    db.enable_wal()
    db.execute("PRAGMA foreign_keys = ON")
    # Deleted rows are overwritten, not just unlinked: withdrawn consent leaves no readable trace.
    db.execute("PRAGMA secure_delete = ON")
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


def open_existing(path: Path) -> Database:
    """The bot's database for a tool beside it (``tuanyuan detect``): never created, never
    migrated, so a tool cannot change the schema under a running bot of another release."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no database here")
    db = Database(path)
    if (version := _user_version(db)) != SCHEMA_VERSION:
        db.close()
        raise RuntimeError(
            f"{path} has schema version {version}; this release reads {SCHEMA_VERSION}. "
            "Run the same release as the bot, or start the bot once to upgrade it."
        )
    return db
