"""The order's transition table, and the diagram in the README that shows it to people.

The diagram is documentation that is tested: an edge added to the table and not to the diagram
(or the other way round) fails here, so what operators read is what the bot does.
"""

import re
from pathlib import Path

import pytest

from bot.audit import AuditLog
from bot.clock import SystemClock
from bot.orders import OPEN, TRANSITIONS
from bot.orders._states import move
from bot.storage import OrderStatus, open_database
from bot.storage.orders import get_order, open_draft

README = Path(__file__).parent.parent / "README.md"
_EDGE = re.compile(r"^\s+(\w+) --> (\w+) : (.+)$")


def _diagram_edges() -> set[tuple[str, str]]:
    block = README.read_text(encoding="utf-8").split("```mermaid\nstateDiagram-v2\n")[1]
    lines = block.split("```")[0].splitlines()
    return {(m.group(1), m.group(2)) for line in lines if (m := _EDGE.match(line))}


def test_the_readme_diagram_draws_every_transition_and_no_other() -> None:
    table = {
        (source.value, target.value)
        for source, targets in TRANSITIONS.items()
        for target in targets
        if target != OrderStatus.REVOKED  # the diagram says so once, in words
    }
    assert _diagram_edges() == table


def test_revocation_ends_any_order_and_finished_orders_go_nowhere_else() -> None:
    for status, targets in TRANSITIONS.items():
        assert (OrderStatus.REVOKED in targets) == (status != OrderStatus.REVOKED)
    finished = set(OrderStatus) - OPEN - {OrderStatus.COLLECTING}
    for status in finished:
        assert TRANSITIONS[status] - {OrderStatus.REVOKED} == set(), status


def test_a_move_the_table_forbids_is_a_programming_error_and_changes_nothing(
    tmp_path: Path,
) -> None:
    db = open_database(tmp_path / "bot.sqlite3")
    audit = AuditLog(tmp_path / "audit.log", b"k" * 32, SystemClock())
    draft = open_draft(db, user_id=1, chat_id=1, language="en", space_id="s1")
    with pytest.raises(ValueError, match="cannot go from collecting to delivered"):
        move(db, audit, draft, OrderStatus.DELIVERED, 1)
    assert get_order(db, draft.id).status == OrderStatus.COLLECTING
    queued = move(db, audit, draft, OrderStatus.QUEUED, 1)
    assert queued is not None
    # A second move from the status the caller saw loses: someone else moved it first.
    assert move(db, audit, draft, OrderStatus.CANCELLED, 1) is None
    [entry] = audit.entries()
    assert (entry["action"], entry["details"]) == (
        "order.queued",
        {"order": draft.id, "was": "collecting"},
    )
