"""Render jobs: turn a queued order into a delivered video without blocking the chat.

Renders run in long-lived worker processes (``bot/render_worker.py``, kept by
``bot/workers.WorkerPool``), at most ``render_workers`` at a time, so withdrawing consent can
kill a render mid-way and models load once per process. The inputs are decrypted from the vault
into the order's private scratch folder, which is deleted when the job ends however it ends; a
speaker profile the render computed is sealed back into the vault for the family's next
greeting. Consent is checked
again right before the render starts and right before delivery: a greeting whose consent was
withdrawn meanwhile is never sent. Orders that were queued or rendering when the bot stopped
are picked up again on start-up.
"""

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path

import structlog
from pydantic import ValidationError
from sqlite_utils import Database
from telegram import Bot
from telegram.error import TelegramError

from bot.audit import AuditLog
from bot.clock import Clock, iso
from bot.delivery import send_failure_notice, send_greeting
from bot.family.consent import ConsentRecord, current_consent
from bot.family.likeness import (
    current_profile,
    keep_profile,
    profile_key,
    usable_clips,
    voice_notes,
)
from bot.family.spaces import get_space
from bot.storage import MediaKind, Order, OrderStatus
from bot.storage.media import record_media
from bot.storage.orders import get_order, orders_with_status, update_order
from bot.vault import Vault, VaultError
from bot.workers import WorkerFailed, WorkerPool
from engine import REVEAL_SECRETS, Marking, RenderError, RenderResult, RenderSpec

log = structlog.get_logger(__name__)

SYSTEM_ACTOR = "system"


class RenderJobs:
    """Queue of render-and-deliver tasks, one killable process per render."""

    def __init__(
        self,
        db: Database,
        vault: Vault,
        audit: AuditLog,
        clock: Clock,
        work_dir: Path,
        workers: int,
        marking: Callable[[str], Marking],
        xtts_dir: Path | None = None,
    ) -> None:
        self._db = db
        self._marking = marking
        self._xtts_dir = xtts_dir
        self._vault = vault
        self._audit = audit
        self._clock = clock
        self._work_dir = work_dir
        self._slots = asyncio.Semaphore(workers)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._processes = WorkerPool("bot.render_worker")
        self._bot: Bot | None = None

    def start(self, bot: Bot) -> None:
        """Begin accepting work and resume whatever an earlier run left unfinished."""
        self._bot = bot
        for order in orders_with_status(self._db, OrderStatus.QUEUED, OrderStatus.RENDERING):
            log.info("render.resumed", order_id=order.id, status=order.status)
            self.submit(order.id)

    def submit(self, order_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self._run(order_id))
        self._tasks[order_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(order_id, None))

    def scratch_dir(self, order_id: str) -> Path:
        return self._work_dir / order_id

    async def cancel(self, order_ids: list[str]) -> int:
        """Stop these orders' renders now (killing their processes); returns how many ran."""
        tasks = [self._tasks[order_id] for order_id in order_ids if order_id in self._tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return len(tasks)

    async def wait_idle(self) -> None:
        """Wait until every submitted order has been delivered, has failed or was cancelled."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def close(self) -> None:
        await self.cancel(list(self._tasks))
        await self._processes.close()

    async def _run(self, order_id: str) -> None:
        try:
            async with self._slots:
                await self._render_and_deliver(get_order(self._db, order_id))
        finally:
            shutil.rmtree(self.scratch_dir(order_id), ignore_errors=True)

    def _consent_for(self, order: Order) -> ConsentRecord | None:
        if order.space_id is None:
            return None
        space = get_space(self._db, order.space_id)
        return current_consent(self._db, space, self._clock.now())

    async def _render_and_deliver(self, order: Order) -> None:
        assert self._bot is not None, "RenderJobs.start() must be called before submit()"
        if order.status not in (OrderStatus.QUEUED, OrderStatus.RENDERING):
            return
        consent = self._consent_for(order)
        if consent is None:
            self._discard(order, "no current consent before rendering")
            return
        order = update_order(self._db, order.id, status=OrderStatus.RENDERING)
        self._audit.record(SYSTEM_ACTOR, "render.started", order=order.id, consent=consent.id)
        try:
            spec, notes_key = self._spec_for(order, consent)
            result = await _render_in(self._processes, spec)
        except (RenderError, VaultError, ValidationError) as error:
            await self._fail(order, f"render: {error}")
            return
        if self._consent_for(order) is None:
            self._discard(order, "consent withdrawn during the render")
            return
        assert order.space_id is not None
        if result.speaker_profile is not None:
            keep_profile(self._db, self._vault, self._clock, order.space_id, notes_key,
                         result.speaker_profile.read_bytes(), order.user_id)  # fmt: skip
        update_order(self._db, order.id, likeness=result.likeness, voice=result.voice,
                     voice_reason=result.voice_reason)  # fmt: skip
        try:
            video_id = self._vault.put_file(result.video)
            record_media(self._db, self._clock, video_id, MediaKind.VIDEO, "video/mp4",
                         result.size_bytes, order.user_id, order.space_id)  # fmt: skip
            update_order(self._db, order.id, video_id=video_id)
            file_id, message_id = await send_greeting(self._bot, order, result)
        except TelegramError as error:
            await self._fail(order, f"delivery: {error}")
            return
        update_order(self._db, order.id, status=OrderStatus.DELIVERED, telegram_file_id=file_id,
                     delivered_message_id=message_id,
                     delivered_at=iso(self._clock.now()))  # fmt: skip
        self._audit.record(SYSTEM_ACTOR, "render.delivered", order=order.id, consent=consent.id)
        log.info("render.delivered", order_id=order.id, duration_s=result.duration_s)

    def _spec_for(self, order: Order, consent: ConsentRecord) -> tuple[RenderSpec, str]:
        """The render's inputs, decrypted into its scratch folder, and the profile's key.

        The greeting is voiced from every note the family sent and may show any usable clip of
        theirs; a speaker profile already computed from exactly these notes is passed along.
        """
        assert order.space_id is not None
        inputs = self.scratch_dir(order.id) / "in"
        notes = voice_notes(self._db, order.space_id)
        clips = usable_clips(self._db, order.space_id)
        if order.portrait_id is None and not clips:
            raise RenderError(f"order {order.id} was queued without a picture of the subject")
        key = profile_key(notes)
        profile_id = current_profile(self._db, order.space_id, key)

        def decrypted(media_id: str, name: str) -> Path:
            return self._vault.decrypt_to(media_id, inputs / name)

        spec = RenderSpec(
            render_id=order.id,
            template_id=order.template_id or "",
            language=order.language,
            portrait=decrypted(order.portrait_id, "portrait") if order.portrait_id else None,
            voice_samples=tuple(decrypted(row["id"], f"voice-{i}") for i, row in enumerate(notes)),
            footage=tuple(decrypted(row["id"], f"clip-{i}") for i, row in enumerate(clips)),
            likeness=order.likeness,
            spoken_language="yue" if order.spoken_language == "yue" else None,
            speaker_profile=decrypted(profile_id, "profile") if profile_id else None,
            xtts_dir=self._xtts_dir,
            recipient=order.recipient or "",
            output_dir=self.scratch_dir(order.id) / "out",
            consent=consent.reference(),
            marking=self._marking(order.id),
        )
        return spec, key

    def _discard(self, order: Order, reason: str) -> None:
        """Consent is gone: the render's files go with the scratch folder, nothing is sent."""
        log.warning("render.discarded", order_id=order.id, reason=reason)
        self._audit.record(SYSTEM_ACTOR, "render.discarded", order=order.id, reason=reason)
        if get_order(self._db, order.id).status in (OrderStatus.QUEUED, OrderStatus.RENDERING):
            update_order(self._db, order.id, status=OrderStatus.CANCELLED, error=reason)

    async def _fail(self, order: Order, reason: str) -> None:
        log.warning("render.failed", order_id=order.id, reason=reason)
        self._audit.record(SYSTEM_ACTOR, "render.failed", order=order.id)
        update_order(self._db, order.id, status=OrderStatus.FAILED, error=reason)
        assert self._bot is not None
        try:
            await send_failure_notice(self._bot, order)
        except TelegramError as error:
            log.warning("render.failure_notice_lost", order_id=order.id, error=str(error))


async def _render_in(processes: WorkerPool, spec: RenderSpec) -> RenderResult:
    """Run ``engine.render`` in a render process, killing it if this task is cancelled."""
    request = spec.model_dump_json(context={REVEAL_SECRETS: True}).encode()
    try:
        reply = await processes.call(request)
    except WorkerFailed as error:
        raise RenderError(str(error)) from None
    if not reply.get("ok"):
        raise RenderError(str(reply.get("error")))
    return RenderResult.model_validate(reply["result"])
