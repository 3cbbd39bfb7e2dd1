"""``tuanyuan bench queue``: many short orders placed at once through the real bot, drained on
the embedded pool and on a two-node local Ray cluster; then the numbers that size a multi-GPU
cluster, measured on the same local cluster.

Each run is the fault benchmark's harness (``bot/faults.py``: the stand-in in this process, the
bot as a child process exactly as an operator runs it, one family with a living subject's
consent) without the kills: the member places every order back to back, presses Send it under
each preview as it arrives, and the stand-in's record says how many greetings each order
delivered (a duplicate is a second final video for one order). Meanwhile another user sends
/help every couple of seconds: how long the bot takes to answer them while its queue drains.

The cluster measurements use the render actors the bot uses (``bot/executors``): how long an
actor takes to start, how long its first render takes over a warm one (the render process
starting and loading its models), what one actor call that does nothing costs (Ray's overhead
per job), and moving a 10 MB video through the object store.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TextIO

import ray

from bot.delivery import ORIGINAL_PREFIX
from bot.demo.samples import sample_portrait_jpeg, sample_voice_ogg
from bot.executors import RENDER_RESOURCE, LocalCluster
from bot.faults import ENDED, MEMBER, FaultHarness, buttons
from bot.orders import SEND_PREFIX
from bot.sandbox import SandboxClient, SandboxUser, SentMessage
from engine import ConsentReference, Marking, RenderSpec

PROBE = SandboxUser(7301, "Probe", language_code="en")
_PROBE_EVERY_S = 2.0
_POLL_S = 0.5
_DRAIN_S_PER_ORDER = 120.0  # a generous bound: the run is reported lost past it
_VIDEO_BYTES = 10 * 1024 * 1024
_NOOP_CALLS = 200


@dataclass
class QueueRun:
    """One executor's drain of the queue."""

    executor: str
    orders: int
    place_s: float = 0.0  # placing every order through the chat
    drain_s: float = 0.0  # from the first order placed to the last greeting delivered
    delivered: int = 0
    duplicates: int = 0  # final videos beyond one per order
    reply_s: list[float] = field(default_factory=list)

    @property
    def per_minute(self) -> float:
        return 60.0 * self.delivered / self.drain_s if self.drain_s else 0.0

    def line(self) -> str:
        replies = sorted(self.reply_s)
        p95 = replies[int(0.95 * (len(replies) - 1))] if replies else float("nan")
        median = statistics.median(replies) if replies else float("nan")
        return (
            f"{self.executor}: {self.delivered}/{self.orders} delivered, "
            f"{self.duplicates} duplicates, placed in {self.place_s:.1f} s, drained in "
            f"{self.drain_s:.1f} s = {self.per_minute:.2f} greetings/min; /help answered in "
            f"median {median:.2f} s, p95 {p95:.2f} s, max {max(replies, default=0.0):.2f} s "
            f"({len(replies)} asks)"
        )


@dataclass
class ClusterNumbers:
    """What decides a multi-GPU design, measured on the local cluster."""

    actor_start_s: float
    first_render_s: float  # a fresh actor: its render process starts and loads models
    warm_render_s: float
    noop_call_ms: float  # one actor call that does nothing, as a render's dispatch is
    send_10mb_s: float  # bot -> node through the object store
    round_trip_10mb_s: float  # bot -> node -> bot

    def lines(self) -> list[str]:
        return [
            f"render actor start: {self.actor_start_s:.2f} s",
            f"first render on a fresh actor {self.first_render_s:.1f} s, warm "
            f"{self.warm_render_s:.1f} s: start and model load "
            f"{self.first_render_s - self.warm_render_s:.1f} s",
            f"an actor call that does nothing: {self.noop_call_ms:.2f} ms",
            f"10 MB to a node: {self.send_10mb_s * 1000:.0f} ms; there and back: "
            f"{self.round_trip_10mb_s * 1000:.0f} ms",
        ]


async def drain(
    work_dir: Path, orders: int, executor: str, env: dict[str, str], out: TextIO
) -> QueueRun:
    """Place ``orders`` through the bot at once and play the member until all are delivered."""
    run = QueueRun(executor, orders)
    async with FaultHarness(work_dir, price_stars=0, env=env) as harness:
        print(f"{executor}: family set up in {harness.setup_s:.1f} s", file=out, flush=True)
        probe = asyncio.create_task(_ask_for_help(harness.sandbox, run.reply_s))
        placed: list[str] = []
        started = time.monotonic()
        delivering = asyncio.create_task(
            _send_each(harness, placed, orders, orders * _DRAIN_S_PER_ORDER)
        )
        try:
            for n in range(orders):
                placed.append((await harness.place(f"Q{n:03d}"))[0])
            run.place_s = time.monotonic() - started
            finals = await delivering
        finally:
            probe.cancel()
            delivering.cancel()
        run.drain_s = time.monotonic() - started
        run.delivered = sum(1 for order_id in placed if finals[order_id] > 0)
        run.duplicates = sum(max(0, finals[order_id] - 1) for order_id in placed)
    print(run.line(), file=out, flush=True)
    return run


async def _send_each(
    harness: FaultHarness, placed: list[str], orders: int, limit_s: float
) -> Counter[str]:
    """Press Send it once under each preview, as the orders are being placed; returns the final
    videos per order once all ``orders`` are placed and each has one or ended without (or at
    ``limit_s``)."""
    deadline = time.monotonic() + limit_s
    pressed: set[str] = set()
    finals: Counter[str] = Counter()
    while time.monotonic() < deadline:
        harness.bot.check_alive()
        finals = Counter()
        for message in await harness.sandbox.sent_messages(MEMBER.id):
            if message.method != "sendVideo":
                continue
            for data in buttons(message):
                if data.startswith(ORIGINAL_PREFIX):
                    finals[data.removeprefix(ORIGINAL_PREFIX)] += 1
                elif data.startswith(SEND_PREFIX) and data not in pressed:
                    pressed.add(data)
                    await harness.sandbox.press_button(MEMBER, message.message_id, data)
        if len(placed) == orders and all(
            order_id in finals or harness.status(order_id) in ENDED for order_id in placed
        ):
            break
        await asyncio.sleep(_POLL_S)
    return finals


async def _ask_for_help(sandbox: SandboxClient, replies: list[float]) -> None:
    """Another user's /help, again and again: seconds until each answer."""
    while True:
        before = max((m.message_id for m in await sandbox.sent_messages(PROBE.id)), default=0)
        asked = time.monotonic()
        await sandbox.send_text(PROBE, "/help")
        answered = partial(_newer, before)
        await sandbox.wait_for_message(PROBE.id, answered, timeout=120)
        replies.append(time.monotonic() - asked)
        await asyncio.sleep(_PROBE_EVERY_S)


def _newer(message_id: int, message: SentMessage) -> bool:
    return message.message_id > message_id


async def cluster_numbers(address: str, work: Path) -> ClusterNumbers:
    """Actor start, cold and warm renders, per-call overhead and a 10 MB transfer, measured
    as a driver of the cluster at ``address`` (its render node needs two render units)."""
    from bot.executors._ray import RayExecutor, render_actor

    executor = RayExecutor(address, cpu_actors=1, max_in_flight=None)
    try:
        started = time.monotonic()
        actor = render_actor(on_gpu=False)
        await actor.ready.remote()
        actor_start_s = time.monotonic() - started
        started = time.monotonic()
        for _ in range(_NOOP_CALLS):
            await actor.progress.remote()
        noop_call_ms = (time.monotonic() - started) * 1000 / _NOOP_CALLS
        ray.kill(actor)

        renders = []
        for take in range(2):  # the executor's one actor is fresh for the first
            spec = _synthetic_spec(work, take)
            started = time.monotonic()
            await executor.render(spec, lambda stage, fraction: None)
            renders.append(time.monotonic() - started)

        video = os.urandom(_VIDEO_BYTES)
        on_node: dict[str, Any] = {"num_cpus": 0, "resources": {RENDER_RESOURCE: 0.01}}
        await ray.remote(_size).options(**on_node).remote(b"")  # the task's worker is up
        started = time.monotonic()
        assert await ray.remote(_size).options(**on_node).remote(video) == _VIDEO_BYTES
        send_s = time.monotonic() - started
        started = time.monotonic()
        assert await ray.remote(_echo).options(**on_node).remote(video) == video
        round_trip_s = time.monotonic() - started
    finally:
        await executor.close()
    return ClusterNumbers(actor_start_s, renders[0], renders[1], noop_call_ms, send_s,
                          round_trip_s)  # fmt: skip


def _size(data: bytes) -> int:
    return len(data)


def _echo(data: bytes) -> bytes:
    return data


def _synthetic_spec(work: Path, take: int) -> RenderSpec:
    """A greeting of the demo's sample face and voice (made by code, depicting nobody)."""
    inputs = work / "inputs"
    inputs.mkdir(parents=True, exist_ok=True)
    portrait = inputs / "portrait.jpg"
    portrait.write_bytes(sample_portrait_jpeg())
    note = inputs / "note.ogg"
    note.write_bytes(sample_voice_ogg())
    return RenderSpec(
        render_id=f"bench-queue-{take}", template_id="mid-autumn", language="zh-Hant",
        portrait=portrait, voice_samples=(note,), recipient="外婆", take=take,
        output_dir=work / f"out-{take}", consent=ConsentReference.for_synthetic_media(),
        marking=Marking(token=take, watermark_key=os.urandom(32), signing_dir=work / "c2pa"),
    )  # fmt: skip


async def run(orders: int, workers: int, work: Path, out: TextIO) -> int:
    """Both drains and the cluster numbers; exit status 1 unless every order was delivered
    exactly once on both."""
    embedded = await drain(work / "embedded", orders, f"embedded pool, {workers} processes",
                           {"TUANYUAN_RENDER_WORKERS": str(workers)}, out)  # fmt: skip
    # Ray's socket paths must stay under 108 bytes: the cluster lives in a short /tmp folder.
    root = Path(tempfile.mkdtemp(prefix="ty-ray-"))
    cluster = LocalCluster(root, python_path=os.environ.get("PYTHONPATH"))
    try:
        started = time.monotonic()
        cluster.start_head()
        cluster.add_node("node-2", render_actors=workers + 1, num_cpus=workers + 1)
        print(f"local cluster (head + 1 render node) up in {time.monotonic() - started:.1f} s",
              file=out, flush=True)  # fmt: skip
        on_ray = await drain(
            work / "ray", orders, f"Ray, head + 1 render node, {workers} actors",
            {"TUANYUAN_RAY_ADDRESS": cluster.address, "TUANYUAN_RAY_RENDER_ACTORS": str(workers)},
            out,
        )  # fmt: skip
        numbers = await cluster_numbers(cluster.address, work / "numbers")
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    for line in numbers.lines():
        print(line, file=out)
    if on_ray.drain_s and embedded.drain_s:
        print(f"throughput, Ray / embedded: {on_ray.per_minute / embedded.per_minute:.2f}",
              file=out)  # fmt: skip
    exact = all(r.delivered == r.orders and r.duplicates == 0 for r in (embedded, on_ray))
    return 0 if exact else 1
