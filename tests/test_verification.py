"""What the database adds to a detection: which order a mark names, and how its consent stands.

The reports are built by hand (the marks themselves are tested in test_provenance_*); the
bot-level flows, revocation included, are in test_verify.py.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

import bot.executors._embedded
from bot.clock import iso
from bot.executors import EmbeddedExecutor
from bot.family.consent import CONSENT_VALID_FOR, Method, RecordKind, append_record
from bot.family.spaces import SpaceStatus, create_space, get_space, update_space
from bot.storage import Order, OrderStatus, open_database
from bot.storage.orders import change_status, open_draft, update_order
from bot.verification import DETECTIONS_AT_ONCE, Verifier, look_up
from bot.workers import Priority
from engine import IngestError
from engine.provenance import C2paState, DetectionReport, MarkReport, token_for_render_id
from engine.provenance._detect import C2paReport
from tests.auxil.bot import FakeClock

NOTHING = MarkReport(payload=None, token=None, mac_valid=False, confidence=0.0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return open_database(tmp_path / "bot.sqlite3")


@pytest.fixture
def order(db: Database, clock: FakeClock) -> Order:
    """A greeting delivered to a family whose living subject consented."""
    space = create_space(db, clock, owner_id=1, cosigners_required=1)
    space = update_space(db, space.id, status=SpaceStatus.ACTIVE.value, subject_name="外婆",
                         subject_status="living", setup_step=None)  # fmt: skip
    grant = append_record(db, clock, space, RecordKind.GRANT, 1, Method.LIVING_STATEMENT)
    draft = open_draft(db, user_id=1, chat_id=1, language="zh-Hant", space_id=space.id)
    update_order(db, draft.id, consent_id=grant.id, template_id="qixi",
                 delivered_at=iso(clock.now()))  # fmt: skip
    delivered = change_status(db, draft.id, frozenset({OrderStatus.COLLECTING}),
                              OrderStatus.DELIVERED)  # fmt: skip
    assert delivered is not None
    return delivered


def _report(
    token: int | None = None, state: C2paState = "absent", render: dict[str, Any] | None = None
) -> DetectionReport:
    """Audio verifies ``token`` (the picture was lost to recompression); C2PA as given."""
    audio = NOTHING
    if token is not None:
        audio = MarkReport(payload=f"{token:010x}000000", token=token, mac_valid=True,
                           confidence=0.9)  # fmt: skip
    c2pa = C2paReport(state=state, render=render)
    return DetectionReport(video=NOTHING, audio=audio, c2pa=c2pa, aigc=None)


def test_a_verified_token_names_the_order_its_family_and_its_current_consent(
    db: Database, clock: FakeClock, order: Order
) -> None:
    assert order.watermark_token == token_for_render_id(order.id)
    found = look_up(db, _report(order.watermark_token), clock.now())
    assert found.render is not None and found.family is not None and found.consent is not None
    assert (found.render.order_id, found.render.template_id) == (order.id, "qixi")
    assert found.render.delivered_at == order.delivered_at
    assert (found.family.space_id, found.family.subject_name) == (order.space_id, "外婆")
    assert (found.consent.status, found.consent.consent_id) == ("current", order.consent_id)


def test_consent_past_its_year_is_expired(db: Database, clock: FakeClock, order: Order) -> None:
    later = clock.now() + CONSENT_VALID_FOR + timedelta(seconds=1)
    found = look_up(db, _report(order.watermark_token), later)
    assert found.consent is not None and found.consent.status == "expired"


def test_a_vetoed_consent_counts_as_revoked(db: Database, clock: FakeClock, order: Order) -> None:
    space = get_space(db, order.space_id or "")
    append_record(db, clock, space, RecordKind.VETO, 2, Method.NEXT_OF_KIN,
                  refers_to=order.consent_id)  # fmt: skip
    found = look_up(db, _report(order.watermark_token), clock.now())
    assert found.consent is not None and found.consent.status == "revoked"


def test_a_mark_of_ours_the_database_does_not_know_has_unknown_consent(
    db: Database, clock: FakeClock, order: Order
) -> None:
    found = look_up(db, _report(token_for_render_id("deleted-order")), clock.now())
    assert found.made_by_service and found.render is None and found.family is None
    assert found.consent is not None and found.consent.status == "unknown"


def test_only_a_manifest_signed_by_our_root_names_an_order_without_a_mark(
    db: Database, clock: FakeClock, order: Order
) -> None:
    claim = {"render_id": order.id, "template_id": "qixi", "consent_sha256": "00" * 32}
    trusted = look_up(db, _report(state="trusted", render=claim), clock.now())
    assert trusted.render is not None and trusted.render.order_id == order.id
    # Anyone can sign a manifest that names our render: valid, but not ours.
    forged = look_up(db, _report(state="valid", render=claim), clock.now())
    assert not forged.made_by_service and forged.render is None and forged.consent is None


def test_nothing_is_attached_to_a_file_not_ours_or_without_a_database(
    db: Database, clock: FakeClock, order: Order
) -> None:
    assert order.watermark_token is not None
    guess = MarkReport(payload=None, token=order.watermark_token, mac_valid=False, confidence=0.6)
    unverified = _report().model_copy(update={"video": guess})
    for found in (look_up(db, unverified, clock.now()),
                  look_up(None, _report(order.watermark_token), clock.now())):  # fmt: skip
        assert found.render is None and found.family is None and found.consent is None


async def test_detections_wait_their_turn_beyond_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each detection is a process decoding a video; strangers sending many must not add more."""
    running, most = 0, 0

    async def worker(
        module: str, request: bytes, priority: Priority, timeout_s: float | None = None
    ) -> Any:
        nonlocal running, most
        assert priority is Priority.PROMPT  # a member waits on it: ahead of renders
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.05)
        running -= 1
        return {"code": "not_a_video", "error": f"{module}: no video"}

    monkeypatch.setattr(bot.executors._embedded, "run_worker", worker)
    key = bytes(range(32))
    verifier = Verifier(key, tmp_path, EmbeddedExecutor(1))
    assert key.hex() not in repr(verifier)
    results = await asyncio.gather(
        *(verifier.detect(tmp_path / "upload") for _ in range(DETECTIONS_AT_ONCE + 3)),
        return_exceptions=True,
    )
    assert most == DETECTIONS_AT_ONCE
    assert all(isinstance(r, IngestError) and r.code == "not_a_video" for r in results)
