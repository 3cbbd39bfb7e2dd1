"""Render jobs: turn a queued order into a delivered video without blocking the chat.

Renders are CPU-bound, so they run in worker processes (the embedded one-machine pool); the
event loop only waits for them. Orders that were queued or rendering when the bot stopped are
picked up again on start-up, so no family's greeting is silently dropped by a restart.
"""

import asyncio
import multiprocessing
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import structlog
from sqlite_utils import Database
from telegram import Bot
from telegram.error import TelegramError

from bot.delivery import send_failure_notice, send_greeting
from bot.logs import configure_logging
from bot.storage import MediaStore, Order, OrderStatus
from bot.storage.orders import get_order, orders_with_status, update_order
from engine import IngestError, RenderError, RenderResult, RenderSpec, render

log = structlog.get_logger(__name__)


class RenderJobs:
    """Queue of render-and-deliver tasks backed by a process pool."""

    def __init__(self, db: Database, media: MediaStore, work_dir: Path, workers: int) -> None:
        self._db = db
        self._media = media
        self._work_dir = work_dir
        # "spawn" keeps workers free of the parent's event loop, sockets and SQLite handles.
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=configure_logging,
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._bot: Bot | None = None

    def start(self, bot: Bot) -> None:
        """Begin accepting work and resume whatever an earlier run left unfinished."""
        self._bot = bot
        for order in orders_with_status(self._db, OrderStatus.QUEUED, OrderStatus.RENDERING):
            log.info("render.resumed", order_id=order.id, status=order.status)
            self.submit(order.id)

    def submit(self, order_id: str) -> None:
        task = asyncio.get_running_loop().create_task(self._run(order_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_idle(self) -> None:
        """Wait until every submitted order has been delivered or has failed."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        self._executor.shutdown(wait=True, cancel_futures=True)

    def _spec_for(self, order: Order) -> RenderSpec:
        if order.portrait_sha256 is None or order.voice_sha256 is None:
            raise RenderError(f"order {order.id} was queued without its media")
        return RenderSpec(
            render_id=order.id,
            template_id=order.template_id or "",
            language=order.language,
            portrait=self._media.path_for(order.portrait_sha256),
            voice_samples=(self._media.path_for(order.voice_sha256),),
            recipient=order.recipient or "",
            output_dir=self._work_dir / order.id,
        )

    async def _run(self, order_id: str) -> None:
        assert self._bot is not None, "RenderJobs.start() must be called before submit()"
        order = update_order(self._db, order_id, status=OrderStatus.RENDERING)
        log.info("render.started", order_id=order_id, template_id=order.template_id)
        try:
            spec = self._spec_for(order)
            result: RenderResult = await asyncio.get_running_loop().run_in_executor(
                self._executor, render, spec
            )
        except (RenderError, IngestError) as error:
            await self._fail(order, f"render: {error}")
            return
        try:
            video_sha256 = self._media.put_file(result.video)
            update_order(self._db, order_id, video_sha256=video_sha256)
            file_id = await send_greeting(self._bot, get_order(self._db, order_id), result)
        except TelegramError as error:
            await self._fail(order, f"delivery: {error}")
            return
        finally:
            shutil.rmtree(spec.output_dir, ignore_errors=True)
        update_order(self._db, order_id, status=OrderStatus.DELIVERED, telegram_file_id=file_id)
        log.info("render.delivered", order_id=order_id, duration_s=result.duration_s)

    async def _fail(self, order: Order, reason: str) -> None:
        log.warning("render.failed", order_id=order.id, reason=reason)
        update_order(self._db, order.id, status=OrderStatus.FAILED, error=reason)
        try:
            await send_failure_notice(self._bot, order)  # type: ignore[arg-type]
        except TelegramError as error:
            log.warning("render.failure_notice_lost", order_id=order.id, error=str(error))
