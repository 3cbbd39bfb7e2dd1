"""Renders in this machine's long-lived worker processes (``bot/workers.WorkerPool``) and
detections in fresh ones: the default, a single-machine install that starts no service.

``render_in`` and ``detect_in`` are also what runs on a Ray node, so a job behaves the same
wherever it runs: the engine in a child process that a cancellation kills at once.
"""

import json
from pathlib import Path
from typing import Any

from bot.executors._types import Progress, RenderCrashed, Reply
from bot.workers import Priority, WorkerFailed, WorkerPool, run_worker
from engine import REVEAL_SECRETS, RenderError, RenderResult, RenderSpec

RENDER_MODULE = "bot.render_worker"
DETECT_MODULE = "bot.verify_worker"


class EmbeddedExecutor:
    """At most ``workers`` renders at once, each in a render process kept between jobs."""

    def __init__(self, workers: int) -> None:
        self.capacity = workers
        self._processes = WorkerPool(RENDER_MODULE, Priority.BATCH)

    async def render(self, spec: RenderSpec, progress: Progress) -> RenderResult:
        return await render_in(self._processes, spec, progress)

    async def detect(
        self, upload: Path, key: bytes, trust_anchor: bytes | None, timeout_s: float
    ) -> Reply:
        return await detect_in(upload, key, trust_anchor, timeout_s)

    async def close(self) -> None:
        await self._processes.close()


async def render_in(processes: WorkerPool, spec: RenderSpec, progress: Progress) -> RenderResult:
    """Run ``engine.render`` in a render process, killing it if this task is cancelled.

    Raises RenderCrashed when the process died, RenderError when the engine refused.
    """
    request = spec.model_dump_json(context={REVEAL_SECRETS: True}).encode()

    def report(event: dict[str, Any]) -> None:
        progress(str(event.get("stage", "")), float(event.get("fraction", 0.0)))

    try:
        reply = await processes.call(request, on_progress=report)
    except WorkerFailed as error:
        raise RenderCrashed(str(error)) from None
    if not reply.get("ok"):
        raise RenderError(str(reply.get("error")))
    return RenderResult.model_validate(reply["result"])


async def detect_in(
    upload: Path, key: bytes, trust_anchor: bytes | None, timeout_s: float
) -> Reply:
    """Run the detection in a fresh process (a stranger's file shares none with other work),
    killed past ``timeout_s`` (TimeoutError); WorkerFailed when it died."""
    request = {
        "path": str(upload),
        "key": key.hex(),
        "trust_anchor": trust_anchor.hex() if trust_anchor is not None else None,
    }
    return await run_worker(DETECT_MODULE, json.dumps(request).encode(), Priority.PROMPT, timeout_s)
