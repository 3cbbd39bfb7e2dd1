"""Which greeting a file is, whose family it belongs to and whether its consent still holds.

One answer for both readers: ``tuanyuan detect --data-dir`` (the operator) and ``/verify`` in
the bot, which decides what each person may see of it (``bot.authz.may_see_render``). The
marks say *that* a file is ours and which render it is; only the database knows the family and
the consent, and after a revocation it still knows that much, because the order row stays (with
status ``revoked``) while its media are deleted.

In the bot, detection runs in a process of its own (``bot/verify_worker.py``), on this machine
or on a Ray node (``bot/executors``): the file comes from anyone, so decoding it must neither
block other chats nor take the bot down with it.
"""

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel
from sqlite_utils import Database

from bot.clock import parse_iso
from bot.executors import RenderExecutor
from bot.family.consent import get_record, vetoed
from bot.family.spaces import SpaceStatus, get_space
from bot.storage import Order, OrderStatus
from bot.storage.orders import find_order, order_with_token
from engine import IngestError
from engine.provenance import DetectionReport, trust_anchor_from_env

# A detection decodes at most 60 s of frames; a minute and a half covers a 20 MB file on a busy
# machine, and a file that takes longer is not worth a worker's time.
DETECT_TIMEOUT_S = 90.0
# Detections at once: each decodes a video on a core of its own, next to the renders.
DETECTIONS_AT_ONCE = 2

ConsentStatus = Literal["current", "revoked", "expired", "unknown"]


class RenderFacts(BaseModel, frozen=True):
    order_id: str
    template_id: str | None
    recipient: str | None = None
    created_at: str
    delivered_at: str | None


class FamilyFacts(BaseModel, frozen=True):
    space_id: str
    subject_name: str | None


class ConsentFacts(BaseModel, frozen=True):
    status: ConsentStatus
    consent_id: str | None = None
    valid_until: str | None = None


class Verification(DetectionReport, frozen=True):
    """The detection report and what the database knows of the render: the detailed view.

    ``consent`` is set for every file made by this service (``unknown`` when the database does
    not have its render, e.g. after its sender left with /delete_me); ``render`` and ``family``
    only when it does.
    """

    render: RenderFacts | None = None
    family: FamilyFacts | None = None
    consent: ConsentFacts | None = None


def look_up(db: Database | None, report: DetectionReport, now: datetime) -> Verification:
    """Attach the render, family and consent the file's marks name; ``db`` None: none known."""
    verification = Verification.model_validate(report.model_dump(exclude={"made_by_service"}))
    if db is None or not report.made_by_service:
        return verification
    order = _named_order(db, report)
    if order is None or order.space_id is None:
        return verification.model_copy(update={"consent": ConsentFacts(status="unknown")})
    space = get_space(db, order.space_id)
    return verification.model_copy(
        update={
            "render": RenderFacts(
                order_id=order.id,
                template_id=order.template_id,
                recipient=order.recipient,
                created_at=order.created_at,
                delivered_at=order.delivered_at,
            ),
            "family": FamilyFacts(space_id=space.id, subject_name=space.subject_name),
            "consent": _consent_facts(db, order, space.status, now),
        }
    )


def _named_order(db: Database, report: DetectionReport) -> Order | None:
    """A verified token names the order; failing that, a manifest signed by our own root does.

    An AIGC ProduceID or a merely "valid" manifest is not enough: anyone can write those.
    """
    for mark in (report.video, report.audio):
        if mark.mac_valid and mark.token is not None:
            order = order_with_token(db, mark.token)
            if order is not None:
                return order
    render = report.c2pa.render or {}
    if report.c2pa.state == "trusted" and isinstance(render.get("render_id"), str):
        return find_order(db, render["render_id"])
    return None


def _consent_facts(db: Database, order: Order, space: SpaceStatus, now: datetime) -> ConsentFacts:
    """The consent the render was made under, as it stands now (not the space's latest)."""
    if order.consent_id is None:
        return ConsentFacts(status="unknown")
    grant = get_record(db, order.consent_id)
    status: ConsentStatus = "current"
    if space == SpaceStatus.REVOKED or order.status == OrderStatus.REVOKED or vetoed(db, grant):
        status = "revoked"
    elif grant.valid_until is None or parse_iso(grant.valid_until) <= now:
        status = "expired"
    return ConsentFacts(status=status, consent_id=grant.id, valid_until=grant.valid_until)


class Verifier:
    """Runs detections for the bot, a few at a time, each time-limited, wherever renders run
    (this machine's worker processes or the Ray cluster: ``bot/executors``)."""

    def __init__(self, watermark_key: bytes, signing_dir: Path, executor: RenderExecutor) -> None:
        self._key = watermark_key
        self._signing_dir = signing_dir
        self._executor = executor
        self._slots = asyncio.Semaphore(DETECTIONS_AT_ONCE)

    def __repr__(self) -> str:
        return f"Verifier(signing_dir={self._signing_dir!r})"  # never the key

    async def detect(self, path: Path) -> DetectionReport:
        """Raises IngestError for a file that is no video, TimeoutError past DETECT_TIMEOUT_S,
        WorkerFailed when the detection's process died."""
        # Read each time: the local signing chain is made by the first greeting signed.
        anchor = trust_anchor_from_env(self._signing_dir)
        async with self._slots:
            reply = await self._executor.detect(path, self._key, anchor, DETECT_TIMEOUT_S)
        if "report" in reply:
            return DetectionReport.model_validate(reply["report"])
        raise IngestError(str(reply.get("code")), str(reply.get("error")))
