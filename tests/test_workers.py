"""Worker processes: reused when they should be, killed when their work is cancelled or late,
and dying with the bot however it dies."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bot.faults import group_members
from bot.metrics import worker_losses
from bot.render_worker import _Throttled
from bot.workers import Priority, WorkerFailed, WorkerPool, run_worker
from engine import REVEAL_SECRETS, ConsentReference, RenderProgress, RenderSpec, RenderStage
from tests.auxil.media import portrait

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
    pool = WorkerPool(WORKER, Priority.BATCH)
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
    pool = WorkerPool(WORKER, Priority.BATCH)
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


@pytest.mark.timeout(60)
def test_a_worker_dies_with_its_bot_killed_by_sigkill() -> None:
    # A bot in a session of its own, its worker busy for a minute (as in a long render stage
    # that reports nothing): kill -9 the bot alone, as an operator or the OOM killer would.
    bot = subprocess.Popen(
        [sys.executable, "-c", "import asyncio; from bot.workers import WorkerPool; "
         f"asyncio.run(WorkerPool({WORKER!r}, {int(Priority.BATCH)}).call(b'{{\"sleep\": 60}}'))"],
        start_new_session=True, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert bot.stderr is not None
    try:
        while b"a library talking" not in bot.stderr.readline():
            pass  # the worker's stray line: it has the request and is working on it
        assert len(group_members(bot.pid)) == 2
        bot.kill()
        bot.wait()
        deadline = time.monotonic() + 5
        while group_members(bot.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert group_members(bot.pid) == [], "the worker outlived its bot"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(bot.pid, signal.SIGKILL)


async def test_an_idle_worker_killed_meanwhile_is_replaced_unnoticed() -> None:
    """Killing an idle analysis worker (as the OOM killer might) made the next upload fail
    with a traceback; the request now goes to a fresh process."""
    pool = WorkerPool(WORKER, Priority.BATCH)
    try:
        before = await pool.call(_request(n=1))
        os.kill(before["pid"], signal.SIGKILL)
        while _alive(before["pid"]):  # noqa: ASYNC110 - a pid, nothing to await
            await asyncio.sleep(0.01)
        after = await pool.call(_request(n=2))
    finally:
        await pool.close()
    assert after["echo"] == {"n": 2} and after["pid"] != before["pid"]


async def test_workers_yield_the_cores_to_the_bot_renders_to_uploads() -> None:
    """On two cores a render and an upload's check took the CPU from the event loop and every
    chat's reply waited (p99 3.6 s at 1,000 users): workers run below the bot, renders lowest."""
    here = os.nice(0)
    pool = WorkerPool(WORKER, Priority.BATCH)
    try:
        render = await pool.call(_request())
    finally:
        await pool.close()
    check = await run_worker(WORKER, _request(), Priority.PROMPT)
    assert check["niceness"] == min(here + Priority.PROMPT, 19)
    assert render["niceness"] == min(here + Priority.BATCH, 19)


async def test_a_worker_that_dies_is_a_worker_failure_and_is_replaced() -> None:
    pool = WorkerPool(WORKER, Priority.BATCH)
    before = worker_losses()
    try:
        with pytest.raises(WorkerFailed, match="exited with status 3"):
            await pool.call(_request(crash=True))
        assert (await pool.call(_request(n=3)))["echo"] == {"n": 3}
    finally:
        await pool.close()
    assert worker_losses() == before + 1  # /metrics: tuanyuan_worker_restarts_total


async def test_a_one_off_worker_is_killed_at_its_deadline() -> None:
    reply = await run_worker(WORKER, _request(n=4), Priority.PROMPT)
    assert reply["echo"] == {"n": 4} and not _alive(reply["pid"])
    with pytest.raises(TimeoutError):
        await run_worker(WORKER, _request(sleep=30), Priority.PROMPT, timeout_s=0.5)


async def test_progress_reaches_the_caller_before_the_reply() -> None:
    pool = WorkerPool(WORKER, Priority.BATCH)
    events: list[dict[str, Any]] = []
    try:
        reply = await pool.call(_request(steps=3), on_progress=events.append)
        assert events == [{"step": 0}, {"step": 1}, {"step": 2}]
        # Without a listener the progress is dropped; the process answers the next request.
        again = await pool.call(_request(steps=2, n=5))
    finally:
        await pool.close()
    assert reply["echo"] == {"steps": 3} and again["echo"] == {"steps": 2, "n": 5}
    assert again["pid"] == reply["pid"]
    one_off = await run_worker(WORKER, _request(steps=2, n=6), Priority.PROMPT)
    assert one_off["echo"] == {"steps": 2, "n": 6}


def test_the_render_worker_passes_progress_on_at_most_twice_a_second() -> None:
    passed: list[dict[str, Any]] = []
    throttled = _Throttled(passed.append)

    def burst(*events: tuple[RenderStage, float]) -> None:
        for stage, fraction in events:
            throttled(RenderProgress(stage=stage, fraction=fraction))

    burst(("voice", 0.0), ("voice", 0.05), ("composing", 0.05), ("composing", 0.06))
    time.sleep(0.55)
    burst(("composing", 0.5), ("composing", 0.51), ("marking", 0.9), ("done", 1.0))
    # In a burst only a new stage gets through; half a second later, the stage's news again.
    assert [(event["stage"], event["fraction"]) for event in passed] == [
        ("voice", 0.0), ("composing", 0.05), ("composing", 0.5), ("marking", 0.9), ("done", 1.0),
    ]  # fmt: skip


async def test_a_render_process_reports_its_progress_then_its_result(tmp_path: Path) -> None:
    spec = RenderSpec(
        render_id="progress", template_id="mid-autumn", language="en", mode="preview",
        portrait=portrait(tmp_path / "face.jpg"), recipient="Grandma", output_dir=tmp_path,
        consent=ConsentReference.for_synthetic_media(),
    )  # fmt: skip
    pool = WorkerPool("bot.render_worker", Priority.BATCH)
    events: list[dict[str, Any]] = []
    try:
        request = spec.model_dump_json(context={REVEAL_SECRETS: True}).encode()
        reply = await pool.call(request, on_progress=events.append)
    finally:
        await pool.close()
    assert reply["ok"] and reply["result"]["size_bytes"] > 0
    fractions = [event["fraction"] for event in events]
    assert fractions == sorted(fractions) and events[-1] == {"stage": "done", "fraction": 1.0}
    stages = [event["stage"] for event in events]
    assert stages[0] == "voice" and "composing" in stages
