"""The bot as a family member meets it: real PTB polling the stand-in over HTTP.

Every test acts through the stand-in's control API (as Telegram's apps would) and checks what
arrived in the chat, plus what was stored when that is what the member relies on. Orders need a
family with consent first: ``consented`` plays the grandfather consenting and the member
verifying herself, over HTTP like everything else (the trust flow's own tests are in
test_family_trust.py).
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import Callable
from functools import partial
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from bot.app import build_application, polling
from bot.cli import main
from bot.demo.samples import sample_portrait_jpeg, sample_voice_ogg
from bot.family.spaces import membership_of
from bot.festivals import upcoming
from bot.flows.basics import help_text, moderator_help_text
from bot.flows.order import MAX_RECIPIENT_CHARS
from bot.hostile import undeclared_length_mkv
from bot.i18n import gettext_for
from bot.orders import SEND_PREFIX, status_line
from bot.orders._states import move
from bot.sandbox import BotApiStandIn, SandboxClient, SandboxUser, SentMessage
from bot.storage import OrderStatus
from bot.storage.orders import (
    draft_for,
    get_order,
    orders_where,
    orders_with_status,
    update_order,
)
from engine import list_templates, stand_in_portrait, template_festival, template_title
from engine._painter import paint_background
from engine._portrait_bench import blur, brightness, close_eyes
from engine._templates import load_template
from engine.likeness._synthetic import FACES, face_photo
from engine.provenance import token_for_render_id
from tests.auxil.bot import ADMIN, BotWorld, FakeClock, settings_for
from tests.auxil.family import (
    confirm,
    is_preview,
    living_family,
    order_greeting,
    order_of,
    place,
    prepare_order,
    press_festival,
    send_it,
    watching_plaintext,
)
from tests.auxil.media import steady_times, video
from tests.auxil.sandbox import TOKEN
from tests.auxil.video import audio_track, frame_at, rms, top_level_boxes

ZH_HANT = gettext_for("zh-Hant")
EN = gettext_for("en")
RENDER_WAIT_S = 55.0
# The bot answers a photo with two messages; waiting for the second keeps the next step's
# reply from being mistaken for a late one (the stand-in paces messages to one a second).
ASKS_FOR_VOICE = ZH_HANT(
    "Now send a recording of them speaking: a voice message, an audio file or a video. "
    "About 20 seconds is best."
)


@pytest.fixture(scope="module")
def portrait_jpeg() -> bytes:
    return sample_portrait_jpeg()


@pytest.fixture(scope="module")
def voice_ogg() -> bytes:
    return sample_voice_ogg("我很想念你們。祝你們中秋快樂，身體健康。")


@pytest.fixture
def member() -> SandboxUser:
    return SandboxUser(5001, "美玲", language_code="zh-hant")


GRANDPA = SandboxUser(5002, "外公", language_code="zh-hant")


@pytest.fixture
async def consented(bot_world: BotWorld, member: SandboxUser) -> BotWorld:
    """The world with ``member`` verified in a space whose living subject has consented."""
    await living_family(bot_world, member, GRANDPA)
    return bot_world


def _is_text(text: str) -> Callable[[SentMessage], bool]:
    return lambda message: message.text == text


def _after(seen: list[SentMessage]) -> Callable[[SentMessage], bool]:
    newest = max((m.message_id for m in seen), default=0)
    return lambda message: message.message_id > newest


async def _give_media(
    world: BotWorld, member: SandboxUser, portrait: bytes, voice: bytes
) -> SentMessage:
    """Send photo and voice note; returns the message offering the festivals."""
    await world.reply_to(
        member, lambda: world.sandbox.send_photo(member, portrait), until=_is_text(ASKS_FOR_VOICE)
    )
    return await world.reply_to(
        member,
        lambda: world.sandbox.send_voice(member, voice, duration=5),
        until=lambda m: m.reply_markup is not None,
    )


async def test_start_answers_in_the_members_telegram_language(bot_world: BotWorld) -> None:
    chinese = SandboxUser(5101, "阿明", language_code="zh-hant")
    english = SandboxUser(5102, "Sam", language_code="en-GB")
    zh_reply = await bot_world.reply_to(
        chinese, lambda: bot_world.sandbox.send_text(chinese, "/start")
    )
    en_reply = await bot_world.reply_to(
        english, lambda: bot_world.sandbox.send_text(english, "/start")
    )
    # A stranger's /start is a short card with the next step; the long text is /help's.
    card = (
        "Welcome to Tuanyuan: festival greeting videos in the voice and face of someone you "
        "love, made only with consent.\n\nNext: send /newspace to create a family space for "
        "them, or open the invite link a relative sent you. /help explains everything."
    )
    assert zh_reply.text == ZH_HANT(card)
    assert en_reply.text == card
    # Telegram's "zh" menu is Simplified: a zh-hant (zh-hk, zh-tw) user gets their own at once.
    menus = {
        record.scope.get("chat_id"): record.commands
        for record in await bot_world.sandbox.commands()
        if record.scope.get("type") == "chat"
    }
    assert english.id not in menus
    assert {"command": "help", "description": ZH_HANT("How Tuanyuan works")} in menus[chinese.id]


async def test_language_menu_switches_language_and_registers_menus(bot_world: BotWorld) -> None:
    member = SandboxUser(5103, "Lin", language_code="en")
    menu = await bot_world.reply_to(
        member, lambda: bot_world.sandbox.send_text(member, "/language")
    )
    assert menu.reply_markup is not None
    buttons = [b["callback_data"] for row in menu.reply_markup["inline_keyboard"] for b in row]
    assert buttons == ["lang:zh-Hant", "lang:zh-Hans", "lang:en"]

    # The answer, then where the member is, in the new language (here: not in a family yet).
    welcome = await bot_world.reply_to(
        member, lambda: bot_world.sandbox.press_button(member, menu.message_id, "lang:zh-Hans")
    )
    assert (welcome.text or "").startswith("欢迎使用团圆")
    edited = await bot_world.sandbox.wait_for_message(
        member.id, lambda m: m.message_id == menu.message_id and bool(m.edits)
    )
    assert edited.text == "之后我会用简体中文和你说话。"
    help_reply = await bot_world.reply_to(
        member, lambda: bot_world.sandbox.send_text(member, "/help")
    )
    assert help_reply.text is not None and "团圆用你所爱的人" in help_reply.text

    menus = {(r.language_code, r.scope.get("type")) for r in await bot_world.sandbox.commands()}
    assert {("", "default"), ("zh", "default"), ("", "chat")} <= menus


async def test_the_set_up_question_is_asked_again_by_start_and_in_a_new_language(
    bot_world: BotWorld,
) -> None:
    """Lost in the middle of making a family space, /start said only "answer my last question
    above", and after /language that question stayed in the language left behind. Both now ask
    it again, with its buttons as they stand, in the member's language."""
    sandbox = bot_world.sandbox
    member = SandboxUser(5104, "Yuki", language_code="ja")  # not a language of the bot's
    await bot_world.reply_to(member, lambda: sandbox.send_text(member, "/newspace"))
    name_asked = EN("Whose greetings will the family space make? Type their name as the family "
                    "calls them, for example: Grandpa.")  # fmt: skip
    await bot_world.reply_to(member, lambda: sandbox.send_text(member, "/start"),
                             until=lambda m: m.text == name_asked)  # fmt: skip
    await bot_world.reply_to(member, lambda: sandbox.send_text(member, "Ojiichan"))
    asked = await bot_world.reply_to(member, lambda: sandbox.send_text(member, "/start"),
                                     until=lambda m: m.reply_markup is not None)  # fmt: skip
    assert asked.text == EN("Is {subject} living or deceased?").format(subject="Ojiichan")
    languages = await bot_world.reply_to(
        member, lambda: sandbox.press_button(member, asked.message_id, "space:living")
    )
    # The question, read back later, shows the answer pressed.
    answered = {m.message_id: m for m in await sandbox.sent_messages(member.id)}
    assert (answered[asked.message_id].text, answered[asked.message_id].reply_markup) == (
        EN("Living"), None)  # fmt: skip
    await sandbox.press_button(member, languages.message_id, "slang:yue")
    menu = await bot_world.reply_to(member, lambda: sandbox.send_text(member, "/language"))
    again = await bot_world.reply_to(
        member, lambda: sandbox.press_button(member, menu.message_id, "lang:zh-Hans"),
        until=lambda m: m.reply_markup is not None,
    )  # fmt: skip
    zh_hans = gettext_for("zh-Hans")
    assert again.text == zh_hans(
        "Which languages does {subject} speak? Choose one or more, then press Done."
    ).format(subject="Ojiichan")
    labels = [row[0]["text"] for row in again.reply_markup["inline_keyboard"]]  # type: ignore[index]
    assert labels == ["普通话", "✓ 粤语", "英语", "完成"]  # Cantonese, chosen before


async def test_a_moderators_help_names_the_moderators_commands(bot_world: BotWorld) -> None:
    """A moderator in a private chat with the bot sees the family's menu, not the admin chat's:
    their /help says what they can do as a moderator too; a member's does not."""
    sandbox = bot_world.sandbox
    told = await bot_world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "/help"))
    assert told.text == help_text(EN) + "\n\n" + moderator_help_text(EN)
    for line in ("/queue Show greeting requests waiting for moderation",
                 "/admin_login Get a one-time link to the admin web"):  # fmt: skip
        assert line in told.text
    member = SandboxUser(5104, "Lin", language_code="en")
    assert (await bot_world.reply_to(member, lambda: sandbox.send_text(member, "/help"))).text == (
        help_text(EN)
    )
    # Every command of the family's menu is named (/orders, /invite and /consent were not).
    for command in ("/newspace", "/invite", "/consent", "/revoke", "/mydata",
                    "/delete_me", "/verify", "/language", "/orders", "/cancel"):  # fmt: skip
        assert command in help_text(EN), command


async def test_a_full_order_delivers_a_playable_greeting(
    consented: BotWorld,
    member: SandboxUser,
    portrait_jpeg: bytes,
    voice_ogg: bytes,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sandbox = consented.sandbox
    offer = await _give_media(consented, member, portrait_jpeg, voice_ogg)
    assert offer.reply_markup is not None
    labels = [b["text"] for row in offer.reply_markup["inline_keyboard"] for b in row]
    # Festivals coming up first, by their next date; the rest behind "More festivals"; then
    # the same in pictures (tests/test_bot_picker.py).
    soon, _later = upcoming(list_templates(), template_festival, consented.clock.now().date())
    assert soon, "some festival falls within 45 days of any date"
    assert labels == [template_title(t, "zh-Hant") for t in soon] + [
        ZH_HANT("More festivals"),
        ZH_HANT("See them in pictures"),
    ]
    # The member learns how much usable speech the note held, against the recommendation.
    feedback = [m.text or "" for m in await sandbox.sent_messages(member.id)]
    speech_line = next(text for text in feedback if text.startswith("謝謝，語音收到了：其中有"))
    seconds = float(speech_line.split("其中有 ")[1].split(" 秒")[0])
    assert 1.0 < seconds < 10.0
    assert "建議 20 秒" in speech_line

    await consented.reply_to(
        member,
        lambda: press_festival(consented, member, offer, "mid-autumn"),
        until=_is_text(
            ZH_HANT("Who is the greeting for? Type their name, for example: {example}.").format(
                example=ZH_HANT("Grandma")
            )
        ),
    )
    await place(consented, member, "外婆")
    # Nothing the render reads or writes is plaintext on disk: its inputs are in memory and its
    # files in a folder in memory, until the greeting is sealed into the vault.
    async with watching_plaintext(consented) as watch:
        video_message = await send_it(consented, member, wait_s=RENDER_WAIT_S)
    assert watch.found == set()
    assert watch.scans_while_rendering > 0 and watch.render_files_in_memory > 0
    assert "upload_video" in await sandbox.chat_actions(member.id)

    # What Telegram needs to play it inline: real duration, size, streaming and a thumbnail.
    assert (video_message.width, video_message.height) == (1280, 720)
    assert video_message.supports_streaming is True
    assert video_message.caption is not None and "外婆" in video_message.caption
    bounds = load_template("mid-autumn").duration
    assert video_message.duration is not None
    assert bounds.min_s - 1 <= video_message.duration <= bounds.max_s + 1
    assert video_message.thumbnail_file_id is not None
    thumbnail = await sandbox.download(video_message.thumbnail_file_id)
    with Image.open(io.BytesIO(thumbnail)) as picture:
        assert picture.format == "JPEG" and max(picture.size) <= 320
    assert len(thumbnail) < 200_000

    # The file itself, decoded as a player would.
    assert video_message.file_id is not None
    video_path = consented.data_dir / "delivered.mp4"
    video_path.write_bytes(await sandbox.download(video_message.file_id))
    with av.open(str(video_path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "aac"
        assert container.duration is not None
        assert bounds.min_s <= container.duration / 1e6 <= bounds.max_s
    assert top_level_boxes(video_path).index("moov") < top_level_boxes(video_path).index("mdat")
    samples, _rate = audio_track(video_path)
    assert rms(samples) > 0.02
    template = load_template("mid-autumn")
    background = paint_background(template.palette, template.decorations, 1280, 720)
    background = background.astype(np.int16)
    speaking = frame_at(video_path, video_message.duration / 2).astype(np.int16)
    assert float(np.mean(np.abs(speaking[480:] - background[480:]).max(axis=2) > 60)) > 0.03

    delivered = orders_with_status(consented.services.db, OrderStatus.DELIVERED)
    assert [order.recipient for order in delivered] == ["外婆"]
    assert delivered[0].telegram_file_id == video_message.file_id

    # The living grandfather hears of it, in his language, and can withdraw from there.
    notice = await sandbox.wait_for_message(
        GRANDPA.id, lambda m: "revoke:ask" in json.dumps(m.reply_markup)
    )
    assert notice.text is not None and "外婆" in notice.text and member.first_name in notice.text
    question = await consented.reply_to(
        GRANDPA, lambda: sandbox.press_button(GRANDPA, notice.message_id, "revoke:ask")
    )
    assert question.text is not None and question.text.startswith("撤回對外公的同意")

    # The delivered file says it is this service's, to tuanyuan detect with the bot's own keys:
    # watermarks naming this order, the AIGC label, and a C2PA manifest trusted by our root.
    capsys.readouterr()
    code = await asyncio.to_thread(
        main, ["detect", str(video_path), "--json", "--data-dir", str(consented.data_dir)]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["made_by_service"] is True
    assert report["video"]["mac_valid"] and report["audio"]["mac_valid"], report
    assert report["video"]["token"] == token_for_render_id(delivered[0].id)
    assert report["aigc"]["ProduceID"] == delivered[0].id
    assert report["c2pa"]["state"] == "trusted"


async def test_an_unreadable_photo_is_explained_and_the_good_one_is_kept(
    consented: BotWorld, member: SandboxUser, portrait_jpeg: bytes
) -> None:
    sandbox = consented.sandbox
    await consented.reply_to(
        member, lambda: sandbox.send_photo(member, portrait_jpeg), until=_is_text(ASKS_FOR_VOICE)
    )
    first = draft_for(consented.services.db, member.id)
    assert first is not None and first.portrait_id is not None

    reply = await consented.reply_to(
        member,
        lambda: sandbox.send_document(member, b"not a picture at all", "photo.jpg", "image/jpeg"),
    )
    assert reply.text == ZH_HANT(
        "I cannot read that file as a photo. Please send a JPEG or PNG photo."
    )
    kept = draft_for(consented.services.db, member.id)
    assert kept is not None and kept.portrait_id == first.portrait_id
    assert consented.services.vault.read_bytes(first.portrait_id) == portrait_jpeg


async def test_of_an_album_the_first_clear_photo_is_kept_and_answered_once(
    consented: BotWorld, member: SandboxUser, portrait_jpeg: bytes
) -> None:
    """Photos chosen together arrive as one message each: every one replaced the last and
    was thanked, with the next question asked again each time."""
    sandbox = consented.sandbox
    blurred, other = io.BytesIO(), io.BytesIO()
    blur(9)(face_photo(FACES[0])).save(blurred, format="JPEG", quality=90)
    face_photo(FACES[1]).save(other, format="JPEG", quality=90)
    before = max(m.message_id for m in await sandbox.sent_messages(member.id))
    for photo in (blurred.getvalue(), portrait_jpeg, other.getvalue()):
        await sandbox.send_photo(member, photo, album="13579")
    await sandbox.wait_for_message(member.id, _is_text(ASKS_FOR_VOICE))
    await asyncio.sleep(3)  # the album's last photo has been judged too
    replies = [m.text for m in await sandbox.sent_messages(member.id) if m.message_id > before]
    assert replies == [
        ZH_HANT("That photo is blurred. Please send a sharper one, where their face is in focus."),
        ZH_HANT("Thank you, I have the photo: the first clear one of those you sent."),
        ASKS_FOR_VOICE,
    ]
    draft = draft_for(consented.services.db, member.id)
    assert draft is not None and draft.portrait_id is not None
    assert consented.services.vault.read_bytes(draft.portrait_id) == portrait_jpeg
    # A photo sent on its own later replaces it, and says so.
    thanks = await consented.reply_to(member, lambda: sandbox.send_photo(member, other.getvalue()))
    assert thanks.text == ZH_HANT(
        "Thank you: the greeting will show this photo instead of the one you sent before."
    )
    await sandbox.wait_for_message(member.id, lambda m: (
        m.message_id == thanks.message_id + 1 and m.text == ASKS_FOR_VOICE))  # fmt: skip
    replaced = draft_for(consented.services.db, member.id)
    assert replaced is not None and replaced.portrait_id is not None
    assert consented.services.vault.read_bytes(replaced.portrait_id) == other.getvalue()


async def test_blurred_dark_and_eyes_closed_photos_are_refused_with_their_advice(
    consented: BotWorld, member: SandboxUser
) -> None:
    async def answer_to(photo: Image.Image) -> str | None:
        sent = io.BytesIO()
        photo.save(sent, format="JPEG", quality=90)
        return (
            await consented.reply_to(
                member, lambda: consented.sandbox.send_photo(member, sent.getvalue())
            )
        ).text

    face = face_photo(FACES[0])
    assert await answer_to(blur(9)(face)) == ZH_HANT(
        "That photo is blurred. Please send a sharper one, where their face is in focus."
    )
    assert await answer_to(brightness(0.15)(face)) == ZH_HANT(
        "That photo is too dark to see their face. Please send one taken in good light."
    )
    assert await answer_to(close_eyes(face)) == ZH_HANT(
        "Their eyes are closed in that photo. Please send one where their eyes are open."
    )
    assert draft_for(consented.services.db, member.id) is None


async def test_a_members_files_are_fetched_over_one_kept_connection(
    consented: BotWorld, member: SandboxUser
) -> None:
    """A new HTTP client for each download cost the event loop ~27 ms (its TLS context) and
    Telegram's file server a new connection for every photo and voice note."""
    photos = []
    for level in (0.15, 0.2):
        sent = io.BytesIO()
        brightness(level)(face_photo(FACES[0])).save(sent, format="JPEG", quality=90)
        photos.append(sent.getvalue())
    for photo in photos:
        # A member's next file comes seconds later: longer than httpx keeps a connection idle
        # unless told otherwise (5 s).
        await asyncio.sleep(6)
        await consented.reply_to(member, partial(consented.sandbox.send_photo, member, photo))
    downloads = await consented.sandbox.file_downloads()
    # The consent reading's voice note, then the two photos.
    assert [download.file_path.split("/")[0] for download in downloads] == [
        "voice", "photos", "photos"
    ]  # fmt: skip
    assert len({download.client_port for download in downloads}) == 1


async def test_a_file_over_telegrams_download_limit_is_explained(
    consented: BotWorld, member: SandboxUser
) -> None:
    oversized = b"\0" * (20 * 1024 * 1024 + 1)
    reply = await consented.reply_to(
        member,
        lambda: consented.sandbox.send_document(member, oversized, "voice.ogg", "audio/ogg"),
    )
    assert reply.text is not None and "20 MB" in reply.text
    assert draft_for(consented.services.db, member.id) is None


async def test_a_download_telegram_fails_is_asked_for_again_and_logs_no_token(
    consented: BotWorld, member: SandboxUser, caplog: pytest.LogCaptureFixture
) -> None:
    """A file URL holds the bot token: a 502 from Telegram's file server failed the handler
    with httpx's error, which names the URL, into the log, and the member read only that
    something went wrong."""
    await consented.sandbox.schedule_faults("file", ["server-error"])
    reply = await consented.reply_to(
        member, partial(consented.sandbox.send_photo, member, sample_portrait_jpeg())
    )
    assert reply.text == ZH_HANT(
        "I could not fetch that file from Telegram just now. Please send it again."
    )
    assert draft_for(consented.services.db, member.id) is None
    assert TOKEN.split(":")[1] not in caplog.text
    again = await consented.reply_to(
        member, partial(consented.sandbox.send_photo, member, sample_portrait_jpeg())
    )
    assert again.text == ZH_HANT("Thank you, I have the photo.")


async def test_a_video_being_judged_holds_up_no_one_else(
    consented: BotWorld, member: SandboxUser, tmp_path: Path
) -> None:
    """Videos are judged in a worker process beside other chats: a stranger's /help is answered
    while the member's sideways phone video is still being judged (its face found once turned
    upright); a 5-minute clip that declares no length is refused with its numbers."""
    sandbox = consented.sandbox
    stranger = SandboxUser(5009, "Lee", language_code="en")
    upright = np.asarray(stand_in_portrait((540, 960)))
    phone = video(tmp_path / "phone.mp4", [np.rot90(upright, k=1)] * 50, steady_times(2.0),
                  rotation=-90).read_bytes()  # fmt: skip
    before = max((m.message_id for m in await sandbox.sent_messages(member.id)), default=0)
    await sandbox.send_video(member, phone, duration=2, width=960, height=540)
    await consented.reply_to(stranger, lambda: sandbox.send_text(stranger, "/help"))
    assert [m for m in await sandbox.sent_messages(member.id) if m.message_id > before] == []
    judged = await sandbox.wait_for_message(
        member.id, lambda m: m.message_id > before and m.text is not None, timeout=60
    )
    assert ZH_HANT("I took their photo from the clearest moment of the video.") in (
        judged.text or ""
    )

    live = undeclared_length_mkv(tmp_path / "live.mkv", 300.0).read_bytes()
    refused = await consented.reply_to(
        member, lambda: sandbox.send_video(member, live, duration=0, width=16, height=16)
    )
    assert refused.text == ZH_HANT(  # a video: not "that recording (錄音)"
        "That video is {seconds:.0f} s long; I can use at most {maximum:.0f} s. "
        "Please send a shorter part."
    ).format(seconds=299, maximum=120)


async def test_a_too_short_voice_note_gets_the_numbers(
    consented: BotWorld, member: SandboxUser
) -> None:
    short = sample_voice_ogg("好。")
    reply = await consented.reply_to(
        member, lambda: consented.sandbox.send_voice(member, short, duration=1)
    )
    assert reply.text is not None and reply.text.startswith("這段錄音只有")


async def test_each_voice_note_counts_the_speech_and_asks_for_more_until_there_is_enough(
    consented: BotWorld, member: SandboxUser, portrait_jpeg: bytes
) -> None:
    """About 14 s of clear speech a note: the first is short of the 20 s recommended, and the
    family is told more helps; with the second they have enough, and are told nothing more."""
    sandbox = consented.sandbox
    await consented.reply_to(
        member, lambda: sandbox.send_photo(member, portrait_jpeg), until=_is_text(ASKS_FOR_VOICE)
    )
    note = sample_voice_ogg()
    speech = re.compile(r"([0-9.]+) 秒清楚的說話聲")
    more = ZH_HANT(
        "You can send more recordings of them at any time: the more of their voice I hear, the "
        "closer the greeting's voice comes to theirs."
    )
    first = await consented.reply_to(member, lambda: sandbox.send_voice(member, note, 14))
    assert (first.text or "").startswith("謝謝，語音收到了：") and (first.text or "").endswith(more)
    first_s = float(speech.findall(first.text or "")[0])
    assert 10 < first_s < 20
    second = await consented.reply_to(
        member, lambda: sandbox.send_voice(member, note, 14), until=_after([first])
    )
    together = re.fullmatch(
        r"謝謝，語音收到了：其中有 ([0-9.]+) 秒清楚的說話聲。"
        r"加上之前的語音，一共 ([0-9.]+) 秒，建議 20 秒。",
        second.text or "",
    )
    assert together is not None, second.text  # and no more asked for
    assert float(together[1]) == first_s and abs(float(together[2]) - 2 * first_s) <= 0.1


async def test_names_longer_than_the_limit_are_refused(
    consented: BotWorld, member: SandboxUser, portrait_jpeg: bytes, voice_ogg: bytes
) -> None:
    sandbox = consented.sandbox
    offer = await _give_media(consented, member, portrait_jpeg, voice_ogg)
    await consented.reply_to(member, lambda: press_festival(consented, member, offer, "mid-autumn"))
    reply = await consented.reply_to(
        member, lambda: sandbox.send_text(member, "外" * (MAX_RECIPIENT_CHARS + 1))
    )
    assert reply.text == ZH_HANT("Please type a name of at most {limit} characters.").format(
        limit=MAX_RECIPIENT_CHARS
    )
    draft = draft_for(consented.services.db, member.id)
    assert draft is not None and draft.recipient is None


async def test_text_before_any_photo_gets_guidance_and_cancel_leaves_any_flow(
    consented: BotWorld, member: SandboxUser, portrait_jpeg: bytes
) -> None:
    sandbox = consented.sandbox
    reply = await consented.reply_to(member, lambda: sandbox.send_text(member, "hello"))
    assert reply.text == ZH_HANT("To make a greeting, start by sending a photo of their face.")
    await consented.reply_to(
        member, lambda: sandbox.send_photo(member, portrait_jpeg), until=_is_text(ASKS_FOR_VOICE)
    )
    # A file no step takes is answered with the step's question, not "send /help".
    archive = b"PK\x05\x06" + bytes(18)
    asked = await consented.reply_to(
        member,
        lambda: sandbox.send_document(member, archive, "photos.zip", "application/zip"),
        until=_is_text(ASKS_FOR_VOICE),
    )
    said = [m.text for m in await sandbox.sent_messages(member.id)][-2:]
    assert said == [ZH_HANT("I cannot use this kind of message here."), asked.text]
    reply = await consented.reply_to(member, lambda: sandbox.send_text(member, "/cancel"))
    assert reply.text == ZH_HANT("I have discarded the greeting you were preparing.")
    assert draft_for(consented.services.db, member.id) is None
    # A greeting discarded before it was placed was never ordered: it is not listed.
    listed = await consented.reply_to(member, lambda: sandbox.send_text(member, "/orders"))
    assert listed.text == ZH_HANT("You have not ordered a greeting yet.")
    start = await consented.reply_to(member, lambda: sandbox.send_text(member, "/start"))
    assert "\n" not in (start.text or "")  # no "Your latest greeting: ..."

    # /cancel stops a greeting while it renders, through the order desk.
    await confirm(consented, member, await prepare_order(consented, member, "外婆"))
    db = consented.services.db
    [placed] = orders_where(db, "user_id = ? AND recipient = ?", [member.id, "外婆"])
    for _ in range(int(RENDER_WAIT_S / 0.05)):
        if get_order(db, placed.id).status == OrderStatus.RENDERING:
            break
        await asyncio.sleep(0.05)
    reply = await consented.reply_to(member, lambda: sandbox.send_text(member, "/cancel"))
    assert reply.text == ZH_HANT("I have cancelled the greeting for {recipient}.").format(
        recipient="外婆"
    )
    await consented.services.orders.settle()
    assert get_order(db, placed.id).status == OrderStatus.CANCELLED
    assert [m for m in await sandbox.sent_messages(member.id) if m.method == "sendVideo"] == []

    # /start resumes: where the member is, and a new greeting may reuse the last photo.
    card = await consented.reply_to(
        member, lambda: sandbox.send_text(member, "/start"),
        until=lambda m: m.reply_markup is not None,
    )  # fmt: skip
    started = [m.text for m in await sandbox.sent_messages(member.id)][-2:]
    assert started[0] == ZH_HANT("Family space for {subject}.").format(subject="外公") + "\n" + (
        ZH_HANT("Your latest greeting: {status}").format(
            status=status_line(ZH_HANT, "zh-Hant", get_order(db, placed.id))
        )
    )
    assert card.text == ZH_HANT(
        "To make a greeting, send a photo of their face, or use the last one again."
    )
    await sandbox.press_button(member, card.message_id, "photo:last")
    await sandbox.wait_for_message(member.id, lambda m: m.reply_markup is not None
                                   and "tpl:" in json.dumps(m.reply_markup))  # fmt: skip
    draft = draft_for(db, member.id)
    assert draft is not None and draft.portrait_id == placed.portrait_id

    # /cancel leaves the set-up of a family space: the half-made space is gone.
    starter = SandboxUser(5105, "阿華", language_code="zh-hant")
    await consented.reply_to(starter, lambda: sandbox.send_text(starter, "/newspace"))
    reply = await consented.reply_to(starter, lambda: sandbox.send_text(starter, "/cancel"))
    assert reply.text == ZH_HANT(
        "I have stopped creating the family space. Send /newspace to start again."
    )
    assert membership_of(db, starter.id) is None


@pytest.mark.sandbox_limits(chat_burst=1, chat_messages_per_second=1.0)
async def test_flood_control_pauses_are_waited_out_not_dropped(bot_world: BotWorld) -> None:
    member = SandboxUser(5104, "Ann", language_code="en")
    sandbox = bot_world.sandbox
    for _ in range(3):
        await sandbox.send_text(member, "/help")
    replies: list[SentMessage] = []
    while len(replies) < 3:
        replies.append(await sandbox.wait_for_message(member.id, _after(replies), timeout=15))
    assert all(reply.text == help_text(EN) for reply in replies)
    assert any(error.code == 429 for error in await sandbox.errors())


async def test_an_order_queued_before_a_restart_is_delivered_after_it(
    stand_in: BotApiStandIn,
    sandbox: SandboxClient,
    tmp_path: Path,
    member: SandboxUser,
    portrait_jpeg: bytes,
    voice_ogg: bytes,
) -> None:
    settings = settings_for(stand_in, tmp_path / "bot-data")
    clock = FakeClock()
    async with polling(build_application(settings, clock)) as application:
        world = BotWorld(stand_in, sandbox, application, settings.data_dir, clock)
        await living_family(world, member, GRANDPA)
        offer = await _give_media(world, member, portrait_jpeg, voice_ogg)
        await world.reply_to(member, lambda: press_festival(world, member, offer, "mid-autumn"))
        draft = draft_for(world.services.db, member.id)
        assert draft is not None
        # The bot stops after the order is queued but before its worker picked it up.
        draft = update_order(world.services.db, draft.id, recipient="外婆")
        move(world.services.db, world.services.audit, draft, OrderStatus.QUEUED, member.id)

    async with polling(build_application(settings, clock)) as application:
        world = BotWorld(stand_in, sandbox, application, settings.data_dir, clock)
        video = await send_it(world, member, wait_s=RENDER_WAIT_S)
        assert video.duration is not None and video.duration > 0
        await world.services.orders.settle()
        assert get_order(world.services.db, draft.id).status == OrderStatus.DELIVERED


async def test_the_chat_is_answered_while_the_greeting_uploads(
    consented: BotWorld, member: SandboxUser
) -> None:
    """Send it hands the upload to the order's own task: a slow upload of the final video
    keeps neither the member's next message waiting nor the order's end out of ``settle()``."""
    sandbox = consented.sandbox
    await order_greeting(consented, member)
    preview = await sandbox.wait_for_message(member.id, is_preview, timeout=RENDER_WAIT_S)
    await sandbox.hold_responses("sendVideo")
    await sandbox.press_button(member, preview.message_id, SEND_PREFIX + order_of(preview))
    [held] = await sandbox.wait_held(timeout=15)
    help_reply = await consented.reply_to(member, lambda: sandbox.send_text(member, "/help"))
    assert help_reply.text == help_text(ZH_HANT)

    settled = asyncio.get_running_loop().create_task(consented.services.orders.settle())
    await asyncio.sleep(0.5)
    assert not settled.done(), "settle() returned while the delivery had no answer yet"
    order = get_order(consented.services.db, order_of(preview))
    assert order.status == OrderStatus.DELIVERING
    await sandbox.release_held()
    await settled
    order = get_order(consented.services.db, order.id)
    assert (order.status, order.delivered_message_id) == (OrderStatus.DELIVERED, held.message_id)
