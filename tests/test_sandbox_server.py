"""The stand-in speaks the Bot API as Telegram does, to PTB's Bot and to raw HTTP alike."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputMediaPhoto
from telegram.error import BadRequest, Conflict, EndPointNotFound, InvalidToken

from bot.sandbox import BotApiStandIn, SandboxClient, SandboxError, SandboxUser
from tests.auxil.sandbox import TOKEN
from tests.auxil.sandbox_media import noise, png


@pytest.fixture
async def api(stand_in: BotApiStandIn) -> AsyncIterator[httpx.AsyncClient]:
    """Raw HTTP against /bot<token>/, for wire-format details PTB hides."""
    async with httpx.AsyncClient(base_url=f"{stand_in.api_base_url}{TOKEN}/") as client:
        yield client


async def test_get_me_describes_the_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "sandbox123456_bot")
    assert bot.username == "sandbox123456_bot"


async def test_long_poll_returns_an_update_as_soon_as_it_arrives(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await asyncio.sleep(0.2)
    assert not poll.done()
    started = time.monotonic()
    await sandbox.send_text(user, "新年快乐")
    updates = await asyncio.wait_for(poll, 2)
    assert time.monotonic() - started < 1
    assert [update.message.text for update in updates if update.message] == ["新年快乐"]


async def test_idle_long_poll_answers_empty_after_its_timeout(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 2


async def test_offset_confirms_and_drops_earlier_updates(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    for text in ("one", "two", "three"):
        await sandbox.send_text(user, text)
    first = await bot.get_updates()
    assert [update.message.text for update in first if update.message] == ["one", "two", "three"]
    assert len(await bot.get_updates(limit=2)) == 2
    rest = await bot.get_updates(offset=first[1].update_id)
    assert [update.update_id for update in rest] == [first[1].update_id, first[2].update_id]
    assert await bot.get_updates(offset=first[2].update_id + 1) == ()
    await sandbox.send_text(user, "four")
    (latest,) = await bot.get_updates()
    assert latest.message is not None and latest.message.text == "four"


async def test_allowed_updates_filters_and_persists(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    await sandbox.send_text(user, "hello")
    assert await bot.get_updates(allowed_updates=["callback_query"]) == ()
    assert await bot.get_updates() == ()
    assert len(await bot.get_updates(allowed_updates=[])) == 1


async def test_a_newer_get_updates_ends_the_pending_one_with_a_conflict(
    api: httpx.AsyncClient,
) -> None:
    # Two raw requests: PTB's Bot serialises getUpdates calls on a one-connection pool.
    older = asyncio.create_task(api.post("getUpdates", data={"timeout": "10"}))
    await asyncio.sleep(0.2)
    newer = await api.post("getUpdates", data={"timeout": "0"})
    assert newer.json() == {"ok": True, "result": []}
    response = await asyncio.wait_for(older, 2)
    assert response.status_code == 409
    assert response.json()["description"] == (
        "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running"
    )


async def test_user_command_carries_a_bot_command_entity(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    await sandbox.send_text(user, "/start from_qr")
    (update,) = await bot.get_updates()
    message = update.message
    assert message is not None and message.from_user is not None
    assert message.parse_entities() == {message.entities[0]: "/start"}
    assert message.from_user.language_code == "zh-hans"
    assert (message.chat.id, message.chat.type) == (user.id, "private")


async def test_errors_have_telegrams_wire_shape(api: httpx.AsyncClient, user: SandboxUser) -> None:
    response = await api.post("sendMessage", data={"chat_id": str(user.id), "text": "hi"})
    assert response.status_code == 400
    assert response.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: chat not found",
    }


async def test_missing_parameter_is_reported_empty(
    api: httpx.AsyncClient, sandbox: SandboxClient, user: SandboxUser
) -> None:
    await sandbox.send_text(user, "hi")
    response = await api.post("sendMessage", data={"text": "hi"})
    assert response.json()["description"] == "Bad Request: chat_id is empty"
    response = await api.post("sendMessage", data={"chat_id": str(user.id), "text": "  "})
    assert response.json()["description"] == "Bad Request: message text is empty"


async def test_json_get_and_form_requests_are_equivalent(
    api: httpx.AsyncClient, sandbox: SandboxClient, user: SandboxUser
) -> None:
    await sandbox.send_text(user, "hi")
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "go"}]]}
    as_json = await api.post(
        "sendMessage", json={"chat_id": user.id, "text": "a", "reply_markup": markup}
    )
    as_form = await api.post(
        "sendMessage",
        data={"chat_id": str(user.id), "text": "b", "reply_markup": json.dumps(markup)},
    )
    as_query = await api.get("sendMessage", params={"chat_id": user.id, "text": "c"})
    for response in (as_json, as_form, as_query):
        assert response.status_code == 200 and response.json()["ok"] is True
    assert as_json.json()["result"]["reply_markup"] == markup
    assert as_form.json()["result"]["reply_markup"] == markup
    assert [m.text for m in await sandbox.sent_messages(user.id)] == ["a", "b", "c"]


async def test_method_names_are_case_insensitive(api: httpx.AsyncClient) -> None:
    assert (await api.get("GETME")).json()["result"]["id"] == 123456


async def test_unknown_method_is_not_found(api: httpx.AsyncClient, bot: Bot) -> None:
    response = await api.post("sendFireworks")
    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendFireworks")


async def test_wrong_token_is_unauthorized_and_malformed_token_not_found(
    stand_in: BotApiStandIn,
) -> None:
    wrong = Bot("123456:not-the-token", base_url=stand_in.api_base_url)
    try:
        with pytest.raises(InvalidToken) as caught:
            await wrong.initialize()
        assert str(caught.value.__cause__) == "Unauthorized"
    finally:
        await wrong.shutdown()
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{stand_in.api_base_url}garbage/getMe")
    assert (response.status_code, response.json()["description"]) == (404, "Not Found")


async def test_webhook_receives_updates_and_blocks_get_updates(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    received: asyncio.Queue[tuple[str | None, dict[str, object]]] = asyncio.Queue()

    async def receive(request: web.Request) -> web.Response:
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        await received.put((secret, await request.json()))
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        assert await bot.set_webhook(url, secret_token="s3cret-Token")
        assert (await bot.get_webhook_info()).url == url
        with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
            await bot.get_updates()
        await sandbox.send_text(user, "via webhook")
        secret, update = await asyncio.wait_for(received.get(), 5)
        assert secret == "s3cret-Token"
        assert update["message"]["text"] == "via webhook"  # type: ignore[index]
        assert (await bot.get_webhook_info()).pending_update_count == 0
        assert await bot.delete_webhook()
        await sandbox.send_text(user, "polled again")
        (polled,) = await bot.get_updates()
        assert polled.message is not None and polled.message.text == "polled again"
    finally:
        await runner.cleanup()


async def test_delete_webhook_can_drop_pending_updates(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    await sandbox.send_text(user, "stale")
    await bot.delete_webhook(drop_pending_updates=True)
    assert await bot.get_updates() == ()


async def test_edits_and_deletion(bot: Bot, sandbox: SandboxClient, user: SandboxUser) -> None:
    await sandbox.send_text(user, "hi")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Next", callback_data="next")]])
    sent = await bot.send_message(user.id, "Step 1", reply_markup=keyboard)
    edited = await bot.edit_message_text("Step 2", user.id, sent.message_id)
    assert isinstance(edited, type(sent)) and edited.text == "Step 2"
    assert edited.reply_markup is None and edited.edit_date is not None
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("Step 2", user.id, sent.message_id)
    await bot.edit_message_reply_markup(user.id, sent.message_id, reply_markup=keyboard)
    assert await bot.delete_message(user.id, sent.message_id)
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(user.id, sent.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("Step 3", user.id, sent.message_id)
    (record,) = await sandbox.sent_messages(user.id)
    assert (record.text, record.reply_markup, record.deleted) == (
        "Step 2",
        keyboard.to_dict(),
        True,
    )
    assert [edit.method for edit in record.edits] == ["editMessageText", "editMessageReplyMarkup"]


async def test_user_messages_cannot_be_edited(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    message = await sandbox.send_text(user, "mine")
    with pytest.raises(BadRequest, match="Message can't be edited"):
        await bot.edit_message_text("yours", user.id, message.message_id)


async def test_a_photo_is_edited_into_another(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    """editMessageMedia: a new upload or a known file id, its caption and buttons; refused for
    a text message, as Telegram does."""
    await sandbox.send_text(user, "hi")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Next", callback_data="next")]])
    first = await bot.send_photo(user.id, png(40, 30), caption="one", reply_markup=keyboard)
    edited = await bot.edit_message_media(
        InputMediaPhoto(png(30, 40), caption="two"), user.id, first.message_id,
        reply_markup=keyboard,
    )  # fmt: skip
    assert not isinstance(edited, bool) and edited.caption == "two"
    assert (edited.photo[-1].width, edited.photo[-1].height) == (30, 40)
    back = await bot.edit_message_media(
        InputMediaPhoto(first.photo[-1].file_id), user.id, first.message_id
    )
    assert not isinstance(back, bool) and back.photo[-1].file_id == first.photo[-1].file_id
    assert back.caption is None and back.reply_markup is None
    text = await bot.send_message(user.id, "words")
    with pytest.raises(BadRequest, match="There is no media in the message to edit"):
        await bot.edit_message_media(
            InputMediaPhoto(first.photo[-1].file_id), user.id, text.message_id
        )
    record = next(m for m in await sandbox.sent_messages(user.id) if m.method == "sendPhoto")
    uploaded, resent = record.edits
    assert uploaded.file_id not in (None, first.photo[-1].file_id) and uploaded.caption == "two"
    assert resent.file_id == record.file_id == first.photo[-1].file_id


async def test_bot_uploads_come_back_byte_identical(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    await sandbox.send_text(user, "hi")
    photo_bytes, video_bytes, thumb_bytes = png(1280, 720), noise(300_000), png(320, 180)
    photo = await bot.send_photo(user.id, photo_bytes, caption="福")
    assert [(size.width, size.height) for size in photo.photo] == [
        (90, 51),
        (320, 180),
        (800, 450),
        (1280, 720),
    ]
    video = await bot.send_video(
        user.id,
        video_bytes,
        duration=12,
        width=720,
        height=1280,
        supports_streaming=True,
        thumbnail=thumb_bytes,
        filename="greeting.mp4",
    )
    document = await bot.send_document(user.id, b"%PDF-1.4 card", filename="card.pdf")
    records = await sandbox.sent_messages(user.id)
    photo_record, video_record, document_record = records
    assert photo_record.caption == "福" and photo_record.file_id == photo.photo[-1].file_id
    assert await sandbox.download(photo.photo[-1].file_id) == photo_bytes
    assert video.video is not None and video.video.mime_type == "video/mp4"
    assert (video_record.duration, video_record.width, video_record.height) == (12, 720, 1280)
    assert video_record.supports_streaming is True
    assert video_record.thumbnail_file_id == video.video.thumbnail.file_id  # type: ignore[union-attr]
    assert await sandbox.download(video.video.file_id) == video_bytes
    assert video_record.thumbnail_file_id is not None
    assert await sandbox.download(video_record.thumbnail_file_id) == thumb_bytes
    assert document.document is not None and document.document.file_name == "card.pdf"
    assert (document_record.file_name, document_record.mime_type) == ("card.pdf", "application/pdf")
    assert await sandbox.download(document.document.file_id) == b"%PDF-1.4 card"


async def test_resending_by_file_id_reuses_the_file(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    await sandbox.send_text(user, "hi")
    first = await bot.send_photo(user.id, png())
    again = await bot.send_photo(user.id, first.photo[-1].file_id)
    assert again.photo == first.photo
    with pytest.raises(BadRequest, match="Wrong file identifier/http url specified"):
        await bot.send_video(user.id, "no-such-file-id")


async def test_user_media_downloads_through_get_file(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    photo_bytes, voice_bytes = png(400, 300), noise(20_000)
    sent_photo = await sandbox.send_photo(user, photo_bytes, caption="my face")
    sent_voice = await sandbox.send_voice(user, voice_bytes, duration=4)
    photo_update, voice_update = await bot.get_updates()
    assert photo_update.message is not None and voice_update.message is not None
    assert photo_update.message.caption == "my face"
    largest = photo_update.message.photo[-1]
    assert (largest.file_id, largest.width, largest.height) == (
        sent_photo.photo[-1].file_id,
        400,
        300,
    )
    photo_file = await bot.get_file(largest.file_id)
    assert photo_file.file_path is not None and "/photos/file_" in photo_file.file_path
    assert await photo_file.download_as_bytearray() == photo_bytes
    voice = voice_update.message.voice
    assert voice is not None and sent_voice.voice is not None
    assert (voice.file_id, voice.mime_type) == (sent_voice.voice.file_id, "audio/ogg")
    assert voice.to_dict()["duration"] == 4
    assert await (await bot.get_file(voice.file_id)).download_as_bytearray() == voice_bytes


async def test_unknown_file_path_is_not_found(stand_in: BotApiStandIn) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{stand_in.file_base_url}{TOKEN}/photos/file_99.jpg")
    assert response.status_code == 404


async def test_commands_are_kept_per_scope_and_language(bot: Bot, sandbox: SandboxClient) -> None:
    from telegram import BotCommand, BotCommandScopeAllPrivateChats

    await bot.set_my_commands([BotCommand("start", "Begin")])
    await bot.set_my_commands(
        [BotCommand("start", "开始"), BotCommand("help", "帮助")],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="zh",
    )
    assert [c.command for c in await bot.get_my_commands()] == ["start"]
    chinese = await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats(), language_code="zh")
    assert [c.description for c in chinese] == ["开始", "帮助"]
    assert await bot.get_my_commands(language_code="zh") == ()
    records = await sandbox.commands()
    assert [(r.scope["type"], r.language_code) for r in records] == [
        ("default", ""),
        ("all_private_chats", "zh"),
    ]
    with pytest.raises(BadRequest):
        await bot.set_my_commands([BotCommand("Not A Command", "x")])


async def test_failed_webhook_delivery_is_reported_and_retried(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    attempts: list[int] = []

    async def flaky(_: web.Request) -> web.Response:
        attempts.append(1)
        return web.Response(status=500 if len(attempts) == 1 else 200)

    app = web.Application()
    app.router.add_post("/hook", flaky)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        await bot.set_webhook(f"http://127.0.0.1:{runner.addresses[0][1]}/hook")
        await sandbox.send_text(user, "retry me")
        for _ in range(50):
            info = await bot.get_webhook_info()
            if info.last_error_message:
                break
            await asyncio.sleep(0.05)
        assert info.last_error_message == (
            "Wrong response from the webhook: 500 Internal Server Error"
        )
        for _ in range(50):
            if (await bot.get_webhook_info()).pending_update_count == 0:
                break
            await asyncio.sleep(0.05)
        assert len(attempts) == 2
    finally:
        await bot.delete_webhook()
        await runner.cleanup()


async def test_stop_releases_a_pending_long_poll() -> None:
    async with BotApiStandIn(TOKEN) as server, httpx.AsyncClient() as client:
        poll = asyncio.create_task(
            client.post(f"{server.api_base_url}{TOKEN}/getUpdates", data={"timeout": "30"})
        )
        await asyncio.sleep(0.2)
        started = time.monotonic()
        await server.stop()
        assert time.monotonic() - started < 2
        assert (await asyncio.wait_for(poll, 2)).json() == {"ok": True, "result": []}


async def test_run_forever_serves_from_the_command_line(unused_tcp_port: int) -> None:
    # Under CI the test runner may start with SIGINT ignored (a background job of a
    # non-interactive shell); the stand-in must still stop on it.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        f"from bot.sandbox import run_forever; run_forever({TOKEN!r}, {unused_tcp_port})",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        banner = await asyncio.wait_for(process.stdout.readline(), 30)
        assert f"127.0.0.1:{unused_tcp_port}/bot" in banner.decode()
        async with Bot(
            TOKEN, base_url=f"http://127.0.0.1:{unused_tcp_port}/bot"
        ) as command_line_bot:
            assert command_line_bot.id == 123456
    finally:
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 10) == 0


async def test_a_held_send_is_recorded_before_the_bot_hears_of_it(
    bot: Bot, sandbox: SandboxClient, user: SandboxUser
) -> None:
    await sandbox.send_text(user, "hi")
    await sandbox.hold_responses("sendVideo")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_video(424242, noise(1000))  # refusals are answered at once
    sending = asyncio.create_task(bot.send_video(user.id, noise(1000), caption="新年快乐"))
    (held,) = await sandbox.wait_held(timeout=5)
    assert (held.method, held.chat_id, held.message_id) == ("sendVideo", user.id, 2)
    (record,) = await sandbox.sent_messages(user.id)
    assert (record.message_id, record.caption) == (2, "新年快乐")
    await asyncio.sleep(0.2)
    assert not sending.done()
    assert await sandbox.wait_held(timeout=0) == [held]
    assert await sandbox.release_held() == [held]
    assert (await asyncio.wait_for(sending, 2)).message_id == 2
    await asyncio.wait_for(bot.send_video(user.id, noise(1000)), 2)  # no longer held


async def test_a_hold_ends_when_the_bot_hangs_up(
    api: httpx.AsyncClient, sandbox: SandboxClient, user: SandboxUser
) -> None:
    await sandbox.send_text(user, "hi")
    await sandbox.hold_responses("sendmessage")
    with pytest.raises(httpx.ReadTimeout):
        await api.post("sendMessage", data={"chat_id": str(user.id), "text": "a"}, timeout=0.5)
    await asyncio.sleep(0.3)
    with pytest.raises(TimeoutError):
        await sandbox.wait_held(timeout=0.2)
    assert [m.text for m in await sandbox.sent_messages(user.id)] == ["a"]
    with pytest.raises(SandboxError, match="no method"):
        await sandbox.hold_responses("sendFireworks")
