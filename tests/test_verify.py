"""/verify and the original file, as the family, a stranger and a moderator meet them.

One greeting is rendered and delivered through the bot for the whole module (a render takes
several seconds) and every test sends that file, or something else, back to the bot over HTTP
through the stand-in. Tests only read the family's state, except the last, which withdraws
consent and checks what is left to say about the greeting afterwards.

The stand-in refuses to delete any message here, as Telegram does for a greeting older than
48 hours: revocation then cannot take the delivered video back, and its button stays.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

import bot.executors._embedded
from bot.app import build_application, polling
from bot.authz import Permission, check
from bot.cli import main
from bot.delivery import ORIGINAL_PREFIX
from bot.family.spaces import (
    MemberStatus,
    SpaceStatus,
    create_space,
    membership_of,
    update_member,
    update_space,
)
from bot.flows.basics import help_text
from bot.flows.verify import VERIFY_WAIT
from bot.i18n import gettext_for
from bot.orders import sent_by_us
from bot.sandbox import BotApiStandIn, Limits, SandboxClient, SandboxUser, SentMessage
from bot.storage import Order, OrderStatus
from bot.storage.orders import draft_for, get_order, orders_with_status
from bot.storage.users import await_file_to_verify
from bot.workers import Priority, run_worker
from engine import template_title
from engine.provenance import read_aigc, read_c2pa
from tests.auxil.bot import ADMIN, BotWorld, FakeClock, settings_for
from tests.auxil.family import living_family, order_greeting, revoke, says, send_it
from tests.auxil.provenance import unmarked_greeting
from tests.auxil.sandbox import TOKEN
from tests.auxil.sandbox_media import noise, png

pytestmark = pytest.mark.asyncio(loop_scope="module")

ZH_HANT = gettext_for("zh-Hant")
ZH_HANS = gettext_for("zh-Hans")
EN = gettext_for("en")
OWNER = SandboxUser(7001, "美玲", language_code="zh-hant")
GRANDPA = SandboxUser(7002, "外公", language_code="zh-hant")
STRANGER = SandboxUser(7003, "Eve", language_code="en")
OTHER_FAMILY = SandboxUser(7004, "小明", language_code="zh-hans")
RENDER_WAIT_S = 120.0
DETECT_WAIT_S = 90.0
YES = "Made by this service: yes. Tuanyuan made this video with AI."
NO = "Made by this service: no. I found none of Tuanyuan's marks in this file."
NOT_A_VIDEO = "I cannot play that file as a video. Please send an MP4 or MOV video."
LIMIT = 20 * 1024 * 1024


@dataclass
class Delivered:
    world: BotWorld
    order: Order
    message: SentMessage  # the sendVideo the family received
    original: bytes  # the vault's copy: what the engine produced
    path: Path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def delivered(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Delivered]:
    root = tmp_path_factory.mktemp("verify")
    async with (
        BotApiStandIn(TOKEN, Limits(max_delete_age_s=0)) as stand_in,
        SandboxClient(stand_in.root_url) as sandbox,
    ):
        settings = settings_for(stand_in, root / "bot-data")
        clock = FakeClock()
        async with polling(build_application(settings, clock)) as application:
            world = BotWorld(stand_in, sandbox, application, settings.data_dir, clock)
            await living_family(world, OWNER, GRANDPA)
            await order_greeting(world, OWNER)
            message = await send_it(world, OWNER, wait_s=RENDER_WAIT_S)
            await world.services.orders.settle()
            [order] = orders_with_status(world.services.db, OrderStatus.DELIVERED)
            assert order.video_id is not None
            original = world.services.vault.read_bytes(order.video_id)
            path = root / "greeting.mp4"
            path.write_bytes(original)
            yield Delivered(world, order, message, original, path)


async def _verify(
    world: BotWorld, user: SandboxUser, send: Callable[[], Awaitable[Any]], command: bool = True
) -> str:
    """/verify (unless the file carries it as its caption), then the file; the bot's answer."""
    if command:
        await world.reply_to(user, lambda: world.sandbox.send_text(user, "/verify"))
    answer = await world.reply_to(user, send, wait_s=DETECT_WAIT_S)
    return answer.text or ""


def _as_document(world: BotWorld, user: SandboxUser, data: bytes) -> Callable[[], Awaitable[Any]]:
    return lambda: world.sandbox.send_document(user, data, "greeting.mp4", "video/mp4")


def _answers(world: BotWorld) -> list[dict[str, Any]]:
    """The details of every /verify answer in the audit log, oldest first."""
    entries = world.services.audit.entries()
    return [dict(e["details"]) for e in entries if e["action"] == "verify.answered"]  # type: ignore[call-overload]


def _marks_verified(text: str, _: Callable[[str], str]) -> None:
    line = _("{mark}: {state}, confidence {confidence:.2f}").replace("{confidence:.2f}", "@")
    for mark in (_("Picture watermark"), _("Sound watermark")):
        pattern = re.escape(line.format(mark=mark, state=_("verified"))).replace("@", r"(\d\.\d\d)")
        found = re.search(pattern, text)
        assert found is not None and float(found.group(1)) > 0.5, text
    trusted = _("Content credentials (C2PA): {state}").format(state=_("valid, signed by Tuanyuan"))
    assert trusted in text


async def test_a_member_sees_the_render_its_family_and_its_consent(delivered: Delivered) -> None:
    world, order = delivered.world, delivered.order
    text = await _verify(world, OWNER, _as_document(world, OWNER, delivered.original))
    _ = ZH_HANT
    assert text.startswith(_(YES))
    assert order.recipient is not None
    assert _("Greeting for {recipient}: {festival}, made on {date}").format(
        recipient=order.recipient, festival=template_title("mid-autumn", "zh-Hant"),
        date=order.created_at[:10],
    ) in text  # fmt: skip
    assert order.id not in text and str(order.space_id) not in text  # names and dates, no ids
    assert order.delivered_at is not None
    assert _("Delivered on {date}").format(date=order.delivered_at[:10]) in text
    assert _("Family: {subject}").format(subject="外公") in text
    assert _("Consent: given, and still in force") in text
    _marks_verified(text, _)
    assert _answers(world)[-1] == {"made_by_service": True, "detailed": True, "order": order.id}


async def test_a_video_a_video_note_and_an_animation_with_the_caption_are_checked(
    delivered: Delivered,
) -> None:
    world, data = delivered.world, delivered.original
    sandbox = world.sandbox
    sends: list[Callable[[], Awaitable[Any]]] = [
        lambda: sandbox.send_video(OWNER, data, 12, 1280, 720, caption="/verify"),
        lambda: sandbox.send_animation(OWNER, data, 12, 1280, 720, caption="/verify@tuanyuan_bot"),
    ]
    for send in sends:
        text = await _verify(world, OWNER, send, command=False)
        assert text.startswith(ZH_HANT(YES)) and "外公" in text
    note = await _verify(world, OWNER, lambda: sandbox.send_video_note(OWNER, data, 12, 720))
    assert note.startswith(ZH_HANT(YES))


async def test_a_stranger_and_another_family_learn_only_yes(delivered: Delivered) -> None:
    world = delivered.world
    db, clock = world.services.db, world.services.clock
    # Another family whose member is verified, set up as the trust flow would leave it.
    space = create_space(db, clock, OTHER_FAMILY.id, cosigners_required=1)
    update_space(db, space.id, status=SpaceStatus.ACTIVE.value, subject_name="阿嬤",
                 subject_status="deceased", setup_step=None)  # fmt: skip
    member = membership_of(db, OTHER_FAMILY.id)
    assert member is not None
    update_member(db, member, status=MemberStatus.VERIFIED.value)

    for user, _ in ((STRANGER, EN), (OTHER_FAMILY, ZH_HANS)):
        text = await _verify(world, user, _as_document(world, user, delivered.original))
        assert text == _(YES)
    assert [details["detailed"] for details in _answers(world)[-2:]] == [False, False]


async def test_a_moderator_sees_the_details_of_any_file(
    delivered: Delivered, tmp_path: Path
) -> None:
    world, order = delivered.world, delivered.order
    text = await _verify(world, ADMIN, _as_document(world, ADMIN, delivered.original))
    assert text.startswith(YES)
    assert "Family: 外公" in text
    _marks_verified(text, EN)

    plain = unmarked_greeting(tmp_path, 41, (640, 360), 2.0).read_bytes()
    text = await _verify(world, ADMIN, _as_document(world, ADMIN, plain))
    assert text.startswith(NO)
    assert f"Picture watermark: {EN('not found')}" in text and order.id not in text
    assert "Content credentials (C2PA): none" in text


async def test_an_unmarked_video_was_not_made_here(delivered: Delivered, tmp_path: Path) -> None:
    world = delivered.world
    plain = unmarked_greeting(tmp_path, 42, (640, 360), 2.0).read_bytes()
    text = await _verify(world, STRANGER, lambda: world.sandbox.send_video(STRANGER, plain, 2,
                                                                         640, 360))  # fmt: skip
    assert text == NO


async def test_a_file_that_is_no_video_is_explained_and_the_wait_goes_on(
    delivered: Delivered,
) -> None:
    world = delivered.world
    sandbox = world.sandbox
    pdf = lambda: sandbox.send_document(OWNER, b"%PDF-1.4\n%%EOF\n", "a.pdf", "application/pdf")  # noqa: E731
    assert await _verify(world, OWNER, pdf) == ZH_HANT(NOT_A_VIDEO)
    picture = lambda: sandbox.send_document(OWNER, png(), "greeting.mp4", "video/mp4")  # noqa: E731
    assert await _verify(world, OWNER, picture, command=False) == ZH_HANT(NOT_A_VIDEO)
    empty = lambda: sandbox.send_document(OWNER, b"", "greeting.mp4", "video/mp4")  # noqa: E731
    assert await _verify(world, OWNER, empty, command=False) == ZH_HANT(
        "That file is empty. Please send it again."
    )
    # Still waiting after each refusal: the right file is checked without another /verify.
    again = await _verify(world, OWNER, _as_document(world, OWNER, delivered.original), False)
    assert again.startswith(ZH_HANT(YES))


async def test_telegrams_20_mb_download_limit_is_explained(delivered: Delivered) -> None:
    world = delivered.world
    too_big = ZH_HANT(
        "That file is larger than 20 MB, the most Telegram lets me download. Please send the "
        "video as a file of at most 20 MB: a greeting as Tuanyuan delivered it is smaller."
    )
    text = await _verify(world, OWNER, _as_document(world, OWNER, noise(LIMIT + 1)))
    assert text == too_big
    # Exactly 20 MB is downloaded and checked (and this one is noise).
    text = await _verify(world, OWNER, _as_document(world, OWNER, noise(LIMIT)), command=False)
    assert text == ZH_HANT(NOT_A_VIDEO)


async def test_a_detection_past_its_deadline_is_stopped(
    delivered: Delivered, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = delivered.world
    monkeypatch.setattr(bot.verification, "DETECT_TIMEOUT_S", 0.05)
    text = await _verify(world, STRANGER, _as_document(world, STRANGER, delivered.original))
    assert text == "I could not finish checking that file. Please send the video again."


async def test_a_check_in_progress_keeps_no_other_chat_waiting(
    delivered: Delivered, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, sandbox = delivered.world, delivered.world.sandbox
    release = asyncio.Event()

    async def held(
        module: str, request: bytes, priority: Priority, timeout_s: float | None = None
    ) -> Any:
        await release.wait()
        return await run_worker(module, request, priority, timeout_s)

    monkeypatch.setattr(bot.executors._embedded, "run_worker", held)
    await world.reply_to(OWNER, lambda: sandbox.send_text(OWNER, "/verify"))
    before = max(m.message_id for m in await sandbox.sent_messages(OWNER.id))
    await sandbox.send_document(OWNER, delivered.original, "greeting.mp4", "video/mp4")
    helped = await world.reply_to(STRANGER, lambda: sandbox.send_text(STRANGER, "/help"))
    assert helped.text == help_text(EN)
    release.set()
    answer = await sandbox.wait_for_message(
        OWNER.id, lambda m: m.message_id > before, timeout=DETECT_WAIT_S
    )
    assert (answer.text or "").startswith(ZH_HANT(YES))


async def test_a_greeting_sent_back_as_material_for_a_new_one_is_refused(
    delivered: Delivered,
) -> None:
    world, owner = delivered.world, OWNER
    db = world.services.db
    await_file_to_verify(db, owner.id, None)  # a plain upload, not a file to /verify
    # Forwarded, it keeps the file id the bot sent it with: refused before any download.
    assert sent_by_us(db, delivered.message.file_id or "")
    assert not sent_by_us(db, "BAACAgIAAxkBAAIBnever-sent")
    # Downloaded and sent again it is a new file: the watermark detector recognises it.
    answer = await world.reply_to(
        owner,
        lambda: world.sandbox.send_video(owner, delivered.original, duration=10,
                                         width=delivered.message.width or 0,
                                         height=delivered.message.height or 0),
        wait_s=DETECT_WAIT_S,
    )  # fmt: skip
    assert answer.text == ZH_HANT(
        "That is a greeting Tuanyuan made. A new greeting needs a photo or video of them as your "
        "family took it: please send one of those."
    )
    draft = draft_for(db, owner.id)
    assert draft is None or draft.portrait_id is None


async def test_the_wait_for_a_file_ends_after_30_minutes(delivered: Delivered) -> None:
    world = delivered.world
    await world.reply_to(STRANGER, lambda: world.sandbox.send_text(STRANGER, "/verify"))
    world.clock.advance(VERIFY_WAIT + timedelta(seconds=1))
    late = await world.reply_to(
        STRANGER, lambda: world.sandbox.send_video(STRANGER, delivered.original, 12, 1280, 720)
    )
    # No longer a file to verify: a video from someone outside any family is footage they may
    # not upload.
    assert late.text == (
        "Only verified members of a family space can do this. Send /newspace to create a space "
        "for your loved one, or open the invite link a relative sent you."
    )


async def test_detect_with_the_data_dir_names_the_render_family_and_consent(
    delivered: Delivered, capsys: pytest.CaptureFixture[str]
) -> None:
    report = await _detect_json(delivered, capsys)
    order = delivered.order
    assert report["made_by_service"] is True
    assert report["render"] == {
        "order_id": order.id, "template_id": "mid-autumn", "recipient": order.recipient,
        "created_at": order.created_at, "delivered_at": order.delivered_at,
    }  # fmt: skip
    assert report["family"] == {"space_id": order.space_id, "subject_name": "外公"}
    assert report["consent"]["status"] == "current"
    assert report["consent"]["consent_id"] == order.consent_id


async def _detect_json(delivered: Delivered, capsys: pytest.CaptureFixture[str]) -> Any:
    capsys.readouterr()
    command = ["detect", str(delivered.path), "--json", "--data-dir", str(delivered.world.data_dir)]
    assert await asyncio.to_thread(main, command) == 0
    return json.loads(capsys.readouterr().out)


async def test_the_original_file_is_the_engines_output_byte_for_byte(
    delivered: Delivered, tmp_path: Path
) -> None:
    world, message = delivered.world, delivered.message
    data = f"{ORIGINAL_PREFIX}{delivered.order.id}"
    assert message.reply_markup == {
        "inline_keyboard": [[{"text": ZH_HANT("Get the original file"), "callback_data": data}]]
    }
    assert len(data.encode()) <= 64
    document = await world.reply_to(
        OWNER, lambda: world.sandbox.press_button(OWNER, message.message_id, data),
        until=lambda m: m.method == "sendDocument",
    )  # fmt: skip
    order = delivered.order
    assert document.file_name == f"greeting-mid-autumn-{order.created_at[:10]}.mp4"
    received = await world.sandbox.download(document.file_id or "")
    assert received == delivered.original
    assert received == await world.sandbox.download(message.file_id or "")  # as sent inline
    copy = tmp_path / "original.mp4"
    copy.write_bytes(received)
    assert read_c2pa(copy).state == "valid"
    root = (world.data_dir / "c2pa" / "root.pem").read_bytes()
    assert read_c2pa(copy, root).state == "trusted"
    label = read_aigc(copy)
    assert label is not None and label.ProduceID == delivered.order.id


async def test_only_the_family_may_have_the_original(delivered: Delivered) -> None:
    """Telegram shows the button only in the family's chat; the guard holds even so."""
    services, space = delivered.world.services, delivered.order.space_id
    for insider in (OWNER, GRANDPA):
        assert check(services, insider.id, Permission.GET_ORIGINAL, EN, space) is None
    for outsider in (STRANGER, OTHER_FAMILY, ADMIN):
        denial = check(services, outsider.id, Permission.GET_ORIGINAL, EN, space)
        assert denial is not None and denial.reason == "other_family"
    assert check(services, OWNER.id, Permission.GET_ORIGINAL, EN, None) is not None


async def test_after_revocation_the_file_is_still_recognised_and_its_original_gone(
    delivered: Delivered, capsys: pytest.CaptureFixture[str]
) -> None:
    world, order, sandbox = delivered.world, delivered.order, delivered.world.sandbox
    await revoke(world, GRANDPA, "外公")
    revoked = get_order(world.services.db, order.id)
    assert revoked.status == OrderStatus.REVOKED and revoked.video_id is None

    no_original = (
        "The original file of this greeting no longer exists: it was deleted when consent was "
        "withdrawn."
    )
    # The family's notice of the revocation may reach the owner after the press: not the answer.
    gone = await world.reply_to(
        OWNER,
        lambda: sandbox.press_button(
            OWNER, delivered.message.message_id, f"{ORIGINAL_PREFIX}{order.id}"
        ),
        until=says(OWNER, no_original),
    )
    assert gone.text == ZH_HANT(no_original)

    text = await _verify(world, OWNER, _as_document(world, OWNER, delivered.original))
    assert text.startswith(ZH_HANT(YES)) and "外公" in text
    assert ZH_HANT("Consent: withdrawn; the photos, voice notes and videos were deleted") in text
    stranger = await _verify(world, STRANGER, _as_document(world, STRANGER, delivered.original))
    assert stranger == YES

    report = await _detect_json(delivered, capsys)
    assert report["render"]["order_id"] == order.id
    assert report["consent"]["status"] == "revoked"
