"""State as the flows would have left it, for benchmarks, the fault harness and tests.

Driving every chat to reach a consented family with rendered greetings costs minutes per family;
what a benchmark or a fault run measures starts after that. These helpers write the same rows
through the storage and consent functions the flows use, and move orders through the order
table's own ``move``, so every status change is checked against the transitions and audited as
in the running bot.
"""

from __future__ import annotations

from sqlite_utils import Database

from bot.audit import AuditLog
from bot.clock import Clock
from bot.family.consent import Method, RecordKind, append_record
from bot.family.spaces import Space, SpaceStatus, SubjectStatus, create_space, update_space
from bot.orders._states import move
from bot.storage import Order, OrderStatus

# From a confirmed draft to a greeting previewed and waiting for its send time.
_TO_SCHEDULED = (OrderStatus.QUEUED, OrderStatus.RENDERING, OrderStatus.PREVIEW,
                 OrderStatus.SCHEDULED)  # fmt: skip


def consented_family(
    db: Database, clock: Clock, owner_id: int, subject_name: str, language: str, wording: str
) -> Space:
    """An active family space of one owner whose living subject has consented in their own
    words (``wording``, in ``language``)."""
    space = create_space(db, clock, owner_id, cosigners_required=1)
    space = update_space(
        db,
        space.id,
        status=SpaceStatus.ACTIVE.value,
        setup_step=None,
        subject_name=subject_name,
        subject_status=SubjectStatus.LIVING.value,
    )
    append_record(db, clock, space, RecordKind.GRANT, owner_id, Method.LIVING_STATEMENT,
                  wording=wording, language=language)  # fmt: skip
    return space


def scheduled(db: Database, audit: AuditLog, order: Order, actor: str) -> Order:
    """``order`` queued, rendered, previewed and scheduled, as rendering would have left it."""
    for status in _TO_SCHEDULED:
        moved = move(db, audit, order, status, actor)
        if moved is None:
            raise RuntimeError(f"order {order.id} was moved by someone else while seeded")
        order = moved
    return order
