"""``tuanyuan bench campaign``: a festival morning's broadcast at Telegram's pace.

Many greetings already rendered and previewed (their file ids known) become due at once; the
real bot, polling the Bot API stand-in with Telegram's limits (30 messages a second overall,
one a second per chat, bursts of three), delivers them all through the order desk and the
send ledger, while another user keeps talking to the bot. Measured: the broadcast's length
against the floor that 30 messages a second imposes, every 429 the stand-in answered, each
chat's count of final videos (duplicates, missing), and how long the other user waited for
each reply.

The stand-in runs in a process of its own, as Telegram runs elsewhere. The greetings' orders
are seeded through the storage and the order table's own ``move`` (collecting, queued,
rendering, preview, scheduled), as rendering would have left them; the few video files are
uploaded once through the Bot API before the clock starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import httpx
from telegram import Bot

from bot.app import build_application, polling
from bot.audit import AuditLog
from bot.clock import SystemClock, iso, parse_iso
from bot.config import Settings
from bot.sandbox import SandboxClient, SandboxError, SandboxUser, SentMessage
from bot.seeding import consented_family, scheduled
from bot.services import services_of
from bot.storage import open_database, remember_user
from bot.storage.orders import new_order
from bot.vault import AUDIT_KEY_PURPOSE, derive_key, load_or_create_key

TOKEN = "515151:campaign-BENCH_token"
FLOOR_RATE = 30.0  # Telegram's messages a second: the floor on a broadcast's length
FIRST_CHAT = 100_000
PROBE = SandboxUser(99, "Probe", language_code="en")
OWNER = SandboxUser(98, "Organiser", language_code="en")
FILES = 10  # distinct uploads the greetings share (a file id's cost does not depend on which)


@dataclass(frozen=True)
class Result:
    recipients: int
    seconds: float
    too_many_requests: int
    duplicates: int
    missing: int
    latencies: list[float]

    @property
    def floor_s(self) -> float:
        return self.recipients / FLOOR_RATE

    @property
    def ratio(self) -> float:
        return self.seconds / self.floor_s

    def lines(self) -> list[str]:
        ordered = sorted(self.latencies)
        p95 = ordered[int(0.95 * (len(ordered) - 1))] if ordered else float("nan")
        return [
            f"recipients: {self.recipients}",
            f"broadcast: {self.seconds:.1f} s; floor {self.floor_s:.1f} s; ratio {self.ratio:.3f}"
            " (target <= 1.1)",
            f"429 answers: {self.too_many_requests}; duplicates: {self.duplicates}; "
            f"missing: {self.missing}",
            f"reply latency to another user during the broadcast ({len(ordered)} replies): "
            f"median {statistics.median(ordered) if ordered else float('nan'):.3f} s, "
            f"p95 {p95:.3f} s, max {max(ordered, default=float('nan')):.3f} s",
        ]

    @property
    def met(self) -> bool:
        return self.ratio <= 1.1 and not (self.too_many_requests or self.duplicates or self.missing)


def _seed(settings: Settings, file_ids: list[str], recipients: int) -> None:
    """Recipients with a consented family each, their greetings previewed and due now."""
    clock = SystemClock()
    db = open_database(settings.database_path)
    key = load_or_create_key(settings.vault_key_file)
    audit = AuditLog(settings.audit_log_path, derive_key(key, AUDIT_KEY_PURPOSE), clock)
    remember_user(db, OWNER.id, OWNER.first_name, OWNER.language_code)
    space = consented_family(db, clock, OWNER.id, "Grandpa", "en", wording="bench")
    due = iso(clock.now())
    for n in range(recipients):
        chat = FIRST_CHAT + n
        remember_user(db, chat, f"Member{n}", "en")
        order = new_order(db, chat, chat, "en", space.id, campaign_id="bench",
                          template_id="mid-autumn", recipient="Grandma", send_at=due,
                          telegram_file_id=file_ids[n % len(file_ids)], duration_s=12.0,
                          width=1280, height=720, video_id="bench")  # fmt: skip
        scheduled(db, audit, order, "bench")
    db.close()


@contextlib.asynccontextmanager
async def _stand_in() -> AsyncIterator[str]:
    """The stand-in in a process of its own (``tuanyuan sandbox``), as Telegram is elsewhere:
    its clock and its flood control do not share the bot's event loop. Yields its root URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "sandbox", "--token", TOKEN, "--port", str(port),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    root = f"http://127.0.0.1:{port}"
    try:
        async with SandboxClient(root) as client:
            for _ in range(300):
                try:
                    await client.sent_messages(OWNER.id)
                    break
                except (httpx.TransportError, SandboxError):
                    await asyncio.sleep(0.1)
        yield root
    finally:
        process.terminate()
        await process.wait()


async def _upload(root: str) -> list[str]:
    async with Bot(TOKEN, base_url=f"{root}/bot") as bot:
        ids = []
        for n in range(FILES):
            sent = await bot.send_video(OWNER.id, video=b"\x00\x00\x00\x18ftypmp42" + bytes([n]))
            assert sent.video is not None
            ids.append(sent.video.file_id)
            await asyncio.sleep(1.0)  # one a second into the organiser's chat
        return ids


async def _probe(sandbox: SandboxClient, latencies: list[float], stop: asyncio.Event) -> None:
    """Another user sends /help every two seconds and times the bot's reply."""
    while not stop.is_set():
        before = max((m.message_id for m in await sandbox.sent_messages(PROBE.id)), default=0)
        started = time.monotonic()
        await sandbox.send_text(PROBE, "/help")
        await sandbox.wait_for_message(PROBE.id, functools.partial(_newer, before), timeout=60)
        latencies.append(time.monotonic() - started)
        await asyncio.sleep(2.0)


def _newer(than: int, message: SentMessage) -> bool:
    return message.message_id > than


async def run(recipients: int, work: Path, out: TextIO) -> Result:
    async with _stand_in() as root, SandboxClient(root) as sandbox:
        settings = Settings(token=TOKEN, data_dir=work, api_base_url=f"{root}/bot",
                            file_base_url=f"{root}/file/bot", campaign_tick_s=1.0)  # fmt: skip
        await sandbox.block_bot(OWNER, blocked=False)  # makes the chats known to the stand-in
        for start in range(0, recipients, 200):
            await asyncio.gather(*(
                sandbox.block_bot(SandboxUser(FIRST_CHAT + n, f"Member{n}"), blocked=False)
                for n in range(start, min(recipients, start + 200))
            ))  # fmt: skip
        file_ids = await _upload(root)
        print(f"seeding {recipients} previewed greetings...", file=out, flush=True)
        _seed(settings, file_ids, recipients)
        await sandbox.send_text(PROBE, "/start")
        errors_before = len(await sandbox.errors())
        latencies: list[float] = []
        stop = asyncio.Event()
        application = build_application(settings)
        started = time.monotonic()
        async with polling(application):
            probe = asyncio.get_running_loop().create_task(_probe(sandbox, latencies, stop))
            db = services_of(application).db
            while True:
                left = db.execute(
                    "SELECT COUNT(*) FROM orders WHERE campaign_id = 'bench'"
                    " AND status IN ('scheduled', 'delivering')"
                ).fetchone()[0]
                if left == 0:
                    break
                print(f"{time.monotonic() - started:6.1f} s: {left} left", file=out, flush=True)
                await asyncio.sleep(10.0)
            last = db.execute(
                "SELECT MAX(delivered_at), MIN(delivered_at) FROM orders"
                " WHERE campaign_id = 'bench'"
            ).fetchone()
            stop.set()
            await probe
        seconds = (parse_iso(last[0]) - parse_iso(last[1])).total_seconds()
        counts: list[int] = []
        for start in range(0, recipients, 200):
            counts += await asyncio.gather(*(
                _finals(sandbox, FIRST_CHAT + n)
                for n in range(start, min(recipients, start + 200))
            ))  # fmt: skip
        errors = (await sandbox.errors())[errors_before:]
        return Result(
            recipients=recipients,
            seconds=seconds,
            too_many_requests=sum(1 for e in errors if e.code == 429),
            duplicates=sum(max(0, c - 1) for c in counts),
            missing=sum(1 for c in counts if c == 0),
            latencies=latencies,
        )


async def _finals(sandbox: SandboxClient, chat: int) -> int:
    return sum(1 for m in await sandbox.sent_messages(chat) if m.method == "sendVideo")


def main(recipients: int, work: Path | None, out: TextIO) -> bool:
    with tempfile.TemporaryDirectory(prefix="tuanyuan-campaign-") as scratch:
        result = asyncio.run(run(recipients, work or Path(scratch), out))
    for line in result.lines():
        print(line, file=out)
    return result.met
