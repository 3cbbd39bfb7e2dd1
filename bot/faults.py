"""Crash the real bot with ``kill -9`` in the middle of orders and check that, after a restart,
every order reached its family exactly once or ended with the requester told.

Why it is built this way:

* The bot runs as a child process (``python -m bot.cli run``), exactly as an operator runs it,
  in a session of its own. SIGKILL goes to the bot alone, as ``kill -9`` or the OOM killer
  sends it: its render worker must die with it (``bot/workers.py``), and a worker of its process
  group still alive after it counts as an orphan. Nothing gets to clean up.
* The Bot API stand-in runs in this process, so its record is the ground truth for "sent":
  which videos the member's chat holds, which Stars were refunded. Its held responses open the
  one window that makes exactly-once hard, Telegram having accepted a ``sendVideo`` whose answer
  the bot never read.
* The member is played over HTTP, and acts as a person would after a restart: presses Send it
  under a preview they can see, and "Show it again" only when they cannot see what it offers.
  Pressing it when the video is already there would make a second copy on the member's request,
  which is not the bot's duplicate.

Used by ``tuanyuan bench faults`` (many runs, each at a kill point drawn at random) and by
tests/test_faults.py (one run at each of three points). Nothing here imports the tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self, TextIO

from sqlite_utils import Database

from bot.audit import AuditLog, read_head, verify_log
from bot.clock import Clock, SystemClock, iso
from bot.config import DATABASE_FILE
from bot.delivery import ORIGINAL_PREFIX
from bot.demo.samples import sample_portrait_jpeg, sample_voice_ogg
from bot.family.spaces import (
    MemberStatus,
    SpaceStatus,
    membership_of,
    update_member,
)
from bot.flows.consent import REVOKE_CONFIRM
from bot.flows.order import PLACE_PREFIX, asks_for_voice, place_button
from bot.i18n import Gettext, gettext_for, language_from_telegram
from bot.moderation import Rules, save_rules
from bot.orders import (
    APPROVE_PREFIX,
    REASON_PREFIX,
    REJECT_PREFIX,
    REJECTION_REASONS,
    RESEND_PREFIX,
    SEND_PREFIX,
)
from bot.plaintext import DEFAULT_MEMORY_DIR, MEMORY_DIR_VARIABLE
from bot.sandbox import BotApiStandIn, SandboxClient, SandboxError, SandboxUser, SentMessage
from bot.sandbox._faults import FAULT_KINDS, FaultKind
from bot.seeding import consented_family, scheduled
from bot.storage import MediaKind, Order, OrderStatus, remember_user
from bot.storage.database import open_database
from bot.storage.media import SUBJECT_DATA, record_media
from bot.storage.orders import new_order
from bot.vault import AUDIT_KEY_PURPOSE, Vault, derive_key, read_key_file

KillPoint = Literal[
    "rendering",
    "marking",
    "uploading",
    "preview-sent",
    "final-sent",
    "send-it",
    "paid",
    "moderation",
    "campaign",
    "revocation",
    "worker-killed",
    "sqlite-busy",
    "telegram",
    "disk-full",
]
KILL_POINTS: tuple[KillPoint, ...] = (
    "rendering",  # the status shows a percentage: the render worker is composing
    "marking",  # the status says the video is being marked as made with AI
    "uploading",  # the "sending a video" chat action: the preview is on its way up
    "preview-sent",  # the stand-in carried out the preview's sendVideo, its answer held back
    "final-sent",  # the same for the final video, after Send it
    "send-it",  # just after the member pressed Send it
    "paid",  # just after the Stars payment went through (the successful payment in flight)
    # just after a moderator approved or rejected the order (its words are on the word list)
    "moderation",
    # while a campaign's greetings go out to several families at once (their sendVideo
    # answers held, some meeting Telegram's failures)
    "campaign",
    # just after the subject confirmed /revoke while the order renders; ends the family's
    # consent, so a plan places it last (kill_plan)
    "revocation",
    # Faults the bot lives through, without a kill or a restart:
    "worker-killed",  # the render worker alone SIGKILLed while composing
    "sqlite-busy",  # another connection holds the database's write lock for seconds
    "telegram",  # Telegram answers 429, 502, resets or never answers, on a random schedule
    "disk-full",  # the scratch folder is a tmpfs too small for the render (needs root)
)
_KILLS_THE_BOT: frozenset[KillPoint] = frozenset(KILL_POINTS[: KILL_POINTS.index("revocation") + 1])
_TELEGRAM_METHODS = ("sendMessage", "editMessageText", "sendVideo", "sendChatAction")
_BUSY_S = (2.0, 12.0)  # how long the write lock is held, drawn from this range
_FULL_SCRATCH = "256k"  # the uploads fit, the render's sound and video do not

TOKEN = "424242:faults-TEST_token"
ADMIN = SandboxUser(9001, "Admin", language_code="en")
MEMBER = SandboxUser(7001, "美玲", language_code="zh-hant")
SUBJECT = SandboxUser(7002, "外公", language_code="zh-hant")
FESTIVAL = "mid-autumn"
PRICE_STARS = 5
# On the deployment's word list, so an order whose recipient names it goes to a moderator.
REVIEW_WORD = "審閱"
CAMPAIGN_FAMILIES = 5  # families a campaign run delivers to at once
_CAMPAIGN_FIRST_USER = 7400
# What a campaign run's seeded greetings upload: the stand-in keeps the bytes, plays nothing.
_CAMPAIGN_VIDEO = b"\x00\x00\x00\x18ftypmp42faults"
_CAMPAIGN_FAULTS: tuple[FaultKind, ...] = ("reset", "timeout", "server-error", "flood")
_LINK = re.compile(r"start=([A-Za-z0-9_-]+)")

# Statuses an order ends in; "told" is checked separately for those that are not a delivery.
ENDED = frozenset(
    {
        OrderStatus.DELIVERED,
        OrderStatus.REJECTED,
        OrderStatus.FAILED,
        OrderStatus.UNDELIVERABLE,
        OrderStatus.CANCELLED,
        OrderStatus.REVOKED,
    }
)
_REPLY_S = 30.0  # any chat answer the next step depends on
_RENDER_S = 180.0  # one render on two busy cores, with room to spare
_RUN_S = 420.0  # a whole run: a render, a kill, a restart and possibly a render again
_ORPHAN_GRACE_S = 5.0  # a worker whose bot was killed must be gone by then
PATIENCE_S = 30.0
"""How long the harness, as a person, waits for something to come of a press before pressing the
same button again."""
_STUCK_S = 30.0  # giving up on an order that shows nothing to press (it is then counted lost)


class FaultError(Exception):
    """The harness could not play a run (the bot died on its own, a step never came)."""


@dataclass(frozen=True)
class FamilyEnd:
    """One campaign family's greeting at the end of a run, as its chat and the database show."""

    status: str
    finals: int  # final videos in the family's chat
    told: bool  # ended undelivered: the family has a message about it

    @property
    def lost(self) -> bool:
        if self.status == OrderStatus.DELIVERED:
            return self.finals < 1
        return self.status not in ENDED or not self.told


@dataclass(frozen=True)
class RunResult:
    """One order, one kill, one restart: what the member's chat and the database showed."""

    number: int
    point: KillPoint
    killed: str  # the fault, as seen from outside ("killed rendering at 34%")
    order_id: str
    status: str
    previews: int  # preview videos of this order in the chat
    finals: int  # final videos (with the original-file button) in the chat
    told: bool  # an order that ended undelivered: the member was told
    seconds: float
    orphans: int  # processes of the killed bot (render workers) still alive after it
    scratch_files: int  # files left in the bot's scratch folder once the order ended
    stray: tuple[str, ...] = ()  # files in the data folder outside the vault and the bot's own
    audit_intact: bool = True  # the audit chain verified after the run
    # files of the subject's likeness still kept for a space whose consent was withdrawn
    likeness_kept: int = 0
    notices: int = 0  # end notices of an undelivered order in the chat (a rejection): one
    families: tuple[FamilyEnd, ...] = ()  # a campaign run: each family's greeting

    @property
    def duplicates(self) -> int:
        if self.families:
            return sum(max(0, family.finals - 1) for family in self.families)
        # One take per run (nobody presses Make it again), so one preview and one final at most.
        return max(0, self.previews - 1) + max(0, self.finals - 1) + max(0, self.notices - 1)

    @property
    def broken(self) -> list[str]:
        """The invariant's other halves that failed: processes, plaintext, the audit chain."""
        return [
            problem
            for problem, failed in (
                ("orphan processes", self.orphans > 0),
                ("scratch files", self.scratch_files > 0),
                ("files outside the vault", bool(self.stray)),
                ("audit chain", not self.audit_intact),
                ("likeness kept after revocation", self.likeness_kept > 0),
            )
            if failed
        ]

    @property
    def lost(self) -> bool:
        if self.families:
            return any(family.lost for family in self.families)
        if self.status == OrderStatus.DELIVERED:
            return self.finals != 1
        return self.status not in ENDED or not self.told

    def line(self) -> str:
        return (
            f"run {self.number}: {self.killed}; {self.status}, "
            f"{self.previews} preview(s), {self.finals} final(s), {self.seconds:.1f} s, "
            f"{self.orphans} orphan process(es), {self.scratch_files} scratch file(s), "
            f"{len(self.stray)} stray file(s), audit {'intact' if self.audit_intact else 'BROKEN'}"
            + (f", {self.likeness_kept} likeness file(s) kept" if self.likeness_kept else "")
        )


@dataclass
class FaultReport:
    runs: list[RunResult] = field(default_factory=list)
    refunds: int = 0  # refundStarPayment calls the stand-in carried out
    refunded_twice: int = 0  # charge ids that appear more than once among the refunds
    setup_s: float = 0.0

    @property
    def duplicates(self) -> int:
        return sum(run.duplicates for run in self.runs) + self.refunded_twice

    @property
    def lost(self) -> int:
        return sum(run.lost for run in self.runs)

    @property
    def broken(self) -> int:
        return sum(bool(run.broken) for run in self.runs)

    def summary(self) -> str:
        return (
            f"{len(self.runs)} runs, {self.duplicates} duplicates, {self.lost} lost, "
            f"{self.broken} broke the invariant otherwise"
        )

    def by_point(self) -> dict[KillPoint, list[RunResult]]:
        grouped: dict[KillPoint, list[RunResult]] = {point: [] for point in KILL_POINTS}
        for run in self.runs:
            grouped[run.point].append(run)
        return grouped


class BotProcess:
    """``python -m bot.cli run`` in a process group of its own, so that the processes it left
    behind can be found (and, after counting them, killed) by its group."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self._env = env
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.orphans = 0

    def start(self) -> None:
        assert self._process is None, "kill the running bot first"
        self.starts += 1
        with self._log_path.open("ab") as log:
            log.write(f"\n=== start {self.starts} ===\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run"],
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self._process is not None, "the bot is not running"
        return self._process.pid

    def check_alive(self) -> None:
        """Raise if the bot exited without being killed: that is a crash of its own."""
        if self._process is not None and self._process.poll() is not None:
            raise FaultError(
                f"the bot exited by itself with {self._process.returncode}:\n{self.log_tail()}"
            )

    def kill(self) -> None:
        """SIGKILL the bot alone, as ``kill -9 <pid>`` or the OOM killer would; idempotent.

        Its render workers must die with it: any process of its group still alive after a
        grace period is counted in ``orphans``, then killed so that runs stay independent."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        process.wait()
        deadline = time.monotonic() + _ORPHAN_GRACE_S
        while (left := group_members(process.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        if left:
            self.orphans += len(left)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)

    def kill_workers(self) -> int:
        """SIGKILL the bot's render workers (every other process of its group), the bot left
        running, as the OOM killer picking the biggest process would; how many were killed."""
        if self._process is None:
            return 0
        workers = [pid for pid in group_members(self._process.pid) if pid != self._process.pid]
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(workers)

    def log_tail(self, lines: int = 40) -> str:
        text = self._log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def group_members(group: int) -> list[int]:
    """Live (not zombie) processes of a process group, from /proc."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # gone meanwhile
        if fields[0] != "Z" and int(fields[2]) == group:
            members.append(int(stat.parent.name))
    return members


def buttons(message: SentMessage) -> list[str]:
    """The callback data of every button under a message."""
    markup = message.reply_markup or {}
    return [
        str(button.get("callback_data", ""))
        for row in markup.get("inline_keyboard", [])
        for button in row
    ]


def festivals_offered(message: SentMessage) -> bool:
    """The festival keyboard (not another order's buttons, which may arrive meanwhile)."""
    return any(data.startswith("tpl") for data in buttons(message))


def _head(_: Gettext, msgid: str) -> str:
    """The text of a message up to its first placeholder, in the reader's language."""
    return _(msgid).split("{")[0]


class FaultHarness:
    """The stand-in, the bot as a child process, and one family with a living subject's
    consent, set up once; then :meth:`run` as many times as wanted."""

    def __init__(
        self,
        work_dir: Path,
        price_stars: int = PRICE_STARS,
        rng: random.Random | None = None,
        log: Callable[[str], None] = lambda _: None,
        env: Mapping[str, str] | None = None,
        patience_s: float = PATIENCE_S,
    ) -> None:
        self._work_dir = work_dir
        self._patience_s = patience_s
        self._env = dict(env or {})
        self._price = price_stars
        self._rng = rng or random.Random()
        self._log = log
        self._stand_in = BotApiStandIn(TOKEN, storage_dir=None)
        self._sandbox: SandboxClient | None = None
        self._bot: BotProcess | None = None
        self._data_dir = work_dir / "bot-data"
        # The bot's folder in memory (TUANYUAN_MEMORY_DIR) the harness's own, so that what a
        # killed render left there is counted and the disk-full point can mount over it.
        self._memory_dir = Path(tempfile.mkdtemp(prefix="faults-", dir=_memory_parent(work_dir)))
        self._ = gettext_for(language_from_telegram(MEMBER.language_code))
        self._orders: list[str] = []
        # The moderation run's decision (order id, approve or a rejection reason), played again
        # after the restart when the order still waits, as the moderator would press again.
        self._decision: tuple[str, str] | None = None
        self.setup_s = 0.0

    @property
    def sandbox(self) -> SandboxClient:
        assert self._sandbox is not None, "use the harness with async with"
        return self._sandbox

    @property
    def data_dir(self) -> Path:
        return self._data_dir

    @property
    def bot(self) -> BotProcess:
        assert self._bot is not None, "use the harness with async with"
        return self._bot

    async def __aenter__(self) -> Self:
        started = time.monotonic()
        await self._stand_in.start()
        try:
            # A long run on a busy machine: the stand-in shares this process with the player.
            self._sandbox = SandboxClient(self._stand_in.root_url, timeout_s=60.0)
            self._data_dir.mkdir(parents=True, exist_ok=True)
            # Every run is an order by the same member on the same day: lift the daily limits.
            db = open_database(self._data_dir / DATABASE_FILE)
            # A recipient naming REVIEW_WORD sends the order to a moderator (the moderation runs).
            language = language_from_telegram(MEMBER.language_code)
            save_rules(
                db,
                Rules(
                    words={language: (REVIEW_WORD,)},
                    member_orders_per_day=10_000,
                    family_orders_per_day=10_000,
                ),
            )
            db.close()
            self._bot = BotProcess(self._environment(), self._work_dir / "bot.log")
            # The admin chat must be one Telegram knows: its moderator has talked to the bot.
            await self.sandbox.block_bot(ADMIN, blocked=False)
            self.bot.start()
            await self._living_family()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        self.setup_s = time.monotonic() - started
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bot is not None:
            self._bot.kill()
        if self._sandbox is not None:
            await self._sandbox.aclose()
        await self._stand_in.stop()
        shutil.rmtree(self._memory_dir, ignore_errors=True)

    def _environment(self) -> dict[str, str]:
        # One scripted member places every order (200 in the queue benchmark), faster than
        # a person could: the flood limit is raised for the harness, and says so here. The
        # bot's folder in memory is the harness's own (counted after each run).
        harness = {
            "TUANYUAN_FLOOD_UPDATES": "100000",
            MEMORY_DIR_VARIABLE: str(self._memory_dir),
        }
        return bot_environment(self._stand_in, self._data_dir, self._price) | harness | self._env

    def _scratch_roots(self) -> tuple[Path, Path]:
        """Where a render's files go: the folder in memory, or the disk's work folder where the
        machine has no RAM filesystem."""
        return self._memory_dir, self._data_dir / "work"

    # Playing the users

    async def _newest(self, user: SandboxUser) -> int:
        return max((m.message_id for m in await self.sandbox.sent_messages(user.id)), default=0)

    async def _reply_to(
        self,
        user: SandboxUser,
        act: Callable[[], Awaitable[object]],
        until: Callable[[SentMessage], bool] = lambda _: True,
        wait_s: float = _REPLY_S,
    ) -> SentMessage:
        """Do something as ``user``; the bot's first fresh message matching ``until``."""
        before = await self._newest(user)
        await act()
        return await self._wait_for(user, lambda m: m.message_id > before and until(m), wait_s)

    async def _wait_for(
        self, user: SandboxUser, until: Callable[[SentMessage], bool], wait_s: float
    ) -> SentMessage:
        """Like ``wait_for_message``, but fails at once if the bot died on its own."""
        deadline = time.monotonic() + wait_s
        while True:
            self.bot.check_alive()
            step = min(5.0, deadline - time.monotonic())
            try:
                return await self.sandbox.wait_for_message(user.id, until, timeout=max(step, 0.0))
            except TimeoutError:
                if time.monotonic() >= deadline:
                    raise FaultError(f"no awaited message for {user.first_name}") from None

    async def _living_family(self) -> None:
        """/newspace for a living subject, their spoken consent, the member verified: the same
        trust flow a family goes through, so the orders below are guarded as real ones are."""
        owner, subject, sandbox = MEMBER, SUBJECT, self.sandbox
        await self._reply_to(owner, lambda: sandbox.send_text(owner, "/newspace"))
        status_question = await self._reply_to(
            owner,
            lambda: sandbox.send_text(owner, subject.first_name),
            until=lambda m: m.reply_markup is not None,
        )
        languages = await self._reply_to(
            owner,
            lambda: sandbox.press_button(owner, status_question.message_id, "space:living"),
            until=lambda m: m.reply_markup is not None,
        )
        await sandbox.press_button(owner, languages.message_id, "slang:cmn")
        await self._reply_to(
            owner,
            lambda: sandbox.press_button(owner, languages.message_id, "slang:done"),
        )
        invite = await self._reply_to(
            owner, lambda: sandbox.send_contact(owner, _phone(owner), owner.id, owner.first_name)
        )
        found = _LINK.search(invite.text or "")
        assert found is not None, invite.text
        payload = found.group(1)
        await self._reply_to(
            subject,
            lambda: sandbox.send_text(subject, f"/start {payload}"),
            until=lambda m: m.reply_markup is not None,
        )
        wording = await self._reply_to(
            subject,
            lambda: sandbox.send_contact(subject, _phone(subject), subject.id, subject.first_name),
        )
        phrase = (wording.text or "").splitlines()[-1]
        voice = sample_voice_ogg(phrase, language_from_telegram(subject.language_code))
        await self._reply_to(
            subject, lambda: sandbox.send_voice(subject, voice, duration=8), wait_s=60
        )
        ready = _head(
            self._, "You can make a greeting now: send a clear photo of {subject}'s face."
        )
        await self._reply_to(
            owner,
            lambda: sandbox.send_text(owner, "孫女"),
            until=lambda m: ready in (m.text or ""),
        )

    async def place(self, recipient: str) -> tuple[str, SentMessage]:
        """Photo (and a voice note the first time), festival, recipient, "Make this greeting",
        and payment when priced; returns the order id and its status message."""
        member, sandbox = MEMBER, self.sandbox
        voice_asked = asks_for_voice(self._)
        offer = await self._reply_to(
            member,
            lambda: sandbox.send_photo(member, sample_portrait_jpeg()),
            until=lambda m: festivals_offered(m) or m.text == voice_asked,
        )
        if not festivals_offered(offer):
            note = sample_voice_ogg("我很想念你們。祝你們中秋快樂。")
            offer = await self._reply_to(
                member, lambda: sandbox.send_voice(member, note, 5), until=festivals_offered
            )
        await self._reply_to(member, lambda: self._press_festival(offer))
        card = await self._reply_to(
            member,
            lambda: sandbox.send_text(member, recipient),
            until=lambda m: any(data.startswith(PLACE_PREFIX) for data in buttons(m)),
        )
        status = await self._reply_to(
            member,
            lambda: sandbox.press_button(member, card.message_id, place_button(card.reply_markup)),
            until=lambda m: m.method == "sendMessage" and recipient in (m.text or ""),
        )
        if self._price > 0:
            invoice = await self._wait_for(
                member,
                lambda m: m.message_id > status.message_id and m.invoice is not None,
                _REPLY_S,
            )
            assert invoice.invoice is not None
            paid = await sandbox.pay_invoice(member, invoice.message_id)
            if paid.status != "paid":
                raise FaultError(f"the payment ended {paid.status}: {paid.error_message}")
            return invoice.invoice.payload, status
        return self._order_id(recipient), status

    async def _press_festival(self, keyboard: SentMessage) -> None:
        wanted = f"tpl:{FESTIVAL}"
        if wanted not in buttons(keyboard):
            await self.sandbox.press_button(MEMBER, keyboard.message_id, "tpl-more")
            await self._wait_for(
                MEMBER,
                lambda m: m.message_id == keyboard.message_id and wanted in buttons(m),
                _REPLY_S,
            )
        await self.sandbox.press_button(MEMBER, keyboard.message_id, wanted)

    # Reading what happened

    def _query(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        """Read the bot's database beside it (WAL lets a reader in while the bot writes)."""
        connection = sqlite3.connect(self._data_dir / DATABASE_FILE, timeout=10)
        try:
            return connection.execute(sql, params).fetchall()
        finally:
            connection.close()

    def _order_id(self, recipient: str) -> str:
        rows = self._query("SELECT id FROM orders WHERE recipient = ?", (recipient,))
        if len(rows) != 1:
            raise FaultError(f"expected one order for {recipient}, found {len(rows)}")
        return str(rows[0][0])

    def status(self, order_id: str) -> OrderStatus:
        rows = self._query("SELECT status FROM orders WHERE id = ?", (order_id,))
        return OrderStatus(str(rows[0][0]))

    def _told(self, order_id: str) -> bool:
        """A message the member reads for an order that ended without a delivery, done."""
        rows = self._query(
            "SELECT key FROM order_sends WHERE order_id = ? AND state = 'done'", (order_id,)
        )
        steps = {str(row[0]).split(":", 1)[1] for row in rows}
        status = self.status(order_id)
        if status == OrderStatus.FAILED:
            return "failed" in steps
        # Rejected: told when the member can read why (_reason_read), in the notice or, where a
        # kill lost the notice's fate (its intent never answered), on the status message.
        # Cancelled (by the member, who saw it) or ended for consent: the status message says so.
        return status in ENDED

    def _rejected_head(self) -> str:
        return _head(
            self._,
            "A moderator did not accept the greeting for {recipient}: {reason}. "
            "You can start a new one by sending a photo.",
        )

    async def _notices(self, recipient: str) -> int:
        """Rejection notices for this recipient's order in the member's chat (one is owed)."""
        head = self._rejected_head()
        return sum(
            1
            for m in await self.sandbox.sent_messages(MEMBER.id)
            if (m.text or "").startswith(head) and recipient in (m.text or "")
        )

    async def _reason_read(self, order_id: str, recipient: str, status: SentMessage) -> bool:
        """A rejected order's member can read why: in the notice, or in the status message
        that says it instead where the notice's fate was lost with the bot."""
        if self.status(order_id) != OrderStatus.REJECTED:
            return True
        shown = await self._message(status.message_id)
        return await self._notices(recipient) > 0 or self._rejected_head() in (shown.text or "")

    async def _videos(self, order_id: str, recipient: str) -> tuple[list[SentMessage], int]:
        """The order's preview videos and how many final ones the member's chat holds."""
        videos = [
            m
            for m in await self.sandbox.sent_messages(MEMBER.id)
            if m.method == "sendVideo" and recipient in (m.caption or "")
        ]
        finals = [m for m in videos if ORIGINAL_PREFIX + order_id in buttons(m)]
        return [m for m in videos if m not in finals], len(finals)

    # One run

    async def run(self, number: int, point: KillPoint) -> RunResult:
        """Place an order, kill the bot at ``point``, restart it, play the member until the
        order ends, and report what the chat holds."""
        if point == "campaign":
            return await self._campaign_run(number)
        started = time.monotonic()
        recipient = f"{REVIEW_WORD if point == 'moderation' else ''}阿姨{number}號"
        actions_before = (await self.sandbox.chat_actions(MEMBER.id)).count("upload_video")
        orphans_before = self.bot.orphans
        if point == "preview-sent":
            await self.sandbox.hold_responses("sendVideo")
        if point in _KILLS_THE_BOT:
            try:
                order_id, status = await self.place(recipient)
                self._orders.append(order_id)
                killed = await self._kill_at(point, order_id, recipient, status, actions_before)
            finally:
                self.bot.kill()
                # Whatever is still held answers a dead connection; the next bot is not held.
                await self.sandbox.release_held()
            killed = f"killed {killed}"
            self._log(f"run {number}: {killed}; restarting")
            self.bot.start()
            await self._play_member(order_id, recipient, status)
        else:
            with self._scratch_full(point == "disk-full"):
                order_id, status = await self.place(recipient)
                self._orders.append(order_id)
                killed = await self._fault_at(point, status)
                self._log(f"run {number}: {killed}")
                await self._play_member(order_id, recipient, status)
        # Failures the order never reached do not linger into the next run.
        await self.sandbox.clear_faults()
        previews, finals = await self._videos(order_id, recipient)
        return RunResult(
            number=number,
            point=point,
            killed=killed,
            order_id=order_id,
            status=self.status(order_id).value,
            previews=len(previews),
            finals=finals,
            told=self._told(order_id) and await self._reason_read(order_id, recipient, status),
            notices=await self._notices(recipient),
            seconds=time.monotonic() - started,
            orphans=self.bot.orphans - orphans_before,
            **self._leftovers(),
        )

    # A campaign

    def _seed_campaign(self, number: int) -> dict[int, str]:
        """Families with a living subject's consent, each with a campaign greeting made,
        previewed and due now, written as rendering would have left them while the bot is
        down (the audit log has one writer at a time); their chat per order id."""
        clock = SystemClock()
        db = open_database(self._data_dir / DATABASE_FILE)
        key = read_key_file(self._data_dir / "vault.key")
        vault = Vault(self._data_dir / "media", key)
        audit = AuditLog(
            self._data_dir / "audit.log",
            derive_key(key, AUDIT_KEY_PURPOSE),
            clock,
            self._data_dir / DATABASE_FILE,
        )
        chats: dict[int, str] = {}
        try:
            for i in range(CAMPAIGN_FAMILIES):
                user = _campaign_user(number, i)
                order = seed_campaign_greeting(
                    db, vault, audit, clock, user, f"faults-{number}", f"舅舅{number}-{i}"
                )
                chats[user.id] = order.id
        finally:
            db.close()
        return chats

    async def _campaign_run(self, number: int) -> RunResult:
        """Greetings of a campaign due at once for several families; some sendVideo calls meet
        Telegram's failures, every answer is held, and the bot is killed once a number of them
        (drawn) were carried out; then restarted, each family playing "Show it again" only where
        it was asked and sees no video."""
        started = time.monotonic()
        orphans_before = self.bot.orphans
        self.bot.kill()
        for i in range(CAMPAIGN_FAMILIES):
            await self.sandbox.block_bot(_campaign_user(number, i), blocked=False)
        chats = self._seed_campaign(number)
        faults = self._rng.choices(_CAMPAIGN_FAULTS, k=self._rng.randint(0, 2))
        if faults:
            await self.sandbox.schedule_faults("sendVideo", list(faults))
        await self.sandbox.hold_responses("sendVideo")
        wanted = self._rng.randint(1, CAMPAIGN_FAMILIES - 1)
        try:
            self.bot.start()
            deadline = time.monotonic() + _REPLY_S
            held = 0
            while held < wanted and time.monotonic() < deadline:
                self.bot.check_alive()
                with contextlib.suppress(TimeoutError):
                    held = len(await self.sandbox.wait_held(timeout=1.0))
                await asyncio.sleep(0.02)
        finally:
            self.bot.kill()
            await self.sandbox.release_held()
        killed = (
            f"killed with {held} of {CAMPAIGN_FAMILIES} greetings sent, their answers unread"
            + (f"; sendVideo {', '.join(faults)}" if faults else "")
        )
        self._log(f"run {number}: {killed}; restarting")
        self.bot.start()
        await self._play_families(chats)
        await self.sandbox.clear_faults()
        families = [await self._family_end(chat, order_id) for chat, order_id in chats.items()]
        statuses = Counter(family.status for family in families)
        return RunResult(
            number=number,
            point="campaign",
            killed=killed,
            order_id=f"faults-{number}",
            status=", ".join(f"{count} {status}" for status, count in sorted(statuses.items())),
            previews=0,
            finals=sum(family.finals for family in families),
            told=all(not family.lost for family in families),
            seconds=time.monotonic() - started,
            orphans=self.bot.orphans - orphans_before,
            families=tuple(families),
            **self._leftovers(),
        )

    async def _campaign_finals(self, chat: int, order_id: str) -> list[SentMessage]:
        return [
            m
            for m in await self.sandbox.sent_messages(chat)
            if m.method == "sendVideo" and ORIGINAL_PREFIX + order_id in buttons(m)
        ]

    async def _play_families(self, chats: Mapping[int, str]) -> None:
        """Until every greeting ended: a family asked whether it arrived presses Show it again
        when no video is in its chat (once per the harness's patience, as a person would press
        again)."""
        patience = self._patience_s
        deadline = time.monotonic() + _RUN_S
        pressed_at: dict[int, float] = {}
        settled_since: float | None = None
        while time.monotonic() < deadline:
            self.bot.check_alive()
            settled = True
            for chat, order_id in chats.items():
                status = self.status(order_id)
                finals = await self._campaign_finals(chat, order_id)
                if status in ENDED and (finals or status != OrderStatus.DELIVERED):
                    continue
                settled = False
                asked = [
                    m
                    for m in await self.sandbox.sent_messages(chat)
                    if RESEND_PREFIX + order_id in buttons(m)
                ]
                now = time.monotonic()
                if asked and not finals and now - pressed_at.get(chat, -patience) >= patience:
                    pressed_at[chat] = now
                    with contextlib.suppress(SandboxError):
                        await self.sandbox.press_button(
                            SandboxUser(chat, "", language_code="zh-hant"),
                            asked[-1].message_id,
                            RESEND_PREFIX + order_id,
                        )
            now = time.monotonic()
            if settled:
                return
            # Delivered by the database but nothing in the chat and nothing to press: lost.
            if all(self.status(order_id) in ENDED for order_id in chats.values()):
                settled_since = settled_since or now
                if now - settled_since > _STUCK_S:
                    return
            await asyncio.sleep(0.5)

    async def _family_end(self, chat: int, order_id: str) -> FamilyEnd:
        status = self.status(order_id)
        told = status != OrderStatus.DELIVERED and any(
            m.method == "sendMessage" for m in await self.sandbox.sent_messages(chat)
        )
        return FamilyEnd(status.value, len(await self._campaign_finals(chat, order_id)), told)

    def _leftovers(self) -> dict[str, Any]:
        """The rest of the invariant: files left in the scratch folder or outside the vault,
        and the audit chain."""
        return {
            "scratch_files": sum(
                1 for root in self._scratch_roots() for entry in root.rglob("*") if entry.is_file()
            ),
            "stray": tuple(self.stray_files()),
            "audit_intact": self.audit_intact(),
            "likeness_kept": self._likeness_kept(),
        }

    def _likeness_kept(self) -> int:
        """Files of a subject's likeness (photos, voice, videos...) still recorded for a space
        whose consent was withdrawn: a revocation must leave none, a crash in it included."""
        kinds = [kind.value for kind in SUBJECT_DATA]
        rows = self._query(
            "SELECT COUNT(*) FROM media JOIN spaces ON spaces.id = media.space_id"
            f" WHERE spaces.status = ? AND media.kind IN ({', '.join('?' for _ in kinds)})",
            (SpaceStatus.REVOKED.value, *kinds),
        )
        return int(str(rows[0][0]))

    def stray_files(self) -> list[str]:
        """Files in the data folder outside the vault and the bot's own records."""
        # Imported here: bot.hostile plays its corpus through this harness.
        from bot.hostile import outside_the_vault

        return outside_the_vault(self._data_dir)

    def audit_intact(self) -> bool:
        """``tuanyuan audit verify``'s verdict on the bot's log, read beside the running bot."""
        key = derive_key(read_key_file(self._data_dir / "vault.key"), AUDIT_KEY_PURPOSE)
        head = read_head(self._data_dir / DATABASE_FILE)
        return verify_log(self._data_dir / "audit.log", key, head).intact

    def _telegram_schedule(self) -> dict[str, list[FaultKind]]:
        """One or two failures for each method an order's conversation uses, drawn at random."""
        return {
            method: self._rng.choices(FAULT_KINDS, k=self._rng.randint(1, 2))
            for method in _TELEGRAM_METHODS
        }

    @contextlib.contextmanager
    def _scratch_full(self, full: bool) -> Iterator[None]:
        """With ``full``, the bot's folder for renders (in memory) a tmpfs of
        :data:`_FULL_SCRATCH` while the order runs: it fills while the render is written. A mount
        needs root: on a machine where that is refused, the run fails with the reason
        (``disk_full_possible``)."""
        if not full:
            yield
            return
        scratch = self._memory_dir
        _mount_tmpfs(scratch, _FULL_SCRATCH)
        try:
            yield
        finally:
            # Lazily: a file the bot still holds open there must not keep the mount.
            subprocess.run(["umount", "-l", str(scratch)], check=True)

    async def _fault_at(self, point: KillPoint, status: SentMessage) -> str:
        """Inflict a fault the bot lives through, once the order was accepted (paid), and say
        what it was."""
        if point == "disk-full":
            return f"the scratch folder a {_FULL_SCRATCH} tmpfs, filled by the render"
        if point == "telegram":
            schedule = self._telegram_schedule()
            for method, kinds in schedule.items():
                await self.sandbox.schedule_faults(method, kinds)
            return "telegram: " + "; ".join(
                f"{method} {', '.join(kinds)}" for method, kinds in schedule.items()
            )
        percent_head = _head(self._, "Making the greeting: {percent}%")
        await self._wait_for(
            MEMBER,
            lambda m: m.message_id == status.message_id and percent_head in (m.text or ""),
            _RENDER_S,
        )
        if point == "worker-killed":
            killed = self.bot.kill_workers()
            return f"{killed} worker process(es) killed while composing (render, idle analysis)"
        held = self._rng.uniform(*_BUSY_S)
        connection = sqlite3.connect(self._data_dir / DATABASE_FILE, timeout=30)
        try:
            connection.execute("BEGIN IMMEDIATE")
            await asyncio.sleep(held)
        finally:
            connection.rollback()
            connection.close()
        return f"the database's write lock held {held:.1f} s while composing"

    async def _kill_at(
        self,
        point: KillPoint,
        order_id: str,
        recipient: str,
        status: SentMessage,
        actions_before: int,
    ) -> str:
        """Wait for ``point`` and return where the kill landed (the caller kills)."""
        percent_head = _head(self._, "Making the greeting: {percent}%")
        marking = self._("Marking it as made with AI...")

        def shows(text: str) -> Callable[[SentMessage], bool]:
            return lambda m: m.message_id == status.message_id and text in (m.text or "")

        def percent_of(message: SentMessage) -> int:
            text = message.text or ""
            digits = text.rpartition(percent_head)[2].rstrip("%") if percent_head in text else ""
            return int(digits) if digits.isdigit() else 0

        if point == "rendering":
            # Anywhere in the composing: the first status that shows at least a percentage
            # drawn at random (edits come every few seconds, so a few values are possible),
            # or the preview when the render outran the status.
            target = self._rng.randint(1, 60)
            shown = await self._wait_for(
                MEMBER,
                lambda m: (
                    (m.message_id == status.message_id and percent_of(m) >= target)
                    or self._is_preview(m, order_id)
                ),
                _RENDER_S,
            )
            self.bot.kill()
            if shown.message_id == status.message_id:
                return f"rendering at {percent_of(shown)}%"
            return "late: the preview was in"
        if point == "marking":
            return await self._kill_while_marking(order_id, status, shows(marking))
        if point == "uploading":
            deadline = time.monotonic() + _RENDER_S
            while time.monotonic() < deadline:
                self.bot.check_alive()
                actions = await self.sandbox.chat_actions(MEMBER.id)
                if actions.count("upload_video") > actions_before:
                    self.bot.kill()
                    previews, _ = await self._videos(order_id, recipient)
                    return "uploading" + (" (preview already in)" if previews else "")
                await asyncio.sleep(0.02)
            raise FaultError("the preview's upload never began")
        if point == "revocation":
            return await self._kill_after_revoking(status)
        if point == "moderation":
            return await self._kill_after_deciding(order_id)
        if point == "paid":
            delay = self._rng.uniform(0.0, 0.3)
            await asyncio.sleep(delay)
            self.bot.kill()
            return f"{delay:.2f} s after the payment"
        if point == "preview-sent":
            await self.sandbox.wait_held(timeout=_RENDER_S)
            self.bot.kill()
            return "after the preview's sendVideo was accepted"
        preview = await self._wait_for(MEMBER, lambda m: self._is_preview(m, order_id), _RENDER_S)
        if point == "final-sent":
            await self.sandbox.hold_responses("sendVideo")
        await self.sandbox.press_button(MEMBER, preview.message_id, SEND_PREFIX + order_id)
        if point == "final-sent":
            await self.sandbox.wait_held(timeout=_REPLY_S)
            self.bot.kill()
            return "after the final sendVideo was accepted"
        delay = self._rng.uniform(0.0, 0.5)
        await asyncio.sleep(delay)
        self.bot.kill()
        return f"{delay:.2f} s after Send it"

    async def _kill_after_revoking(self, status: SentMessage) -> str:
        """The subject withdraws consent while the order renders; the kill lands 0-1 s after
        they confirmed, while the bot stops the render and deletes the media."""
        percent_head = _head(self._, "Making the greeting: {percent}%")
        await self._wait_for(
            MEMBER,
            lambda m: m.message_id == status.message_id and percent_head in (m.text or ""),
            _RENDER_S,
        )
        confirm = await self._reply_to(
            SUBJECT,
            lambda: self.sandbox.send_text(SUBJECT, "/revoke"),
            until=lambda m: REVOKE_CONFIRM in buttons(m),
        )
        await self.sandbox.press_button(SUBJECT, confirm.message_id, REVOKE_CONFIRM)
        delay = self._rng.uniform(0.0, 1.0)
        await asyncio.sleep(delay)
        self.bot.kill()
        return f"{delay:.2f} s after the subject confirmed /revoke"

    async def _kill_after_deciding(self, order_id: str) -> str:
        """A moderator approves or rejects the order's card; the kill lands 0-0.3 s later,
        between the decision being recorded and the family told or the render queued."""
        await self._wait_for(ADMIN, lambda m: APPROVE_PREFIX + order_id in buttons(m), _REPLY_S)
        if self._rng.random() < 0.5:
            decision = APPROVE_PREFIX + order_id
        else:
            decision = f"{REASON_PREFIX}{self._rng.choice(REJECTION_REASONS[:4])}:{order_id}"
        self._decision = (order_id, decision)
        await self._decide(order_id, decision)
        delay = self._rng.uniform(0.0, 0.3)
        await asyncio.sleep(delay)
        self.bot.kill()
        verb = "approved" if decision.startswith(APPROVE_PREFIX) else "rejected"
        return f"{delay:.2f} s after the moderator {verb} it"

    async def _decide(self, order_id: str, decision: str) -> None:
        """Press ``decision`` on the order's newest card, "Reject" first when its reasons are
        not shown yet."""
        cards = [
            m
            for m in await self.sandbox.sent_messages(ADMIN.id)
            if any(data.endswith(order_id) for data in buttons(m))
        ]
        if not cards:
            return
        card = cards[-1]
        if decision not in buttons(card):
            if REJECT_PREFIX + order_id not in buttons(card):
                return
            await self.sandbox.press_button(ADMIN, card.message_id, REJECT_PREFIX + order_id)
            card = await self._wait_for(
                ADMIN,
                lambda m: m.message_id == card.message_id and decision in buttons(m),
                _REPLY_S,
            )
        await self.sandbox.press_button(ADMIN, card.message_id, decision)

    async def _kill_while_marking(
        self, order_id: str, status: SentMessage, says_marking: Callable[[SentMessage], bool]
    ) -> str:
        """Kill while the render marks the video: the status says so, or, since that stage
        often lasts less than the status message's pace between edits, while the worker writes
        the marked file (watermarked mix, AIGC metadata, C2PA signature) beside its final name."""
        partial_name = f".{order_id}.mp4.partial"
        deadline = time.monotonic() + _RENDER_S
        looked = 0.0
        while time.monotonic() < deadline:
            if any(any(root.rglob(partial_name)) for root in self._scratch_roots()):
                self.bot.kill()
                return "marking (the marked file being written)"
            if time.monotonic() - looked > 0.5:
                looked = time.monotonic()
                self.bot.check_alive()
                shown = await self._message(status.message_id)
                if says_marking(shown):
                    self.bot.kill()
                    return "marking (the status said so)"
                previews, _ = await self._videos(order_id, "")
                if any(self._is_preview(m, order_id) for m in previews):
                    self.bot.kill()
                    return "late: the preview was in"
            await asyncio.sleep(0.01)
        raise FaultError("the render never reached marking")

    def _is_preview(self, message: SentMessage, order_id: str) -> bool:
        return message.method == "sendVideo" and SEND_PREFIX + order_id in buttons(message)

    async def _message(self, message_id: int) -> SentMessage:
        sent = await self.sandbox.sent_messages(MEMBER.id)
        return next(m for m in sent if m.message_id == message_id)

    async def _play_member(self, order_id: str, recipient: str, status: SentMessage) -> None:
        """After the restart, do what the member would until the order ends: Send it under a
        preview they can see, "Show it again" only when what it offers is not in the chat.

        Returns when the order ended, or when it looks stuck (delivered by the database but not
        in the chat, with nothing to press), or at the run's deadline: the result says lost.
        """
        patience = self._patience_s
        deadline = time.monotonic() + _RUN_S
        pressed_at: dict[str, float] = {}
        stuck_since: float | None = None
        while time.monotonic() < deadline:
            self.bot.check_alive()
            order_status = self.status(order_id)
            previews, finals = await self._videos(order_id, recipient)
            now = time.monotonic()
            if order_status in ENDED and (finals or order_status != OrderStatus.DELIVERED):
                # A rejection's reason may still be on its way from the restarted bot.
                if await self._reason_read(order_id, recipient, status):
                    return
                stuck_since = stuck_since or now
                if now - stuck_since > _STUCK_S:
                    return
                await asyncio.sleep(0.5)
                continue
            shown = await self._message(status.message_id)
            if (
                order_status == OrderStatus.MODERATION
                and self._decision is not None
                and self._decision[0] == order_id
                and now - pressed_at.get("moderation", now) >= patience
            ):
                # The decision was lost with the bot (its update taken, not handled): the
                # moderator sees the card's buttons still there and decides again.
                pressed_at["moderation"] = now
                with contextlib.suppress(SandboxError, FaultError):
                    await self._decide(order_id, self._decision[1])
            pressed_at.setdefault("moderation", now)
            press: tuple[int, str] | None = None
            preview = next((m for m in previews if SEND_PREFIX + order_id in buttons(m)), None)
            if order_status == OrderStatus.PREVIEW and preview is not None:
                press = (preview.message_id, SEND_PREFIX + order_id)
            elif RESEND_PREFIX + order_id in buttons(shown) and not (
                finals or (order_status == OrderStatus.PREVIEW and previews)
            ):
                press = (status.message_id, RESEND_PREFIX + order_id)
            now = time.monotonic()
            if order_status == OrderStatus.DELIVERED and press is None:
                stuck_since = stuck_since or now
                if now - stuck_since > _STUCK_S:
                    return
            # A press is an update the bot may still be working through: the same one again
            # only when nothing came of it for a while, as a person would press again.
            if press is not None and now - pressed_at.get(press[1], -patience) >= patience:
                pressed_at[press[1]] = now
                with contextlib.suppress(SandboxError):
                    await self.sandbox.press_button(MEMBER, *press)
            await asyncio.sleep(0.5)

    async def refunds(self) -> tuple[int, int]:
        """Refunds so far, and the charge ids among them refunded more than once."""
        refunds = await self.sandbox.refunds()
        counts = Counter(refund.telegram_payment_charge_id for refund in refunds)
        return len(refunds), sum(1 for count in counts.values() if count > 1)


def _memory_parent(work_dir: Path) -> Path:
    """/dev/shm where it is a RAM filesystem, as the bot's default is; else the work folder (the
    bot then keeps its renders on the disk, and the harness counts them there)."""
    if DEFAULT_MEMORY_DIR.is_dir() and os.access(DEFAULT_MEMORY_DIR, os.W_OK):
        return DEFAULT_MEMORY_DIR
    work_dir.mkdir(parents=True, exist_ok=True)
    return work_dir


def _mount_tmpfs(folder: Path, size: str) -> None:
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise FaultError(f"cannot mount a tmpfs (root needed): {done.stderr.strip()}")


def disk_full_possible(scratch: Path) -> bool:
    """Whether this machine lets the harness mount a small tmpfs (root, or a container that
    allows it); the benchmark leaves the disk-full point out where it does not."""
    folder = scratch / "tmpfs-probe"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        _mount_tmpfs(folder, "64k")
    except (FaultError, OSError):
        return False
    subprocess.run(["umount", str(folder)], check=True)
    return True


def bot_environment(stand_in: BotApiStandIn, data_dir: Path, price_stars: int) -> dict[str, str]:
    """The environment of a bot run against ``stand_in``, none of this shell's TUANYUAN_*
    settings leaking in (the voice models' folders, their declared licence and the forced voice
    aside)."""
    voices = ("TUANYUAN_XTTS_DIR", "TUANYUAN_VOXCPM_DIR", "TUANYUAN_VOICE_LICENCE")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TUANYUAN_") or name in (*voices, "TUANYUAN_VOICE_BACKEND")
    }
    return env | {
        "TUANYUAN_BOT_TOKEN": TOKEN,
        "TUANYUAN_DATA_DIR": str(data_dir),
        "TUANYUAN_BOT_API_URL": stand_in.api_base_url,
        "TUANYUAN_BOT_FILE_URL": stand_in.file_base_url,
        "TUANYUAN_ADMIN_IDS": str(ADMIN.id),
        "TUANYUAN_ADMIN_CHAT_ID": str(ADMIN.id),
        "TUANYUAN_PRICE_STARS": str(price_stars),
        "TUANYUAN_RENDER_RETRY_S": "1",
        # A campaign greeting due after a restart goes out within a second, not half a minute.
        "TUANYUAN_CAMPAIGN_TICK_S": "1",
        # The admin web and /metrics on ports the system picks: nothing else may hold them.
        "TUANYUAN_WEB_LISTEN": "127.0.0.1:0",
        "TUANYUAN_METRICS_LISTEN": "127.0.0.1:0",
    }


def seed_campaign_greeting(
    db: Database,
    vault: Vault,
    audit: AuditLog,
    clock: Clock,
    user: SandboxUser,
    campaign_id: str,
    recipient: str,
) -> Order:
    """A family of its own (``user`` its verified owner, a living subject's consent) whose
    campaign greeting was made and previewed and is due now, as rendering would have left it (a
    few bytes stand for the video: the stand-in plays nothing)."""
    remember_user(db, user.id, user.first_name, user.language_code)
    language = language_from_telegram(user.language_code)
    space = consented_family(db, clock, user.id, "外婆", language, wording="faults")
    owner = membership_of(db, user.id)
    assert owner is not None
    update_member(db, owner, status=MemberStatus.VERIFIED.value, phone_number=_phone(user),
                  relation="孫女", verified_at=iso(clock.now()))  # fmt: skip
    video_id = vault.put_bytes(_CAMPAIGN_VIDEO)
    record_media(db, clock, video_id, MediaKind.VIDEO, "video/mp4", len(_CAMPAIGN_VIDEO),
                 user.id, space.id)  # fmt: skip
    order = new_order(db, user.id, user.id, language, space.id, campaign_id=campaign_id,
                      template_id=FESTIVAL, recipient=recipient, send_at=iso(clock.now()),
                      video_id=video_id, duration_s=12.0, width=1280, height=720)  # fmt: skip
    return scheduled(db, audit, order, "faults")


def _campaign_user(number: int, index: int) -> SandboxUser:
    """The ``index``-th family of run ``number``'s campaign (one chat each)."""
    return SandboxUser(
        _CAMPAIGN_FIRST_USER + CAMPAIGN_FAMILIES * number + index,
        f"家人{index}",
        language_code="zh-hant",
    )


def _phone(user: SandboxUser) -> str:
    return f"+8869{user.id:08d}"


def kill_plan(
    runs: int, rng: random.Random, points: tuple[KillPoint, ...] = KILL_POINTS
) -> list[KillPoint]:
    """Each run's fault, drawn at random, every one used once before any repeats when there
    are enough runs, so even a short benchmark covers them all."""
    last = [point for point in points if point == "revocation"][: min(1, runs)]
    others = [point for point in points if point != "revocation"]
    plan: list[KillPoint] = []
    while len(plan) < runs - len(last):
        shuffled = list(others)
        rng.shuffle(shuffled)
        plan += shuffled
    return plan[: runs - len(last)] + last


async def run_faults(
    points: list[KillPoint],
    work_dir: Path,
    price_stars: int = PRICE_STARS,
    seed: int | None = None,
    out: TextIO | None = None,
) -> FaultReport:
    """One harness, one run per entry of ``points``; progress lines go to ``out``."""

    def say(line: str) -> None:
        if out is not None:
            print(line, file=out, flush=True)

    # Ctrl-C or a TERM ends the runs through the harness's exit, which kills the bot's group:
    # a bot left polling the dead stand-in would outlive the benchmark.
    loop, main = asyncio.get_running_loop(), asyncio.current_task()
    assert main is not None
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, main.cancel)
    report = FaultReport()
    async with FaultHarness(work_dir, price_stars, random.Random(seed), say) as harness:
        report.setup_s = harness.setup_s
        say(f"family set up in {harness.setup_s:.1f} s")
        for number, point in enumerate(points, start=1):
            result = await harness.run(number, point)
            report.runs.append(result)
            say(result.line())
        report.refunds, report.refunded_twice = await harness.refunds()
    return report


SECTION = "Faults"
"""The heading of RELIABILITY.md's section this benchmark writes."""


@dataclass(frozen=True)
class PointSummary:
    """One fault's runs in a benchmark: what the report's table shows per row."""

    point: str
    runs: int
    duplicates: int
    lost: int
    broke: int
    mean_s: float

    def line(self) -> str:
        return (
            f"{self.point}: {self.runs} runs, {self.duplicates} duplicates, {self.lost} lost, "
            f"{self.broke} broke the invariant otherwise, {self.mean_s:.1f} s per run"
        )


def summaries(report: FaultReport) -> list[PointSummary]:
    return [
        PointSummary(
            point,
            len(runs),
            sum(run.duplicates for run in runs),
            sum(run.lost for run in runs),
            sum(bool(run.broken) for run in runs),
            sum(run.seconds for run in runs) / len(runs),
        )
        for point, runs in report.by_point().items()
        if runs
    ]


def describe(report: FaultReport) -> str:
    """The benchmark's closing lines: per kill point, then the one line that matters."""
    lines = [summary.line() for summary in summaries(report)]
    lines.append(f"refunds: {report.refunds}, charges refunded twice: {report.refunded_twice}")
    lines.append(report.summary())
    return "\n".join(lines)


def section(
    rows: list[PointSummary], refunds: int, refunded_twice: int, command: str, note: str = ""
) -> str:
    """RELIABILITY.md's faults section: each fault, its runs and what held; ``note``, when
    given, a paragraph after the table (what the numbers need to be read right)."""
    runs = sum(row.runs for row in rows)
    duplicates = sum(row.duplicates for row in rows) + refunded_twice
    lost, broke = sum(row.lost for row in rows), sum(row.broke for row in rows)
    lines = [
        f"Regenerated by `{command}`: the real bot as a child process, killed with SIGKILL at a "
        "point of an order, a moderator's decision, a campaign's delivery or a revocation drawn "
        "at random and restarted, or living through a killed render worker, a held database "
        "lock, Telegram's failures or a full scratch disk (`bot/faults.py`; a short run in "
        "tests/test_faults.py). After each run: every accepted order delivered exactly once or "
        "ended with the requester told, no worker of a killed bot left, no file in the scratch "
        "folder or outside the vault, no likeness kept for a revoked space, the audit chain "
        "verified.",
        "",
        f"- runs: {runs}; duplicates: {duplicates}; lost: {lost}; broke the invariant "
        f"otherwise: {broke}",
        f"- refunds: {refunds}; charges refunded twice: {refunded_twice}",
        "",
        "| fault | runs | duplicates | lost | broke the invariant otherwise | seconds per run |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| `{row.point}` | {row.runs} | {row.duplicates} | {row.lost} | {row.broke} | "
        f"{row.mean_s:.1f} |"
        for row in rows
    ]
    if note:
        lines += ["", note]
    return "\n".join(lines)
