"""The offline demo: a scripted family member orders a greeting through the real bot.

Everything runs on loopback: the Bot API stand-in, the bot (python-telegram-bot polling it over
HTTP) and the engine in a worker process. The demo writes what the member saw (a transcript)
and the video the bot delivered, then stops everything it started.
"""

import asyncio
import secrets
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

from bot.app import build_application, polling
from bot.config import Settings
from bot.demo.samples import sample_portrait_jpeg, sample_voice_ogg
from bot.demo.transcript import Transcript
from bot.flows.order import TEMPLATE_PREFIX
from bot.i18n import gettext_for, language_from_telegram
from bot.sandbox import BotApiStandIn, SandboxClient, SandboxUser, SentMessage

log = structlog.get_logger(__name__)

DEMO_MEMBER = SandboxUser(424242, "美玲", language_code="zh-hant", username="meiling")
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


def run_demo(out_dir: Path) -> int:
    """Play the scripted order; write ``transcript.md``/``.json`` and ``greeting.mp4``."""
    outcome = asyncio.run(_run())
    out_dir.mkdir(parents=True, exist_ok=True)
    outcome.transcript.write(out_dir)
    if outcome.video is None:
        return 1
    (out_dir / "greeting.mp4").write_bytes(outcome.video)
    if outcome.thumbnail is not None:
        (out_dir / "thumbnail.jpg").write_bytes(outcome.thumbnail)
    log.info("demo.done", out_dir=str(out_dir))
    return 0


async def _run() -> _Outcome:
    token = f"{secrets.randbelow(10**9)}:{secrets.token_urlsafe(24)}"
    outcome = _Outcome(Transcript(DEMO_MEMBER))
    with tempfile.TemporaryDirectory(prefix="tuanyuan-demo-") as state_dir:
        async with BotApiStandIn(token, storage_dir=Path(state_dir) / "stand-in") as stand_in:
            settings = Settings(
                token=token,
                data_dir=Path(state_dir) / "bot",
                api_base_url=stand_in.api_base_url,
                file_base_url=stand_in.file_base_url,
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
    chat = DEMO_MEMBER.id

    async def step(
        description: str,
        act: Callable[[], Awaitable[object]],
        until: Callable[[SentMessage], bool],
        wait_s: float = REPLY_TIMEOUT_S,
    ) -> SentMessage:
        seen = transcript.last_message_id
        transcript.member(description)
        await act()
        reply = await sandbox.wait_for_message(
            chat, lambda m: m.message_id > seen and until(m), timeout=wait_s
        )
        transcript.bot(await sandbox.sent_messages(chat))
        return reply

    _ = gettext_for(language_from_telegram(DEMO_MEMBER.language_code))
    asks_for_voice = _("Now send a voice note of them speaking. About 20 seconds is best.")
    await step("/start", lambda: sandbox.send_text(DEMO_MEMBER, "/start"), _is_text)
    await step(
        "[photo: sample portrait]",
        lambda: sandbox.send_photo(DEMO_MEMBER, sample_portrait_jpeg()),
        lambda m: m.text == asks_for_voice,
    )
    keyboard = await step(
        "[voice note: sample voice]",
        lambda: sandbox.send_voice(DEMO_MEMBER, sample_voice_ogg(), duration=12),
        lambda m: m.reply_markup is not None,
    )
    await step(
        f"[presses the {DEMO_TEMPLATE} button]",
        lambda: sandbox.press_button(
            DEMO_MEMBER, keyboard.message_id, TEMPLATE_PREFIX + DEMO_TEMPLATE
        ),
        _is_text,
    )
    return await step(
        DEMO_RECIPIENT,
        lambda: sandbox.send_text(DEMO_MEMBER, DEMO_RECIPIENT),
        lambda m: m.method == "sendVideo",
        wait_s=RENDER_TIMEOUT_S,
    )


def _is_text(message: SentMessage) -> bool:
    return message.text is not None
