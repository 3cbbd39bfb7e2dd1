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
from bot.demo.samples import sample_portrait_jpeg, sample_voice_ogg
from bot.demo.transcript import Transcript
from bot.flows.family import LANGUAGES_DONE, SUBJECT_LANGUAGE_PREFIX, SUBJECT_STATUS_PREFIX
from bot.flows.order import MORE_FESTIVALS, TEMPLATE_PREFIX, WORDS_PREFIX
from bot.i18n import gettext_for, language_from_telegram
from bot.orders import SEND_PREFIX
from bot.sandbox import BotApiStandIn, SandboxClient, SandboxUser, SentMessage

log = structlog.get_logger(__name__)

DEMO_MEMBER = SandboxUser(424242, "美玲", language_code="zh-hant", username="meiling")
DEMO_MEMBER_PHONE = "+886912000001"
DEMO_RELATION = "孫女"
# The grandfather, alive and far away, consents from his own (scripted) Telegram account.
DEMO_SUBJECT_NAME = "外公"
DEMO_SUBJECT = SandboxUser(434343, DEMO_SUBJECT_NAME, language_code="zh-hant")
DEMO_SUBJECT_PHONE = "+886912000002"
DEMO_TEMPLATE = "mid-autumn"
DEMO_RECIPIENT = "外婆"
# Generous: the render runs on whatever machine the demo is on, two cores included.
RENDER_TIMEOUT_S = 600.0
REPLY_TIMEOUT_S = 30.0


@dataclass
class _Outcome:
    transcript: Transcript
    video: bytes | None = None
    thumbnail: bytes | None = None


DATA_DIR = "bot-data"  # in the output folder


def run_demo(out_dir: Path) -> int:
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
    outcome = asyncio.run(_run(data_dir, watermark_key))
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


async def _run(data_dir: Path, watermark_key: bytes | None) -> _Outcome:
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
                    video = await _play(sandbox, outcome.transcript)
                except TimeoutError as error:
                    log.error("demo.timeout", error=str(error))
                    return outcome
                outcome.video = await sandbox.download(video.file_id or "")
                if video.thumbnail_file_id:
                    outcome.thumbnail = await sandbox.download(video.thumbnail_file_id)
    return outcome


async def _play(sandbox: SandboxClient, transcript: Transcript) -> SentMessage:
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
        transcript.bot(user, await sandbox.sent_messages(user.id))
        return reply

    member, subject = DEMO_MEMBER, DEMO_SUBJECT
    _ = gettext_for(language_from_telegram(member.language_code))
    asks_for_voice = _("Now send a voice note of them speaking. About 20 seconds is best.")

    # The member creates a family space for a living grandfather...
    await step(member, "/start", lambda: sandbox.send_text(member, "/start"), _is_text)
    await step(member, "/newspace", lambda: sandbox.send_text(member, "/newspace"), _is_text)
    status = await step(
        member,
        DEMO_SUBJECT_NAME,
        lambda: sandbox.send_text(member, DEMO_SUBJECT_NAME),
        _has_buttons,
    )
    languages = await step(
        member,
        "[presses Living]",
        lambda: sandbox.press_button(member, status.message_id, SUBJECT_STATUS_PREFIX + "living"),
        _has_buttons,
    )
    await sandbox.press_button(member, languages.message_id, SUBJECT_LANGUAGE_PREFIX + "cmn")
    await step(
        member,
        "[presses 普通話 (Mandarin), then Done]",
        lambda: sandbox.press_button(member, languages.message_id, LANGUAGES_DONE),
        lambda m: bool(m.reply_markup and "keyboard" in m.reply_markup),
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
    await step(member, DEMO_RELATION, lambda: sandbox.send_text(member, DEMO_RELATION), _is_text)
    await step(
        member,
        "[photo: sample portrait]",
        lambda: sandbox.send_photo(member, sample_portrait_jpeg()),
        lambda m: m.text == asks_for_voice,
    )
    keyboard = await step(
        member,
        "[voice note: sample voice]",
        lambda: sandbox.send_voice(member, sample_voice_ogg(), duration=12),
        _has_buttons,
    )
    if TEMPLATE_PREFIX + DEMO_TEMPLATE not in str(keyboard.reply_markup):
        # Not among the festivals coming up: the member opens the rest, as anyone would.
        transcript.person(member, "[presses More festivals]")
        await sandbox.press_button(member, keyboard.message_id, MORE_FESTIVALS)
        await sandbox.wait_for_message(
            member.id,
            lambda m: (
                m.message_id == keyboard.message_id
                and TEMPLATE_PREFIX + DEMO_TEMPLATE in str(m.reply_markup)
            ),
        )
    await step(
        member,
        f"[presses the {DEMO_TEMPLATE} button]",
        lambda: sandbox.press_button(member, keyboard.message_id, TEMPLATE_PREFIX + DEMO_TEMPLATE),
        _is_text,
    )
    confirmation = await step(
        member, DEMO_RECIPIENT, lambda: sandbox.send_text(member, DEMO_RECIPIENT), _has_buttons
    )
    preview = await step(
        member,
        "[presses Make this greeting]",
        lambda: sandbox.press_button(member, confirmation.message_id, WORDS_PREFIX + "go"),
        lambda m: m.method == "sendVideo",
        wait_s=RENDER_TIMEOUT_S,
    )
    return await step(
        member,
        "[watches the preview, presses Send it]",
        lambda: sandbox.press_button(member, preview.message_id, SEND_PREFIX + _order_of(preview)),
        lambda m: m.method == "sendVideo",
    )


def _order_of(preview: SentMessage) -> str:
    """The order id a preview's buttons carry (the demo presses them as a person would)."""
    assert preview.reply_markup is not None
    data: str = preview.reply_markup["inline_keyboard"][0][0]["callback_data"]
    return data.rpartition(":")[2]


def _has_buttons(message: SentMessage) -> bool:
    return message.reply_markup is not None


def _is_text(message: SentMessage) -> bool:
    return message.text is not None
