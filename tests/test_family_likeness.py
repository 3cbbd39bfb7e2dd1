"""The subject's likeness as the family sends it, over HTTP as Telegram would: videos judged on
arrival, voice notes pooled across greetings, one speaker profile kept and reused until the
notes change, Cantonese when the subject speaks it, and nothing left after revocation."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from bot.app import build_application, polling
from bot.demo.samples import sample_portrait_jpeg, sample_voice_ogg
from bot.family.likeness import (
    current_profile,
    profile_key,
    profiles_of,
    speech_seconds,
    voice_notes,
)
from bot.family.spaces import membership_of
from bot.flows.order import ALBUM_SETTLE_S
from bot.hostile import size_switching_mkv, titled
from bot.i18n import gettext_for
from bot.sandbox import BotApiStandIn, SandboxClient, SandboxUser, SentMessage
from bot.storage import MediaKind, OrderStatus
from bot.storage.media import space_media
from bot.storage.orders import draft_for, get_order, orders_where
from engine.likeness import EspeakWorldVoice, MouthTrack, SpeakerProfile, TalkingPortrait
from engine.likeness._synthetic import FACES, face_photo
from tests.auxil.bot import ADMIN, BotWorld, FakeClock, settings_for
from tests.auxil.family import (
    confirm,
    festival_question,
    leftovers,
    living_family,
    place,
    press_festival,
    says,
    send_it,
    subject_data,
)
from tests.auxil.likeness import write_clip
from tests.auxil.media import phone_recording, video
from tests.auxil.templates import tiny_template
from tests.auxil.xtts import tiny_xtts

ZH_HANT = gettext_for("zh-Hant")
MEMBER = SandboxUser(7001, "美玲", language_code="zh-hant")
GRANDPA = SandboxUser(7002, "外公", language_code="zh-hant")
RENDER_WAIT_S = 60.0
CLIP_SIZE = (360, 480)
CLIP_FPS = 10
ASKS_FOR_VOICE = (
    "Now send a recording of them speaking: a voice message, an audio file or a video. "
    "About 20 seconds is best."
)
ASKS_FOR_RECIPIENT = "Who is the greeting for? Type their name, for example: {example}."
ASKS_LIKENESS = "Should the greeting show {subject}'s video, or their photo brought to life?"


def _clip(path: Path, frames: Iterable[npt.NDArray[np.uint8]]) -> bytes:
    return write_clip(path, frames, CLIP_FPS).read_bytes()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Grandpa listening (usable), talking (not under a narration; once silent, once with his
    voice), and a wall (no face)."""
    folder = tmp_path_factory.mktemp("clips")
    photo = face_photo(FACES[2]).resize(CLIP_SIZE)
    speech = EspeakWorldVoice().synthesize(["中秋節快樂，祝你身體健康。"], "zh-Hant", None)
    times = [i / CLIP_FPS for i in range(40)]
    listening = TalkingPortrait(photo, MouthTrack.silent(), seed=4)
    talking = TalkingPortrait(photo, MouthTrack.from_speech(speech.samples, speech.rate), seed=4)
    wall = np.asarray(Image.new("RGB", CLIP_SIZE, (120, 110, 100)), np.uint8)
    voice = (speech.samples[: len(times) * speech.rate // CLIP_FPS], speech.rate)
    return {
        "listening": _clip(folder / "listening.mp4", (listening.frame(t) for t in times)),
        "talking": _clip(folder / "talking.mp4", (talking.frame(t) for t in times)),
        # An old family video, its title written by the camera in GBK, not UTF-8.
        "talking aloud": titled(
            video(
                folder / "talking-aloud.mp4", [talking.frame(t) for t in times], times, audio=voice
            ),
            "外公八十大壽".encode("gbk"),
        ).read_bytes(),
        "wall": _clip(folder / "wall.mp4", (wall for _ in times)),
    }


@pytest.fixture(scope="module")
def voice_ogg() -> bytes:
    return sample_voice_ogg("我很想念你們。祝你們中秋快樂，身體健康。")


def _says(english: str, **values: str) -> Callable[[SentMessage], bool]:
    return says(MEMBER, english, **values)


async def _send_video(world: BotWorld, clip: bytes, until: Callable[[SentMessage], bool]
                      ) -> SentMessage:  # fmt: skip
    return await world.reply_to(
        MEMBER,
        lambda: world.sandbox.send_video(MEMBER, clip, duration=4, width=360, height=480),
        until=until,
    )


async def _press(world: BotWorld, offer: SentMessage, data: str,
                 until: Callable[[SentMessage], bool]) -> SentMessage:  # fmt: skip
    async def act() -> None:
        if data.startswith("tpl:"):
            await press_festival(world, MEMBER, offer, data.removeprefix("tpl:"))
        else:
            await world.sandbox.press_button(MEMBER, offer.message_id, data)

    return await world.reply_to(MEMBER, act, until=until)


async def _deliver(world: BotWorld, recipient: str) -> SentMessage:
    await place(world, MEMBER, recipient)
    video = await send_it(world, MEMBER, wait_s=RENDER_WAIT_S)
    await world.services.orders.settle()
    return video


def _space_id(world: BotWorld) -> str:
    member = membership_of(world.services.db, MEMBER.id)
    assert member is not None
    return member.space_id


async def test_a_family_video_carries_the_greeting_and_the_voice_profile_is_reused(
    bot_world: BotWorld, clips: dict[str, bytes], voice_ogg: bytes
) -> None:
    await living_family(bot_world, MEMBER, GRANDPA)
    sandbox, db = bot_world.sandbox, bot_world.services.db
    space_id = _space_id(bot_world)

    # A steady clip of him listening: kept for the greeting, and a still taken as his photo.
    verdict = await _send_video(bot_world, clips["listening"], _says(ASKS_FOR_VOICE))
    messages = [m.text or "" for m in await sandbox.sent_messages(MEMBER.id)]
    assert any(ZH_HANT("I took their photo from the clearest moment of the video.") in text
               for text in messages), messages  # fmt: skip
    assert verdict.text == ZH_HANT(ASKS_FOR_VOICE)
    assert len(space_media(db, space_id, MediaKind.FOOTAGE)) == 1
    draft = draft_for(db, MEMBER.id)
    assert draft is not None and draft.portrait_id is not None

    offer = await bot_world.reply_to(MEMBER, lambda: sandbox.send_voice(MEMBER, voice_ogg, 5),
                                     until=lambda m: m.reply_markup is not None)  # fmt: skip
    choice = await _press(bot_world, offer, "tpl:mid-autumn", _says(ASKS_LIKENESS, subject="外公"))
    await _press(bot_world, choice, "look:footage", _says(ASKS_FOR_RECIPIENT))
    await _deliver(bot_world, "外婆")
    [first] = orders_where(db, "status = ?", [OrderStatus.DELIVERED.value])
    assert (first.likeness, first.voice) == ("footage", "espeak-world")
    [profile] = profiles_of(db, space_id)
    assert current_profile(db, space_id, profile_key(voice_notes(db, space_id))) == profile

    # The next greeting needs no new voice note, and voices it from the same profile.
    festivals = await bot_world.reply_to(
        MEMBER, lambda: sandbox.send_photo(MEMBER, sample_portrait_jpeg()),
        until=lambda m: m.reply_markup is not None,
    )  # fmt: skip
    choice = await _press(bot_world, festivals, "tpl:qixi", _says(ASKS_LIKENESS, subject="外公"))
    await _press(bot_world, choice, "look:portrait", _says(ASKS_FOR_RECIPIENT))
    await _deliver(bot_world, "外婆")
    second = next(o for o in orders_where(db, "status = ?", [OrderStatus.DELIVERED.value])
                  if o.id != first.id)  # fmt: skip
    assert second.likeness == "portrait"
    assert profiles_of(db, space_id) == [profile]

    # Another note makes that profile stale: it no longer matches the notes it came from.
    pooled = await bot_world.reply_to(
        MEMBER, lambda: sandbox.send_voice(MEMBER, voice_ogg, 5),
        until=lambda m: "加上之前的語音" in (m.text or ""),
    )  # fmt: skip
    assert pooled.text is not None and "建議 20 秒" in pooled.text
    assert current_profile(db, space_id, profile_key(voice_notes(db, space_id))) is None

    # Revocation leaves nothing of the clip, the notes or the profile.
    ids, blobs = subject_data(bot_world, space_id)
    assert {profile} <= ids and len(blobs) == len(ids)
    # (Before it, GRANDPA was told of the greeting sent: the question is the message with the
    # confirmation button.)
    warning = await bot_world.reply_to(
        GRANDPA,
        lambda: sandbox.send_text(GRANDPA, "/revoke"),
        until=lambda m: "revoke:yes" in str(m.reply_markup),
    )
    await bot_world.reply_to(
        GRANDPA, lambda: sandbox.press_button(GRANDPA, warning.message_id, "revoke:yes"),
        until=lambda m: "影片片段：1" in (m.text or ""),
    )  # fmt: skip
    assert leftovers(bot_world, ids, blobs) == []
    assert get_order(db, first.id).status == OrderStatus.REVOKED


async def test_a_clip_of_them_talking_gives_a_photo_but_is_not_shown(
    bot_world: BotWorld, clips: dict[str, bytes]
) -> None:
    await living_family(bot_world, MEMBER, GRANDPA)
    reply = await _send_video(bot_world, clips["talking"], lambda m: "正在說話" in (m.text or ""))
    assert reply.text is not None and reply.text.startswith(
        ZH_HANT(
            "{subject} is talking in this video. I will not put other words in their mouth, so "
            "I cannot show it under the greeting: a clip of them listening or smiling works best."
        ).format(subject="外公")
    )
    db = bot_world.services.db
    assert space_media(db, _space_id(bot_world), MediaKind.FOOTAGE) == []
    assert voice_notes(db, _space_id(bot_world)) == []  # a silent clip: no voice to take
    draft = draft_for(db, MEMBER.id)
    assert draft is not None and draft.portrait_id is not None


async def test_a_video_of_them_talking_gives_their_voice_too(
    bot_world: BotWorld, clips: dict[str, bytes]
) -> None:
    """Lips seen moving and speech heard: the video's sound is kept as a recording of their
    voice (the picture, as above, is not shown under other words), and no voice note is asked
    for."""
    await living_family(bot_world, MEMBER, GRANDPA)
    reply = await _send_video(
        bot_world, clips["talking aloud"], lambda m: "正在說話" in (m.text or "")
    )
    assert reply.text is not None
    heard = ZH_HANT(
        "I took their voice from the video too: {speech:.1f} s of clear speech "
        "of the {recommended:.0f} s recommended."
    ).split("{speech")[0]
    assert heard in reply.text, reply.text
    db, space_id = bot_world.services.db, _space_id(bot_world)
    [kept] = voice_notes(db, space_id)
    # Its sound alone is kept: nothing of the picture their voice does not need.
    assert kept["mime_type"] == "audio/ogg"
    with av.open(io.BytesIO(bot_world.services.vault.read_bytes(kept["id"]))) as sound:
        assert [stream.type for stream in sound.streams] == ["audio"]
    assert 1.0 < speech_seconds(db, space_id) < 4.5
    offer = await bot_world.sandbox.wait_for_message(
        MEMBER.id, lambda m: m.message_id > reply.message_id and m.reply_markup is not None
    )
    assert offer.text == ZH_HANT("Which festival is the greeting for?")
    # The greeting is voiced from it: his speaker profile learnt from the video's sound.
    await _press(bot_world, offer, "tpl:mid-autumn", _says(ASKS_FOR_RECIPIENT))
    await _deliver(bot_world, "外婆")
    [profile] = profiles_of(db, space_id)
    assert current_profile(db, space_id, profile_key(voice_notes(db, space_id))) == profile


async def test_videos_chosen_together_are_each_judged_and_asked_after_once(
    bot_world: BotWorld, clips: dict[str, bytes]
) -> None:
    """A photo and several videos picked in the gallery and sent at once: a verdict for each,
    in order, and the next question once, after the last (it was asked after each: "send a
    recording of them speaking" after the photo and the first video, then the festival once
    the second had given his voice), also when the last is refused."""
    await living_family(bot_world, MEMBER, GRANDPA)
    sandbox = bot_world.sandbox
    before = max(m.message_id for m in await sandbox.sent_messages(MEMBER.id))
    await sandbox.send_photo(MEMBER, sample_portrait_jpeg(), album="gallery")
    for name in ("listening", "talking aloud", "wall"):
        await sandbox.send_video(MEMBER, clips[name], duration=4, width=360, height=480,
                                 album="gallery")  # fmt: skip
    await sandbox.wait_for_message(
        MEMBER.id, lambda m: m.message_id > before and m.reply_markup is not None, timeout=60
    )
    await asyncio.sleep(3 * ALBUM_SETTLE_S)
    texts = [m.text or "" for m in await sandbox.sent_messages(MEMBER.id) if m.message_id > before]
    assert len(texts) == 5, texts
    assert texts[0] == ZH_HANT(
        "Thank you, I have the photo: the first clear one of those you sent."
    )
    kept = ZH_HANT(
        "Thank you, I have the video ({seconds:.0f} s). {subject}'s face is clear and "
        "steady in it, so the greeting can show this video."
    )
    assert texts[1].startswith(kept.split("{")[0]), texts[1]
    assert "正在說話" in texts[2]
    assert texts[3] == ZH_HANT(
        "I cannot find a face anywhere in that video. Please send a video in which they look "
        "toward the camera, or a photo."
    )
    assert texts[4] == ZH_HANT("Which festival is the greeting for?")
    # Another album, of one refused video: refused as a single one is, the question not asked
    # again (the last album's was asked already).
    refusal = await bot_world.reply_to(
        MEMBER,
        lambda: sandbox.send_video(
            MEMBER, clips["wall"], duration=4, width=360, height=480, album="another"
        ),
    )
    await asyncio.sleep(3 * ALBUM_SETTLE_S)
    later = [
        m.text for m in await sandbox.sent_messages(MEMBER.id) if m.message_id > refusal.message_id
    ]
    assert refusal.text == texts[3] and later == []


async def test_an_old_recording_sent_as_an_audio_file_is_their_voice(
    bot_world: BotWorld, tmp_path: Path
) -> None:
    """A family whose loved one has died has recordings, not new voice notes: what a phone's
    recorder kept (AAC in M4A, titled in GBK), sent as a file, is heard as a voice note is."""
    await living_family(bot_world, MEMBER, GRANDPA)
    sandbox = bot_world.sandbox
    await bot_world.reply_to(
        MEMBER, lambda: sandbox.send_photo(MEMBER, sample_portrait_jpeg()),
        until=_says(ASKS_FOR_VOICE),
    )  # fmt: skip
    recording = titled(
        phone_recording(tmp_path, "grandpa-2019", "我很想念你們。祝你們中秋快樂。", "cmn"),
        "外公 2019".encode("gbk"),
    )
    offer = await bot_world.reply_to(
        MEMBER,
        lambda: sandbox.send_document(MEMBER, recording.read_bytes(), recording.name, "audio/mp4"),
        until=lambda m: m.reply_markup is not None,
    )
    assert offer.text == ZH_HANT("Which festival is the greeting for?")
    db, space_id = bot_world.services.db, _space_id(bot_world)
    assert len(voice_notes(db, space_id)) == 1
    assert 1.5 < speech_seconds(db, space_id) < 6.0  # its speech heard and measured


async def test_a_video_without_a_face_is_explained_and_nothing_is_kept(
    bot_world: BotWorld, clips: dict[str, bytes]
) -> None:
    await living_family(bot_world, MEMBER, GRANDPA)
    no_face = ZH_HANT(
        "I cannot find a face anywhere in that video. Please send a video in which they look "
        "toward the camera, or a photo."
    )
    reply = await _send_video(bot_world, clips["wall"], lambda m: m.text == no_face)
    assert reply.text == no_face
    assert draft_for(bot_world.services.db, MEMBER.id) is None
    broken = await bot_world.reply_to(
        MEMBER,
        lambda: bot_world.sandbox.send_document(MEMBER, b"\0" * 4096, "clip.mp4", "video/mp4"),
    )
    assert broken.text == ZH_HANT(
        "I cannot play that file as a video. Please send an MP4 or MOV video."
    )
    assert space_media(bot_world.services.db, _space_id(bot_world), MediaKind.FOOTAGE) == []


async def test_a_video_too_large_or_too_short_is_answered_as_a_video(
    bot_world: BotWorld, tmp_path: Path
) -> None:
    """The limits a video shares with photos and recordings are said of a video: a member
    whose video was too wide read "that photo is too large", and one whose clip was too short
    was asked for "1 s of them speaking". (Too long: test_bot_flows.py.)"""
    await living_family(bot_world, MEMBER, GRANDPA)
    sandbox = bot_world.sandbox
    wide = size_switching_mkv(tmp_path / "wide.mkv", 8192, 64).read_bytes()
    too_large = await bot_world.reply_to(
        MEMBER, lambda: sandbox.send_document(MEMBER, wide, "wide.mkv", "video/x-matroska")
    )
    assert too_large.text == ZH_HANT(
        "That video's picture is too large for me to process safely. Please send a video "
        "of at most 7680 × 4320 pixels, as your phone's camera records it."
    )
    short = video(tmp_path / "short.mp4", [np.zeros((480, 360, 3), np.uint8)] * 5,
                  [0.0, 0.1, 0.2, 0.3, 0.4]).read_bytes()  # fmt: skip
    too_short = await _send_video(bot_world, short, lambda m: m.text is not None)
    assert too_short.text == ZH_HANT(
        "That video is only {seconds:.1f} s long. Please send one of at least "
        "{minimum:.0f} s, or a photo."
    ).format(seconds=0.5, minimum=1)  # five frames a tenth of a second apart
    assert space_media(bot_world.services.db, _space_id(bot_world), MediaKind.FOOTAGE) == []


async def test_a_subject_who_speaks_cantonese_is_asked_for_and_heard_in_it(
    bot_world: BotWorld, voice_ogg: bytes
) -> None:
    await living_family(bot_world, MEMBER, GRANDPA, languages=("cmn", "yue"))
    sandbox = bot_world.sandbox
    await bot_world.reply_to(MEMBER, lambda: sandbox.send_photo(MEMBER, sample_portrait_jpeg()),
                             until=_says(ASKS_FOR_VOICE))  # fmt: skip
    offer = await bot_world.reply_to(MEMBER, lambda: sandbox.send_voice(MEMBER, voice_ogg, 5),
                                     until=lambda m: m.reply_markup is not None)  # fmt: skip
    question = "Should {subject} speak Mandarin or Cantonese in the greeting?"
    choice = await _press(bot_world, offer, "tpl:mid-autumn", _says(question, subject="外公"))
    assert choice.reply_markup is not None
    labels = [b["text"] for row in choice.reply_markup["inline_keyboard"] for b in row]
    assert labels == ["普通話", "粵語"]
    await _press(bot_world, choice, "spk:yue", _says(ASKS_FOR_RECIPIENT))
    # Each question, read back later, shows what was chosen, and has no buttons left to press.
    answered = {m.message_id: m for m in await sandbox.sent_messages(MEMBER.id)}
    assert [(answered[m.message_id].text, answered[m.message_id].reply_markup)
            for m in (offer, choice)] == [("中秋節", None), ("粵語", None)]  # fmt: skip
    video = await _deliver(bot_world, "外婆")
    assert video.duration is not None and video.duration > 0
    [order] = orders_where(bot_world.services.db, "status = ?", [OrderStatus.DELIVERED.value])
    assert order.spoken_language == "yue"


async def test_a_greeting_speaks_a_language_the_subject_spoke_not_the_members(
    bot_world: BotWorld, voice_ogg: bytes
) -> None:
    """Her chat is in Chinese; her grandfather spoke only English: he greets in English, and
    the card says why its words are not in her language."""
    await living_family(bot_world, MEMBER, GRANDPA, languages=("en",))
    sandbox = bot_world.sandbox
    await bot_world.reply_to(MEMBER, lambda: sandbox.send_photo(MEMBER, sample_portrait_jpeg()),
                             until=_says(ASKS_FOR_VOICE))  # fmt: skip
    offer = await bot_world.reply_to(MEMBER, lambda: sandbox.send_voice(MEMBER, voice_ogg, 5),
                                     until=lambda m: m.reply_markup is not None)  # fmt: skip
    question = await _press(bot_world, offer, "tpl:mid-autumn", _says(ASKS_FOR_RECIPIENT))
    why = ZH_HANT("{subject} speaks {language}, so the greeting is in {language}.").format(
        subject="外公", language=ZH_HANT("English")
    )
    assert question.text == why + "\n\n" + ZH_HANT(ASKS_FOR_RECIPIENT).format(
        example=ZH_HANT("Grandma")
    )
    # His English voice would read her name in characters as noise: she is told how to type it.
    refused = await bot_world.reply_to(MEMBER, lambda: sandbox.send_text(MEMBER, "媽媽"))
    assert refused.text == ZH_HANT(
        "The greeting is in English, and its voice cannot read Chinese characters. Please "
        "type it in English letters, for example: Grandma."
    )
    card = await bot_world.reply_to(MEMBER, lambda: sandbox.send_text(MEMBER, "Mum"),
                                    until=lambda m: m.reply_markup is not None)  # fmt: skip
    assert (card.text or "").startswith(why)
    assert "Happy Mid-Autumn Festival, Mum!" in (card.text or "")
    await confirm(bot_world, MEMBER, card)
    video = await send_it(bot_world, MEMBER, wait_s=RENDER_WAIT_S)
    assert video.duration is not None and video.duration > 0
    await bot_world.services.orders.settle()
    [order] = orders_where(bot_world.services.db, "status = ?", [OrderStatus.DELIVERED.value])
    assert (order.language, order.spoken_language) == ("zh-Hant", "en")


async def test_an_english_reader_chooses_between_the_chinese_languages_the_subject_spoke(
    bot_world: BotWorld, voice_ogg: bytes
) -> None:
    reader = SandboxUser(7003, "Ann", language_code="en")
    await living_family(bot_world, reader, GRANDPA, languages=("cmn", "yue"))
    sandbox = bot_world.sandbox
    await bot_world.reply_to(reader, lambda: sandbox.send_photo(reader, sample_portrait_jpeg()),
                             until=says(reader, ASKS_FOR_VOICE))  # fmt: skip
    offer = await bot_world.reply_to(reader, lambda: sandbox.send_voice(reader, voice_ogg, 5),
                                     until=lambda m: m.reply_markup is not None)  # fmt: skip
    question = "Should 外公 speak Mandarin or Cantonese in the greeting?"
    choice = await bot_world.reply_to(
        reader, lambda: press_festival(bot_world, reader, offer, "mid-autumn"),
        until=lambda m: m.text == question,
    )  # fmt: skip
    assert choice.reply_markup is not None
    labels = [b["text"] for row in choice.reply_markup["inline_keyboard"] for b in row]
    assert labels == ["Mandarin", "Cantonese"]
    await bot_world.reply_to(
        reader, lambda: sandbox.press_button(reader, choice.message_id, "spk:yue"),
        until=says(reader, ASKS_FOR_RECIPIENT),
    )  # fmt: skip
    card = await bot_world.reply_to(reader, lambda: sandbox.send_text(reader, "外婆"),
                                    until=lambda m: m.reply_markup is not None)  # fmt: skip
    text = card.text or ""
    # She chose it: the note does not say he speaks only Cantonese.
    assert text.startswith("The greeting is in Cantonese, as you chose.")
    assert "外婆，中秋快樂！" in text  # Traditional characters, in which Cantonese is written
    assert "at most 60 characters" in text  # and the limit of Chinese words


async def test_a_member_who_switches_language_mid_greeting_is_answered_in_it(
    bot_world: BotWorld,
) -> None:
    """Her grandfather spoke Mandarin and English. Halfway through a greeting in Mandarin she
    switches her chat to English: the greeting follows (it is in English now, which he spoke),
    she is asked again for the name she had typed in characters, and the order speaks to her
    in English from then on (it kept her old language: card, status and captions in Chinese)."""
    await living_family(bot_world, MEMBER, GRANDPA, languages=("cmn", "en"))
    sandbox = bot_world.sandbox
    offer = await festival_question(bot_world, MEMBER)
    await _press(bot_world, offer, "tpl:mid-autumn", _says(ASKS_FOR_RECIPIENT))
    card = await bot_world.reply_to(MEMBER, lambda: sandbox.send_text(MEMBER, "外婆"),
                                    until=lambda m: m.reply_markup is not None)  # fmt: skip
    assert "外婆，中秋快樂！" in (card.text or "")

    menu = await bot_world.reply_to(MEMBER, lambda: sandbox.send_text(MEMBER, "/language"))
    asked = await bot_world.reply_to(
        MEMBER, lambda: sandbox.press_button(MEMBER, menu.message_id, "lang:en"),
        until=lambda m: m.text == ASKS_FOR_RECIPIENT.format(example="Grandma"),
    )  # fmt: skip
    # No note: he spoke English, her language now.
    assert asked.text == ASKS_FOR_RECIPIENT.format(example="Grandma")
    draft = draft_for(bot_world.services.db, MEMBER.id)
    assert draft is not None and (draft.language, draft.recipient) == ("en", None)
    card = await bot_world.reply_to(MEMBER, lambda: sandbox.send_text(MEMBER, "Grandma"),
                                    until=lambda m: m.reply_markup is not None)  # fmt: skip
    assert (card.text or "").startswith(
        "The greeting will say:\n\nHappy Mid-Autumn Festival, Grandma!"
    )
    status = await confirm(bot_world, MEMBER, card)
    assert (status.text or "").startswith("Greeting for Grandma (Mid-Autumn Festival)")


async def test_the_cloned_voice_speaks_and_moderators_see_which_voice_and_why(
    stand_in: BotApiStandIn,
    sandbox: SandboxClient,
    tmp_path: Path,
    voice_ogg: bytes,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One sentence to say: the random-weight model speaks a festival's greeting in a minute.
    tiny_template(tmp_path / "templates", "mid-autumn")
    monkeypatch.setenv("TUANYUAN_TEMPLATES_DIR", str(tmp_path / "templates"))
    weights = tiny_xtts(tmp_path / "xtts")
    settings = replace(settings_for(stand_in, tmp_path / "bot-data"), xtts_dir=weights,
                       voice_licence="noncommercial")  # fmt: skip
    clock = FakeClock()
    async with polling(build_application(settings, clock)) as application:
        world = BotWorld(stand_in, sandbox, application, settings.data_dir, clock)
        await living_family(world, MEMBER, GRANDPA)
        await world.reply_to(MEMBER, lambda: sandbox.send_photo(MEMBER, sample_portrait_jpeg()),
                             until=_says(ASKS_FOR_VOICE))  # fmt: skip
        offer = await world.reply_to(MEMBER, lambda: sandbox.send_voice(MEMBER, voice_ogg, 5),
                                     until=lambda m: m.reply_markup is not None)  # fmt: skip
        await _press(world, offer, "tpl:mid-autumn", _says(ASKS_FOR_RECIPIENT))
        await _deliver(world, "外婆")
        [order] = orders_where(world.services.db, "status = ?", [OrderStatus.DELIVERED.value])
        assert order.voice == "xtts"
        assert order.voice_reason == f"XTTS-v2 from {weights} on cpu"
        # The profile kept for the next greeting holds the cloning model's latents too.
        [profile_id] = profiles_of(world.services.db, _space_id(world))
        profile = SpeakerProfile.from_bytes(world.services.vault.read_bytes(profile_id))
        assert set(profile.extensions) == {"xtts"}

        report = await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "/renders"))
        assert report.text is not None
        assert f"TUANYUAN_XTTS_DIR): {weights}" in report.text
        assert "TUANYUAN_VOXCPM_DIR): not set" in report.text
        assert "(TUANYUAN_VOICE_LICENCE): noncommercial" in report.text
        assert f"{order.id} (delivered, mid-autumn): portrait, voice xtts: XTTS-v2" in report.text
        refused = await world.reply_to(MEMBER, lambda: sandbox.send_text(MEMBER, "/renders"))
        assert refused.text == ZH_HANT("This command is only for Tuanyuan's moderators.")
