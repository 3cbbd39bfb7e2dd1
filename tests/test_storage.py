"""The database upgrades in place and the media store never shows a half-written file."""

import hashlib
from pathlib import Path

import pytest

from bot.storage import SCHEMA_VERSION, MediaStore, OrderStatus, open_database
from bot.storage.orders import draft_for, open_draft, orders_with_status, update_order


def test_a_new_database_is_created_at_the_current_schema(tmp_path: Path) -> None:
    db = open_database(tmp_path / "nested" / "bot.sqlite3")
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert {"users", "media", "orders"} <= set(db.table_names())


def test_reopening_keeps_orders_and_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    draft = open_draft(open_database(path), user_id=7, chat_id=7, language="en")
    reopened = open_database(path)
    assert draft_for(reopened, 7) == draft


def test_an_older_database_is_migrated_forward(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    db = open_database(path)
    db.table("orders").drop()
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
    first = open_draft(db, user_id=1, chat_id=1, language="zh-Hant")
    assert open_draft(db, user_id=1, chat_id=1, language="zh-Hant").id == first.id
    update_order(db, first.id, status=OrderStatus.QUEUED)
    assert draft_for(db, 1) is None
    assert [o.id for o in orders_with_status(db, OrderStatus.QUEUED)] == [first.id]
    assert open_draft(db, user_id=1, chat_id=1, language="zh-Hant").id != first.id


def test_media_is_stored_once_under_its_hash(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    data = b"portrait bytes"
    sha = store.put_bytes(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.put_bytes(data) == sha
    assert store.path_for(sha).read_bytes() == data
    assert [p.name for p in (tmp_path / "media").rglob("*") if p.is_file()] == [sha]


def test_media_paths_cannot_escape_the_store(tmp_path: Path) -> None:
    store = MediaStore(tmp_path / "media")
    with pytest.raises(ValueError, match="not a SHA-256"):
        store.path_for("../../etc/passwd")
