"""The offline demo: a scripted family goes through the trust flow and orders a greeting.

A granddaughter creates a family space for her living grandfather and shares her phone number,
which gets her his invite link; he joins through it on his own account, shares his phone number
and consents by reading the one-time phrase aloud; she says how they are related and orders.
Everything runs on loopback: the Bot API stand-in, the bot (python-telegram-bot polling it over
HTTP) and the engine in a render process. The demo writes what both of them saw (a transcript)
and the video the bot delivered, then stops everything it started. The bot's data (its keys,
database and vault) stays beside the video, so ``tuanyuan detect`` can recognise the greeting
afterwards, as it would any the bot delivered.
"""

import asyncio
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

from bot.app import build_application, polling
from bot.config import ConfigError, Settings, read_watermark_key
from bot.demo.samples import SAMPLE_VOICE_TEXT, sample_portrait_jpeg, sample_voice_ogg
from bot.demo.transcript import Transcript
from bot.flows.family import LANGUAGES_DONE, SUBJECT_LANGUAGE_PREFIX, SUBJECT_STATUS_PREFIX
from bot.flows.order import MORE_FESTIVALS, TEMPLATE_PREFIX, asks_for_voice, place_button
from bot.i18n import gettext_for, language_from_telegram
from bot.orders import SEND_PREFIX
from bot.sandbox import BotApiStandIn, SandboxClient, SandboxUser, SentMessage
from engine import Language

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DemoFamily:
    """One scripted family, written in one of the bot's languages: the member, her grandfather
    (alive, on his own account) and what each of them types, says and presses."""

    member: SandboxUser
    relation: str  # what she types when asked how she is related
    subject: SandboxUser  # his account; his first name is also what she calls him
    spoken_language: str  # the button she presses for the language he speaks
    recipient: str  # the greeting is for her
    voice_text: str  # what her voice note of him says (read by the default voice)


DEMO_MEMBER_PHONE = "+886912000001"
DEMO_SUBJECT_PHONE = "+886912000002"
# The member writes to the bot in her Telegram's language; the family is the same in each.
DEMO_FAMILIES: dict[Language, DemoFamily] = {
    "zh-Hant": DemoFamily(
        member=SandboxUser(424242, "美玲", language_code="zh-hant", username="meiling"),
        relation="孫女",
        subject=SandboxUser(434343, "外公", language_code="zh-hant"),
        spoken_language="cmn",
        recipient="外婆",
        voice_text=SAMPLE_VOICE_TEXT,
    ),
    "zh-Hans": DemoFamily(
        member=SandboxUser(424242, "美玲", language_code="zh-hans", username="meiling"),
        relation="孙女",
        subject=SandboxUser(434343, "外公", language_code="zh-hans"),
        spoken_language="cmn",
        recipient="外婆",
        voice_text=(
            "大家好，我是外公。今天天气很好，我在院子里种了一些花。"
            "你们要好好照顾自己，记得多喝水，早点休息。我很想念你们。"
        ),
    ),
    "en": DemoFamily(
        member=SandboxUser(424242, "Lily", language_code="en", username="lily"),
        relation="granddaughter",
        subject=SandboxUser(434343, "Grandpa", language_code="en"),
        spoken_language="en",
        recipient="Grandma",
        voice_text=(
            "Hello everyone, it's Grandpa. The weather is lovely today, and I planted some "
            "flowers in the garden. Look after yourselves, drink plenty of water and get some "
            "rest. I miss you all."
        ),
    ),
}
DEMO_TEMPLATE = "mid-autumn"
# Generous: the render runs on whatever machine the demo is on, two cores included.
RENDER_TIMEOUT_S = 600.0
REPLY_TIMEOUT_S = 30.0


@dataclass
class _Outcome:
    transcript: Transcript
    video: bytes | None = None
    thumbnail: bytes | None = None


DATA_DIR = "bot-data"  # in the output folder


def run_demo(out_dir: Path, language: Language = "zh-Hant") -> int:
    """Play the scripted order; write ``transcript.md``/``.json``, ``greeting.mp4`` and the
    bot's data in ``bot-data``, replacing a previous run's.

    The greeting is marked with the operator's watermark key when TUANYUAN_WATERMARK_KEY (or
    _FILE) is set, as the bot would mark it, else with one derived from the demo's own vault key.
    """
    try:
        watermark_key = read_watermark_key(dict(os.environ))
    except ConfigError as error:
        print(f"tuanyuan demo: {error}", file=sys.stderr)
        return 2
    data_dir = out_dir / DATA_DIR
    shutil.rmtree(data_dir, ignore_errors=True)  # a new family each run: the script is fixed
    outcome = asyncio.run(_run(data_dir, watermark_key, DEMO_FAMILIES[language]))
    out_dir.mkdir(parents=True, exist_ok=True)
    outcome.transcript.write(out_dir)
    if outcome.video is None:
        return 1
    greeting = out_dir / "greeting.mp4"
    greeting.write_bytes(outcome.video)
    if outcome.thumbnail is not None:
        (out_dir / "thumbnail.jpg").write_bytes(outcome.thumbnail)
    log.info("demo.done", out_dir=str(out_dir))
    print(f"greeting: {greeting}\nthe bot's keys and records: {data_dir}\n"
          f"check it: tuanyuan detect {greeting} --data-dir {data_dir}")  # fmt: skip
    return 0


async def _run(data_dir: Path, watermark_key: bytes | None, family: DemoFamily) -> _Outcome:
    token = f"{secrets.randbelow(10**9)}:{secrets.token_urlsafe(24)}"
    outcome = _Outcome(Transcript())
    with tempfile.TemporaryDirectory(prefix="tuanyuan-demo-") as state_dir:
        async with BotApiStandIn(token, storage_dir=Path(state_dir) / "stand-in") as stand_in:
            settings = Settings(
                token=token,
                data_dir=data_dir,
                api_base_url=stand_in.api_base_url,
                file_base_url=stand_in.file_base_url,
                watermark_key=watermark_key,
            )
            async with (
                polling(build_application(settings)),
                SandboxClient(stand_in.root_url) as sandbox,
            ):
                try:
                    video = await _play(sandbox, outcome.transcript, family)
                except TimeoutError as error:
                    log.error("demo.timeout", error=str(error))
                    return outcome
                outcome.video = await sandbox.download(video.file_id or "")
                if video.thumbnail_file_id:
                    outcome.thumbnail = await sandbox.download(video.thumbnail_file_id)
    return outcome


async def _play(sandbox: SandboxClient, transcript: Transcript, family: DemoFamily) -> SentMessage:
    member, subject = family.member, family.subject

    async def step(
        user: SandboxUser,
        description: str,
        act: Callable[[], Awaitable[object]],
        until: Callable[[SentMessage], bool],
        wait_s: float = REPLY_TIMEOUT_S,
    ) -> SentMessage:
        seen = transcript.last_message_id(user.id)
        transcript.person(user, description)
        await act()
        reply = await sandbox.wait_for_message(
            user.id, lambda m: m.message_id > seen and until(m), timeout=wait_s
        )
        # Both chats: what one person did may reach the other (the grandfather's consent tells
        # her), and the transcript keeps it where it happened, not where she next speaks.
        for person in (user, subject if user == member else member):
            transcript.bot(person, await sandbox.sent_messages(person.id))
        return reply

    async def press(
        message: SentMessage,
        data: str,
        until: Callable[[SentMessage], bool],
        narration: str = "[presses {button}]",
        wait_s: float = REPLY_TIMEOUT_S,
    ) -> SentMessage:
        """The member presses a button, narrated with its label as she reads it."""
        return await step(
            member,
            narration.format(button=_button_text(message, data)),
            lambda: sandbox.press_button(member, message.message_id, data),
            until,
            wait_s,
        )

    language = language_from_telegram(member.language_code)
    _ = gettext_for(language)
    voice_asked = asks_for_voice(_)

    # The member creates a family space for a living grandfather...
    await step(member, "/start", lambda: sandbox.send_text(member, "/start"), _is_text)
    await step(member, "/newspace", lambda: sandbox.send_text(member, "/newspace"), _is_text)
    status = await step(
        member,
        subject.first_name,
        lambda: sandbox.send_text(member, subject.first_name),
        _has_buttons,
    )
    languages = await press(status, SUBJECT_STATUS_PREFIX + "living", _has_buttons)
    spoken = SUBJECT_LANGUAGE_PREFIX + family.spoken_language
    await sandbox.press_button(member, languages.message_id, spoken)
    await press(
        languages,
        LANGUAGES_DONE,
        lambda m: bool(m.reply_markup and "keyboard" in m.reply_markup),
        f"[presses {_button_text(languages, spoken)}, then {{button}}]",
    )
    # She shares her own phone number first: only then does she get her grandfather's link...
    invite = await step(
        member,
        "[shares her own phone number]",
        lambda: sandbox.send_contact(member, DEMO_MEMBER_PHONE, member.id, member.first_name),
        lambda m: "start=" in (m.text or ""),
    )
    payload = (invite.text or "").rsplit("start=", 1)[1].split()[0]

    # ...who opens the invite link on his own phone and consents by reading the phrase aloud.
    await step(
        subject,
        f"[opens the invite link: /start {payload}]",
        lambda: sandbox.send_text(subject, f"/start {payload}"),
        _has_buttons,
    )
    wording = await step(
        subject,
        "[shares his own phone number]",
        lambda: sandbox.send_contact(subject, DEMO_SUBJECT_PHONE, subject.id, subject.first_name),
        _is_text,
    )
    phrase = (wording.text or "").splitlines()[-1]
    statement = sample_voice_ogg(phrase, language_from_telegram(subject.language_code))
    await step(
        subject,
        f"[voice note reading: {phrase}]",
        lambda: sandbox.send_voice(subject, statement, duration=8),
        _is_text,
    )

    # The member says how she is related, then orders the greeting.
    await step(
        member, family.relation, lambda: sandbox.send_text(member, family.relation), _is_text
    )
    await step(
        member,
        "[photo: sample portrait]",
        lambda: sandbox.send_photo(member, sample_portrait_jpeg()),
        lambda m: m.text == voice_asked,
    )
    keyboard = await step(
        member,
        "[voice note: sample voice]",
        lambda: sandbox.send_voice(
            member, sample_voice_ogg(family.voice_text, language), duration=12
        ),
        _has_buttons,
    )
    if TEMPLATE_PREFIX + DEMO_TEMPLATE not in str(keyboard.reply_markup):
        # Not among the festivals coming up: the member opens the rest, as anyone would.
        transcript.person(member, f"[presses {_button_text(keyboard, MORE_FESTIVALS)}]")
        await sandbox.press_button(member, keyboard.message_id, MORE_FESTIVALS)
        keyboard = await sandbox.wait_for_message(
            member.id,
            lambda m: (
                m.message_id == keyboard.message_id
                and TEMPLATE_PREFIX + DEMO_TEMPLATE in str(m.reply_markup)
            ),
        )
    await press(keyboard, TEMPLATE_PREFIX + DEMO_TEMPLATE, _is_text)
    confirmation = await step(
        member, family.recipient, lambda: sandbox.send_text(member, family.recipient), _has_buttons
    )
    preview = await press(
        confirmation,
        place_button(confirmation.reply_markup),
        lambda m: m.method == "sendVideo",
        wait_s=RENDER_TIMEOUT_S,
    )
    delivered = await press(
        preview,
        SEND_PREFIX + _order_of(preview),
        lambda m: m.method == "sendVideo",
        "[watches the preview, presses {button}]",
    )
    # The status line's last word comes after the video: the transcript ends with it.
    done = _("Delivered. You can forward it to {recipient}.").format(recipient=family.recipient)
    await sandbox.wait_for_message(member.id, lambda m: done in (m.text or ""))
    transcript.bot(member, await sandbox.sent_messages(member.id))
    return delivered


def _order_of(preview: SentMessage) -> str:
    """The order id a preview's buttons carry (the demo presses them as a person would)."""
    assert preview.reply_markup is not None
    data: str = preview.reply_markup["inline_keyboard"][0][0]["callback_data"]
    return data.rpartition(":")[2]


def _button_text(message: SentMessage, data: str) -> str:
    """The label of the button that sends ``data``, as the member reads it."""
    assert message.reply_markup is not None
    rows = message.reply_markup["inline_keyboard"]
    return next(
        str(button["text"]) for row in rows for button in row if button["callback_data"] == data
    )


def _has_buttons(message: SentMessage) -> bool:
    return message.reply_markup is not None


def _is_text(message: SentMessage) -> bool:
    return message.text is not None
