"""The order lifecycle as families and moderators meet it, over HTTP through the stand-in.

A member's own words go to the admin chat as a card; the moderator approves, rejects with a
reason the member reads in their own language, or asks for a change. The member always gets a
preview first (Send it / Make it again / Cancel), one status message edited as the order moves,
and, when greetings cost Stars, the invoice before anything is made and a refund, once, when
nothing is delivered.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from functools import partial
from pathlib import Path

import av
import numpy as np
import pytest
from telegram import Message
from telegram.error import TimedOut

from bot.app import build_application, polling
from bot.delivery import ORIGINAL_PREFIX
from bot.family.consent import Method, RecordKind, append_record
from bot.family.erasure import finish_departures
from bot.family.spaces import SpaceStatus, update_space
from bot.flows.order import place_button
from bot.flows.privacy import DELETE_CONFIRM
from bot.i18n import gettext_for
from bot.orders import (
    APPROVE_PREFIX,
    CANCEL_PREFIX,
    MAX_RENDER_ATTEMPTS,
    REJECT_PREFIX,
    REMAKE_PREFIX,
    RESEND_PREFIX,
    SEND_PREFIX,
    status_line,
)
from bot.orders._ledger import Ledger, Outcome
from bot.orders._progress import MIN_EDIT_INTERVAL_S
from bot.orders._states import move
from bot.sandbox import BotApiStandIn, SandboxClient, SandboxUser, SentMessage
from bot.storage import OrderStatus
from bot.storage.orders import Field, draft_for, get_order, new_order, orders_where
from engine._templates import load_template
from tests.auxil.bot import ADMIN, BotWorld, FakeClock, settings_for, until
from tests.auxil.family import (
    approve_order,
    confirm,
    is_card,
    is_preview,
    living_family,
    order_of,
    prepare_order,
    revoke,
    says,
    seeded_greeting,
    watching_plaintext,
)
from tests.auxil.video import frame_at

ZH_HANT = gettext_for("zh-Hant")
ZH_HANS = gettext_for("zh-Hans")
EN = gettext_for("en")
RENDER_WAIT_S = 90.0
GRANDPA = SandboxUser(6002, "外公", language_code="zh-hant")
PRICE = 5
S = OrderStatus


def _buttons(message: SentMessage) -> list[str]:
    return [
        button["callback_data"]
        for row in (message.reply_markup or {}).get("inline_keyboard", [])
        for button in row
    ]


async def _status(world: BotWorld, member: SandboxUser, message_id: int) -> SentMessage:
    return next(
        m for m in await world.sandbox.sent_messages(member.id) if m.message_id == message_id
    )


async def _press_and_wait(
    world: BotWorld, user: SandboxUser, message: SentMessage, data: str, until: object
) -> SentMessage:
    return await world.reply_to(
        user,
        lambda: world.sandbox.press_button(user, message.message_id, data),
        until=until,  # type: ignore[arg-type]
        wait_s=RENDER_WAIT_S,
    )


def _audit(world: BotWorld, action: str) -> list[dict[str, object]]:
    return [entry for entry in world.services.audit.entries() if entry["action"] == action]


async def test_own_words_are_read_by_a_moderator_then_previewed_made_again_and_sent(
    bot_world: BotWorld,
) -> None:
    member = SandboxUser(6001, "美玲", language_code="zh-hant")
    # Her grandfather speaks Mandarin and reads his Telegram in English.
    grandpa = SandboxUser(6003, "外公", language_code="en")
    world, sandbox = bot_world, bot_world.sandbox
    await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "/start"))
    await living_family(world, member, grandpa, languages=("cmn",))
    card = await prepare_order(world, member, "外婆")
    # The card shows the exact words: the template's own until the member types theirs.
    assert "外婆，中秋快樂！" in (card.text or "")
    # Emoji alone are no words: the greeting could neither show nor say them.
    emoji = await world.reply_to(member, lambda: sandbox.send_text(member, "❤️🥮🌕"))
    assert emoji.text == ZH_HANT(
        "A greeting can neither show nor say emoji. Please type words for it to say."
    )
    own = "外婆，我好想妳❤️，天冷記得多穿一件外套。🧣"
    card = await world.reply_to(
        member, lambda: sandbox.send_text(member, own), until=lambda m: m.reply_markup is not None
    )
    # Her own "外婆，" is not said again after the festival's, nor her emoji at all.
    said = "外婆，中秋快樂！我好想妳，天冷記得多穿一件外套。"
    assert said in (card.text or "")
    # Typing again replaces her words, and the card says so; she may go back to the festival's.
    replace_them = ZH_HANT(
        "The greeting will say:\n\n{words}\n\nTo change your own words, type new ones now "
        "(at most {limit} characters); a moderator reads them first."
    )
    assert (card.text or "").split("\n\n")[2] == replace_them.split("\n\n")[2].format(limit=60)
    assert ZH_HANT("Use the festival's words") in json.dumps(card.reply_markup, ensure_ascii=False)
    asked = await world.reply_to(
        member, lambda: sandbox.press_button(member, card.message_id, "words:sign")
    )
    # Signed as the person whose greeting it is, most often: the example is their name.
    assert asked.text == ZH_HANT(
        "Who is it from? Type how the greeting should be signed, for example: {subject}."
    ).format(subject=grandpa.first_name)
    card = await world.reply_to(
        member,
        lambda: sandbox.send_text(member, "美玲"),
        until=lambda m: m.reply_markup is not None,
    )
    labels = json.dumps(card.reply_markup, ensure_ascii=False)
    assert ZH_HANT("Change the signature") in labels and ZH_HANT("Sign it") not in labels
    status = await confirm(world, member, card)
    assert status.text is not None
    assert ZH_HANT("Waiting for a moderator to read the words.") in status.text

    review = await sandbox.wait_for_message(ADMIN.id, is_card)
    assert review.text is not None and said in review.text
    assert EN("personal message") in review.text and "外公" in review.text
    assert "\nFestival: Mid-Autumn Festival\n" in review.text  # the moderator's language
    await approve_order(world)
    first = await sandbox.wait_for_message(member.id, is_preview, timeout=RENDER_WAIT_S)
    assert first.caption is not None and first.caption.startswith("給外婆的祝福【預覽】")
    order_id = order_of(first)

    # "Make it again": a second take of the same order, with other camera and timing choices.
    second = await _press_and_wait(
        world, member, first, REMAKE_PREFIX + order_id,
        lambda m: is_preview(m) and m.message_id > first.message_id,
    )  # fmt: skip
    assert second.file_id != first.file_id
    assert get_order(world.services.db, order_id).take == 1
    paths = []
    for number, preview in enumerate((first, second)):
        path = world.data_dir / f"take-{number}.mp4"
        path.write_bytes(await sandbox.download(preview.file_id or ""))
        paths.append(path)
    difference = np.abs(
        frame_at(paths[0], 4.0).astype(np.int16) - frame_at(paths[1], 4.0).astype(np.int16)
    ).max(axis=2)
    # The camera frames the portrait differently (the engine's tests pin down each choice).
    assert float(np.mean(difference > 15)) > 0.005, "a new take must look different"

    final = await _press_and_wait(
        world, member, second, SEND_PREFIX + order_id, lambda m: m.method == "sendVideo"
    )
    assert final.caption == ZH_HANT(
        "Your greeting for {recipient} is ready. This video was made with AI."
    ).format(recipient="外婆")
    assert _buttons(final) == [f"orig:{order_id}"]
    assert final.file_id == second.file_id  # the preview's upload, sent again
    with av.open(str(paths[1])) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "aac"
        assert container.duration is not None
        bounds = load_template("mid-autumn").duration
        assert bounds.min_s <= container.duration / 1e6 <= bounds.max_s
    await world.services.orders.settle()
    order = get_order(world.services.db, order_id)
    assert order.status == OrderStatus.DELIVERED and order.message == own
    videos = [m for m in await sandbox.sent_messages(member.id) if m.method == "sendVideo"]
    assert [m.message_id for m in videos] == [first.message_id, second.message_id, final.message_id]
    # The previews' buttons are gone once a take is replaced or sent.
    assert _buttons(await _status(world, member, first.message_id)) == []
    assert _buttons(await _status(world, member, second.message_id)) == []

    # One status message, edited in order, never faster than the pace Telegram allows.
    edits = (await _status(world, member, status.message_id)).edits
    texts = [edit.text or "" for edit in edits]
    # (A newer state replaces one still waiting for its turn: the member sees the latest.)
    steps = [
        ZH_HANT("Making the greeting: {percent}%").split("{")[0],
        ZH_HANT("Delivered. You can forward it to {recipient}.").format(recipient="外婆"),
    ]
    positions = [next((i for i, text in enumerate(texts) if step in text), -1) for step in steps]
    assert -1 not in positions, texts
    assert positions == sorted(positions) and positions[-1] == len(texts) - 1, texts
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(edits)]
    assert min(gaps) >= MIN_EDIT_INTERVAL_S - 0.1, gaps
    [approved] = _audit(world, "moderation.approved")
    assert approved["actor"] == ADMIN.id
    assert approved["details"] == {"order": order_id, "was": "moderation"}
    # He hears of it in his own language, the festival's name included.
    notice = await sandbox.wait_for_message(grandpa.id, says(
        grandpa, "A greeting with your face and voice was sent: {festival}, for {recipient}",
        festival="Mid-Autumn Festival", recipient="外婆"))  # fmt: skip
    assert notice.reply_markup is not None


async def _own_words_to_review(
    world: BotWorld, member: SandboxUser, subject: SandboxUser, recipient: str, words: str
) -> tuple[SentMessage, SentMessage]:
    """A living family whose member orders a greeting with her own words; returns its status
    message and the moderator's card."""
    await world.reply_to(ADMIN, lambda: world.sandbox.send_text(ADMIN, "/start"))
    await living_family(world, member, subject)
    card = await prepare_order(world, member, recipient)
    card = await world.reply_to(member, lambda: world.sandbox.send_text(member, words),
                                until=lambda m: m.reply_markup is not None)  # fmt: skip
    status = await confirm(world, member, card)
    return status, await world.sandbox.wait_for_message(ADMIN.id, is_card)


async def _press_on_card(world: BotWorld, card: SentMessage, data: str) -> SentMessage:
    """The moderator presses one of the card's buttons; returns the card as it is then edited."""
    before = next(m for m in await world.sandbox.sent_messages(ADMIN.id)
                  if m.message_id == card.message_id)  # fmt: skip
    await world.sandbox.press_button(ADMIN, card.message_id, data)
    return await world.sandbox.wait_for_message(
        ADMIN.id, lambda m: m.message_id == card.message_id and len(m.edits) > len(before.edits)
    )


async def _reject(
    world: BotWorld, member: SandboxUser, review: SentMessage, reason: str
) -> SentMessage:
    """The moderator rejects the card's order for ``reason``; returns what the member reads."""
    order_id = order_of(review)
    await world.sandbox.press_button(ADMIN, review.message_id, REJECT_PREFIX + order_id)
    reasons = await world.sandbox.wait_for_message(
        ADMIN.id,
        lambda m: m.message_id == review.message_id and "mod:why:" in json.dumps(m.reply_markup),
    )
    data = f"mod:why:{reason}:{order_id}"
    return await world.reply_to(
        member, lambda: world.sandbox.press_button(ADMIN, reasons.message_id, data)
    )


async def test_a_mistyped_name_is_changed_from_the_card_and_an_edit_is_answered(
    bot_world: BotWorld,
) -> None:
    """A typo in the recipient's name shows on the card in the greeting's first words; the
    card's button asks for the name again and keeps the member's own words. Correcting a
    message by editing it reaches no step, and the member is told so, with the card again. A
    double tap on "Make this greeting" places one order and is told it has moved on."""
    member = SandboxUser(6004, "Mei", language_code="en")
    grandpa = SandboxUser(6005, "Grandpa", language_code="en")
    world, sandbox = bot_world, bot_world.sandbox
    await living_family(world, member, grandpa)
    card = first = await prepare_order(world, member, "Grandam Lin")
    assert "Grandam Lin!" in (card.text or "")
    typed: list[Message] = []

    async def type_words() -> None:
        typed.append(await sandbox.send_text(member, "We mis you!"))

    card = await world.reply_to(member, type_words, until=lambda m: m.reply_markup is not None)
    assert "Grandam Lin! We mis you!" in (card.text or "")
    told = await world.reply_to(
        member, lambda: sandbox.edit_text(member, typed[0].message_id, "We miss you!")
    )
    assert told.text == EN(
        "I read each message as it was first sent: a change made to it afterwards does not "
        "reach me."
    )
    again = await sandbox.wait_for_message(member.id, lambda m: m.message_id > told.message_id)
    assert "Grandam Lin! We mis you!" in (again.text or "") and "words:recipient" in _buttons(again)
    asked = await world.reply_to(
        member, lambda: sandbox.press_button(member, again.message_id, "words:recipient")
    )
    assert asked.text == EN(
        "Who is the greeting for? Type their name, for example: {example}."
    ).format(example=EN("Grandma"))
    card = await world.reply_to(
        member,
        lambda: sandbox.send_text(member, "Grandma Lin"),
        until=lambda m: m.reply_markup is not None,
    )
    assert "Grandma Lin! We mis you!" in (card.text or "")
    # The first card, whose words are no longer the greeting's, places nothing: the member
    # reads the greeting as it is now, on a card of its own.
    stale = await world.reply_to(
        member,
        lambda: sandbox.press_button(member, first.message_id, place_button(first.reply_markup)),
        until=lambda m: m.reply_markup is not None,
    )
    said = [m.text for m in await sandbox.sent_messages(member.id)][-2:]
    assert said == [EN("The greeting has changed since that card. This is how it reads now:"),
                    card.text]  # fmt: skip
    assert draft_for(world.services.db, member.id) is not None
    card = stale
    # A double tap on "Make this greeting": one order, and the second tap is told it is placed.
    tap = partial(sandbox.press_button, member, card.message_id, place_button(card.reply_markup))
    await asyncio.gather(tap(), tap())
    status = await sandbox.wait_for_message(member.id, lambda m: m.message_id > card.message_id)
    assert EN("Waiting for a moderator to read the words.") in (status.text or "")
    placed = EN("This greeting has moved on: send /orders to see where it is.")

    async def answered() -> bool:
        return placed in [answer.text for answer in await sandbox.callback_answers()]

    await until(answered)
    expired = EN("That choice has expired. Send /start to begin again.")
    assert expired not in [m.text for m in await sandbox.sent_messages(member.id)]
    order = orders_where(world.services.db, "recipient = ?", ["Grandma Lin"])
    assert [(o.status, o.message) for o in order] == [(S.MODERATION, "We mis you!")]
    # An edit from someone with no greeting in the making asks nothing: it is not answered.
    quiet = SandboxUser(6006, "Tom", language_code="en")
    hello = await sandbox.send_text(quiet, "hello")
    answer = await sandbox.wait_for_message(quiet.id)
    await sandbox.edit_text(quiet, hello.message_id, "hello!")
    # Updates of one chat are handled in order: /help's answer comes after the edit was read.
    probe = await world.reply_to(quiet, lambda: sandbox.send_text(quiet, "/help"))
    replies = await sandbox.sent_messages(quiet.id)
    assert [m.message_id for m in replies] == [answer.message_id, probe.message_id]


async def test_a_rejection_is_explained_in_the_members_language_and_a_change_goes_round(
    bot_world: BotWorld,
) -> None:
    member = SandboxUser(6101, "小红", language_code="zh-hans")
    world, sandbox = bot_world, bot_world.sandbox
    grandma = SandboxUser(6102, "外婆", language_code="zh-hans")

    status, review = await _own_words_to_review(world, member, grandma, "妈妈", "你欠我的钱快还！")
    order_id = order_of(review)
    # Reject pressed by mistake: Back returns to the decisions. The finished video's reason is
    # not offered before there is a video.
    reasons = await _press_on_card(world, review, REJECT_PREFIX + order_id)
    assert _buttons(reasons) == [
        f"mod:why:{code}:{order_id}"
        for code in ("hurtful", "not_theirs", "private_data", "not_a_greeting")
    ] + [f"mod:back:{order_id}"]
    decisions = await _press_on_card(world, review, f"mod:back:{order_id}")
    assert decisions.reply_markup == review.reply_markup
    told = await _reject(world, member, review, "hurtful")
    assert told.text == ZH_HANS(
        "A moderator did not accept the greeting for {recipient}: {reason}. "
        "You can start a new one by sending a photo."
    ).format(recipient="妈妈", reason=ZH_HANS("the words could hurt or upset someone"))
    assert get_order(world.services.db, order_id).status == OrderStatus.REJECTED
    [rejected] = _audit(world, "moderation.rejected")
    assert rejected["actor"] == ADMIN.id
    assert rejected["details"] == {"order": order_id, "reason": "hurtful"}
    await world.services.orders.settle()
    assert ZH_HANS("Not made: a moderator declined it.") in (
        (await _status(world, member, status.message_id)).text or ""
    )

    # Ask for a change: the moderator's note reaches the member, whose new words come back.
    card = await prepare_order(world, member, "妈妈")
    address = "妈妈，我住在幸福路8号。"
    card = await world.reply_to(member, lambda: sandbox.send_text(member, address),
                                until=lambda m: m.reply_markup is not None)  # fmt: skip
    await confirm(world, member, card)
    review = await sandbox.wait_for_message(
        ADMIN.id, lambda m: is_card(m) and order_of(m) != order_id
    )
    second_id = order_of(review)
    await world.reply_to(
        ADMIN, lambda: sandbox.press_button(ADMIN, review.message_id, f"mod:ask:{second_id}")
    )
    note = "请不要写出家里的地址。"
    request = await world.reply_to(member, lambda: sandbox.send_text(ADMIN, note))
    assert request.text is not None and note in request.text
    assert get_order(world.services.db, second_id).status == OrderStatus.CHANGES_REQUESTED
    thanks = await world.reply_to(member, lambda: sandbox.send_text(member, "妈妈，中秋快乐！"))
    assert thanks.text == ZH_HANS("Thank you. A moderator will read the new words.")
    again = await sandbox.wait_for_message(
        ADMIN.id, lambda m: is_card(m) and m.message_id > review.message_id
    )
    assert "妈妈，中秋快乐！" in (again.text or "") and "幸福路" not in (again.text or "")

    # The member blocks the bot before the preview: the order ends undeliverable, tried once.
    await sandbox.block_bot(member)
    await approve_order(world)
    for _ in range(int(RENDER_WAIT_S / 0.5)):
        if get_order(world.services.db, second_id).status == OrderStatus.UNDELIVERABLE:
            break
        await asyncio.sleep(0.5)
    assert get_order(world.services.db, second_id).status == OrderStatus.UNDELIVERABLE
    await world.services.orders.settle()
    refused = [e for e in await sandbox.errors() if e.method == "sendVideo" and e.code == 403]
    assert len(refused) == 1


async def test_a_member_who_switches_language_after_placing_reads_of_the_order_in_the_new_one(
    bot_world: BotWorld,
) -> None:
    """The greeting keeps the words and voice it was placed with, but what the bot tells her
    about it (the moderator's answer, the status line, /orders) is in the language she reads
    now: after /language it all stayed in Simplified Chinese."""
    member = SandboxUser(6103, "小红", language_code="zh-hans")
    world, sandbox = bot_world, bot_world.sandbox
    grandma = SandboxUser(6104, "外婆", language_code="zh-hans")
    status, review = await _own_words_to_review(world, member, grandma, "妈妈", "妈妈，我想你了。")
    order_id = order_of(review)

    menu = await world.reply_to(member, lambda: sandbox.send_text(member, "/language"))
    start = await world.reply_to(
        member, lambda: sandbox.press_button(member, menu.message_id, "lang:en"),
        until=lambda m: "Your latest greeting" in (m.text or ""),
    )  # fmt: skip
    assert "Greeting for 妈妈 (Mid-Autumn Festival)\nWaiting for a moderator" in (start.text or "")
    told = await _reject(world, member, review, "not_a_greeting")
    assert told.text == (
        "A moderator did not accept the greeting for 妈妈: it is not a festival greeting. "
        "You can start a new one by sending a photo."
    )
    await world.services.orders.settle()
    assert (await _status(world, member, status.message_id)).text == (
        "Greeting for 妈妈 (Mid-Autumn Festival)\nNot made: a moderator declined it."
    )
    listed = await world.reply_to(member, lambda: sandbox.send_text(member, "/orders"))
    assert "Greeting for 妈妈 (Mid-Autumn Festival)\nNot made" in (listed.text or "")
    order = get_order(world.services.db, order_id)
    assert (order.language, order.message) == ("zh-Hans", "妈妈，我想你了。")


def _card_naming(recipient: str) -> Callable[[SentMessage], bool]:
    return lambda message: is_card(message) and recipient in (message.text or "")


async def test_a_word_list_sends_orders_to_review_and_the_daily_limit_is_kept(
    bot_world: BotWorld,
) -> None:
    member = SandboxUser(6201, "Ann", language_code="en")
    world, sandbox = bot_world, bot_world.sandbox
    await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "/rules words en naughty"))
    rules = await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "/rules limits 2 10"))
    assert "naughty" in (rules.text or "") and "per member per day: 2" in (rules.text or "")
    await living_family(world, member, SandboxUser(6202, "Grandpa", language_code="en"))

    for recipient in ("Naughty Tom", "NAUGHTY Ann"):
        # The template's own words, but a listed word in a name: a moderator reads it first.
        status = await confirm(world, member, await prepare_order(world, member, recipient))
        assert EN("Waiting for a moderator to read the words.") in (status.text or "")
        card = await sandbox.wait_for_message(ADMIN.id, _card_naming(recipient))
        assert f"({EN('word list')})" in (card.text or "")

    refusal = await confirm(world, member, await prepare_order(world, member, "Tom"))
    assert refusal.text == EN(
        "You have ordered {count} greetings in the last 24 hours, the most allowed. "
        "Please try again tomorrow."
    ).format(count=2)
    listing = await world.reply_to(member, lambda: sandbox.send_text(member, "/orders"))
    assert (listing.text or "").count(EN("Waiting for a moderator to read the words.")) == 2
    queue = await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "/queue"))
    assert queue.text == EN(
        "Greeting requests waiting for moderation: {count}, oldest first."
    ).format(count=2)
    placed = orders_where(world.services.db, "user_id = ? AND placed_at IS NOT NULL", [member.id])
    assert len(placed) == 2

    # Own words longer than the limit are refused with the count, and the card stays as it was.
    too_long = "x" * 201
    refusal = await world.reply_to(member, lambda: sandbox.send_text(member, too_long))
    assert refusal.text == EN(
        "Your words have {count} characters; a greeting can say at most {limit}. "
        "Please type a shorter message."
    ).format(count=201, limit=200)

    # With "review every finished video", a moderator watches it before the member does.
    videos = await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "/rules videos on"))
    assert EN("Review every finished video before the family sees it: {videos}").split("{")[0] + EN(
        "yes"
    ) in (videos.text or "")
    await approve_order(world)
    watched = await sandbox.wait_for_message(
        ADMIN.id, lambda m: m.method == "sendVideo", timeout=RENDER_WAIT_S
    )
    assert (watched.caption or "").startswith(
        EN("Finished video to review before the family sees it.")
    )
    assert [m for m in await sandbox.sent_messages(member.id) if m.method == "sendVideo"] == []
    # A finished video is approved or rejected (no new words are asked for once it is made),
    # and may be rejected for how it shows the person.
    watched_id = order_of(watched)
    assert _buttons(watched) == [f"mod:ok:{watched_id}", f"mod:no:{watched_id}",
                                 f"mod:flag:{watched_id}"]  # fmt: skip
    reasons = await _press_on_card(world, watched, REJECT_PREFIX + watched_id)
    assert f"mod:why:poor_video:{watched_id}" in _buttons(reasons)
    await _press_on_card(world, watched, f"mod:back:{watched_id}")
    await sandbox.press_button(ADMIN, watched.message_id, "mod:ok:" + watched_id)
    preview = await sandbox.wait_for_message(member.id, is_preview, timeout=RENDER_WAIT_S)
    # The member cancels at the preview: the video leaves the vault, nothing else is sent.
    order = get_order(world.services.db, order_of(preview))
    assert order.video_id is not None
    cancelled = await world.reply_to(
        member, lambda: sandbox.press_button(member, preview.message_id, "ord:cancel:" + order.id)
    )
    assert cancelled.text == EN("Cancelled.")
    assert get_order(world.services.db, order.id).status == OrderStatus.CANCELLED
    assert not world.services.vault.exists(order.video_id)


@pytest.fixture
async def priced_world(
    stand_in: BotApiStandIn, sandbox: SandboxClient, tmp_path: Path
) -> AsyncIterator[BotWorld]:
    """Greetings cost Stars; a crashed render is tried again almost at once."""
    data_dir = tmp_path / "bot-data"
    settings = replace(settings_for(stand_in, data_dir), price_stars=PRICE, render_retry_s=0.05)
    clock = FakeClock()
    async with polling(build_application(settings, clock)) as application:
        yield BotWorld(stand_in, sandbox, application, data_dir, clock)


async def _invoice(world: BotWorld, member: SandboxUser, words: str | None = None) -> SentMessage:
    """Order (with ``words`` of the member's own); returns the invoice."""
    card = await prepare_order(world, member, "Grandma")
    if words is not None:
        card = await world.reply_to(member, lambda: world.sandbox.send_text(member, words),
                                    until=lambda m: m.reply_markup is not None)  # fmt: skip
    invoice = await world.reply_to(
        member,
        lambda: world.sandbox.press_button(
            member, card.message_id, place_button(card.reply_markup)
        ),
        until=lambda m: m.method == "sendInvoice",
    )
    assert invoice.invoice is not None and invoice.invoice.total_amount == PRICE
    assert invoice.invoice.currency == "XTR"
    return invoice


async def _pay(world: BotWorld, member: SandboxUser, words: str | None = None) -> str:
    """Order (with ``words`` of the member's own), pay the invoice; returns the order id."""
    invoice = await _invoice(world, member, words)
    assert invoice.invoice is not None
    thanks = await world.reply_to(
        member, lambda: world.sandbox.pay_invoice(member, invoice.message_id)
    )
    assert thanks.text == EN("Thank you, the payment is received.")
    return invoice.invoice.payload


async def test_a_paid_order_is_delivered_a_rejected_one_refunded_once_a_made_one_kept(
    priced_world: BotWorld,
) -> None:
    member = SandboxUser(6301, "Ann", language_code="en")
    world, sandbox = priced_world, priced_world.sandbox
    await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "/start"))
    await living_family(world, member, SandboxUser(6302, "Grandpa", language_code="en"))

    kept_paid = EN(
        "If you cancel now, the {stars} Stars are not refunded: the greeting is already made."
    ).format(stars=PRICE)
    paid = await _pay(world, member)
    preview = await sandbox.wait_for_message(member.id, is_preview, timeout=RENDER_WAIT_S)
    assert preview.caption is not None and preview.caption.endswith("\n" + kept_paid)
    await _press_and_wait(
        world, member, preview, SEND_PREFIX + paid, lambda m: m.method == "sendVideo"
    )
    await world.services.orders.settle()
    assert get_order(world.services.db, paid).status == OrderStatus.DELIVERED

    rejected = await _pay(world, member, words="Grandma, happy Mid-Autumn, I miss you.")
    card = await sandbox.wait_for_message(ADMIN.id, is_card)
    await sandbox.press_button(ADMIN, card.message_id, REJECT_PREFIX + rejected)
    await sandbox.wait_for_message(
        ADMIN.id,
        lambda m: m.message_id == card.message_id and "mod:why:" in json.dumps(m.reply_markup),
    )
    await sandbox.press_button(ADMIN, card.message_id, f"mod:why:not_a_greeting:{rejected}")
    await sandbox.wait_for_message(
        member.id, says(member, "{stars} Stars for the greeting for {recipient} were refunded.",
                        stars=str(PRICE), recipient="Grandma")
    )  # fmt: skip
    await world.services.orders.settle()
    charges = {charge.invoice_payload: charge for charge in await sandbox.charges()}
    assert set(charges) == {paid, rejected}
    refunds = await sandbox.refunds()
    assert [r.telegram_payment_charge_id for r in refunds] == [
        charges[rejected].telegram_payment_charge_id
    ]
    order = get_order(world.services.db, rejected)
    assert order.refunded_at is not None and order.status == OrderStatus.REJECTED

    # Cancelled once made, as its preview said: the Stars stay paid, and the answer says so.
    made = await _pay(world, member)
    preview = await sandbox.wait_for_message(member.id, is_preview, timeout=RENDER_WAIT_S)
    answer = await _press_and_wait(world, member, preview, CANCEL_PREFIX + made,
                                   lambda m: m.method == "sendMessage")  # fmt: skip
    assert answer.text == EN(
        "Cancelled. The {stars} Stars are not refunded: the greeting had already been made."
    ).format(stars=PRICE)
    await world.services.orders.settle()
    assert get_order(world.services.db, made).status == OrderStatus.CANCELLED
    assert len(await sandbox.refunds()) == 1  # the rejected greeting's alone
    # Telegram's own refund notice in the chat gets no "I cannot use this" answer.
    unsupported = {
        EN("I cannot use this kind of message. Send /help to see what I need."),
        EN("I cannot use this kind of message here."),
    }
    assert all(m.text not in unsupported for m in await sandbox.sent_messages(member.id))


def _render_workers() -> list[int]:
    """The render processes this test's bot started (children of this process)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if b"bot.render_worker" in command and parent == os.getpid():
            found.append(int(entry.name))
    return found


async def test_a_render_whose_worker_keeps_dying_is_tried_three_times_then_refunded(
    priced_world: BotWorld,
) -> None:
    member = SandboxUser(6401, "Ann", language_code="en")
    world, sandbox = priced_world, priced_world.sandbox
    await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "/start"))
    await living_family(world, member, SandboxUser(6402, "Grandpa", language_code="en"))
    order_id = await _pay(world, member)
    db = world.services.db
    killed = 0
    # A worker killed with -9 leaves no plaintext behind: its inputs were in memory, and its
    # attempt's folder (in memory too) goes with the attempt.
    async with watching_plaintext(world) as watch:
        for _ in range(int(RENDER_WAIT_S / 0.1)):
            order = get_order(db, order_id)
            if order.status == OrderStatus.FAILED:
                break
            workers = _render_workers()
            if order.status == OrderStatus.RENDERING and order.attempts > killed and workers:
                for pid in workers:
                    os.kill(pid, signal.SIGKILL)
                killed = order.attempts
            await asyncio.sleep(0.1)
    assert watch.found == set() and watch.scans_while_rendering > 0
    assert world.services.jobs.scratch_dirs(order_id) == []
    order = get_order(db, order_id)
    assert (order.status, order.attempts) == (OrderStatus.FAILED, MAX_RENDER_ATTEMPTS)
    told = await sandbox.wait_for_message(
        member.id,
        says(member, "Sorry, I could not make the greeting for {recipient}. Your photo and "
             "voice notes are kept: send a photo or /start to try again.", recipient="Grandma"),
    )  # fmt: skip
    assert told.text is not None
    admins = await sandbox.wait_for_message(
        ADMIN.id, lambda m: (m.text or "").startswith("A greeting failed after 3 attempts")
    )
    assert admins.text is not None
    await world.services.orders.settle()
    [refund] = await sandbox.refunds()
    [charge] = await sandbox.charges()
    assert refund.telegram_payment_charge_id == charge.telegram_payment_charge_id
    assert [m for m in await sandbox.sent_messages(member.id) if m.method == "sendVideo"] == []


async def test_an_order_ended_before_payment_takes_its_invoice_out_of_the_chat(
    priced_world: BotWorld,
) -> None:
    """Cancelled, or its consent withdrawn, before the member paid: Pay under a greeting that
    will not be made could only be refused, so the invoice goes."""
    member = SandboxUser(6505, "Ann", language_code="en")
    subject = SandboxUser(6506, "Grandpa", language_code="en")
    world, sandbox = priced_world, priced_world.sandbox
    await living_family(world, member, subject)
    invoice = await _invoice(world, member)
    cancelled = await world.reply_to(member, lambda: sandbox.send_text(member, "/cancel"))
    assert cancelled.text == EN("I have cancelled the greeting for {recipient}.").format(
        recipient="Grandma"
    )
    await world.services.orders.settle()
    assert await world.is_deleted(invoice)
    invoice = await _invoice(world, member)
    await revoke(world, subject, "Grandpa")
    await world.services.orders.settle()
    assert await world.is_deleted(invoice)
    assert not await sandbox.charges()


@pytest.mark.sandbox_limits(chat_messages_per_second=30.0, chat_burst=30, max_delete_age_s=0)
async def test_revocation_refunds_what_was_paid_and_declines_a_checkout_after_it(
    priced_world: BotWorld,
) -> None:
    """The unpaid invoice is older than Telegram lets a bot delete, so it stays in the chat:
    paying it is declined at checkout."""
    member = SandboxUser(6501, "Ann", language_code="en")
    subject = SandboxUser(6502, "Grandpa", language_code="en")
    world, sandbox = priced_world, priced_world.sandbox
    await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "/start"))
    await living_family(world, member, subject)
    paid = await _pay(world, member, words="Grandma, I will call you tonight.")
    review = await sandbox.wait_for_message(ADMIN.id, is_card)  # paid, waiting for a moderator
    invoice = await _invoice(world, member)
    await revoke(world, subject, "Grandpa")
    await world.services.orders.settle()
    [charge] = await sandbox.charges()
    assert [r.telegram_payment_charge_id for r in await sandbox.refunds()] == [
        charge.telegram_payment_charge_id
    ]
    assert get_order(world.services.db, paid).status == OrderStatus.REVOKED
    # The moderator's card no longer shows it waiting, nor the family's words.
    withdrawn = EN("Consent was withdrawn, and everything made for it deleted.")
    admin_chat = await sandbox.sent_messages(ADMIN.id)
    card_now = next(m for m in admin_chat if m.message_id == review.message_id)
    title = EN("Greeting for {recipient} ({festival})").format(
        recipient="Grandma", festival=EN("Mid-Autumn Festival")
    )
    assert card_now.text == f"{title}\n{withdrawn}"
    assert card_now.reply_markup is None
    # A press that raced the edit is told why, as a press on a card /queue showed again would be.
    told = await world.reply_to(
        ADMIN,
        lambda: sandbox.press_button(ADMIN, review.message_id, APPROVE_PREFIX + paid, forged=True),
    )
    assert told.text == EN("This request is already settled.") + " " + withdrawn

    outcome = await sandbox.pay_invoice(member, invoice.message_id)
    assert outcome.status == "declined"
    assert outcome.error_message == EN(
        "Consent for this greeting is no longer current, so it cannot be made. Nothing was charged."
    )
    assert len(await sandbox.charges()) == 1
    assert _audit(world, "payment.declined")


async def test_leaving_keeps_an_order_whose_refund_failed_until_the_stars_are_back(
    priced_world: BotWorld,
) -> None:
    # /delete_me deleted the member's orders after asking Telegram for the refunds: a refund
    # Telegram failed to make went with the order, the only record that the Stars were owed.
    member = SandboxUser(6503, "Ann", language_code="en")
    subject = SandboxUser(6504, "Grandpa", language_code="en")
    world, sandbox, services = priced_world, priced_world.sandbox, priced_world.services
    await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "/start"))
    await living_family(world, member, subject)
    paid = await _pay(world, member, words="Grandma, I will call you tonight.")
    await sandbox.wait_for_message(ADMIN.id, is_card)  # paid, waiting for a moderator
    # The owner's leaving closes the space, then erases their orders: the refund is tried at
    # each, and each try is cut off (a connection reset after the request went out is not
    # tried again: bot/transient.py).
    await sandbox.schedule_faults("refundStarPayment", ["reset", "reset"])
    warning = await world.reply_to(member, lambda: sandbox.send_text(member, "/delete_me"))
    await world.reply_to(
        member,
        lambda: sandbox.press_button(member, warning.message_id, DELETE_CONFIRM),
        until=lambda m: "Deletion receipt" in (m.text or ""),
    )
    assert len(await sandbox.injected_faults()) == 2
    assert await sandbox.refunds() == []
    kept = get_order(services.db, paid)
    assert (kept.status, kept.message) == (OrderStatus.REVOKED, None)  # owing, without words

    services.orders.start(world.application.bot)  # the next start
    assert await finish_departures(services, world.application.bot) == []
    await services.orders.settle()
    [charge] = await sandbox.charges()
    assert [r.telegram_payment_charge_id for r in await sandbox.refunds()] == [
        charge.telegram_payment_charge_id
    ]
    refunded = EN("{stars} Stars for the greeting for {recipient} were refunded.").format(
        stars=PRICE, recipient="Grandma"
    )
    assert [m.text for m in await sandbox.sent_messages(member.id)].count(refunded) == 1


async def test_what_a_kill_left_unsaid_after_a_decision_is_said_once_after_the_restart(
    bot_world: BotWorld,
) -> None:
    # The status moves first and the member is told after: a bot killed in between leaves
    # a rejected or failed order whose member was never told, which the next start tells.
    world, sandbox, services = bot_world, bot_world.sandbox, bot_world.services
    member = SandboxUser(6801, "美玲", language_code="zh-hant")
    await sandbox.block_bot(ADMIN, blocked=False)
    seeded = await seeded_greeting(world, member)
    assert seeded.space_id is not None
    ends: dict[str, tuple[tuple[S, dict[str, Field]], ...]] = {
        "媽媽": ((S.MODERATION, {}), (S.REJECTED, {"reject_reason": "hurtful"})),
        "外公": ((S.MODERATION, {}), (S.REJECTED, {"reject_reason": "hurtful"})),
        "爸爸": ((S.QUEUED, {}), (S.RENDERING, {"attempts": 3}),
                 (S.FAILED, {"error": "render: the worker died"})),
    }  # fmt: skip
    ids: dict[str, str] = {}
    for recipient, path in ends.items():
        order = new_order(services.db, member.id, member.id, "zh-Hant", seeded.space_id,
                          template_id="mid-autumn", recipient=recipient)  # fmt: skip
        for status, fields in path:
            moved = move(services.db, services.audit, order, status, ADMIN.id, **fields)
            assert moved is not None
            order = moved
        ids[recipient] = order.id
    # Killed while the notice to 外公's requester was on its way: it may have arrived, so it is
    # not sent again; the status message says it instead (an edit is safe to repeat).
    never = Ledger(services.db, world.clock)
    assert (await never.once(ids["外公"], "rejected", _timed_out)).outcome == Outcome.UNKNOWN
    for _restart in range(2):
        services.orders.start(world.application.bot)
        await services.orders.settle()
    texts = [m.text for m in await sandbox.sent_messages(member.id)]
    told = [
        ZH_HANT(
            "A moderator did not accept the greeting for {recipient}: {reason}. "
            "You can start a new one by sending a photo."
        ).format(recipient="媽媽", reason=ZH_HANT("the words could hurt or upset someone")),
        ZH_HANT(
            "Sorry, I could not make the greeting for {recipient}. Your photo and voice "
            "notes are kept: send a photo or /start to try again."
        ).format(recipient="爸爸"),
    ]
    assert [texts.count(text) for text in told] == [1, 1], texts
    unsure = ZH_HANT(
        "A moderator did not accept the greeting for {recipient}: {reason}. "
        "You can start a new one by sending a photo."
    ).format(recipient="外公", reason=ZH_HANT("the words could hurt or upset someone"))
    assert [text for text in texts if text and unsure in text] == [
        status_line(ZH_HANT, "zh-Hant", get_order(services.db, ids["外公"]), unsure)
    ]
    admins = [m.text for m in await sandbox.sent_messages(ADMIN.id)]
    assert admins == [
        EN("A greeting failed after {attempts} attempts: {reason}").format(
            attempts=3, reason="render: the worker died"
        )
    ]


async def _timed_out() -> Message:
    raise TimedOut()


async def test_a_campaign_greeting_telegram_may_not_have_shown_is_offered_again_once(
    bot_world: BotWorld,
) -> None:
    # The connection drops before Telegram took the video: the chat holds nothing, and the bot
    # cannot know that. A campaign greeting has no status message to ask under: it asks in a
    # message of its own, and the family's press sends it.
    world, sandbox, services = bot_world, bot_world.sandbox, bot_world.services
    family = SandboxUser(6802, "家人", language_code="zh-hant")
    order = await seeded_greeting(world, family)
    await sandbox.schedule_faults("sendVideo", ["reset"])
    assert await services.orders.deliver_due(order.id) == S.DELIVERED
    [asked] = await sandbox.sent_messages(family.id)
    assert asked.text == ZH_HANT(
        "Your greeting for {recipient} may not have reached you: the connection to Telegram "
        "failed while it was sent. If you cannot see it above, press Show it again."
    ).format(recipient="舅舅")
    video = await _press_and_wait(
        world, family, asked, RESEND_PREFIX + order.id, lambda m: m.method == "sendVideo"
    )
    assert _buttons(video) == [ORIGINAL_PREFIX + order.id]
    await services.orders.settle()
    assert [m.method for m in await sandbox.sent_messages(family.id)] == [
        "sendMessage",
        "sendVideo",
    ]


async def test_an_order_cancelled_for_consent_says_why_and_that_the_stars_come_back(
    bot_world: BotWorld,
) -> None:
    # The subject withdrew consent and the bot was killed before the revocation reached the
    # order: the restarted bot finds no consent before rendering and cancels it. The member
    # reads why, not a bare "Cancelled.", and so does a campaign greeting's family (no status
    # message: a message of its own).
    world, sandbox, services = bot_world, bot_world.sandbox, bot_world.services
    member = SandboxUser(6803, "美玲", language_code="zh-hant")
    scheduled = await seeded_greeting(world, member)
    assert scheduled.space_id is not None
    order = new_order(services.db, member.id, member.id, "zh-Hant", scheduled.space_id,
                      template_id="mid-autumn", recipient="外婆", charge_id="charge-6803",
                      price_stars=PRICE)  # fmt: skip
    queued = move(services.db, services.audit, order, S.QUEUED, member.id)
    assert queued is not None
    space = update_space(services.db, scheduled.space_id, status=SpaceStatus.REVOKED.value)
    append_record(services.db, world.clock, space, RecordKind.REVOCATION, member.id,
                  Method.COMMAND)  # fmt: skip
    services.orders.start(world.application.bot)
    assert await services.orders.deliver_due(scheduled.id) == S.CANCELLED
    await services.orders.settle()
    cancelled = get_order(services.db, order.id)
    assert cancelled.status == S.CANCELLED
    why = ZH_HANT(
        "Cancelled because consent was withdrawn: the greeting for {recipient} was not made "
        "or sent."
    )
    paid = ZH_HANT("The {stars} Stars you paid are refunded.").format(stars=PRICE)
    texts = [m.text for m in await sandbox.sent_messages(member.id)]
    assert status_line(ZH_HANT, "zh-Hant", cancelled, why.format(recipient="外婆") + paid) in texts
    assert why.format(recipient="舅舅") in texts
