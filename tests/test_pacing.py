"""The flood limit and chats handled at once: one account flooding does not hold up another."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from bot.app import build_application, polling
from bot.flows.basics import help_text
from bot.i18n import gettext_for
from bot.pacing import FloodGuard, Pace, Verdict
from bot.sandbox import BotApiStandIn, SandboxClient, SandboxUser
from tests.auxil.bot import FakeClock, settings_for

EN, ZH_HANS = gettext_for("en"), gettext_for("zh-Hans")
SLOW_DOWN = (
    "You are sending messages faster than I can read them. Please wait {seconds} s, then send "
    "your last message again."
)


def test_the_guard_answers_once_over_the_limit_then_drops_until_the_window_passes() -> None:
    now = [100.0]
    guard = FloodGuard(updates=3, window_s=10, now=lambda: now[0])
    assert [guard.check(1).pace for _ in range(3)] == [Pace.PASS] * 3
    now[0] += 4
    assert guard.check(1) == Verdict(Pace.SLOW_DOWN, 6)
    assert guard.check(1) == Verdict(Pace.DROP)
    assert guard.check(2).pace == Pace.PASS  # another account is not affected
    now[0] += 6
    assert guard.check(1).pace == Pace.PASS


async def test_a_flooding_account_gets_one_slow_down_and_others_are_answered_meanwhile(
    stand_in: BotApiStandIn, sandbox: SandboxClient, tmp_path: Path
) -> None:
    flooder = SandboxUser(7201, "Flood", language_code="en")
    other = SandboxUser(7202, "阿明", language_code="zh-hans")
    settings = dataclasses.replace(settings_for(stand_in, tmp_path / "bot-data"), flood_updates=6)
    async with polling(build_application(settings, FakeClock())) as application:
        await asyncio.gather(*(sandbox.send_text(flooder, "/help") for _ in range(40)))
        await sandbox.send_text(other, "/help")
        answer = await sandbox.wait_for_message(other.id, timeout=15)
        assert answer.text == help_text(ZH_HANS)
        # Telegram lets the bot send 3 messages to a chat at once, then one a second: the
        # other user was answered while the flooder's replies were still being paced out.
        slow_down = EN(SLOW_DOWN).format(seconds=10)[:60]
        flooded = await sandbox.sent_messages(flooder.id)
        assert not any((m.text or "").startswith(slow_down) for m in flooded)
        await sandbox.wait_for_message(
            flooder.id, lambda m: (m.text or "").startswith(slow_down[:40]), timeout=30
        )
        busy = application.update_processor
        while not application.update_queue.empty() or busy.current_concurrent_updates:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # PTB has nothing to wait on until it is idle
    texts = [m.text for m in await sandbox.sent_messages(flooder.id)]
    assert texts[:6] == [help_text(EN)] * 6
    assert len(texts) == 7 and (texts[6] or "").startswith(slow_down[:40])
