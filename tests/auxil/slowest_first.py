"""The test files that take longest run first.

``make unit`` runs the suite in two processes, a file each at a time (pytest-xdist's
``--dist loadfile`` with ``--no-loadscope-reorder``, so files are handed out in the order
collected). Left to themselves, files go out alphabetically (or, with xdist's own reordering,
those with the most tests first), and a file of a few minute-long tests, such as the kill -9
run, could begin last and keep one process busy for minutes after the other had finished.
Started first, the long files overlap each other and the many short files fill the gaps.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SLOWEST_FIRST = (
    "test_engine_previews.py",
    "test_bot_flows.py",
    "test_faults.py",
    "test_family_likeness.py",
    "test_orders.py",
    "test_verify.py",
    "test_family_trust.py",
    "test_campaigns.py",
    "test_executors_ray.py",
    "test_web.py",
    "test_engine_render.py",
    "test_cli.py",
)
"""Longest first: each took 45-150 s in all in a two-process run on two cores (2026-12-06), the
suite 1,543 s of test time, these three quarters of it."""

_TESTS = Path(__file__).parent.parent
_missing = [name for name in SLOWEST_FIRST if not (_TESTS / name).is_file()]
assert not _missing, f"SLOWEST_FIRST names files that are gone: {_missing}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the slowest files' tests ahead of the rest, each file's own order kept."""
    rank = {name: place for place, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOWEST_FIRST)))
