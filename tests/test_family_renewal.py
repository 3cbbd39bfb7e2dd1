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
from bot.family.consent import (
    CHALLENGE_VALID_FOR,
    CONSENT_VALID_FOR,
    MATERIAL_KEPT_AFTER_END,
    latest_grant,
    material_deleted_on,
)
from bot.family.erasure import delete_member
from bot.family.export import export_member
from bot.family.likeness import keep_profile, profile_key, voice_notes
from bot.family.renewal import RENEWAL_WINDOW, Notice, consent_year_pass
from bot.family.spaces import membership_of
from bot.i18n import gettext_for, sentences
from bot.orders import REMAKE_PREFIX
from bot.sandbox import BotApiStandIn, SandboxClient, SandboxUser, SentMessage
from bot.storage import MediaKind, OrderStatus
from bot.storage.media import LIKENESS_MATERIAL, media_where, record_media
from bot.storage.orders import get_order, orders_where
from tests.auxil.bot import ADMIN, BotWorld, FakeClock, settings_for, until
from tests.auxil.family import (
    ASKS_FOR_VOICE,
    AUTHORISED,
    TYPED,
    confirm,
    create_space,
    deceased_family,
    is_preview,
    leftovers,
    living_family,
    order_greeting,
    order_of,
    prepare_order,
    read_phrase,
    says,
    send_it,
    verified_relative,
)

EN = gettext_for("en")
ZH_HANT = gettext_for("zh-Hant")
MEMBER = SandboxUser(7701, "Mei", language_code="en")
GRANDPA = SandboxUser(7702, "Grandpa", language_code="en")
PASS_S = 0.05  # how often the bot looks at consents here (an hour in production)
RENDER_WAIT_S = 90.0
ENDED_FOR_MEMBERS = (
    "{subject}'s consent ended on {date}: consent lasts one year. Ask {subject} to send me "
    "/consent from their own Telegram account to give it again."
)
ENDED_FOR_SUBJECT = (
    "Your consent ended on {date}: consent lasts one year. Send /consent to give it again."
)
KEPT_UNTIL = (
    "Unless it is given again by {date}, the photos, videos and voice notes of {subject} kept "
    "for greetings are deleted that day."
)
DELETED_FOR_MEMBERS = (
    "The photos, videos and voice notes of {subject} kept for greetings were deleted on "
    "{date}; greetings already sent stay in your chats. Once it is given again, send new ones."
)
DELETED_FOR_SUBJECT = (
    "Your photos, videos and voice notes kept for greetings were deleted on {date}; greetings "
    "already sent stay with your family. Once you give it again, your family can send new ones."
)
ENDING_AUTHORISED = (
    "The authorisation of greetings from {subject} ends on {date}. To let the family go on "
    "making them, send /consent and authorise them again: the authorisation then lasts a year "
    "from that day."
)
NOT_CURRENT = (
    "Consent for greetings from {subject} is not current, so this greeting cannot be made "
    "again now. This take can still be sent: press Send it."
)
NOTHING_TO_MAKE_IT_FROM = (
    "The photos and videos this greeting was made from have been deleted, so it cannot be made "
    "again. Press Send it to send this take, or send a new photo to make a new greeting."
)
ENDING = (
    "Your consent to greetings made with your face and voice ends on {date}. To let your "
    "family go on making them, send /consent and read the new phrase aloud: your consent then "
    "lasts a year from that day."
)


@pytest.fixture(params=[1], ids=["one-signer"])
async def yearly_world(
    request: pytest.FixtureRequest, stand_in: BotApiStandIn, sandbox: SandboxClient, tmp_path: Path
) -> AsyncIterator[BotWorld]:
    """The bot looking at consents every ``PASS_S``; a deceased subject's greetings need
    ``request.param`` relatives' signatures."""
    settings = replace(settings_for(stand_in, tmp_path / "bot-data"), consent_check_s=PASS_S,
                       deceased_cosigners=request.param)  # fmt: skip
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
    assert not (chat.text or "").startswith(EN(TYPED))
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


async def test_what_the_family_sent_is_deleted_when_consent_is_not_given_again(
    yearly_world: BotWorld,
) -> None:
    """Consent allows use for a year. Kept for ``MATERIAL_KEPT_AFTER_END`` past an end nobody
    renewed, the photos, clips and voice notes go (the voice learnt from them too, and the
    /mydata archive holding copies) and a greeting still waiting for them ends; the recorded
    consent and the greetings made stay."""
    world, sandbox, services = yearly_world, yearly_world.sandbox, yearly_world.services
    db = services.db
    ends, _seen = await _consented_family(world)
    member = membership_of(db, MEMBER.id)
    assert member is not None
    space_id = member.space_id
    # A greeting waiting for the moderator to read its own words, the photo of the next one,
    # and one made earlier.
    card = await prepare_order(world, MEMBER, "Grandma")
    card = await world.reply_to(
        MEMBER,
        lambda: sandbox.send_text(MEMBER, "We miss you, Grandma."),
        until=lambda m: m.reply_markup is not None,
    )
    await confirm(world, MEMBER, card)
    waiting = orders_where(db, "space_id = ? AND status = ?",
                           [space_id, OrderStatus.MODERATION.value])  # fmt: skip
    assert len(waiting) == 1
    await world.reply_to(
        MEMBER,
        lambda: sandbox.send_photo(MEMBER, sample_portrait_jpeg()),
        until=lambda m: m.reply_markup is not None,
    )
    made = services.vault.put_bytes(b"a greeting made under consent")
    record_media(db, world.clock, made, MediaKind.VIDEO, "video/mp4", 29, MEMBER.id, space_id)
    key = profile_key(voice_notes(db, space_id))
    keep_profile(db, services.vault, world.clock, space_id, key, b"his voice", MEMBER.id)
    kinds = {kind.value for kind in LIKENESS_MATERIAL}
    material = [row for row in media_where(db, "space_id = ?", [space_id]) if row["kind"] in kinds]
    assert {row["kind"] for row in material} == {"portrait", "voice", "profile"}
    ids = {str(row["id"]) for row in material}
    blobs = [services.vault.read_bytes(media_id) for media_id in ids]
    grant = latest_grant(db, space_id)
    assert grant is not None
    deleted_on = material_deleted_on(grant).date().isoformat()
    # The end is told with the day the material goes unless consent is given again.
    world.clock.advance(CONSENT_VALID_FOR + timedelta(hours=1))
    ended = await sandbox.wait_for_message(
        MEMBER.id, says(MEMBER, ENDED_FOR_MEMBERS, subject="Grandpa", date=ends)
    )
    kept_until = EN(KEPT_UNTIL).format(subject="Grandpa", date=deleted_on)
    assert (ended.text or "").endswith(kept_until)
    # Meanwhile the member keeps an archive of what they sent: it holds copies of it all.
    export = await world.reply_to(MEMBER, lambda: sandbox.send_text(MEMBER, "/mydata"),
                                  until=lambda m: m.method == "sendDocument")  # fmt: skip
    # The day comes: everything sent to make greetings from goes, and everyone is told once.
    world.clock.advance(MATERIAL_KEPT_AFTER_END)
    told = await sandbox.wait_for_message(
        MEMBER.id, says(MEMBER, DELETED_FOR_MEMBERS, subject="Grandpa", date=deleted_on)
    )
    await sandbox.wait_for_message(GRANDPA.id, says(GRANDPA, DELETED_FOR_SUBJECT, date=deleted_on))
    await _passes()
    assert await _texts(world, MEMBER, told.message_id) == []
    assert leftovers(world, ids, blobs) == []
    assert await world.is_deleted(export)
    kept = {row["kind"] for row in media_where(db, "space_id = ?", [space_id])}
    assert kept == {MediaKind.STATEMENT.value, MediaKind.VIDEO.value}
    assert services.vault.read_bytes(made) == b"a greeting made under consent"
    # The greeting that waited for the moderator ended, and its member reads why.
    assert get_order(db, waiting[0].id).status == OrderStatus.CANCELLED
    cancelled = EN(
        "Cancelled because consent is no longer current: the greeting for {recipient} was not "
        "made or sent."
    ).format(recipient="Grandma")

    async def shown() -> bool:
        chat = await sandbox.sent_messages(MEMBER.id)
        return any((m.text or "").endswith("\n" + cancelled) for m in chat)

    await until(shown)
    # Consent given again, the family starts afresh: the photo is taken and a voice asked for.
    wording = await world.reply_to(GRANDPA, lambda: sandbox.send_text(GRANDPA, "/consent"))
    await read_phrase(world, GRANDPA, wording)
    await world.reply_to(
        MEMBER,
        lambda: sandbox.send_photo(MEMBER, sample_portrait_jpeg()),
        until=says(MEMBER, ASKS_FOR_VOICE),
    )


async def test_a_deceased_subjects_relatives_renew_early_or_authorise_again_after_the_end(
    yearly_world: BotWorld,
) -> None:
    """One relative's authorisation suffices here (the default), so it renews in the last 30
    days like a living subject's statement, and once the year has ended relatives authorise
    again."""
    world, sandbox = yearly_world, yearly_world.sandbox
    owner = SandboxUser(7703, "Lin", language_code="zh-hant")
    await deceased_family(world, owner, "阿嬤")
    ends = _end_date(world, owner)
    world.clock.advance(CONSENT_VALID_FOR - RENEWAL_WINDOW + timedelta(hours=1))
    reminder = await sandbox.wait_for_message(
        owner.id, says(owner, ENDING_AUTHORISED, subject="阿嬤", date=ends)
    )
    assert reminder.text == ZH_HANT(ENDING_AUTHORISED).format(subject="阿嬤", date=ends)
    offer = await world.reply_to(owner, lambda: sandbox.send_text(owner, "/consent"))
    assert (offer.text or "").startswith(
        ZH_HANT(
            "The authorisation is valid until {date}. Authorising again renews it for a year "
            "from today."
        ).format(date=ends)
    )
    renewed_until = iso(world.clock.now() + CONSENT_VALID_FOR)[:10]
    # Greetings went on all along: the family learns the new date, not that it may start.
    renewed = await world.reply_to(
        owner,
        lambda: sandbox.press_button(owner, offer.message_id, "auth:grant"),
        until=lambda m: "阿嬤" in (m.text or ""),
    )
    assert renewed.text == ZH_HANT(
        "The authorisation of greetings from {subject} was renewed: greetings can be made "
        "until {date}."
    ).format(subject="阿嬤", date=renewed_until)
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


@pytest.mark.parametrize("yearly_world", [2], ids=["two-signers"], indirect=True)
async def test_where_two_must_sign_relatives_renew_early_and_greetings_go_on_meanwhile(
    yearly_world: BotWorld,
) -> None:
    """Two relatives must sign for 阿嬤. Both are reminded; one renews early and greetings go
    on under the old authorisation until the other co-signs, then under the new one past the
    old end. A year on, a renewal the other vetoes stops greetings at once, as a veto does."""
    world, sandbox = yearly_world, yearly_world.sandbox
    owner = SandboxUser(7703, "Lin", language_code="zh-hant")
    grandson = SandboxUser(7704, "Kevin", language_code="en")
    await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "/start"))
    await create_space(world, owner, "阿嬤", "deceased")
    for relative, relation in ((owner, "孫女"), (grandson, "grandson")):
        await verified_relative(world, owner, relative, relation)

    async def authorise() -> SentMessage:
        """The owner authorises; returns the co-sign request the grandson receives."""
        seen = max(m.message_id for m in await sandbox.sent_messages(grandson.id))
        offer = await world.reply_to(owner, lambda: sandbox.send_text(owner, "/consent"))
        await world.reply_to(owner, lambda: sandbox.press_button(owner, offer.message_id,
                                                                 "auth:grant"))  # fmt: skip
        return await sandbox.wait_for_message(
            grandson.id, lambda m: m.message_id > seen and "cosign:" in json.dumps(m.reply_markup)
        )

    async def press(request: SentMessage, column: int) -> None:
        """The grandson co-signs (0) or vetoes (1) the request."""
        data = request.reply_markup["inline_keyboard"][0][column]["callback_data"]  # type: ignore[index]
        await sandbox.press_button(grandson, request.message_id, data)

    async def photo_taken() -> bool:
        answer = await world.reply_to(
            owner, lambda: sandbox.send_photo(owner, sample_portrait_jpeg())
        )
        return answer.text in (
            ZH_HANT("Thank you, I have the photo."),
            ZH_HANT("Thank you: the greeting will show this photo instead of the one you sent "
                    "before."),
        )  # fmt: skip

    request = await authorise()
    await world.reply_to(
        owner, lambda: press(request, 0), until=says(owner, AUTHORISED, subject="阿嬤")
    )
    ends = _end_date(world, owner)
    world.clock.advance(CONSENT_VALID_FOR - RENEWAL_WINDOW + timedelta(hours=1))
    for relative, _ in ((owner, ZH_HANT), (grandson, EN)):
        reminder = await sandbox.wait_for_message(
            relative.id, says(relative, ENDING_AUTHORISED, subject="阿嬤", date=ends)
        )
        assert reminder.text == sentences(
            _(ENDING_AUTHORISED).format(subject="阿嬤", date=ends),
            _("{count} verified relatives must sign it: whoever sends /consent first "
              "authorises, and the others then co-sign.").format(count=2),
        )  # fmt: skip
    # The owner renews; until the grandson co-signs, the authorisation in force stands.
    renewed_until = iso(world.clock.now() + CONSENT_VALID_FOR)[:10]
    request = await authorise()
    # The grandson reads that it is a renewal, and what his veto would do.
    assert (request.text or "").endswith("\n\n" + EN(
        "It renews the authorisation that allows greetings until {date}. A veto stops "
        "greetings at once."
    ).format(date=ends))  # fmt: skip
    waiting = (await sandbox.sent_messages(owner.id))[-1]
    assert waiting.text == sentences(
        ZH_HANT("Your authorisation is recorded. {count} more verified relative(s) must "
                "co-sign.").format(count=1),
        ZH_HANT("Until then the current authorisation stands: greetings can be made until "
                "{date}.").format(date=ends),
    )  # fmt: skip
    assert await photo_taken()
    renewed = await world.reply_to(owner, lambda: press(request, 0),
                                   until=lambda m: "阿嬤" in (m.text or ""))  # fmt: skip
    assert renewed.text == ZH_HANT(
        "The authorisation of greetings from {subject} was renewed: greetings can be made "
        "until {date}."
    ).format(subject="阿嬤", date=renewed_until)
    world.clock.advance(RENEWAL_WINDOW)
    await _passes()
    assert await photo_taken()
    assert not any("ended on" in text for text in await _texts(world, owner, renewed.message_id))
    # The next year's renewal, vetoed: greetings stop now, not at the end of the year.
    world.clock.advance(CONSENT_VALID_FOR - 2 * RENEWAL_WINDOW + timedelta(days=1))
    await sandbox.wait_for_message(owner.id, says(owner, ENDING_AUTHORISED, subject="阿嬤",
                                                  date=renewed_until))  # fmt: skip
    request = await authorise()
    assert await photo_taken()
    told = await world.reply_to(owner, lambda: press(request, 1))
    assert told.text == ZH_HANT(
        "A verified relative vetoed the authorisation for {subject}. No greetings will be made."
    ).format(subject="阿嬤")
    assert not await photo_taken()


@pytest.mark.parametrize("yearly_world", [2], ids=["two-signers"], indirect=True)
async def test_a_vetoed_authorisation_still_ends_and_what_it_allowed_is_deleted_in_time(
    yearly_world: BotWorld,
) -> None:
    """Two signed, a third relative vetoed: greetings stop at once, and the photos sent under
    the authorisation are kept no longer than they would have been without the veto (they were
    kept for as long as the space lived)."""
    world, sandbox, db = yearly_world, yearly_world.sandbox, yearly_world.services.db
    owner = SandboxUser(7705, "Lin", language_code="en")
    grandson = SandboxUser(7706, "Kevin", language_code="en")
    niece = SandboxUser(7707, "Amy", language_code="en")
    await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "/start"))
    await create_space(world, owner, "Grandma", "deceased")
    for relative, relation in ((owner, "granddaughter"), (grandson, "grandson"), (niece, "niece")):
        await verified_relative(world, owner, relative, relation)
    offer = await world.reply_to(owner, lambda: sandbox.send_text(owner, "/consent"))
    await sandbox.press_button(owner, offer.message_id, "auth:grant")
    requests = {}
    for relative in (grandson, niece):
        requests[relative.id] = await sandbox.wait_for_message(
            relative.id, lambda m: "cosign:" in json.dumps(m.reply_markup)
        )
    buttons = requests[grandson.id].reply_markup["inline_keyboard"][0]  # type: ignore[index]
    cosign, veto = (button["callback_data"] for button in buttons)
    await world.reply_to(
        owner,
        lambda: sandbox.press_button(grandson, requests[grandson.id].message_id, cosign),
        until=says(owner, AUTHORISED, subject="Grandma"),
    )
    await world.reply_to(owner, lambda: sandbox.send_photo(owner, sample_portrait_jpeg()))
    member = membership_of(db, owner.id)
    assert member is not None
    grant = latest_grant(db, member.space_id)
    assert grant is not None
    await world.reply_to(owner, lambda: sandbox.press_button(
        niece, requests[niece.id].message_id, veto))  # fmt: skip
    refused = await world.reply_to(owner, lambda: sandbox.send_photo(owner, sample_portrait_jpeg()))
    assert refused.text != EN("Thank you, I have the photo.")
    world.clock.advance(CONSENT_VALID_FOR + MATERIAL_KEPT_AFTER_END + timedelta(hours=1))
    deleted_on = material_deleted_on(grant).date().isoformat()
    await sandbox.wait_for_message(
        owner.id, says(owner, DELETED_FOR_MEMBERS, subject="Grandma", date=deleted_on)
    )
    portraits = media_where(db, "space_id = ? AND kind = ?",
                            [member.space_id, MediaKind.PORTRAIT.value])  # fmt: skip
    assert portraits == []


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
    assert await consent_year_pass(services, bot) == 0
    # The year's end is told to both, once.
    world.clock.advance(RENEWAL_WINDOW)
    assert await consent_year_pass(services, bot) == 2
    assert await consent_year_pass(services, bot) == 0
    # Who was told is kept of them like the rest: in their /mydata, and gone with /delete_me.
    archive, _left_out = export_member(services, GRANDPA.id)
    with zipfile.ZipFile(io.BytesIO(archive)) as files:
        received = json.loads(files.read("data.json"))["consent_notices_received"]
    assert [(row["kind"], row["grant_id"]) for row in received] == [
        (Notice.ENDING.value, grant.id),
        (Notice.ENDED.value, grant.id),
    ]
    # Nothing was sent to make greetings from: its day passes with nothing to tell. A photo
    # kept past it is deleted by the next pass, which tells both, once.
    world.clock.advance(MATERIAL_KEPT_AFTER_END)
    assert await consent_year_pass(services, bot) == 0
    photo = services.vault.put_bytes(b"a photo of Grandpa")
    record_media(services.db, world.clock, photo, MediaKind.PORTRAIT, "image/jpeg", 18,
                 GRANDPA.id, member.space_id)  # fmt: skip
    assert await consent_year_pass(services, bot) == 2
    assert await consent_year_pass(services, bot) == 0
    assert media_where(services.db, "id = ?", [photo]) == []
    await delete_member(services, bot, MEMBER.id)
    assert services.db.table("consent_notices").count_where("user_id = ?", [MEMBER.id]) == 0
    # A bot down for the whole month after an end does not announce it when it comes back.
    other = SandboxUser(7711, "Ana", language_code="en")
    other_grandpa = SandboxUser(7712, "Grandpa Wu", language_code="en")
    await living_family(world, other, other_grandpa, languages=("en",))
    world.clock.advance(CONSENT_VALID_FOR + RENEWAL_WINDOW)
    assert await consent_year_pass(services, bot) == 0
    chat: list[SentMessage] = await world.sandbox.sent_messages(other.id)
    assert not any("consent ended" in (m.text or "") for m in chat)


async def test_a_take_made_under_consent_is_kept_and_not_made_again_without_it(
    yearly_world: BotWorld,
) -> None:
    """A preview waiting for "Send it" when consent ends stays the member's to send. Making it
    again is refused while consent is not current (the take is kept, not thrown away for a
    render that could not start), and, once the photos it was made from are deleted, also after
    consent is given again: there is nothing to make it from."""
    world, sandbox, services = yearly_world, yearly_world.sandbox, yearly_world.services
    await _consented_family(world)
    await order_greeting(world, MEMBER, "Grandma")
    preview = await sandbox.wait_for_message(MEMBER.id, is_preview, timeout=RENDER_WAIT_S)
    order_id = order_of(preview)
    made = get_order(services.db, order_id).video_id
    assert made is not None

    async def make_it_again() -> SentMessage:
        return await world.reply_to(
            MEMBER,
            lambda: sandbox.press_button(MEMBER, preview.message_id, REMAKE_PREFIX + order_id),
        )

    world.clock.advance(CONSENT_VALID_FOR + timedelta(hours=1))
    await sandbox.wait_for_message(MEMBER.id, says(MEMBER, ENDED_FOR_MEMBERS, subject="Grandpa",
                                                   date=_end_date(world, GRANDPA)))  # fmt: skip
    refused = await make_it_again()
    assert refused.text == EN(NOT_CURRENT).format(subject="Grandpa")
    order = get_order(services.db, order_id)
    assert (order.status, order.take, order.video_id) == (OrderStatus.PREVIEW, 0, made)
    assert services.vault.exists(made)

    world.clock.advance(MATERIAL_KEPT_AFTER_END)
    await sandbox.wait_for_message(MEMBER.id, lambda m: "were deleted on" in (m.text or ""))
    wording = await world.reply_to(GRANDPA, lambda: sandbox.send_text(GRANDPA, "/consent"))
    await read_phrase(world, GRANDPA, wording)
    refused = await make_it_again()
    assert refused.text == EN(NOTHING_TO_MAKE_IT_FROM)
    # The button that cannot work any more is gone; the take can still be sent.
    (shown,) = [m for m in await sandbox.sent_messages(MEMBER.id)
                if m.message_id == preview.message_id]  # fmt: skip
    assert REMAKE_PREFIX not in json.dumps(shown.reply_markup)
    assert get_order(services.db, order_id).status == OrderStatus.PREVIEW
    sent = await send_it(world, MEMBER)
    assert sent.file_id == preview.file_id
