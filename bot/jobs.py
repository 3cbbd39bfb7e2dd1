"""Render jobs: the processes that turn an order into a sealed video, and the tasks that wait
for them, without blocking the chat.

Renders run where the executor (``bot/executors``) runs them: long-lived worker processes on
this machine, or render actors on a Ray cluster; at most ``executor.capacity`` at a time, so
withdrawing consent can stop a render mid-way and models load once per process. The inputs are
decrypted from the vault into in-memory files, never onto a disk (``bot/plaintext.py``); the
render writes into a private folder in memory (``/dev/shm``), and the video, its thumbnail and
any speaker profile it computed are sealed into the vault from there before the folder is
deleted, however the render ends. Each attempt gets a folder of its own (a retry never meets a
dead attempt's files), the engine keeps its own intermediate files inside it, and what a killed
bot left behind is deleted when the next one starts (its workers die with it, see
``bot/workers.py``; its in-memory inputs died with it). What an order's status becomes is not
decided here: ``bot.orders`` owns that and runs its steps as tasks submitted here, so that
revocation can cancel them by order id.
"""

import asyncio
import contextlib
import heapq
import itertools
import os
import shutil
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from pydantic import ValidationError
from sqlite_utils import Database

from bot.clock import Clock
from bot.delivery import ASPECT, Shape, shape_of
from bot.executors import Progress, RenderExecutor
from bot.family.consent import ConsentRecord
from bot.family.likeness import (
    current_profile,
    has_picture,
    keep_profile,
    profile_key,
    usable_clips,
    voice_notes,
)
from bot.i18n import words_language
from bot.plaintext import (
    FOLDER_PREFIX,
    MemoryFiles,
    TooMuchInMemory,
    job_folder,
    memory_root,
    sweep_dead_folders,
)
from bot.storage import MediaKind, Order
from bot.storage.media import record_media
from bot.vault import Vault, VaultError
from engine import (
    Marking,
    RenderError,
    RenderResult,
    RenderSpec,
    VoiceChoice,
    VoiceLicence,
    voice_note,
)

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Rendered:
    """A finished render, sealed in the vault: what the preview and the delivery send."""

    video_id: str
    thumbnail_id: str
    duration_s: float
    width: int
    height: int
    likeness: str
    voice: str
    voice_reason: str
    seconds: float  # the render's wall time, from the request to the sealed files


class RenderSlots:
    """At most ``count`` renders at once, a member's greeting always served before a campaign's.

    A semaphore with two queues: a waiting campaign render (``low``) gets a freed slot only
    when no member's order waits for one, so batches made days ahead never make a member wait
    for more than the one campaign render already running in their slot.
    """

    def __init__(self, count: int) -> None:
        self._free = count
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    @contextlib.asynccontextmanager
    async def held(self, low: bool = False) -> AsyncIterator[None]:
        await self._acquire(low)
        try:
            yield
        finally:
            self._release()

    def waiting(self, low: bool) -> int:
        """How many renders of that priority wait for a slot (tests, the report)."""
        rank = int(low)
        return sum(1 for r, _, f in self._waiting if r == rank and not f.done())

    async def _acquire(self, low: bool) -> None:
        if self._free > 0 and not any(not f.done() for _, _, f in self._waiting):
            self._free -= 1
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (int(low), next(self._order), future))
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()  # the slot was handed over just as the waiter was cancelled
            raise

    def _release(self) -> None:
        while self._waiting:
            _, _, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)
                return
        self._free += 1


class RenderJobs:
    """Render processes and the order tasks around them, cancellable by order id."""

    def __init__(
        self,
        db: Database,
        vault: Vault,
        clock: Clock,
        work_dir: Path,
        executor: RenderExecutor,
        marking: Callable[[str], Marking],
        xtts_dir: Path | None = None,
        voxcpm_dir: Path | None = None,
        voice_licence: VoiceLicence | None = None,
        voice_backend: VoiceChoice | None = None,
    ) -> None:
        self._db = db
        self._marking = marking
        self._xtts_dir = xtts_dir
        self._voxcpm_dir = voxcpm_dir
        self._voice_licence: VoiceLicence | None = voice_licence
        self._voice_backend: VoiceChoice | None = voice_backend
        self._vault = vault
        self._clock = clock
        self._work_dir = work_dir
        _sweep(work_dir)
        self._folders = memory_root(work_dir)
        sweep_dead_folders(self._folders)
        self.slots = RenderSlots(executor.capacity)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._executor = executor

    def submit(self, order_id: str, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` for this order as a task that :meth:`cancel` can stop."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks[order_id] = task
        task.add_done_callback(lambda done: self._forget(order_id, done))

    def _forget(self, order_id: str, done: asyncio.Task[None]) -> None:
        if self._tasks.get(order_id) is done:
            del self._tasks[order_id]
        if not done.cancelled() and (error := done.exception()) is not None:
            log.error("order.task_failed", order_id=order_id, error=repr(error))

    def task_of(self, order_id: str) -> "asyncio.Task[None] | None":
        return self._tasks.get(order_id)

    def scratch_dirs(self, order_id: str) -> list[Path]:
        """The order's attempts' scratch folders that exist now (one while it renders)."""
        return sorted(self._folders.glob(f"{FOLDER_PREFIX}{os.getpid()}-{order_id}-*"))

    async def cancel(self, order_ids: list[str]) -> int:
        """Stop these orders' tasks now (stopping their renders); returns how many ran."""
        tasks = [self._tasks[order_id] for order_id in order_ids if order_id in self._tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return len(tasks)

    async def wait_idle(self) -> None:
        """Wait until no order task is left (each delivered, failed, waiting on a person, or
        cancelled)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def close(self) -> None:
        await self.cancel(list(self._tasks))
        await self._executor.close()

    async def render(self, order: Order, consent: ConsentRecord, progress: Progress) -> Rendered:
        """Render the order on the executor and seal what it made.

        Raises RenderCrashed when what ran it died, RenderError when the engine refused.
        """
        started = time.monotonic()
        scratch = job_folder(self._folders, f"{order.id}-")
        try:
            with MemoryFiles() as inputs:
                spec, notes_key = self._spec_for(order, consent, inputs, scratch)
                result = await self._executor.render(spec, progress)
            if shape_of(order) == Shape.VOICE:
                result = await asyncio.to_thread(_as_voice_note, spec, result)
            return self._seal(order, result, notes_key, time.monotonic() - started)
        except (VaultError, ValidationError, TooMuchInMemory) as error:
            raise RenderError(str(error)) from error
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _seal(self, order: Order, result: RenderResult, notes_key: str, seconds: float) -> Rendered:
        assert order.space_id is not None
        if result.speaker_profile is not None:
            keep_profile(
                self._db,
                self._vault,
                self._clock,
                order.space_id,
                notes_key,
                result.speaker_profile.read_bytes(),
                order.user_id,
            )
        video_id = self._vault.put_file(result.video)
        record_media(
            self._db,
            self._clock,
            video_id,
            MediaKind.VIDEO,
            "audio/ogg" if result.video.suffix == ".ogg" else "video/mp4",
            result.size_bytes,
            order.user_id,
            order.space_id,
        )
        thumbnail_id = self._vault.put_file(result.thumbnail)
        record_media(
            self._db,
            self._clock,
            thumbnail_id,
            MediaKind.THUMBNAIL,
            "image/jpeg",
            result.thumbnail.stat().st_size,
            order.user_id,
            order.space_id,
        )
        return Rendered(
            video_id,
            thumbnail_id,
            result.duration_s,
            result.width,
            result.height,
            result.likeness,
            result.voice,
            result.voice_reason,
            seconds,
        )

    def _spec_for(
        self, order: Order, consent: ConsentRecord, inputs: MemoryFiles, scratch: Path
    ) -> tuple[RenderSpec, str]:
        """The render's inputs, decrypted into ``inputs``, and the profile's key.

        The greeting is voiced from every note the family sent and may show any usable clip of
        theirs; a speaker profile already computed from exactly these notes is passed along.
        """
        assert order.space_id is not None
        if not has_picture(self._db, order.space_id, order.portrait_id):
            raise RenderError("the order was queued without a picture of the subject")
        notes = voice_notes(self._db, order.space_id)
        clips = usable_clips(self._db, order.space_id)
        key = profile_key(notes)
        profile_id = current_profile(self._db, order.space_id, key)

        def decrypted(media_id: str, name: str) -> Path:
            return inputs.add(self._vault.read_bytes(media_id), name)

        spec = RenderSpec(
            render_id=order.id,
            template_id=order.template_id or "",
            language=words_language(order.language, order.spoken_language),
            portrait=decrypted(order.portrait_id, "portrait") if order.portrait_id else None,
            voice_samples=tuple(decrypted(row["id"], f"voice-{i}") for i, row in enumerate(notes)),
            footage=tuple(decrypted(row["id"], f"clip-{i}") for i, row in enumerate(clips)),
            likeness=order.likeness,
            spoken_language="yue" if order.spoken_language == "yue" else None,
            speaker_profile=decrypted(profile_id, "profile") if profile_id else None,
            xtts_dir=self._xtts_dir,
            voxcpm_dir=self._voxcpm_dir,
            voice_licence=self._voice_licence,
            voice_backend=self._voice_backend,
            recipient=order.recipient or "",
            sender=order.sender or "",
            message=order.message,
            take=order.take,
            output_dir=scratch / "out",
            aspect=ASPECT[shape_of(order)],
            video_note=shape_of(order) == Shape.ROUND,
            consent=consent.reference(),
            marking=self._marking(order.id),
        )
        return spec, key


def _as_voice_note(spec: RenderSpec, result: RenderResult) -> RenderResult:
    """The render's sound as a voice message, the spoken disclosure first; the video it came
    from stays in the scratch folder (nobody receives it)."""
    note = result.video.with_suffix(".ogg")
    seconds = voice_note(
        result.video, note, spec.template_id, spec.speaks, spec.render_id, spec.marking
    )
    return result.model_copy(
        update={"video": note, "duration_s": seconds, "size_bytes": note.stat().st_size}
    )


def _sweep(work_dir: Path) -> None:
    """Delete what a killed bot (or one of a release that rendered there) left in the scratch
    folder. Only one bot runs on a data folder, so at its start nothing of its own uses it."""
    if work_dir.is_dir():
        for entry in work_dir.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
