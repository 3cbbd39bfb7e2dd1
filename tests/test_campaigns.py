"""Festival campaigns through the stand-in: an organiser's /campaign, twenty families in three
languages and three time zones invited, answering, their greetings rendered ahead at low
priority, a moderation sample, previews, and delivery on the festival day at each family's own
send time, with a revocation, a member who blocked the bot and a restart on the day.

Renders are real (the render worker, marking, the vault) but of a tiny template: one short
sentence between half-second cards, so twenty of them fit the test's budget.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import BotApplication, build_application, polling
from bot.campaigns import (
    CATCH_UP_S,
    NEVER_PREFIX,
    NO_MESSAGE,
    NO_PREFIX,
    YES_PREFIX,
    ZONE_PREFIX,
    Broadcaster,
    draft_of,
    sampled,
)
from bot.config import ConfigError, settings_from_env
from bot.delivery import ORIGINAL_PREFIX
from bot.demo.samples import sample_portrait_jpeg, sample_voice_ogg
from bot.festivals import next_date
from bot.flows.campaign import DATE_PREFIX, KEEP_DATE_PREFIX
from bot.i18n import gettext_for, sentences
from bot.jobs import RenderSlots
from bot.orders import APPROVE_PREFIX
from bot.sandbox import BotApiStandIn, SandboxClient, SandboxUser, SentMessage
from bot.storage import Order, OrderStatus
from bot.storage.orders import draft_for, get_order, orders_where
from bot.storage.users import opted_out, set_time_zone
from bot.vault import VaultError
from engine import template_title
from tests.auxil.bot import ADMIN, BotWorld, FakeClock, settings_for
from tests.auxil.family import (
    ASKS_FOR_VOICE,
    confirm,
    living_family,
    press_festival,
    revoke,
    says,
)
from tests.auxil.templates import tiny_template

EN = gettext_for("en")
TEMPLATE = "tiny-moon"
LANGUAGES = ("zh-hant", "zh-hans", "en")
ZONES = ("Asia/Taipei", "Europe/London", "America/New_York")
FAMILIES = 20
SEND_TIME = "09:00"
WAIT_S = 120.0
VOICE = "我很想念你們。祝你們中秋快樂。"
ASKED_AGAIN = (
    "You accepted the invitation to the {festival} campaign. It still needs your answer to this "
    "question:"
)


@pytest.fixture
def campaign_settings_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "templates"
    tiny_template(folder, TEMPLATE)
    monkeypatch.setenv("TUANYUAN_TEMPLATES_DIR", str(folder))
    return tmp_path / "bot-data"


def _app(stand_in: BotApiStandIn, data_dir: Path, clock: FakeClock) -> BotApplication:
    settings = replace(
        settings_for(stand_in, data_dir),
        render_workers=2,
        campaign_sample_percent=25,
        campaign_tick_s=0.1,
    )
    return build_application(settings, clock)


def _owner(i: int) -> SandboxUser:
    return SandboxUser(7100 + i, f"Owner{i}", language_code=LANGUAGES[i % 3])


def _subject(i: int) -> SandboxUser:
    return SandboxUser(7200 + i, f"Elder{i}", language_code=LANGUAGES[i % 3])


def _zone(i: int) -> str:
    return ZONES[(i + i // 3) % 3]


def _buttons(message: SentMessage) -> list[str]:
    return [b["callback_data"] for row in (message.reply_markup or {}).get("inline_keyboard", [])
            for b in row]  # fmt: skip


def _has_button(prefix: str) -> Callable[[SentMessage], bool]:
    return lambda m: any(data.startswith(prefix) for data in _buttons(m))


async def _family_with_a_photo(world: BotWorld, i: int) -> None:
    owner, subject = _owner(i), _subject(i)
    await living_family(world, owner, subject)
    asks_for_voice = says(owner, ASKS_FOR_VOICE)
    offer = await world.reply_to(
        owner,
        lambda: world.sandbox.send_photo(owner, sample_portrait_jpeg()),
        until=lambda m: m.reply_markup is not None or asks_for_voice(m),
    )
    if offer.reply_markup is None:
        await world.reply_to(
            owner,
            lambda: world.sandbox.send_voice(owner, sample_voice_ogg(VOICE), 5),
            until=lambda m: m.reply_markup is not None,
        )


async def _create_campaign(
    world: BotWorld, day: date, audience: str = "consented"
) -> tuple[str, str]:
    """/campaign as the organiser, every step typed or pressed in the admin chat."""
    sandbox = world.sandbox
    await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "/start"))
    templates = await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "/campaign"))
    assert _buttons(templates) == [f"cmk:tpl:{TEMPLATE}"]
    await world.reply_to(
        ADMIN, lambda: sandbox.press_button(ADMIN, templates.message_id, f"cmk:tpl:{TEMPLATE}")
    )
    refused = await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "15/09/2027"))
    assert refused.text == "Please type the date as YYYY-MM-DD, for example 2027-09-15."
    asked = await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, day.isoformat()))
    if KEEP_DATE_PREFIX + day.isoformat() in _buttons(asked):  # far from Mid-Autumn: confirmed
        await world.reply_to(ADMIN, lambda: sandbox.press_button(
            ADMIN, asked.message_id, KEEP_DATE_PREFIX + day.isoformat()))  # fmt: skip
    refused = await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "25:00"))
    assert refused.text == "Please type the time as HH:MM, for example 09:30."
    question = await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, SEND_TIME))
    await world.reply_to(
        ADMIN, lambda: sandbox.press_button(ADMIN, question.message_id, f"cmk:aud:{audience}")
    )
    # Asked in the order of bot.i18n.LANGUAGES: Traditional, Simplified, English.
    for text in ("林氏宗親會祝您中秋快樂！", "林氏宗亲会祝您中秋快乐！",
                 "Happy Mid-Autumn from the Lin Association!"):  # fmt: skip
        done = await world.reply_to(ADMIN, lambda t=text: sandbox.send_text(ADMIN, t))  # type: ignore[misc]
    assert (done.text or "").startswith("Campaign "), done.text
    return (done.text or "").split()[1].rstrip(":"), done.text or ""


async def test_a_day_far_from_the_festival_is_asked_about(
    stand_in: BotApiStandIn, sandbox: SandboxClient, campaign_settings_dir: Path
) -> None:
    """A slip of the organiser's (a Mid-Autumn campaign typed for two months after it) is asked
    about, with the festival's own day a press away; the festival's eve is taken unasked."""
    clock = FakeClock()
    async with polling(_app(stand_in, campaign_settings_dir, clock)) as application:
        world = BotWorld(stand_in, sandbox, application, campaign_settings_dir, clock)
        db = world.services.db
        today = clock.now().date()
        festival = next_date("mid-autumn", today + timedelta(days=1))
        assert festival is not None
        far, eve = festival + timedelta(days=60), festival - timedelta(days=1)

        async def typed_day(day: date) -> SentMessage:
            templates = await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "/campaign"))
            await world.reply_to(ADMIN, lambda: sandbox.press_button(
                ADMIN, templates.message_id, f"cmk:tpl:{TEMPLATE}"))  # fmt: skip
            return await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, day.isoformat()))

        asked = await typed_day(far)
        assert asked.text == sentences(
            EN("{date} is far from {festival}, which next falls on {festival_date}.").format(
                date=far.isoformat(), festival=EN("Mid-Autumn Festival"),
                festival_date=festival.isoformat()),
            EN("Should greetings arrive on {date} all the same? Or type another date.").format(
                date=far.isoformat()),
        )  # fmt: skip
        assert _buttons(asked) == [KEEP_DATE_PREFIX + far.isoformat(),
                                   DATE_PREFIX + festival.isoformat()]  # fmt: skip
        await world.reply_to(ADMIN, lambda: sandbox.press_button(
            ADMIN, asked.message_id, DATE_PREFIX + festival.isoformat()),
            until=lambda m: (m.text or "").startswith("At what time"))  # fmt: skip
        draft = draft_of(db, ADMIN.id)
        assert draft is not None and draft[1]["festival_date"] == festival.isoformat()
        await typed_day(eve)
        draft = draft_of(db, ADMIN.id)
        assert draft is not None and draft[0] == "time"
        assert draft[1]["festival_date"] == eve.isoformat()


async def _answer(world: BotWorld, i: int, campaign_id: str) -> None:
    owner, sandbox = _owner(i), world.sandbox
    invitation = await sandbox.wait_for_message(owner.id, _has_button(YES_PREFIX), timeout=WAIT_S)
    if i == 0:
        await world.reply_to(owner, lambda: sandbox.press_button(
            owner, invitation.message_id, NO_PREFIX + campaign_id))  # fmt: skip
        return
    if i == 1:
        await world.reply_to(owner, lambda: sandbox.press_button(
            owner, invitation.message_id, NEVER_PREFIX + campaign_id))  # fmt: skip
        return
    zones = await world.reply_to(
        owner, lambda: sandbox.press_button(owner, invitation.message_id, YES_PREFIX + campaign_id)
    )
    await world.reply_to(
        owner, lambda: sandbox.press_button(owner, zones.message_id, ZONE_PREFIX + _zone(i))
    )
    question = await world.reply_to(owner, lambda: sandbox.send_text(owner, f"Family{i}"),
                                    until=lambda m: NO_MESSAGE in _buttons(m))  # fmt: skip
    if i in (2, 3):  # their own words: a moderator reads them first
        await world.reply_to(owner, lambda: sandbox.send_text(owner, "We miss you, come home."))
    else:
        await world.reply_to(
            owner, lambda: sandbox.press_button(owner, question.message_id, NO_MESSAGE)
        )


async def _approve_until(world: BotWorld, done: Callable[[], bool]) -> int:
    """The moderator approves every card that comes, until ``done``; returns how many."""
    pressed: set[int] = set()
    for _ in range(int(WAIT_S / 0.2)):
        if done():
            return len(pressed)
        for card in await world.sandbox.sent_messages(ADMIN.id):
            data = [d for d in _buttons(card) if d.startswith(APPROVE_PREFIX)]
            if data and card.message_id not in pressed:
                pressed.add(card.message_id)
                await world.sandbox.press_button(ADMIN, card.message_id, data[0])
        await asyncio.sleep(0.2)
    raise TimeoutError("the campaign's greetings did not all reach their preview")


async def _until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(int(WAIT_S / 0.1)):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise TimeoutError(what)


def _finals(messages: list[SentMessage]) -> list[SentMessage]:
    return [m for m in messages
            if m.method == "sendVideo" and _has_button(ORIGINAL_PREFIX)(m)]  # fmt: skip


# Setting twenty families up says many things to each chat at once; the day's pace is what is
# under test here (and every chat receives one greeting), so a chat may take bursts of 20.
@pytest.mark.sandbox_limits(chat_burst=20)
async def test_a_campaign_reaches_twenty_families_at_their_own_send_time(
    stand_in: BotApiStandIn, sandbox: SandboxClient, campaign_settings_dir: Path
) -> None:
    clock = FakeClock()
    day = clock.now().date() + timedelta(days=2)
    async with polling(_app(stand_in, campaign_settings_dir, clock)) as application:
        world = BotWorld(stand_in, sandbox, application, campaign_settings_dir, clock)
        campaign_id = await _before_the_day(world, day)
        # The setup's own chatter met flood control (and PTB waited it out); the day must not.
        errors_before = len(await sandbox.errors())
        # The festival day, 09:00 in Taipei (01:00 UTC): only Taipei's families receive theirs.
        clock.advance(_due_in(day, "Asia/Taipei") - clock.now())
        await _until(lambda: _delivered(world, campaign_id, "Asia/Taipei"), "Taipei's greetings")
        await asyncio.sleep(0.5)  # a few more ticks: nobody else's time has come
        assert not _delivered(world, campaign_id, "Europe/London", any_of=True)
    # A restart on the festival day: the bot is down when London's time comes.
    clock.advance(_due_in(day, "Europe/London") - clock.now())
    async with polling(_app(stand_in, campaign_settings_dir, clock)) as application:
        world = BotWorld(stand_in, sandbox, application, campaign_settings_dir, clock)
        await _until(lambda: _delivered(world, campaign_id, "Europe/London"), "London's")
        assert not _delivered(world, campaign_id, "America/New_York", any_of=True)
        clock.advance(_due_in(day, "America/New_York") - clock.now())
        await _until(lambda: _delivered(world, campaign_id, "America/New_York"), "New York's")
        await world.services.campaigns.settle()
        await world.services.orders.settle()
        await _check_the_outcome(world, campaign_id, day)
        assert [e for e in (await sandbox.errors())[errors_before:] if e.code == 429] == []


async def test_a_campaign_greeting_speaks_the_language_its_subject_spoke(
    stand_in: BotApiStandIn, sandbox: SandboxClient, campaign_settings_dir: Path
) -> None:
    """Her chat is in Chinese, her grandfather spoke English: she is told before typing the
    names, a name in characters is refused, and the greeting is made in English."""
    zh_hant = gettext_for("zh-Hant")
    owner, subject = _owner(0), _subject(0)
    clock = FakeClock()
    async with polling(_app(stand_in, campaign_settings_dir, clock)) as application:
        world = BotWorld(stand_in, sandbox, application, campaign_settings_dir, clock)
        await living_family(world, owner, subject, languages=("en",))
        await world.reply_to(owner, lambda: sandbox.send_photo(owner, sample_portrait_jpeg()),
                             until=says(owner, ASKS_FOR_VOICE))  # fmt: skip
        campaign_id, ready = await _create_campaign(world, clock.now().date() + timedelta(days=2))
        # Two days ahead, within the invitations' seven: they go out at once.
        assert "Invitations go out now." in ready, ready
        invitation = await sandbox.wait_for_message(owner.id, _has_button(YES_PREFIX))
        zones = await world.reply_to(owner, lambda: sandbox.press_button(
            owner, invitation.message_id, YES_PREFIX + campaign_id))  # fmt: skip
        question = await world.reply_to(owner, lambda: sandbox.press_button(
            owner, zones.message_id, ZONE_PREFIX + "Asia/Taipei"))  # fmt: skip
        why = zh_hant("{subject} speaks {language}, so the greeting is in {language}.")
        assert (question.text or "").startswith(
            why.format(subject=subject.first_name, language=zh_hant("English"))
        )
        refused = await world.reply_to(owner, lambda: sandbox.send_text(owner, "外公和外婆"))
        assert refused.text == zh_hant(
            "The greeting is in English, and its voice cannot read Chinese characters. Please "
            "type it in English letters, for example: Grandma."
        )
        asked = await world.reply_to(owner, lambda: sandbox.send_text(owner, "Grandma"),
                                     until=lambda m: NO_MESSAGE in _buttons(m))  # fmt: skip
        await world.reply_to(owner, lambda: sandbox.press_button(
            owner, asked.message_id, NO_MESSAGE))  # fmt: skip
        # Each question, read back later, shows the answer pressed.
        answered = {m.message_id: m.text for m in await sandbox.sent_messages(owner.id)}
        assert [answered[m.message_id] for m in (zones, asked)] == [
            "Asia/Taipei", zh_hant("No personal message")]  # fmt: skip
        [order] = _campaign_orders(world, campaign_id)
        assert (order.language, order.spoken_language, order.recipient) == (
            "zh-Hant", "en", "Grandma")  # fmt: skip
        await world.services.orders.settle()


async def test_an_invitation_left_half_answered_past_its_festival_is_asked_no_more(
    stand_in: BotApiStandIn, sandbox: SandboxClient, campaign_settings_dir: Path
) -> None:
    """She said Yes and never gave the names. Once the festival day is over everywhere, /start
    no longer asks for them, nor does typed text answer the invitation."""
    owner = _owner(0)
    clock = FakeClock()
    async with polling(_app(stand_in, campaign_settings_dir, clock)) as application:
        world = BotWorld(stand_in, sandbox, application, campaign_settings_dir, clock)
        await _family_with_a_photo(world, 0)
        day = clock.now().date() + timedelta(days=2)
        campaign_id, _ready = await _create_campaign(world, day)
        invitation = await sandbox.wait_for_message(owner.id, _has_button(YES_PREFIX))
        zones = await world.reply_to(owner, lambda: sandbox.press_button(
            owner, invitation.message_id, YES_PREFIX + campaign_id))  # fmt: skip
        await world.reply_to(owner, lambda: sandbox.press_button(
            owner, zones.message_id, ZONE_PREFIX + "Asia/Taipei"))  # fmt: skip
        festival = template_title(TEMPLATE, "zh-Hant")
        asked = says(owner, ASKED_AGAIN, festival=festival)
        await world.reply_to(owner, lambda: sandbox.send_text(owner, "/start"), until=asked)
        clock.advance(timedelta(days=4))  # the festival day has ended in every zone
        seen = max(m.message_id for m in await sandbox.sent_messages(owner.id))
        await world.reply_to(owner, lambda: sandbox.send_text(owner, "/start"),
                             until=lambda m: m.reply_markup is not None)  # fmt: skip
        replies = [m for m in await sandbox.sent_messages(owner.id) if m.message_id > seen]
        assert not any(asked(m) for m in replies)
        assert world.services.campaigns.answering(owner.id) is None


async def test_typed_text_answers_the_question_asked_last(
    stand_in: BotApiStandIn, sandbox: SandboxClient, campaign_settings_dir: Path
) -> None:
    """She was choosing the festival of her own greeting when the invitation came; she said
    Yes and typed the campaign's names, then went back to her own greeting: the name she types
    next is her greeting's recipient, not the campaign's personal message, and the campaign's
    question waits: /start asks it again once her own greeting is placed."""
    zh_hant = gettext_for("zh-Hant")
    owner, subject = _owner(0), _subject(0)
    clock = FakeClock()
    async with polling(_app(stand_in, campaign_settings_dir, clock)) as application:
        world = BotWorld(stand_in, sandbox, application, campaign_settings_dir, clock)
        await living_family(world, owner, subject)
        await world.reply_to(owner, lambda: sandbox.send_photo(owner, sample_portrait_jpeg()),
                             until=says(owner, ASKS_FOR_VOICE))  # fmt: skip
        festivals = await world.reply_to(
            owner,
            lambda: sandbox.send_voice(owner, sample_voice_ogg(VOICE), 5),
            until=lambda m: m.reply_markup is not None,
        )
        campaign_id, _ready = await _create_campaign(world, clock.now().date() + timedelta(days=2))
        invitation = await sandbox.wait_for_message(owner.id, _has_button(YES_PREFIX))
        zones = await world.reply_to(owner, lambda: sandbox.press_button(
            owner, invitation.message_id, YES_PREFIX + campaign_id))  # fmt: skip
        await world.reply_to(owner, lambda: sandbox.press_button(
            owner, zones.message_id, ZONE_PREFIX + "Asia/Taipei"))  # fmt: skip
        asked = await world.reply_to(owner, lambda: sandbox.send_text(owner, "外公和外婆"),
                                     until=lambda m: NO_MESSAGE in _buttons(m))  # fmt: skip
        # Back to her own greeting: its question was asked last, so it gets her answer.
        await world.reply_to(owner, lambda: press_festival(world, owner, festivals, TEMPLATE))
        card = await world.reply_to(owner, lambda: sandbox.send_text(owner, "阿姨"),
                                    until=lambda m: m.reply_markup is not None)  # fmt: skip
        said = zh_hant(
            "The greeting will say:\n\n{words}\n\nTo put your own words in their mouth, type "
            "them now (at most {limit} characters); a moderator reads them first."
        )
        assert (card.text or "").split("\n\n")[0] == said.split("\n\n")[0]
        draft = draft_for(world.services.db, owner.id)
        assert draft is not None and draft.recipient == "阿姨"
        festival = template_title(TEMPLATE, "zh-Hant")
        # Her own greeting placed, /start names the campaign and asks its question again.
        await confirm(world, owner, card)
        reminded = await world.reply_to(
            owner,
            lambda: sandbox.send_text(owner, "/start"),
            until=says(owner, ASKED_AGAIN, festival=festival),
        )
        asked_again = await sandbox.wait_for_message(owner.id, lambda m: (
            m.message_id == reminded.message_id + 1 and NO_MESSAGE in _buttons(m)))  # fmt: skip
        assert asked_again.text == asked.text
        placed = await world.reply_to(owner, lambda: sandbox.press_button(
            owner, asked_again.message_id, NO_MESSAGE))  # fmt: skip
        [order] = _campaign_orders(world, campaign_id)
        assert placed.text == zh_hant(
            "Thank you. The greeting for {recipient} will be made ahead; you will see it before "
            "the festival."
        ).format(recipient="外公和外婆")
        assert (order.recipient, order.message) == ("外公和外婆", None)
        await world.services.orders.settle()


def _due_in(day: date, zone: str) -> datetime:
    """Half a minute after the campaign's send time on the festival day in ``zone``."""
    local = datetime.combine(day, time(9), ZoneInfo(zone))
    return local.astimezone(UTC) + timedelta(seconds=30)


def _campaign_orders(world: BotWorld, campaign_id: str) -> list[Order]:
    return orders_where(world.services.db, "campaign_id = ?", [campaign_id])


def _family(order: Order) -> int:
    return order.user_id - 7100


def _delivered(world: BotWorld, campaign_id: str, zone: str, any_of: bool = False) -> bool:
    """Every greeting of that zone's families was delivered (or, ``any_of``, one was)."""
    mine = [o for o in _campaign_orders(world, campaign_id) if _zone(_family(o)) == zone]
    done = [o.status == OrderStatus.DELIVERED for o in mine if _family(o) not in (5, 7)]
    return any(done) if any_of else bool(done) and all(done)


async def _before_the_day(world: BotWorld, day: date) -> str:
    sandbox = world.sandbox
    for i in range(FAMILIES):
        await _family_with_a_photo(world, i)
    campaign_id, _text = await _create_campaign(world, day)
    # Invitations: every family with a current consent, in its own language, at once (the
    # festival is within the default 7 days).
    for i in range(FAMILIES):
        await _answer(world, i, campaign_id)
    for i, words in ((0, "林氏宗親會祝您中秋快樂！"), (1, "林氏宗亲会祝您中秋快乐！"),
                     (2, "Happy Mid-Autumn from the Lin Association!")):  # fmt: skip
        assert any((m.text or "").startswith(words) for m in await sandbox.sent_messages(
            _owner(i).id))  # fmt: skip

    def orders() -> list[Order]:
        return _campaign_orders(world, campaign_id)

    moderated = await _approve_until(
        world,
        lambda: (
            len(orders()) == FAMILIES - 2
            and all(o.status == OrderStatus.SCHEDULED for o in orders())
        ),
    )
    # Two personal messages read, and 25 % of 18 renders watched: numbers 4, 8, 12 and 16.
    assert moderated == 2 + 4
    # Each card says which campaign its greeting belongs to, above the request.
    texts = [m.text or m.caption or "" for m in await sandbox.sent_messages(ADMIN.id)]
    cards = [text for text in texts if "Greeting request to review" in text]
    assert len(cards) == moderated
    assert all(f"Campaign {campaign_id}\nGreeting request to review" in text for text in cards)
    assert sum(o.sampled for o in orders()) == 4

    # Every requester has the preview, with the delivery's local time, and nothing else yet.
    for i in range(2, FAMILIES):
        videos = [m for m in await sandbox.sent_messages(_owner(i).id) if m.method == "sendVideo"]
        [preview] = videos
        caption = preview.caption or ""
        assert all(part in caption for part in (day.isoformat(), "09:00", _zone(i))), caption

    # Between render and delivery: family 5 revokes consent, family 7's member blocks the bot.
    revoked = next(o for o in orders() if _family(o) == 5)
    assert revoked.video_id is not None
    await revoke(world, _subject(5), _subject(5).first_name)
    with pytest.raises(VaultError):
        world.services.vault.read_bytes(revoked.video_id)
    assert get_order(world.services.db, revoked.id).status == OrderStatus.REVOKED
    await sandbox.block_bot(_owner(7))
    return campaign_id


async def _check_the_outcome(world: BotWorld, campaign_id: str, day: date) -> None:
    sandbox = world.sandbox
    by_family = {_family(o): o for o in _campaign_orders(world, campaign_id)}
    for i in range(2, FAMILIES):
        order = by_family[i]
        sent = await sandbox.sent_messages(_owner(i).id)
        finals = _finals(sent)
        if i == 5:
            assert order.status == OrderStatus.REVOKED and finals == []
            assert all(m.deleted for m in sent if m.method == "sendVideo")
            continue
        if i == 7:
            assert order.status == OrderStatus.UNDELIVERABLE and finals == []
            assert "blocked" in (order.error or "")
            continue
        # Exactly one final video each (none twice across the restart), the preview's file.
        [final] = finals
        [preview] = [m for m in sent if m.method == "sendVideo" and m is not final]
        assert final.file_id == preview.file_id
        assert order.status == OrderStatus.DELIVERED and order.delivered_at is not None
        local = datetime.fromisoformat(order.delivered_at).astimezone(ZoneInfo(_zone(i)))
        assert (local.date(), local.hour, local.minute) == (day, 9, 0), (i, local)

    report = await world.reply_to(
        ADMIN, lambda: sandbox.send_text(ADMIN, f"/campaign_report {campaign_id}")
    )
    lines = (report.text or "").splitlines()
    counts = {line.split(":")[0]: int(line.split(": ")[1].split()[0]) for line in lines[1:]
              if ": " in line and line.split(": ")[1][:1].isdigit()}  # fmt: skip
    assert counts == {
        "Invited": 20, "Accepted": 18, "Declined": 1, "Opted out": 1, "Rendered": 18,
        "Moderated": 6, "Waiting for the send time": 0, "Delivered": 16, "Blocked the bot": 1,
        "Failed": 0, "Consent revoked (excluded, video deleted)": 1, "Missed": 0,
    }, report.text  # fmt: skip


def test_the_moderation_sample_is_the_percentage_asked_spread_evenly() -> None:
    for percent in (0, 10, 25, 33, 100):
        drawn = [n for n in range(1, 201) if sampled(n, percent)]
        assert len(drawn) == 200 * percent // 100
    assert [n for n in range(1, 21) if sampled(n, 25)] == [4, 8, 12, 16, 20]


async def test_a_campaign_render_waits_while_a_member_order_is_waiting() -> None:
    slots = RenderSlots(1)
    started: list[str] = []

    async def render(name: str, low: bool) -> None:
        async with slots.held(low=low):
            started.append(name)
            await asyncio.sleep(0.01)

    first = asyncio.create_task(render("campaign-1", low=True))
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(render("campaign-2", low=True)),
               asyncio.create_task(render("member", low=False))]  # fmt: skip
    await asyncio.gather(first, *waiting)
    # The member's order arrived after campaign-2 but takes the slot before it.
    assert started == ["campaign-1", "member", "campaign-2"]


async def test_a_cancelled_waiter_gives_its_turn_to_the_next() -> None:
    slots = RenderSlots(1)
    order: list[str] = []
    release = asyncio.Event()

    async def hold() -> None:
        async with slots.held():
            await release.wait()

    async def render(name: str, low: bool) -> None:
        async with slots.held(low=low):
            order.append(name)

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    gone = asyncio.create_task(render("gone", low=False))
    kept = asyncio.create_task(render("kept", low=True))
    await asyncio.sleep(0)
    gone.cancel()
    release.set()
    await asyncio.gather(holder, kept, return_exceptions=True)
    assert order == ["kept"]
    assert slots.waiting(low=True) == slots.waiting(low=False) == 0


async def test_the_broadcaster_keeps_each_chat_and_the_whole_under_their_rates() -> None:
    """Moments are checked against lower bounds only: never earlier than allowed, however slow
    the machine (being late is the only thing load can do)."""
    broadcaster = Broadcaster(rate=40.0, per_chat_s=0.2)
    loop = asyncio.get_running_loop()
    sent: list[tuple[float, int]] = []

    async def note(chat: int) -> None:
        sent.append((loop.time(), chat))

    begun = loop.time()
    chats = [n % 10 for n in range(40)]
    for chat in chats:
        await broadcaster.send(chat, lambda c=chat: note(c))  # type: ignore[misc]
    await broadcaster.drain()
    assert sorted(c for _, c in sent) == sorted(chats)
    # The n-th send (from 0) is never before n intervals less the time it may catch up,
    # the k-th into a chat never before k of that chat's pauses.
    for n, (moment, _) in enumerate(sent):
        assert moment - begun >= n / 40 - CATCH_UP_S - 1e-3
    for chat in range(10):
        mine = [moment for moment, c in sent if c == chat]
        for k, moment in enumerate(mine):
            assert moment - begun >= k * 0.2 - 1e-3
    with pytest.raises(ValueError, match="positive"):
        Broadcaster(rate=0)


@pytest.mark.sandbox_limits(chat_burst=20)
async def test_a_link_campaign_invites_only_those_who_open_its_link(
    stand_in: BotApiStandIn, sandbox: SandboxClient, campaign_settings_dir: Path
) -> None:
    clock = FakeClock()
    day = clock.now().date() + timedelta(days=10)  # invitations open 7 days before
    async with polling(_app(stand_in, campaign_settings_dir, clock)) as application:
        world = BotWorld(stand_in, sandbox, application, campaign_settings_dir, clock)
        joiner, other, asked_before = _owner(0), _owner(1), _owner(2)
        for i in (0, 1, 2):
            await _family_with_a_photo(world, i)
        # Family 2's member chose a time zone for an earlier campaign.
        set_time_zone(world.services.db, asked_before.id, "Asia/Singapore")
        campaign_id, text = await _create_campaign(world, day, audience="link")
        first = (day - timedelta(days=7)).isoformat()
        assert f"Invitations go out on {first}, 7 days before." in text, text
        payload = text.rsplit("start=", 1)[1]
        refused = await world.reply_to(
            other, lambda: sandbox.send_text(other, "/start campaign-" + "0" * 16)
        )
        assert says(other, "This campaign link is not valid. Ask the organiser for a new one.")(
            refused
        )
        for user in (joiner, asked_before):
            await world.reply_to(user, lambda u=user: sandbox.send_text(u, f"/start {payload}"))  # type: ignore[misc]
        await asyncio.sleep(0.5)
        assert not any(_has_button(YES_PREFIX)(m) for m in await sandbox.sent_messages(joiner.id))
        clock.advance(timedelta(days=3, minutes=1))  # 7 days before, at UTC midnight or later
        invitation = await sandbox.wait_for_message(joiner.id, _has_button(YES_PREFIX))
        await world.reply_to(
            joiner,
            lambda: sandbox.press_button(joiner, invitation.message_id, NEVER_PREFIX + campaign_id),
        )
        await asyncio.sleep(0.5)
        assert not any(_has_button(YES_PREFIX)(m) for m in await sandbox.sent_messages(other.id))
        assert opted_out(world.services.db, joiner.id)
        # The time zone is asked once per person: after Yes, straight to the names.
        invitation = await sandbox.wait_for_message(asked_before.id, _has_button(YES_PREFIX))
        question = await world.reply_to(
            asked_before,
            lambda: sandbox.press_button(
                asked_before, invitation.message_id, YES_PREFIX + campaign_id
            ),
        )
        assert (question.text or "").startswith("Who is the greeting for?"), question.text
        report = world.services.campaigns.report(world.services.campaigns.campaign(campaign_id))  # type: ignore[arg-type]
        counts = report.counts()
        assert (counts["invited"], counts["opted_out"], counts["accepted"]) == (2, 1, 1)
        # /delete_me takes the member's answers (names, a personal message) with them.
        warning = await world.reply_to(
            asked_before, lambda: sandbox.send_text(asked_before, "/delete_me")
        )
        await world.reply_to(
            asked_before,
            lambda: sandbox.press_button(asked_before, warning.message_id, "delme:yes"),
        )
        db = world.services.db
        for table in ("campaign_invitations", "campaign_joiners"):
            rows = db.query(f"SELECT * FROM {table} WHERE user_id = ?", [asked_before.id])
            assert list(rows) == [], table


def test_the_sample_percentage_and_invitation_days_are_checked() -> None:
    base = {"TUANYUAN_BOT_TOKEN": "1:x"}
    settings = settings_from_env(base | {"TUANYUAN_CAMPAIGN_SAMPLE_PERCENT": "100",
                                         "TUANYUAN_CAMPAIGN_INVITE_DAYS": "3"})  # fmt: skip
    assert (settings.campaign_sample_percent, settings.campaign_invite_days) == (100, 3)
    assert settings_from_env(base).campaign_sample_percent == 10
    with pytest.raises(ConfigError, match="at most 100"):
        settings_from_env(base | {"TUANYUAN_CAMPAIGN_SAMPLE_PERCENT": "101"})
    with pytest.raises(ConfigError, match="TUANYUAN_CAMPAIGN_INVITE_DAYS"):
        settings_from_env(base | {"TUANYUAN_CAMPAIGN_INVITE_DAYS": "0"})


async def test_an_organiser_is_guided_in_her_own_language(bot_world: BotWorld) -> None:
    """An organiser whose Telegram is in Simplified Chinese was asked for the English invitation
    "in English" inside a Chinese sentence (each language by its own name), and /campaign_report
    without an id answered that no campaign had that id."""
    organiser = SandboxUser(ADMIN.id, "组织者", language_code="zh-hans")
    zh = gettext_for("zh-Hans")
    world, sandbox = bot_world, bot_world.sandbox
    none_yet = await world.reply_to(
        organiser, lambda: sandbox.send_text(organiser, "/campaign_report")
    )
    assert none_yet.text == "还没有任何活动。发送 /campaign 创建一个。"
    templates = await world.reply_to(organiser, lambda: sandbox.send_text(organiser, "/campaign"))
    await world.reply_to(organiser, lambda: sandbox.press_button(
        organiser, templates.message_id, "cmk:tpl:mid-autumn"))  # fmt: skip
    day = date(2027, 9, 15)
    await world.reply_to(organiser, lambda: sandbox.send_text(organiser, day.isoformat()))
    audience = await world.reply_to(organiser, lambda: sandbox.send_text(organiser, SEND_TIME))
    asked = [await world.reply_to(organiser, lambda: sandbox.press_button(
        organiser, audience.message_id, "cmk:aud:consented"))]  # fmt: skip
    for text in ("林氏宗親會祝您中秋快樂！", "林氏宗亲会祝您中秋快乐！"):
        send = functools.partial(sandbox.send_text, organiser, text)
        asked.append(await world.reply_to(organiser, send))
    question = "Type the invitation families will read in {language} (at most {limit} characters)."
    assert [m.text for m in asked] == [
        zh(question).format(language=name, limit=2000) for name in ("繁体中文", "简体中文", "英语")
    ]
    ready = await world.reply_to(
        organiser,
        lambda: sandbox.send_text(organiser, "Happy Mid-Autumn from the Lin Association!"),
    )
    campaign_id = (ready.text or "").split()[1]
    assert ready.text == (
        f"活动 {campaign_id} 已创建：中秋节，2027-09-15 每个家庭当地时间 09:00。"
        "邀请会在 2027-09-08 发出，即提前 7 天。"
        f"10% 的祝福会先交给你观看。发送 /campaign_report {campaign_id} 查看进度。"
    )
    for args in ("", " 0000"):
        listed = await world.reply_to(
            organiser,
            lambda a=args: sandbox.send_text(organiser, "/campaign_report" + a),  # type: ignore[misc]
        )
        ask = f"请发送 /campaign_report 加上活动编号，例如 /campaign_report {campaign_id}。"
        wrong = "没有这个编号的活动。" if args else ""
        assert listed.text == f"{wrong}{ask}\n\n{campaign_id} 中秋节 2027-09-15"
