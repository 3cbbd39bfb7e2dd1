"""Renders on a Ray cluster: render actors on the nodes that joined with ``tuanyuan worker``.

The bot is a Ray driver (beside the head node, or through ``ray://`` with Ray Client). It starts
one actor per GPU when the cluster has GPUs, else ``TUANYUAN_RAY_RENDER_ACTORS`` CPU actors, each
asking for one unit of the ``tuanyuan_render`` resource that only ``tuanyuan worker`` nodes offer
(a node without this software installed could not run one). A render takes an idle actor, sends
it the parcel of decrypted inputs through the object store and gets the finished files back the
same way; at most ``capacity`` renders are in flight (never more than the actors), the rest
wait as queued orders.

Ray's own retries are off for render actors: a render that died with its actor or its node is
reported as RenderCrashed, the actor is replaced (elsewhere, if its node is gone), and the
order table counts the attempt and runs it again. That keeps one count of attempts and one
place (the order table) that makes delivery exactly-once, whatever Ray re-ran.
"""

import asyncio
import logging
from pathlib import Path
from typing import Any

import ray
import structlog
from ray.exceptions import RayError, TaskCancelledError

from bot.executors._actor import RenderActor, detect_on_node
from bot.executors._cluster import RENDER_RESOURCE
from bot.executors._parcel import pack_spec, unpack_result
from bot.executors._types import Progress, RenderCrashed, Reply
from bot.metrics import worker_lost
from bot.workers import WorkerFailed
from engine import RenderError, RenderResult, RenderSpec

log = structlog.get_logger(__name__)

# A render actor's handle: Ray types handles through its decorator, which mypy cannot follow
# for a class made remote at run time.
Actor = Any

NAMESPACE = "tuanyuan"
# How often a render's progress is asked of its actor; the status message changes every 3 s.
PROGRESS_POLL_S = 1.0
# A cancelled render whose actor has not stopped it by then is ended with its actor.
STOP_TIMEOUT_S = 5.0


class RayExecutor:
    """Render actors on the cluster at ``address``, handed out one render at a time."""

    def __init__(self, address: str, cpu_actors: int, max_in_flight: int | None) -> None:
        ray.init(
            address=address,
            namespace=NAMESPACE,
            logging_level=logging.WARNING,
            log_to_driver=False,
        )
        gpus = int(ray.cluster_resources().get("GPU", 0))  # type: ignore[no-untyped-call]
        self._on_gpus = gpus > 0
        self.actors = gpus or cpu_actors
        # More renders in flight than actors would only wait on the cluster as "rendering".
        self.capacity = min(max_in_flight or self.actors, self.actors)
        self._idle: asyncio.Queue[Actor] = asyncio.Queue()
        # Any node with a CPU free, the head included; like a render, tried once.
        self._detection: Any = ray.remote(detect_on_node).options(num_cpus=1, max_retries=0)
        for _ in range(self.actors):
            self._idle.put_nowait(self._new_actor())
        log.info("ray.connected", address=address, gpus=gpus, actors=self.actors,
                 in_flight=self.capacity)  # fmt: skip

    def _new_actor(self) -> Actor:
        return render_actor(self._on_gpus)

    async def render(self, spec: RenderSpec, progress: Progress) -> RenderResult:
        request, files = await asyncio.to_thread(pack_spec, spec)
        actor = await self._idle.get()
        healthy = True
        try:
            ref: ray.ObjectRef[Any] = actor.render.remote(request, files)
            reply: dict[str, Any] = await _followed(actor, ref, progress)
        except asyncio.CancelledError:
            healthy = await _stopped(ref)
            raise
        except RayError as error:
            healthy = False
            log.warning("ray.render_lost", render_id=spec.render_id, error=type(error).__name__)
            raise RenderCrashed(f"the render's actor or node was lost: {error}") from None
        finally:
            self._idle.put_nowait(actor if healthy else self._replacing(actor))
        if "crashed" in reply:
            raise RenderCrashed(str(reply["crashed"]))
        if "error" in reply:
            raise RenderError(str(reply["error"]))
        return await asyncio.to_thread(unpack_result, reply, spec.output_dir)

    def _replacing(self, actor: Actor) -> Actor:
        ray.kill(actor, no_restart=True)
        worker_lost("ray render actor")
        return self._new_actor()

    async def detect(
        self, upload: Path, key: bytes, trust_anchor: bytes | None, timeout_s: float
    ) -> Reply:
        data = await asyncio.to_thread(upload.read_bytes)
        ref: ray.ObjectRef[Reply] = self._detection.remote(data, key, trust_anchor, timeout_s)
        try:
            reply = await ref
        except asyncio.CancelledError:
            ray.cancel(ref, force=True)
            raise
        except RayError as error:
            raise WorkerFailed(f"the detection's node was lost: {error}") from None
        if "timeout" in reply:
            raise TimeoutError(reply["timeout"])
        if "crashed" in reply:
            raise WorkerFailed(str(reply["crashed"]))
        return reply

    async def close(self) -> None:
        await asyncio.to_thread(ray.shutdown)


def render_actor(on_gpu: bool) -> Actor:
    """A new render actor on a node that offers renders (and a GPU of its own, ``on_gpu``).

    Ray neither restarts it nor retries its tasks: the order table counts attempts.
    """
    remote_class: Any = ray.remote(RenderActor)
    return remote_class.options(
        num_cpus=1,
        num_gpus=1 if on_gpu else 0,
        resources={RENDER_RESOURCE: 1},
        max_restarts=0,
        max_task_retries=0,
    ).remote()


async def _followed(actor: Actor, ref: ray.ObjectRef[Any], progress: Progress) -> Any:
    """The render's reply, passing its progress on while it runs."""
    done = asyncio.ensure_future(ref)
    try:
        while True:
            finished, _ = await asyncio.wait({done}, timeout=PROGRESS_POLL_S)
            if finished:
                return done.result()
            try:
                asked = actor.progress.remote()
                report: tuple[str, float] | None = await asyncio.wait_for(asked, PROGRESS_POLL_S)
            except (RayError, TimeoutError):
                continue  # the render's own reply says what happened to the actor
            if report is not None:
                progress(*report)
    finally:
        done.cancel()  # no-op when finished; else the caller decides what becomes of the task


async def _stopped(ref: ray.ObjectRef[Any]) -> bool:
    """Cancel the render's task; whether its actor stopped it (and may take the next job)."""
    ray.cancel(ref)
    try:
        async with asyncio.timeout(STOP_TIMEOUT_S):
            await ref
    except TaskCancelledError:
        return True
    except (RayError, TimeoutError):
        return False
    return True
