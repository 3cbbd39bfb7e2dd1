"""What runs on a Ray node: a render actor, rendering one greeting at a time, and the detection
task /verify sends there.

It keeps a render process (``bot/render_worker.py``) up between jobs, so the voice backends and
face models load once per actor, as in the embedded pool. A job's media are in-memory files of
the actor's process (``bot/plaintext.py``), and what the render writes goes into a folder of its
own in the node's memory (``/dev/shm``; the node's temp dir where there is none), removed however
the job ends: finished, refused, or cancelled (Ray raises CancelledError in an async actor's
task; the render process is killed with it). The in-memory files die with a killed actor; its
folder is removed by the next actor started on that node. The actor never sees the vault or its
key, only the parcel of bytes the bot decrypted. A
detection is a plain task, not an actor's job: it needs no models kept warm, and its file,
sent by anyone, gets a fresh process on the node as it would on the bot's machine.
"""

import asyncio
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bot.executors._embedded import RENDER_MODULE, detect_in, render_in
from bot.executors._parcel import pack_result, unpack_spec
from bot.executors._types import RenderCrashed, Reply
from bot.plaintext import MemoryFiles, TooMuchInMemory, job_folder, memory_root, sweep_dead_folders
from bot.workers import Priority, WorkerFailed, WorkerPool
from engine import RenderError


class RenderActor:
    """Ray's remote class (see ``RayExecutor``); ``progress`` answers while ``render`` runs."""

    def __init__(self) -> None:
        self._folders = memory_root(Path(tempfile.gettempdir()))
        sweep_dead_folders(self._folders)
        self._processes = WorkerPool(RENDER_MODULE, Priority.BATCH)
        self._progress: tuple[str, float] | None = None

    async def ready(self) -> int:
        """The actor's process id, once it is up: how long an actor takes to start."""
        return os.getpid()

    async def progress(self) -> tuple[str, float] | None:
        return self._progress

    async def render(self, request: str, files: dict[str, bytes]) -> dict[str, Any]:
        """Render the parcel; a reply of the finished files, or an ``error`` or ``crashed``."""
        folder = job_folder(self._folders)
        try:
            with MemoryFiles() as memory:
                spec = unpack_spec(request, files, folder, memory)
                spec.output_dir.mkdir(parents=True, exist_ok=True)
                result = await render_in(self._processes, spec, self._report)
                return pack_result(result)
        except (RenderError, TooMuchInMemory) as error:
            return {"error": str(error)}
        except RenderCrashed as error:
            return {"crashed": str(error)}
        finally:
            self._progress = None
            shutil.rmtree(folder, ignore_errors=True)

    def _report(self, stage: str, fraction: float) -> None:
        self._progress = (stage, fraction)


def detect_on_node(
    upload: bytes, key: bytes, trust_anchor: bytes | None, timeout_s: float
) -> Reply:
    """Ray's remote function (see ``RayExecutor``): the detection's reply, or ``timeout`` or
    ``crashed`` for the bot to raise as it would for a local process."""
    try:
        with MemoryFiles() as memory:
            path = memory.add(upload, "upload")
            return asyncio.run(detect_in(path, key, trust_anchor, timeout_s))
    except TimeoutError:
        return {"timeout": f"the detection took longer than {timeout_s:.0f} s"}
    except WorkerFailed as error:
        return {"crashed": str(error)}
