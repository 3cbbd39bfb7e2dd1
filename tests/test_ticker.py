"""The background pass: run at once, then again after each interval; a pass that fails is
logged and the next one still runs; closing stops it."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from bot.ticker import Ticker


async def test_a_failed_pass_is_logged_and_the_next_one_runs() -> None:
    passes: list[int] = []

    async def run() -> None:
        passes.append(len(passes))
        if len(passes) == 1:
            raise RuntimeError("the database was locked")

    ticker = Ticker("test", 0.01, run)
    with capture_logs() as logs:
        ticker.start()
        async with asyncio.timeout(5):
            while len(passes) < 3:  # noqa: ASYNC110 - counting the ticker's own passes
                await asyncio.sleep(0.01)
        await ticker.close()
    stopped_at = len(passes)
    await asyncio.sleep(0.05)
    assert len(passes) == stopped_at
    assert [entry["event"] for entry in logs] == ["ticker.pass_failed"]
    assert logs[0]["ticker"] == "test" and "database was locked" in logs[0]["error"]
