"""Worker processes: reused when they should be, killed when their work is cancelled or late."""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from bot.workers import WorkerFailed, WorkerPool, run_worker

WORKER = "tests.auxil.echo_worker"


def _request(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_a_pool_process_answers_request_after_request() -> None:
    pool = WorkerPool(WORKER)
    try:
        first = await pool.call(_request(n=1))
        second = await pool.call(_request(n=2))
    finally:
        await pool.close()
    # The stray print went to stderr, not into the replies.
    assert (first["echo"], second["echo"]) == ({"n": 1}, {"n": 2})
    assert first["pid"] == second["pid"]
    assert not _alive(first["pid"])  # closing the pool ends its processes


async def test_a_cancelled_request_takes_its_process_down() -> None:
    pool = WorkerPool(WORKER)
    try:
        before = await pool.call(_request())
        slow = asyncio.create_task(pool.call(_request(sleep=30)))
        await asyncio.sleep(0.5)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        assert not _alive(before["pid"])
        after = await pool.call(_request())
        assert after["pid"] != before["pid"]
    finally:
        await pool.close()


async def test_a_worker_that_dies_is_a_worker_failure_and_is_replaced() -> None:
    pool = WorkerPool(WORKER)
    try:
        with pytest.raises(WorkerFailed, match="exited with status 3"):
            await pool.call(_request(crash=True))
        assert (await pool.call(_request(n=3)))["echo"] == {"n": 3}
    finally:
        await pool.close()


async def test_a_one_off_worker_is_killed_at_its_deadline() -> None:
    reply = await run_worker(WORKER, _request(n=4))
    assert reply["echo"] == {"n": 4} and not _alive(reply["pid"])
    with pytest.raises(TimeoutError):
        await run_worker(WORKER, _request(sleep=30), timeout_s=0.5)
