"""The database upgrades in place, keeping every order, and consent records cannot be edited."""

import sqlite3
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.storage import SCHEMA_VERSION, OrderStatus, open_database
from bot.storage.database import MIGRATIONS
from bot.storage.orders import draft_for, get_order, open_draft, orders_with_status, update_order


def test_a_new_database_is_created_at_the_current_schema(tmp_path: Path) -> None:
    db = open_database(tmp_path / "nested" / "bot.sqlite3")
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert {"users", "media", "orders"} <= set(db.table_names())


def test_reopening_keeps_orders_and_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    draft = open_draft(open_database(path), user_id=7, chat_id=7, language="en", space_id="s1")
    reopened = open_database(path)
    assert draft_for(reopened, 7) == draft


def test_an_older_database_is_migrated_forward(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    db = Database(path)
    MIGRATIONS[0](db)
    db.execute("PRAGMA user_version = 1")
    db.conn.commit()
    assert "orders" in open_database(path).table_names()


def test_a_database_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    db = open_database(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.conn.commit()
    with pytest.raises(RuntimeError, match="newer than this release"):
        open_database(path)


def test_a_member_has_one_draft_and_it_moves_through_the_statuses(tmp_path: Path) -> None:
    db = open_database(tmp_path / "bot.sqlite3")
    first = open_draft(db, user_id=1, chat_id=1, language="zh-Hant", space_id="s1")
    assert open_draft(db, user_id=1, chat_id=1, language="zh-Hant", space_id="s1").id == first.id
    update_order(db, first.id, status=OrderStatus.QUEUED)
    assert draft_for(db, 1) is None
    assert [o.id for o in orders_with_status(db, OrderStatus.QUEUED)] == [first.id]
    assert open_draft(db, user_id=1, chat_id=1, language="zh-Hant", space_id="s1").id != first.id


def test_a_walking_skeleton_database_keeps_its_orders_through_the_trust_migration(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bot.sqlite3"
    db = Database(path)
    for migration in MIGRATIONS[:2]:
        migration(db)
    db.execute("PRAGMA user_version = 2")
    db.table("orders").insert(
        {"id": "o1", "user_id": 1, "chat_id": 1, "status": "delivered", "language": "en",
         "portrait_sha256": "ab" * 32, "created_at": "2026-01-01", "updated_at": "2026-01-01"}
    )  # fmt: skip
    db.conn.commit()
    db.conn.close()
    upgraded = open_database(path)
    order = get_order(upgraded, "o1")
    assert (order.portrait_id, order.status, order.space_id) == ("ab" * 32, "delivered", None)
    assert {"spaces", "members", "invites", "consent_records", "tombstones"} <= set(
        upgraded.table_names()
    )


def test_consent_records_cannot_be_changed_or_deleted(tmp_path: Path) -> None:
    db = open_database(tmp_path / "bot.sqlite3")
    db.table("consent_records").insert(
        {"id": "c1", "space_id": "s1", "kind": "grant", "actor_id": 1, "created_at": "now",
         "record_hash": "0" * 64}
    )  # fmt: skip
    for statement in ("UPDATE consent_records SET actor_id = 2", "DELETE FROM consent_records"):
        with pytest.raises(sqlite3.IntegrityError, match="immutable"):
            db.execute(statement)
    assert db.table("consent_records").count == 1
