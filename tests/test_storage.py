"""The database upgrades in place, keeping every order, and consent records cannot be edited.

Every order carries its render's watermark token, and no two orders share one."""

import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlite_utils import Database

import bot.family.spaces
import bot.storage.database
import bot.storage.orders
from bot.clock import SystemClock
from bot.storage import SCHEMA_VERSION, OrderStatus, open_database
from bot.storage.database import MIGRATIONS, open_existing
from bot.storage.orders import (
    change_status,
    draft_for,
    get_order,
    open_draft,
    order_with_token,
    orders_with_status,
    update_order,
)
from bot.storage.users import awaits_file_to_verify, remember_user
from engine.provenance import token_for_render_id


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
    queued = change_status(db, first.id, frozenset({OrderStatus.COLLECTING}), OrderStatus.QUEUED)
    assert queued is not None and queued.status == OrderStatus.QUEUED
    assert draft_for(db, 1) is None
    assert [o.id for o in orders_with_status(db, OrderStatus.QUEUED)] == [first.id]
    assert open_draft(db, user_id=1, chat_id=1, language="zh-Hant", space_id="s1").id != first.id


def test_a_status_changes_only_from_the_one_its_caller_saw(tmp_path: Path) -> None:
    """Two handlers racing for one order (Approve and Cancel): the second finds it moved."""
    db = open_database(tmp_path / "bot.sqlite3")
    order = open_draft(db, user_id=1, chat_id=1, language="en", space_id="s1")
    seen = frozenset({OrderStatus.COLLECTING})
    assert change_status(db, order.id, seen, OrderStatus.MODERATION) is not None
    assert change_status(db, order.id, seen, OrderStatus.CANCELLED) is None
    assert get_order(db, order.id).status == OrderStatus.MODERATION
    with pytest.raises(ValueError, match=r"only through bot\.orders"):
        update_order(db, order.id, status=OrderStatus.QUEUED)


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


def _database_at_version_3(path: Path, *orders: tuple[str, str, str]) -> None:
    """A database as the family-trust release left it, holding (id, status, time) orders."""
    db = Database(path)
    for migration in MIGRATIONS[:3]:
        migration(db)
    db.execute("PRAGMA user_version = 3")
    db.table("users").insert({"id": 1, "first_name": "Mei", "language": "en", "created_at": "t"})
    for order_id, status, at in orders:
        row = {"id": order_id, "user_id": 1, "chat_id": 1, "status": status, "language": "en"}
        db.table("orders").insert(row | {"created_at": at, "updated_at": at})
    db.conn.commit()
    db.conn.close()


def test_orders_from_before_issue_7_get_the_token_their_renders_carry(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    _database_at_version_3(path, ("o1", "delivered", "2026-01-02"), ("o2", "revoked", "2026-01-01"))
    upgraded = open_database(path)
    delivered, revoked = get_order(upgraded, "o1"), get_order(upgraded, "o2")
    assert delivered.watermark_token == token_for_render_id("o1")
    assert revoked.watermark_token == token_for_render_id("o2")
    assert order_with_token(upgraded, token_for_render_id("o1")) == delivered
    assert (delivered.delivered_at, revoked.delivered_at) == ("2026-01-02", None)
    assert not awaits_file_to_verify(upgraded, 1, datetime.now(UTC))
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        upgraded.execute("UPDATE orders SET watermark_token = ? WHERE id = 'o2'",
                         [delivered.watermark_token])  # fmt: skip


def test_two_old_orders_sharing_a_token_leave_it_to_the_older(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bot.sqlite3"
    _database_at_version_3(path, ("newer", "delivered", "2026-02-01"),
                           ("older", "delivered", "2026-01-01"))  # fmt: skip
    monkeypatch.setattr(bot.storage.database, "token_for_render_id", lambda _: 42)
    upgraded = open_database(path)
    assert get_order(upgraded, "older").watermark_token == 42
    assert get_order(upgraded, "newer").watermark_token is None


def test_a_new_order_never_takes_a_token_another_order_carries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = open_database(tmp_path / "bot.sqlite3")
    first = open_draft(db, user_id=1, chat_id=1, language="en", space_id="s1")
    assert first.watermark_token is not None
    taken = iter([first.watermark_token])  # the first id drawn would collide

    def token(order_id: str) -> int:
        return next(taken, None) or token_for_render_id(order_id)

    monkeypatch.setattr(bot.storage.orders, "token_for_render_id", token)
    second = open_draft(db, user_id=2, chat_id=2, language="en", space_id="s1")
    assert second.watermark_token == token_for_render_id(second.id) != first.watermark_token


def test_tools_read_the_database_as_it_is_and_never_upgrade_it(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    with pytest.raises(FileNotFoundError):
        open_existing(path)
    assert not path.exists()
    _database_at_version_3(path)
    with pytest.raises(RuntimeError, match="schema version 3"):
        open_existing(path)
    assert Database(path).execute("PRAGMA user_version").fetchone()[0] == 3
    open_database(path)
    assert "orders" in open_existing(path).table_names()


def test_the_database_and_its_wal_files_are_readable_by_the_bot_only(tmp_path: Path) -> None:
    path = tmp_path / "tuanyuan.db"
    db = open_database(path)
    remember_user(db, 1, "Mei", "en")
    kept = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    assert [stat.filemode(file.stat().st_mode) for file in kept] == ["-rw-------"] * 3


def test_a_space_and_its_owner_are_written_together_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One commit for both rows: a failure adding the owner leaves no ownerless space behind
    (and a space's creation costs one fsync, not two)."""
    db = open_database(tmp_path / "bot.db")

    def disk_fails(*_args: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(bot.family.spaces, "_add_member", disk_fails)
    with pytest.raises(sqlite3.OperationalError):
        bot.family.spaces.create_space(db, SystemClock(), 42, 1)
    assert db.table("spaces").count == 0
