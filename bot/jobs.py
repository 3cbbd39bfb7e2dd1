"""Render jobs: turn a queued order into a delivered video without blocking the chat.

Each render runs in a process of its own (``bot/render_worker.py``, started by
``bot/workers.py``), at most ``render_workers`` at a time, so withdrawing consent can kill a
render mid-way. The inputs are decrypted from the vault into the order's private scratch
folder, which is deleted when the job ends however it ends. Consent is checked again right
before the render starts and right before delivery: a greeting whose consent was withdrawn
meanwhile is never sent. Orders that were queued or rendering when the bot stopped are picked
up again on start-up.
"""

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path

import structlog
from sqlite_utils import Database
from telegram import Bot
from telegram.error import TelegramError

from bot.audit import AuditLog
from bot.clock import Clock, iso
from bot.delivery import send_failure_notice, send_greeting
from bot.family.consent import ConsentRecord, current_consent
from bot.family.spaces import get_space
from bot.storage import MediaKind, Order, OrderStatus
from bot.storage.media import record_media
from bot.storage.orders import get_order, orders_with_status, update_order
from bot.vault import Vault, VaultError
from bot.workers import WorkerFailed, run_worker
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
    ) -> None:
        self._db = db
        self._marking = marking
        self._vault = vault
        self._audit = audit
        self._clock = clock
        self._work_dir = work_dir
        self._slots = asyncio.Semaphore(workers)
        self._tasks: dict[str, asyncio.Task[None]] = {}
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
            result = await _render_in_process(self._spec_for(order, consent))
        except (RenderError, VaultError) as error:
            await self._fail(order, f"render: {error}")
            return
        if self._consent_for(order) is None:
            self._discard(order, "consent withdrawn during the render")
            return
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

    def _spec_for(self, order: Order, consent: ConsentRecord) -> RenderSpec:
        if order.portrait_id is None or order.voice_id is None:
            raise RenderError(f"order {order.id} was queued without its media")
        inputs = self.scratch_dir(order.id) / "in"
        return RenderSpec(
            render_id=order.id,
            template_id=order.template_id or "",
            language=order.language,
            portrait=self._vault.decrypt_to(order.portrait_id, inputs / "portrait"),
            voice_samples=(self._vault.decrypt_to(order.voice_id, inputs / "voice"),),
            recipient=order.recipient or "",
            output_dir=self.scratch_dir(order.id) / "out",
            consent=consent.reference(),
            marking=self._marking(order.id),
        )

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


async def _render_in_process(spec: RenderSpec) -> RenderResult:
    """Run ``engine.render`` in a fresh process, killing it if this task is cancelled."""
    request = spec.model_dump_json(context={REVEAL_SECRETS: True}).encode()
    try:
        reply = await run_worker("bot.render_worker", request)
    except WorkerFailed as error:
        raise RenderError(str(error)) from None
    if not reply.get("ok"):
        raise RenderError(str(reply.get("error")))
    return RenderResult.model_validate(reply["result"])
