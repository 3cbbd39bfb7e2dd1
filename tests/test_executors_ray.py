"""Renders on a real Ray cluster on this machine: a head beside the bot and render nodes that
joined as ``tuanyuan worker`` joins, each a ``ray start`` the fixture started and stops.

Orders go through the bot over HTTP as in tests/test_orders.py; what is checked is where the
render ran (the render process belongs to a node's process group, none to the bot), that a lost
node costs one attempt and never a second delivery, and that revocation stops the render on the
node (its render process killed, its job folder gone) with nothing sent.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

import av
import pytest

import bot.executors._embedded
from bot.app import build_application, polling
from bot.executors import LocalCluster
from bot.sandbox import BotApiStandIn, SandboxClient, SandboxUser
from bot.storage import OrderStatus
from bot.storage.orders import get_order, orders_where
from tests.auxil.bot import BotWorld, FakeClock, settings_for
from tests.auxil.family import living_family, order_greeting, revoke, send_it

RENDER_WAIT_S = 120.0
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    # Under /tmp, not pytest's deeper tmp_path: Ray's socket paths must stay under 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="ty-ray-"))
    local = LocalCluster(root, python_path=str(ROOT))
    try:
        local.start_head()
        # One GPU declared (Ray's resources are logical): the bot takes the GPU path.
        local.add_node("node-2", num_gpus=1)
        yield local
    finally:
        local.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def ray_world(
    cluster: LocalCluster, stand_in: BotApiStandIn, sandbox: SandboxClient, tmp_path: Path
) -> AsyncIterator[BotWorld]:
    """The bot rendering on the cluster, a lost render retried at once. Two CPU actors are
    asked for, but the cluster has a GPU: one actor, holding it."""
    data_dir = tmp_path / "bot-data"
    settings = replace(
        settings_for(stand_in, data_dir),
        ray_address=cluster.address,
        ray_render_actors=2,
        render_retry_s=0.05,
    )
    clock = FakeClock()
    async with polling(build_application(settings, clock)) as application:
        yield BotWorld(stand_in, sandbox, application, data_dir, clock)


def _bot_render_processes() -> list[int]:
    """Render processes started by this (the bot's) process: the embedded pool's."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if b"bot.render_worker" in command and int(stat[1]) == os.getpid():
            found.append(int(entry.name))
    return found


def _environment_of(pid: int) -> dict[str, str]:
    variables = Path(f"/proc/{pid}/environ").read_bytes().decode(errors="replace").split("\0")
    return dict(variable.partition("=")[::2] for variable in variables if "=" in variable)


async def _rendering_on(world: BotWorld, cluster: LocalCluster, node: str) -> str:
    """Wait until the one open order renders on ``node`` (its job folder is there)."""
    folders = cluster.nodes[node].memory_dir
    for _ in range(int(RENDER_WAIT_S / 0.1)):
        rows = orders_where(world.services.db, "status = ?", [OrderStatus.RENDERING.value])
        if rows and any(folders.glob("tuanyuan-render-*")):
            return rows[0].id
        await asyncio.sleep(0.1)
    raise AssertionError(f"no render started on {node}")


async def test_an_order_is_rendered_on_a_cluster_node_delivered_and_verified(
    cluster: LocalCluster, ray_world: BotWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = ray_world
    member = SandboxUser(7001, "Ann", language_code="en")
    await living_family(world, member, SandboxUser(7002, "Grandpa", language_code="en"))
    await order_greeting(world, member, "Grandma")
    video = await send_it(world, member, wait_s=RENDER_WAIT_S)
    await world.services.orders.settle()

    node = cluster.nodes["node-2"]
    # One actor per GPU (not the two CPU actors the settings name); its render process is the
    # node's (kept for the next job), never the bot's own, and sees the GPU Ray gave the actor.
    assert len(node.processes_named(b"ray::RenderActor")) == 1
    [render] = node.processes_named(b"bot.render_worker")
    assert _environment_of(render).get("CUDA_VISIBLE_DEVICES") == "0"
    assert _bot_render_processes() == []
    assert list(node.memory_dir.glob("tuanyuan-render-*")) == []  # the job folder is removed
    [order] = orders_where(world.services.db, "user_id = ?", [member.id])
    assert (order.status, order.attempts) == (OrderStatus.DELIVERED, 1)
    path = world.data_dir / "delivered.mp4"
    path.write_bytes(await world.sandbox.download(video.file_id or ""))
    with av.open(str(path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.duration is not None and container.duration > 0

    # /verify checks it on the cluster too: no detection process belongs to the bot.
    async def not_here(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError("the detection ran in the bot's own process")

    monkeypatch.setattr(bot.executors._embedded, "run_worker", not_here)
    sandbox = world.sandbox
    await world.reply_to(member, lambda: sandbox.send_text(member, "/verify"))
    before = max(m.message_id for m in await sandbox.sent_messages(member.id))
    await sandbox.send_document(member, path.read_bytes(), "greeting.mp4", "video/mp4")
    answer = await sandbox.wait_for_message(
        member.id, lambda m: m.message_id > before, timeout=RENDER_WAIT_S
    )
    # Recognised as this order by its names and date (the family never reads internal ids).
    assert (
        f"Greeting for {order.recipient}: Mid-Autumn Festival, made on {order.created_at[:10]}"
        in (answer.text or "")
    )
    assert "Picture watermark: verified" in (answer.text or "")
    # The node signed with the bot's identity, and the node checking it trusts the bot's root.
    assert "Content credentials (C2PA): valid, signed by Tuanyuan" in (answer.text or "")


async def test_revocation_cancels_the_render_on_its_node_and_sends_nothing(
    cluster: LocalCluster, ray_world: BotWorld
) -> None:
    world = ray_world
    member = SandboxUser(7101, "Ann", language_code="en")
    subject = SandboxUser(7102, "Grandpa", language_code="en")
    await living_family(world, member, subject)
    await order_greeting(world, member, "Grandma")
    order_id = await _rendering_on(world, cluster, "node-2")
    node = cluster.nodes["node-2"]
    # The job's folder is made before its render process starts: wait for the process, so that
    # consent is withdrawn while it runs (a fresh clone once looked the moment the folder came).
    for _ in range(100):
        if rendering := set(node.processes_named(b"bot.render_worker")):
            break
        await asyncio.sleep(0.1)
    assert rendering

    await revoke(world, subject, "Grandpa")
    await world.services.orders.settle()
    assert get_order(world.services.db, order_id).status == OrderStatus.REVOKED
    for _ in range(100):  # the actor's task is cancelled: its render process is killed
        if not rendering & set(node.processes_named(b"bot.render_worker")):
            break
        await asyncio.sleep(0.1)
    assert not rendering & set(node.processes_named(b"bot.render_worker"))
    assert list(node.memory_dir.glob("tuanyuan-render-*")) == []
    sent = await world.sandbox.sent_messages(member.id)
    assert [m for m in sent if m.method == "sendVideo"] == []


async def test_a_node_lost_mid_render_costs_one_attempt_and_the_greeting_arrives_once(
    cluster: LocalCluster, ray_world: BotWorld
) -> None:
    world = ray_world
    member = SandboxUser(7201, "Ann", language_code="en")
    # The bot's actor is on node-2 already; node-3, the spare that takes over, starts while the
    # family is set up.
    starting = asyncio.create_task(asyncio.to_thread(cluster.add_node, "node-3", num_gpus=1))
    await living_family(world, member, SandboxUser(7202, "Grandpa", language_code="en"))
    await order_greeting(world, member, "Grandma")
    order_id = await _rendering_on(world, cluster, "node-2")
    spare = await starting
    cluster.kill_raylet("node-2")

    await send_it(world, member, wait_s=RENDER_WAIT_S)
    await world.services.orders.settle()
    order = get_order(world.services.db, order_id)
    assert (order.status, order.attempts) == (OrderStatus.DELIVERED, 2)
    assert spare.processes_named(b"bot.render_worker")  # the second attempt ran on node-3
    sent = await world.sandbox.sent_messages(member.id)
    # One preview, one delivery: the lost attempt sent nothing.
    assert len([m for m in sent if m.method == "sendVideo"]) == 2
