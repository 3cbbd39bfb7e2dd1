"""``tuanyuan bench load``: many people using the real bot at once through the stand-in, and
how long each waits for an answer.

Why it is built this way:

* The bot runs as a child process exactly as an operator runs it (``bot/faults.py``'s
  ``BotProcess``), polling the stand-in over HTTP; its own limits (the per-account flood
  guard included) are left as they ship.
* Telegram's limits are raised in the stand-in (30 messages a second in all would cap a
  thousand chats at one answer each every 33 s), and the bot's own pace of them
  (``TUANYUAN_SEND_PER_S``) lifted with them: the report says so.
* The people are played in the stand-in's own process, through its chats directly: a thousand
  HTTP long polls would load the machine more than the bot does. Each waits for its chat alone
  (``World.sent_listeners``), so a reply is seen the moment the stand-in stores it.
* Half of them create a family space (name, living subject, languages), share their phone
  number (the answer carries the subject's invite link) and say how they are related; the other
  half join through that link and share theirs, the start of consent; then everyone asks for
  /help now and then until the end. A few send an upload (a photo, the consent recording) that
  analysis workers judge: counted, but not in the latency of non-render interactions, which is
  what the target is about.
* One family in twenty goes all the way to a greeting: the subject reads the consent phrase
  aloud, and the owner sends a photo and a voice note, picks the first festival offered, names
  the recipient and confirms. Its preview renders in a render worker beside everyone's chats,
  which is what a festival day looks like; counted as ordered and rendered, not timed.
* Midway, one account sends 50 messages a second for a fifth of the run: the others' p99 in
  that window against the rest of the steady state says whether one person can stall everyone.

Lost: an interaction with no answer in :data:`_REPLY_S`. Duplicated: a chat holding more /help
answers than /help was sent (an update handled twice).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from bot.demo.samples import sample_portrait_jpeg, sample_voice_ogg
from bot.faults import (
    TOKEN,
    BotProcess,
    bot_environment,
    buttons,
    festivals_offered,
    group_members,
)
from bot.flows.order import PLACE_PREFIX, asks_for_voice, place_button
from bot.i18n import gettext_for, language_from_telegram
from bot.sandbox import BotApiStandIn, Limits, SandboxClient, SandboxUser, SentMessage

SECTION = "Load"
"""The heading of RELIABILITY.md's section this benchmark writes."""
_REPLY_S = 60.0
_UPLOAD_EVERY = 20  # one person in this many sends an upload once set up
_ORDER_EVERY = 20  # one family in this many orders a greeting
_RENDER_S = 900.0  # how long after the end an ordered preview may still arrive
_FLOOD_PER_S = 50.0
_FLOOD_SHARE = (0.4, 0.6)  # the flood runs over this part of the run
_SAMPLE_S = 5.0
_LANGUAGES = ("zh-hant", "zh-hans", "en")
_FLOODER = SandboxUser(5_000_000, "Flood", language_code="en")
# Telegram's per-bot and per-chat pace, lifted so that the bot, not the stand-in, is measured.
RAISED_LIMITS = Limits(messages_per_second=1e9, chat_messages_per_second=1e9, chat_burst=10**9)


@dataclass
class Interaction:
    kind: str  # "newspace", "help", "upload", ...
    user: int
    at: float  # seconds since the start
    reply_s: float | None  # None: no answer in time


@dataclass(frozen=True)
class MemorySample:
    """Resident memory at one moment: the bot's own process apart from its workers', so that a
    worker starting (a few hundred MiB each) is not mistaken for the bot growing."""

    at: float
    bot_mib: float
    workers_mib: tuple[float, ...]


@dataclass
class LoadReport:
    users: int
    duration_s: float
    think_s: float
    interactions: list[Interaction] = field(default_factory=list)
    duplicates: int = 0
    flood_sent: int = 0
    flood_window: tuple[float, float] = (0.0, 0.0)
    memory: list[MemorySample] = field(default_factory=list)
    load: list[tuple[float, float]] = field(default_factory=list)  # (at, 1-minute load average)
    ordered: int = 0
    rendered: int = 0  # previews that reached the owner's chat
    # Files the bot fetched from the file server, and over how many connections (client ports):
    # one kept connection serves a member's files one after another.
    downloads: int = 0
    download_connections: int = 0

    def replies(self, *, during_flood: bool | None = None, uploads: bool = False) -> list[float]:
        start, end = self.flood_window
        return [
            i.reply_s
            for i in self.interactions
            if i.reply_s is not None
            and (i.kind == "upload") == uploads
            and (during_flood is None or (start <= i.at < end) == during_flood)
            and (during_flood is None or i.kind == "help")
        ]

    @property
    def lost(self) -> int:
        return sum(i.reply_s is None for i in self.interactions)

    def p99_by_tenth(self) -> list[float]:
        """The non-render p99 in each tenth of the run: a tail that grows with time, or a
        one-off stall, shows where it happened."""
        tenths: list[list[float]] = [[] for _ in range(10)]
        for i in self.interactions:
            if i.reply_s is not None and i.kind != "upload":
                tenths[self._tenth(i.at)].append(i.reply_s)
        return [percentile(values, 0.99) for values in tenths]

    def bot_memory_by_tenth(self) -> list[float]:
        """The bot process's memory at the end of each tenth of the run (its last sample)."""
        last = [float("nan")] * 10
        for sample in self.memory:
            last[self._tenth(sample.at)] = sample.bot_mib
        return last

    def _tenth(self, at: float) -> int:
        """Which tenth of the run a moment falls in (the ramp-down's last moments in the last)."""
        return min(9, max(0, int(10 * at / self.duration_s)))


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class _Chats:
    """Per-chat waiters on what the bot sends: several per chat, as an owner waiting for a
    preview still asks for /help meanwhile."""

    def __init__(self) -> None:
        self._waiting: dict[int, list[Callable[[SentMessage], None]]] = {}
        self.helps: dict[int, int] = {}  # /help answers per chat
        self.help_texts: set[str] = set()

    def sent(self, message: SentMessage) -> None:
        if message.text in self.help_texts:
            self.helps[message.chat_id] = self.helps.get(message.chat_id, 0) + 1
        for waiter in self._waiting.get(message.chat_id, []):
            waiter(message)

    def is_help(self, message: SentMessage) -> bool:
        return message.text in self.help_texts

    async def reply(
        self,
        chat_id: int,
        act: Callable[[], Awaitable[object]],
        until: Callable[[SentMessage], bool] = lambda _: True,
        timeout_s: float = _REPLY_S,
    ) -> tuple[float | None, SentMessage | None]:
        """Do ``act``; seconds until the chat's first message matching ``until``, and it."""
        future: asyncio.Future[SentMessage] = asyncio.get_running_loop().create_future()

        def waiter(message: SentMessage) -> None:
            if not future.done() and until(message):
                future.set_result(message)

        waiters = self._waiting.setdefault(chat_id, [])
        waiters.append(waiter)
        started = time.monotonic()
        try:
            await act()
            async with asyncio.timeout(timeout_s):
                got = await future
        except TimeoutError:
            return None, None
        finally:
            waiters.remove(waiter)
            if not waiters:
                del self._waiting[chat_id]
        return time.monotonic() - started, got


async def _nothing() -> None:
    """The act of a wait for what the bot sends on its own (a notice, a finished render)."""


class LoadRun:
    def __init__(
        self, stand_in: BotApiStandIn, sandbox: SandboxClient, bot: BotProcess, think_s: float
    ) -> None:
        self._stand_in = stand_in
        self._sandbox = sandbox
        self._bot = bot
        self.think_s = think_s
        self._chats = _Chats()
        stand_in.world.sent_listeners.append(self._chats.sent)
        self._started = time.monotonic()
        self.interactions: list[Interaction] = []
        self._photo = sample_portrait_jpeg()
        self._voice = sample_voice_ogg("我同意", "zh-Hant")
        self._voice_note = sample_voice_ogg("我很想念你們。祝你們中秋快樂。")
        self.ordered = 0
        self.rendered = 0
        self._previews: list[asyncio.Task[None]] = []

    def _now(self) -> float:
        return time.monotonic() - self._started

    async def _do(
        self,
        kind: str,
        user: SandboxUser,
        act: Callable[[], Awaitable[object]],
        until: Callable[[SentMessage], bool] = lambda _: True,
    ) -> SentMessage | None:
        at = self._now()
        seconds, message = await self._chats.reply(user.id, act, until)
        self.interactions.append(Interaction(kind, user.id, at, seconds))
        return message

    def _text(self, user: SandboxUser, text: str) -> Callable[[], Awaitable[object]]:
        content: dict[str, object] = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return lambda: self._stand_in.world.user_message(user, content)

    def _press(
        self, user: SandboxUser, message_id: int, data: str
    ) -> Callable[[], Awaitable[object]]:
        return lambda: self._stand_in.world.press_button(user, message_id, data)

    def _contact(self, user: SandboxUser) -> Callable[[], Awaitable[object]]:
        contact = {"phone_number": f"+8869{user.id:08d}", "first_name": user.first_name,
                   "user_id": user.id}  # fmt: skip
        return lambda: self._stand_in.world.user_message(user, {"contact": contact})

    async def learn_help(self) -> None:
        """The /help answer in each language, so that answers can be counted per chat."""
        for number, language in enumerate(_LANGUAGES):
            user = SandboxUser(4_000_000 + number, "Probe", language_code=language)
            # Not timed: the first answer waits for the bot to finish starting.
            _seconds, message = await self._chats.reply(user.id, self._text(user, "/help"))
            if message is None or message.text is None:
                raise RuntimeError(f"/help in {language} got no answer: {self._bot.log_tail()}")
            self._chats.help_texts.add(message.text)  # its own answer came before: not counted

    async def family(self, number: int, end: float, rng: random.Random) -> None:
        """An owner and a subject: a space, the owner's number and relation, the subject's
        join and number, then /help now and then until ``end``."""
        language = _LANGUAGES[number % len(_LANGUAGES)]
        owner = SandboxUser(1_000_000 + number, f"Owner{number}", language_code=language)
        subject = SandboxUser(2_000_000 + number, f"Subject{number}", language_code=language)
        link = await self._space(owner, subject)
        wording = None
        if link is not None:
            await self._do("relation", owner, self._text(owner, "granddaughter"))
            await self._do("join", subject, self._text(subject, f"/start {link}"),
                           until=lambda m: m.reply_markup is not None)  # fmt: skip
            wording = await self._do("contact", subject, self._contact(subject))
        if number % _ORDER_EVERY == 2 and wording is not None and wording.text:
            await self._order(owner, subject, wording.text.splitlines()[-1])
        if number % _UPLOAD_EVERY == 0:
            await self._do("upload", owner, lambda: self._sandbox.send_photo(owner, self._photo))
        if number % _UPLOAD_EVERY == 1:
            voice = lambda: self._sandbox.send_voice(subject, self._voice, duration=3)  # noqa: E731
            await self._do("upload", subject, voice)
        await asyncio.gather(self._chat(owner, end, rng), self._chat(subject, end, rng))

    async def _order(self, owner: SandboxUser, subject: SandboxUser, phrase: str) -> None:
        """The subject reads the consent phrase; the owner, told they can make a greeting now,
        orders one and is left waiting for its preview (``_await_preview``)."""
        language = language_from_telegram(owner.language_code)
        _ = gettext_for(language)
        ready = _("You can make a greeting now: send a clear photo of {subject}'s face.")
        ready = ready.split("{")[0]
        told = asyncio.create_task(
            self._chats.reply(owner.id, _nothing, lambda m: ready in (m.text or ""))
        )
        statement = sample_voice_ogg(phrase, language_from_telegram(subject.language_code))
        consent = lambda: self._sandbox.send_voice(subject, statement, duration=8)  # noqa: E731
        await self._do("upload", subject, consent)
        if (await told)[1] is None:
            return
        voice_asked = asks_for_voice(_)
        photo = lambda: self._sandbox.send_photo(owner, self._photo)  # noqa: E731
        offer = await self._do(
            "upload", owner, photo, until=lambda m: festivals_offered(m) or m.text == voice_asked
        )
        if offer is not None and not festivals_offered(offer):
            note = lambda: self._sandbox.send_voice(owner, self._voice_note, 5)  # noqa: E731
            offer = await self._do("upload", owner, note, until=festivals_offered)
        if offer is None:
            return
        festival = next(data for data in buttons(offer) if data.startswith("tpl:"))
        pressed = self._press(owner, offer.message_id, festival)
        if await self._do("festival", owner, pressed) is None:
            return
        card = await self._do(
            "recipient",
            owner,
            self._text(owner, "Grandma"),
            until=lambda m: any(data.startswith(PLACE_PREFIX) for data in buttons(m)),
        )
        if card is None:
            return
        status = await self._do(
            "confirm", owner, self._press(owner, card.message_id, place_button(card.reply_markup))
        )
        if status is not None:
            self.ordered += 1
            self._previews.append(asyncio.create_task(self._await_preview(owner)))

    async def _await_preview(self, owner: SandboxUser) -> None:
        preview = await self._chats.reply(
            owner.id, _nothing, lambda m: m.method == "sendVideo", timeout_s=_RENDER_S
        )
        self.rendered += preview[1] is not None

    async def previews(self) -> None:
        """Every ordered preview, arrived or given up on after ``_RENDER_S`` past its order."""
        await asyncio.gather(*self._previews)

    async def _space(self, owner: SandboxUser, subject: SandboxUser) -> str | None:
        await self._do("newspace", owner, self._text(owner, "/newspace"))
        question = await self._do("name", owner, self._text(owner, subject.first_name),
                                  until=lambda m: m.reply_markup is not None)  # fmt: skip
        if question is None:
            return None
        languages = await self._do(
            "living", owner, self._press(owner, question.message_id, "space:living"),
            until=lambda m: m.reply_markup is not None,
        )  # fmt: skip
        if languages is None:
            return None
        # Ticking a language edits the keyboard in place: no new message to time.
        await self._press(owner, languages.message_id, "slang:cmn")()
        ready = await self._do(
            "ready", owner, self._press(owner, languages.message_id, "slang:done"),
            until=lambda m: m.reply_markup is not None,
        )  # fmt: skip
        if ready is None:
            return None
        # The subject's link comes once the owner's own number is known.
        invite = await self._do("contact", owner, self._contact(owner),
                                until=lambda m: "start=" in (m.text or ""))  # fmt: skip
        if invite is None or invite.text is None:
            return None
        return invite.text.split("start=", 1)[1].split()[0].rstrip(".)")

    async def _chat(self, user: SandboxUser, end: float, rng: random.Random) -> None:
        while True:
            await asyncio.sleep(rng.expovariate(1 / self.think_s))
            if self._now() >= end:
                return
            await self._do("help", user, self._text(user, "/help"), until=self._chats.is_help)

    def duplicates(self) -> int:
        """/help answers beyond the /help messages a chat sent: updates handled twice."""
        sent = Counter(i.user for i in self.interactions if i.kind == "help")
        return sum(max(0, answers - sent[chat]) for chat, answers in self._chats.helps.items())

    async def flood(self, start: float, end: float) -> int:
        """One account sending :data:`_FLOOD_PER_S` messages a second over [start, end)."""
        await asyncio.sleep(max(0.0, start - self._now()))
        sent = 0
        while self._now() < end:
            await self._stand_in.world.user_message(_FLOODER, {"text": f"flood {sent}"})
            sent += 1
            await asyncio.sleep(1 / _FLOOD_PER_S)
        return sent

    def memory(self) -> MemorySample:
        """Resident memory of the bot and of each of its workers (its process group)."""
        workers = tuple(
            _resident_mib(pid) for pid in group_members(self._bot.pid) if pid != self._bot.pid
        )
        return MemorySample(self._now(), _resident_mib(self._bot.pid), workers)


def _resident_mib(pid: int) -> float:
    """VmRSS of a process, 0 once it has exited."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def run_load(
    users: int, duration_s: float, think_s: float, ramp_s: float, seed: int, work: Path,
    out: TextIO, env: Mapping[str, str] | None = None,
) -> LoadReport:  # fmt: skip
    """Set up the stand-in and the bot (``env`` added to its environment), play ``users``
    people for ``duration_s``, report."""
    rng = random.Random(seed)
    report = LoadReport(users, duration_s, think_s)
    async with BotApiStandIn(TOKEN, RAISED_LIMITS) as stand_in:
        data_dir = work / "bot-data"
        data_dir.mkdir(parents=True, exist_ok=True)
        # The bot paces what it sends at Telegram's 30 a second unless told otherwise: lifted
        # with the stand-in's limits, or a thousand chats would wait for that pace, not the bot.
        environment = bot_environment(stand_in, data_dir, 0) | {"TUANYUAN_SEND_PER_S": "0"}
        environment |= env or {}
        bot = BotProcess(environment, work / "bot.log")
        bot.start()
        try:
            async with SandboxClient(stand_in.root_url, timeout_s=_REPLY_S) as sandbox:
                run = LoadRun(stand_in, sandbox, bot, think_s)
                await run.learn_help()
                start = run._now()
                end = start + duration_s
                flood = (start + duration_s * _FLOOD_SHARE[0], start + duration_s * _FLOOD_SHARE[1])
                report.flood_window = flood
                sampler = asyncio.create_task(_sample(run, report, end))
                flooder = asyncio.create_task(run.flood(*flood))

                async def person(number: int) -> None:
                    await asyncio.sleep(ramp_s * number / max(1, users // 2))
                    await run.family(number, end, random.Random(rng.random()))

                await asyncio.gather(*(person(n) for n in range(users // 2)))
                report.flood_sent = await flooder
                await sampler
                await run.previews()
                await asyncio.sleep(3.0)  # answers still in flight count as duplicates or not
                bot.check_alive()
                report.interactions = run.interactions
                report.duplicates = run.duplicates()
                report.ordered, report.rendered = run.ordered, run.rendered
                downloads = await sandbox.file_downloads()
                report.downloads = len(downloads)
                report.download_connections = len({d.client_port for d in downloads})
        finally:
            bot.kill()
    print(describe(report), file=out, flush=True)
    return report


async def _sample(run: LoadRun, report: LoadReport, end: float) -> None:
    while run._now() < end:
        report.memory.append(run.memory())
        report.load.append((run._now(), os.getloadavg()[0]))
        await asyncio.sleep(_SAMPLE_S)


def describe(report: LoadReport) -> str:
    everything = report.replies()
    base, flooded = report.replies(during_flood=False), report.replies(during_flood=True)
    uploads = report.replies(uploads=True)
    bot = [sample.bot_mib for sample in report.memory] or [float("nan")]
    with_workers = [sample.bot_mib + sum(sample.workers_mib) for sample in report.memory]
    workers = [mib for sample in report.memory for mib in sample.workers_mib]
    most_workers = max((len(sample.workers_mib) for sample in report.memory), default=0)
    load = [value for _, value in report.load] or [float("nan")]

    def ms(values: list[float], share: float) -> str:
        return f"{percentile(values, share) * 1000:.0f} ms"

    ratio = percentile(flooded, 0.99) / percentile(base, 0.99) if base and flooded else float("nan")
    return "\n".join(
        [
            f"{report.users} users for {report.duration_s:.0f} s (one /help each every "
            f"{report.think_s:.0f} s on average once set up); the stand-in's flood limits raised "
            f"(Telegram's 30 messages a second and 1 a second per chat lifted, and the bot's own "
            f"pace of them: TUANYUAN_SEND_PER_S=0)",
            f"non-render interactions: {len(everything)}, p50 {ms(everything, 0.5)}, "
            f"p99 {ms(everything, 0.99)}, max {ms(everything, 1.0)}",
            f"uploads (judged in analysis workers): {len(uploads)}, p50 {ms(uploads, 0.5)}, "
            f"p99 {ms(uploads, 0.99)}; files fetched: {report.downloads} over "
            f"{report.download_connections} connection(s)",
            f"/help p99 outside the flood {ms(base, 0.99)}, during one account's "
            f"{_FLOOD_PER_S:.0f} messages a second ({report.flood_sent} sent) {ms(flooded, 0.99)}: "
            f"{ratio:.2f}x",
            f"lost: {report.lost}, duplicated: {report.duplicates}",
            "p99 in each tenth of the run (ms): "
            + " ".join(f"{p99 * 1000:.0f}" for p99 in report.p99_by_tenth()),
            f"greetings ordered: {report.ordered}, previews rendered and sent: {report.rendered}",
            f"bot process memory: start {bot[0]:.0f} MiB, peak {max(bot):.0f} MiB, "
            f"end {bot[-1]:.0f} MiB; at the end of each tenth: "
            + " ".join(f"{mib:.0f}" for mib in report.bot_memory_by_tenth()),
            f"workers: at most {most_workers} at once, the largest {max(workers, default=0):.0f} "
            f"MiB; bot and workers together peak {max(with_workers, default=0):.0f} MiB",
            f"load average (1 min) over the run: min {min(load):.1f}, "
            f"mean {statistics.fmean(load):.1f}, max {max(load):.1f} on {os.cpu_count()} cores",
        ]
    )


def section(summary: str, command: str) -> str:
    """RELIABILITY.md's load section: how the load was made, then the run's report."""
    return "\n".join([
        f"Regenerated by `{command}`: simulated people join, "
        "consent, upload, order greetings (rendered beside the chats) and ask /help through "
        "the Bot API stand-in, whose flood limits (and the bot's own pace of them) are raised "
        "for the test, against the real bot as a child process; one account floods "
        f"{_FLOOD_PER_S:.0f} messages a second from {_FLOOD_SHARE[0]:.0%} to "
        f"{_FLOOD_SHARE[1]:.0%} of the run (`bot/load_bench.py`; a short run in "
        f"tests/test_load_bench.py). Lost: no answer within {_REPLY_S:.0f} s; duplicated: an "
        "update answered twice.",
        "",
        "```",
        summary,
        "```",
    ])  # fmt: skip


def bench(users: int, duration_s: float, think_s: float, ramp_s: float, seed: int,
          work: Path | None, out: TextIO) -> LoadReport:  # fmt: skip
    if work is not None:
        work.mkdir(parents=True, exist_ok=True)
        return asyncio.run(run_load(users, duration_s, think_s, ramp_s, seed, work, out))
    with tempfile.TemporaryDirectory(prefix="tuanyuan-load-") as scratch:
        return asyncio.run(run_load(users, duration_s, think_s, ramp_s, seed, Path(scratch), out))
