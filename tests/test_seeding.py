"""The seeded state must be the state the flows leave: benchmarks and fault runs that start
from it would otherwise measure a bot no family ever reaches."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.audit import AuditLog
from bot.family.consent import Method, current_consent
from bot.family.spaces import SpaceStatus
from bot.seeding import consented_family, scheduled
from bot.storage import OrderStatus, open_database
from bot.storage.orders import get_order, new_order
from tests.auxil.bot import FakeClock


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return open_database(tmp_path / "bot.sqlite3")


def test_a_seeded_family_is_active_and_its_subject_has_consented(db: Database) -> None:
    clock = FakeClock()
    space = consented_family(db, clock, 7, "外婆", "zh-Hant", wording="她同意")
    assert space.status == SpaceStatus.ACTIVE.value and space.setup_step is None
    consent = current_consent(db, space, clock.now())
    assert consent is not None and consent.method == Method.LIVING_STATEMENT.value
    assert consent.actor_id == 7 and consent.wording == "她同意"


def test_a_seeded_greeting_is_scheduled_through_audited_moves(db: Database, tmp_path: Path) -> None:
    clock = FakeClock()
    audit = AuditLog(tmp_path / "audit.log", bytes(32), clock)
    space = consented_family(db, clock, 7, "Grandpa", "en", wording="yes")
    order = new_order(db, 7, 7, "en", space.id, template_id="mid-autumn", recipient="Grandma")
    seeded = scheduled(db, audit, order, "test")
    assert seeded.status == OrderStatus.SCHEDULED
    assert get_order(db, order.id).status == OrderStatus.SCHEDULED
    assert [(entry["action"], entry["actor"]) for entry in audit.entries()] == [
        ("order.queued", "test"), ("order.rendering", "test"), ("order.preview", "test"),
        ("order.scheduled", "test"),
    ]  # fmt: skip
    assert audit.verify().intact
    # Read before someone else moved it: seeding it again must not pass silently.
    with pytest.raises(RuntimeError, match="moved by someone else"):
        scheduled(db, audit, order, "test")
