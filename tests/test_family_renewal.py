"""Consent's year as a family lives it: the subject reminded and renewing before it ends, and
everyone told, once, when it has ended, over HTTP with the bot's own background pass."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import build_application, polling
from bot.clock import iso
from bot.demo.samples import sample_portrait_jpeg
from bot.family.consent import CHALLENGE_VALID_FOR, CONSENT_VALID_FOR, latest_grant
from bot.family.erasure import delete_member
from bot.family.export import export_member
from bot.family.renewal import RENEWAL_WINDOW, Notice, renewable, send_consent_notices
from bot.family.spaces import get_space, membership_of
from bot.i18n import gettext_for
from bot.sandbox import BotApiStandIn, SandboxClient, SandboxUser, SentMessage
from tests.auxil.bot import BotWorld, FakeClock, settings_for
from tests.auxil.family import (
    AUTHORISED,
    RECORD_IT,
    deceased_family,
    living_family,
    read_phrase,
    says,
)

EN = gettext_for("en")
ZH_HANT = gettext_for("zh-Hant")
MEMBER = SandboxUser(7701, "Mei", language_code="en")
GRANDPA = SandboxUser(7702, "Grandpa", language_code="en")
PASS_S = 0.05  # how often the bot looks at consents here (an hour in production)
ENDED_FOR_MEMBERS = (
    "{subject}'s consent ended on {date}: consent lasts one year. Ask {subject} to send me "
    "/consent from their own Telegram account to give it again."
)
ENDED_FOR_SUBJECT = (
    "Your consent ended on {date}: consent lasts one year. Send /consent to give it again."
)
ENDING = (
    "Your consent to greetings made with your face and voice ends on {date}. To let your "
    "family go on making them, send /consent and read the new phrase aloud: your consent then "
    "lasts a year from that day."
)


@pytest.fixture
async def yearly_world(
    stand_in: BotApiStandIn, sandbox: SandboxClient, tmp_path: Path
) -> AsyncIterator[BotWorld]:
    settings = replace(settings_for(stand_in, tmp_path / "bot-data"), consent_check_s=PASS_S)
    clock = FakeClock()
    async with polling(build_application(settings, clock)) as application:
        yield BotWorld(stand_in, sandbox, application, settings.data_dir, clock)


def _end_date(world: BotWorld, user: SandboxUser) -> str:
    """The day the consent over ``user``'s family space runs out, as the bot writes it."""
    member = membership_of(world.services.db, user.id)
    assert member is not None
    grant = latest_grant(world.services.db, member.space_id)
    assert grant is not None and grant.valid_until is not None
    return grant.valid_until[:10]


async def _passes(n: int = 10) -> None:
    """Long enough for ``n`` of the bot's passes over consents to have looked."""
    await asyncio.sleep(n * PASS_S)


async def _texts(world: BotWorld, user: SandboxUser, after: int = 0) -> list[str]:
    return [
        m.text or "" for m in await world.sandbox.sent_messages(user.id) if m.message_id > after
    ]


async def _consented_family(world: BotWorld) -> tuple[str, dict[int, int]]:
    """Mei's family with Grandpa's consent: the day it ends, and the newest message so far in
    each one's chat."""
    await living_family(world, MEMBER, GRANDPA, languages=("en",))
    newest = {}
    for user in (MEMBER, GRANDPA):
        newest[user.id] = max(m.message_id for m in await world.sandbox.sent_messages(user.id))
    return _end_date(world, GRANDPA), newest


async def test_a_living_subject_is_reminded_renews_and_greetings_never_stop(
    yearly_world: BotWorld,
) -> None:
    world, sandbox = yearly_world, yearly_world.sandbox
    ends, seen = await _consented_family(world)
    # A day before the renewal window opens: nothing to say, and renewing is not offered yet.
    world.clock.advance(CONSENT_VALID_FOR - RENEWAL_WINDOW - timedelta(days=1))
    await _passes()
    asked = await world.reply_to(GRANDPA, lambda: sandbox.send_text(GRANDPA, "/consent"))
    opens = iso(world.clock.now() + timedelta(days=1))[:10]
    assert asked.text == (
        EN("Consent for {subject} is recorded and valid until {date}.").format(
            subject="Grandpa", date=ends
        )
        + " "
        + EN("You can renew it from {date}.").format(date=opens)
    )
    # The window opens: the subject alone is reminded, once however many passes look.
    world.clock.advance(timedelta(days=2))
    reminder = await sandbox.wait_for_message(GRANDPA.id, says(GRANDPA, ENDING, date=ends))
    await _passes()
    assert await _texts(world, GRANDPA, asked.message_id) == [reminder.text]
    assert await _texts(world, MEMBER, seen[MEMBER.id]) == []
    # He renews: a new phrase read aloud, a year from today; the family learns the new date.
    wording = await world.reply_to(GRANDPA, lambda: sandbox.send_text(GRANDPA, "/consent"))
    assert (wording.text or "").startswith(
        EN(
            "Your consent is valid until {date}. Reading this new phrase renews it for a year "
            "from today."
        ).format(date=ends)
    )
    # Left unread until it expires, the phrase no longer claims what he sends (his voice notes
    # are for greetings again); /consent gives a new one.
    world.clock.advance(CHALLENGE_VALID_FOR + timedelta(seconds=1))
    chat = await world.reply_to(GRANDPA, lambda: sandbox.send_text(GRANDPA, "hello"))
    assert not (chat.text or "").startswith(EN(RECORD_IT))
    wording = await world.reply_to(GRANDPA, lambda: sandbox.send_text(GRANDPA, "/consent"))
    renewed_until = iso(world.clock.now() + CONSENT_VALID_FOR)[:10]
    thanks = await read_phrase(world, GRANDPA, wording)
    assert says(GRANDPA, "Thank you, {subject}. Your consent is recorded and valid until "
                "{date}.", subject="Grandpa", date=renewed_until)(thanks)  # fmt: skip
    told = await sandbox.wait_for_message(MEMBER.id, lambda m: m.message_id > seen[MEMBER.id])
    assert told.text == EN(
        "{subject} renewed their consent: greetings can be made until {date}."
    ).format(subject="Grandpa", date=renewed_until)
    # The old year's end passes unannounced, and a photo is taken as on any day.
    world.clock.advance(RENEWAL_WINDOW)
    await _passes()
    assert await _texts(world, MEMBER, told.message_id) == []
    portrait = sample_portrait_jpeg()
    photo = await world.reply_to(MEMBER, lambda: sandbox.send_photo(MEMBER, portrait), wait_s=30)
    assert photo.text == EN("Thank you, I have the photo.")


async def test_the_end_of_a_year_is_told_once_to_everyone_and_consent_is_given_again(
    yearly_world: BotWorld,
) -> None:
    world, sandbox = yearly_world, yearly_world.sandbox
    ends, seen = await _consented_family(world)
    world.clock.advance(CONSENT_VALID_FOR + timedelta(hours=1))
    to_member = await sandbox.wait_for_message(
        MEMBER.id, says(MEMBER, ENDED_FOR_MEMBERS, subject="Grandpa", date=ends)
    )
    to_grandpa = await sandbox.wait_for_message(
        GRANDPA.id, says(GRANDPA, ENDED_FOR_SUBJECT, date=ends)
    )
    await _passes()
    assert await _texts(world, MEMBER, seen[MEMBER.id]) == [to_member.text]
    assert await _texts(world, GRANDPA, seen[GRANDPA.id]) == [to_grandpa.text]
    # What the member meets next says the same, and where it once sent them to /invite (whose
    # only choice is a relative now) it sends them to Grandpa.
    portrait = sample_portrait_jpeg()
    refused = await world.reply_to(MEMBER, lambda: sandbox.send_photo(MEMBER, portrait))
    assert refused.text == to_member.text
    # Grandpa's own photo is refused in his words, not the family's ("Ask Grandpa to ...").
    his = await world.reply_to(GRANDPA, lambda: sandbox.send_photo(GRANDPA, portrait))
    assert his.text == to_grandpa.text
    card = await world.reply_to(MEMBER, lambda: sandbox.send_text(MEMBER, "/start"))
    assert card.text == EN("Family space for {subject}.").format(subject="Grandpa") + " " + (
        to_member.text or ""
    )
    not_theirs = await world.reply_to(MEMBER, lambda: sandbox.send_text(MEMBER, "/consent"))
    assert not_theirs.text == (
        EN("Only {subject} can give or withdraw their consent, from their own Telegram "
           "account.").format(subject="Grandpa")
        + " "
        + EN("{subject} does it in their own chat with me: /consent to give it, /revoke to "
             "withdraw it.").format(subject="Grandpa")
    )  # fmt: skip
    # Grandpa gives it again; the family can make greetings, and is told so.
    wording = await world.reply_to(GRANDPA, lambda: sandbox.send_text(GRANDPA, "/consent"))
    await read_phrase(world, GRANDPA, wording)
    await sandbox.wait_for_message(
        MEMBER.id,
        lambda m: (
            m.text
            == EN("{subject} has consented.").format(subject="Grandpa")
            + " "
            + EN("You can make a greeting now: send a clear photo of {subject}'s face.").format(
                subject="Grandpa"
            )
        ),
    )


async def test_a_deceased_subjects_relatives_renew_early_or_authorise_again_after_the_end(
    yearly_world: BotWorld,
) -> None:
    """One relative's authorisation suffices here (the default), so it renews in the last 30
    days like a living subject's statement; where co-signers are needed it cannot (a grant
    waiting for them would stop greetings), and relatives authorise again after the end."""
    world, sandbox, db = yearly_world, yearly_world.sandbox, yearly_world.services.db
    owner = SandboxUser(7703, "Lin", language_code="zh-hant")
    await deceased_family(world, owner, "阿嬤")
    ends = _end_date(world, owner)
    world.clock.advance(CONSENT_VALID_FOR - RENEWAL_WINDOW + timedelta(hours=1))
    await sandbox.wait_for_message(
        owner.id,
        says(
            owner,
            "The authorisation of greetings from {subject} ends on {date}. To let the family go "
            "on making them, send /consent and authorise them again: the authorisation then "
            "lasts a year from that day.",
            subject="阿嬤",
            date=ends,
        ),
    )
    member = membership_of(db, owner.id)
    assert member is not None
    space = get_space(db, member.space_id)
    needs_two = space.model_copy(update={"cosigners_required": 2})
    assert renewable(db, space, world.clock.now()) is not None
    assert renewable(db, needs_two, world.clock.now()) is None
    offer = await world.reply_to(owner, lambda: sandbox.send_text(owner, "/consent"))
    assert (offer.text or "").startswith(
        ZH_HANT(
            "The authorisation is valid until {date}. Authorising again renews it for a year "
            "from today."
        ).format(date=ends)
    )
    renewed_until = iso(world.clock.now() + CONSENT_VALID_FOR)[:10]
    await world.reply_to(
        owner,
        lambda: sandbox.press_button(owner, offer.message_id, "auth:grant"),
        until=says(owner, AUTHORISED, subject="阿嬤", date=renewed_until),
    )
    # The renewed year runs out: the relative is told, and authorises again.
    world.clock.advance(CONSENT_VALID_FOR + timedelta(hours=1))
    told = await sandbox.wait_for_message(
        owner.id,
        says(
            owner,
            "The authorisation of greetings from {subject} ended on {date}: it lasts one "
            "year. Send /consent to authorise them again.",
            subject="阿嬤",
            date=renewed_until,
        ),
    )
    offer = await world.reply_to(owner, lambda: sandbox.send_text(owner, "/consent"))
    assert offer.reply_markup is not None and told.message_id < offer.message_id
    await world.reply_to(
        owner,
        lambda: sandbox.press_button(owner, offer.message_id, "auth:grant"),
        until=says(owner, AUTHORISED, subject="阿嬤"),
    )


async def test_a_notice_is_sent_once_even_across_a_crash_and_an_old_end_is_not_news(
    bot_world: BotWorld,
) -> None:
    # The bot's own pass runs only at start-up here (hourly otherwise): each call is one pass.
    world, services, bot = bot_world, bot_world.services, bot_world.application.bot
    await living_family(world, MEMBER, GRANDPA, languages=("en",))
    member = membership_of(services.db, GRANDPA.id)
    assert member is not None
    grant = latest_grant(services.db, member.space_id)
    assert grant is not None
    world.clock.advance(CONSENT_VALID_FOR - RENEWAL_WINDOW + timedelta(hours=1))
    # A crash after Grandpa's reminder was written down and before it was sent: not sent again.
    services.db.table("consent_notices").insert(
        {"grant_id": grant.id, "kind": Notice.ENDING.value, "user_id": GRANDPA.id,
         "noticed_at": iso(world.clock.now())}
    )  # fmt: skip
    assert await send_consent_notices(services, bot) == 0
    # The year's end is told to both, once.
    world.clock.advance(RENEWAL_WINDOW)
    assert await send_consent_notices(services, bot) == 2
    assert await send_consent_notices(services, bot) == 0
    # Who was told is kept of them like the rest: in their /mydata, and gone with /delete_me.
    archive, _left_out = export_member(services, GRANDPA.id)
    with zipfile.ZipFile(io.BytesIO(archive)) as files:
        received = json.loads(files.read("data.json"))["consent_notices_received"]
    assert [(row["kind"], row["grant_id"]) for row in received] == [
        (Notice.ENDING.value, grant.id),
        (Notice.ENDED.value, grant.id),
    ]
    await delete_member(services, bot, MEMBER.id)
    assert services.db.table("consent_notices").count_where("user_id = ?", [MEMBER.id]) == 0
    # A bot down for the whole month after an end does not announce it when it comes back.
    other = SandboxUser(7711, "Ana", language_code="en")
    other_grandpa = SandboxUser(7712, "Grandpa Wu", language_code="en")
    await living_family(world, other, other_grandpa, languages=("en",))
    world.clock.advance(CONSENT_VALID_FOR + RENEWAL_WINDOW)
    assert await send_consent_notices(services, bot) == 0
    chat: list[SentMessage] = await world.sandbox.sent_messages(other.id)
    assert not any("consent ended" in (m.text or "") for m in chat)
