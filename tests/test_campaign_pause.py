"""Pausing a campaign through the stand-in with an injected clock: a paused campaign delivers
nothing, resuming sends what fell due exactly once while its festival day lasts where the family
lives, and a greeting whose day ended meanwhile is reported as missed, never sent late."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from telegram import Bot

from bot.app import build_application, polling
from bot.campaigns import MISSED, Campaign
from bot.clock import iso
from bot.delivery import ORIGINAL_PREFIX
from bot.i18n import gettext_for
from bot.sandbox import BotApiStandIn, SandboxClient, SandboxUser, SentMessage
from bot.seeding import consented_family, scheduled
from bot.storage import Order, OrderStatus, remember_user
from bot.storage.orders import get_order, new_order
from bot.storage.users import set_time_zone
from tests.auxil.bot import ADMIN, BotWorld, FakeClock, settings_for

ZONE = "Asia/Taipei"
FAMILY = SandboxUser(7301, "Ann", language_code="en")
WAIT_S = 30.0


@pytest.fixture
async def world(
    stand_in: BotApiStandIn, sandbox: SandboxClient, tmp_path: Path
) -> AsyncIterator[BotWorld]:
    clock, data_dir = FakeClock(), tmp_path / "bot-data"
    settings = replace(settings_for(stand_in, data_dir), campaign_tick_s=0.05)
    async with polling(build_application(settings, clock)) as application:
        yield BotWorld(stand_in, sandbox, application, data_dir, clock)


def _campaign(world: BotWorld) -> Campaign:
    """A campaign of tomorrow at 09:00, created as the admin web and chat create one."""
    day = world.clock.now().astimezone(ZoneInfo(ZONE)).date() + timedelta(days=1)
    return world.services.campaigns.create(
        ADMIN.id, template_id="mid-autumn", festival_date=day.isoformat(), send_time="09:00",
        audience="consented", texts=json.dumps({"en": "Happy festival!"}), invite_days=0,
        sample_percent=0,
    )  # fmt: skip


async def _paused_greeting(world: BotWorld) -> tuple[Campaign, Order]:
    """A family's greeting, previewed and waiting for its campaign's send time; the campaign
    paused by the admin."""
    campaign = _campaign(world)
    services, clock = world.services, world.clock
    db, audit = services.db, services.audit
    await world.sandbox.block_bot(FAMILY, blocked=False)  # the chat exists for the stand-in
    remember_user(db, FAMILY.id, FAMILY.first_name, "en")
    set_time_zone(db, FAMILY.id, ZONE)
    space = consented_family(db, clock, FAMILY.id, "Grandpa", "en", wording="test")
    bot: Bot = world.application.bot
    upload = await bot.send_video(FAMILY.id, video=b"\x00\x00\x00\x18ftypmp42")
    assert upload.video is not None
    send_at = datetime.combine(campaign.day, time(9), ZoneInfo(ZONE))
    order = new_order(db, FAMILY.id, FAMILY.id, "en", space.id, campaign_id=campaign.id,
                      template_id="mid-autumn", recipient="Grandma", send_at=iso(send_at),
                      telegram_file_id=upload.video.file_id, duration_s=12.0, width=1280,
                      height=720)  # fmt: skip
    order = scheduled(db, audit, order, "test")
    assert services.campaigns.pause(campaign.id, ADMIN.id)
    return campaign, order


def _is_final(message: SentMessage) -> bool:
    buttons = [b["callback_data"] for row in (message.reply_markup or {}).get("inline_keyboard", [])
               for b in row]  # fmt: skip
    return message.method == "sendVideo" and any(b.startswith(ORIGINAL_PREFIX) for b in buttons)


async def _finals(world: BotWorld) -> list[SentMessage]:
    return [m for m in await world.sandbox.sent_messages(FAMILY.id) if _is_final(m)]


async def _until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(int(WAIT_S / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(what)


async def _ticks(n: int = 10) -> None:
    """Long enough for ``n`` of the campaign ticks (every 0.05 s) to have looked."""
    await asyncio.sleep(n * 0.05)


async def test_a_paused_campaign_holds_a_due_greeting_and_resuming_sends_it_once(
    world: BotWorld,
) -> None:
    campaigns = world.services.campaigns
    campaign, order = await _paused_greeting(world)
    assert not campaigns.pause(campaign.id, ADMIN.id)  # already paused: nothing recorded twice
    paused = campaigns.campaign(campaign.id)
    assert paused is not None and paused.paused_at is not None and paused.paused_by == ADMIN.id
    report = campaigns.report(paused).text(gettext_for("en"), "en")
    assert f"Paused since {paused.paused_at[:16].replace('T', ' ')} UTC by {ADMIN.id}" in report

    world.clock.advance(datetime.fromisoformat(order.send_at or "") - world.clock.now())
    await _ticks()
    assert get_order(world.services.db, order.id).status == OrderStatus.SCHEDULED
    assert await _finals(world) == []

    assert campaigns.resume(campaign.id, ADMIN.id)
    assert not campaigns.resume(campaign.id, ADMIN.id)
    await _until(lambda: get_order(world.services.db, order.id).status == OrderStatus.DELIVERED,
                 "the greeting was not delivered after the resume")  # fmt: skip
    await _ticks()
    assert len(await _finals(world)) == 1
    actions = [(e["actor"], e["action"], e["details"]) for e in world.services.audit.entries()
               if str(e["action"]).startswith("campaign.")]  # fmt: skip
    assert actions[-2:] == [
        (ADMIN.id, "campaign.paused", {"campaign": campaign.id}),
        (ADMIN.id, "campaign.resumed", {"campaign": campaign.id}),
    ]
    report = campaigns.report(campaigns.campaign(campaign.id) or campaign).text(
        gettext_for("en"), "en"
    )
    assert "Paused" not in report and "Delivered: 1 (" in report


async def test_a_greeting_whose_day_ended_while_paused_is_missed_not_sent_late(
    world: BotWorld,
) -> None:
    campaigns = world.services.campaigns
    campaign, order = await _paused_greeting(world)
    # Midnight after the festival day in Taipei: the catch-up window is over.
    world.clock.advance(
        datetime.combine(campaign.day + timedelta(days=1), time(), ZoneInfo(ZONE))
        - world.clock.now()
    )
    await _ticks()
    assert campaigns.resume(campaign.id, ADMIN.id)
    await _until(lambda: get_order(world.services.db, order.id).status == OrderStatus.CANCELLED,
                 "the greeting was not reported as missed")  # fmt: skip
    assert get_order(world.services.db, order.id).error == MISSED
    told = gettext_for("en")(
        "Sorry: your festival greeting for {recipient} could not be sent on the day, so it "
        "will not be sent. You can still order greetings yourself at any time."
    ).format(recipient="Grandma")
    await world.sandbox.wait_for_message(FAMILY.id, lambda m: m.text == told, timeout=WAIT_S)
    await _ticks()
    assert await _finals(world) == []
    texts = [m.text for m in await world.sandbox.sent_messages(FAMILY.id)]
    assert texts.count(told) == 1
    counts = campaigns.report(campaign).counts()
    assert (counts["missed"], counts["delivered"]) == (1, 0)
