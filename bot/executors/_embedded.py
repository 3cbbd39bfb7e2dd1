"""Renders in this machine's long-lived worker processes (``bot/workers.WorkerPool``): the
default, a single-machine install that starts no service.

``render_in`` is also what a Ray render actor runs on its node, so a render behaves the same
wherever it runs: the engine in a child process that a cancellation kills at once.
"""

from typing import Any

from bot.executors._types import Progress, RenderCrashed
from bot.workers import WorkerFailed, WorkerPool
from engine import REVEAL_SECRETS, RenderError, RenderResult, RenderSpec

RENDER_MODULE = "bot.render_worker"


class EmbeddedExecutor:
    """At most ``workers`` renders at once, each in a render process kept between jobs."""

    def __init__(self, workers: int) -> None:
        self.capacity = workers
        self._processes = WorkerPool(RENDER_MODULE)

    async def render(self, spec: RenderSpec, progress: Progress) -> RenderResult:
        return await render_in(self._processes, spec, progress)

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
