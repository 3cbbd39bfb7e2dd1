"""The stand-in's lifecycle: one aiohttp server on 127.0.0.1 serving Bot API, files and control."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

from aiohttp import web

from bot.sandbox._botapi import BotApi
from bot.sandbox._control import Control
from bot.sandbox._fault_control import fault_routes
from bot.sandbox._faults import FaultSchedule
from bot.sandbox._files import FileStore
from bot.sandbox._holds import ResponseHolds
from bot.sandbox._limits import Limits
from bot.sandbox._webhook import deliver_webhooks
from bot.sandbox._world import World

_TOKEN = re.compile(r"(\d+):[\w-]+")
_HOST = "127.0.0.1"
_SHUTDOWN_SECONDS = 1.0
"""Open connections get this long at stop(); long polls are released before it starts."""


class BotApiStandIn:
    """A local Telegram Bot API that the unmodified python-telegram-bot client can talk to.

    Point a bot at it with ``base_url=stand_in.api_base_url`` and
    ``base_file_url=stand_in.file_base_url``; act as users through :class:`SandboxClient` on
    ``root_url``.
    """

    def __init__(
        self, token: str, limits: Limits | None = None, storage_dir: Path | None = None
    ) -> None:
        match = _TOKEN.fullmatch(token)
        if match is None:
            raise ValueError("a bot token looks like '123456:secret'")
        self.token = token
        self.limits = Limits() if limits is None else limits
        self._bot_id = int(match.group(1))
        self._storage_dir = storage_dir
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        self._world: World | None = None
        self._holds: ResponseHolds | None = None
        self._runner: web.AppRunner | None = None
        self._webhooks: asyncio.Task[None] | None = None
        self._root_url: str | None = None

    @property
    def root_url(self) -> str:
        if self._root_url is None:
            raise RuntimeError("the stand-in is not running; await start() first")
        return self._root_url

    @property
    def world(self) -> World:
        """The chats themselves, for an in-process player that cannot afford an HTTP round trip
        per action (the load benchmark's thousand users); tests use :class:`SandboxClient`."""
        if self._world is None:
            raise RuntimeError("the stand-in is not running; await start() first")
        return self._world

    @property
    def api_base_url(self) -> str:
        return f"{self.root_url}/bot"

    @property
    def file_base_url(self) -> str:
        return f"{self.root_url}/file/bot"

    async def start(self, port: int = 0) -> None:
        """Serve on 127.0.0.1:``port``, or on a free port when it is 0."""
        if self._runner is not None:
            raise RuntimeError("the stand-in is already running")
        if self._storage_dir is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="tuanyuan-sandbox-")
            storage = Path(self._temporary.name)
        else:
            storage = self._storage_dir
        world = World(
            {
                "id": self._bot_id,
                "is_bot": True,
                "first_name": "Sandbox Bot",
                "username": f"sandbox{self._bot_id}_bot",
            }
        )
        files = FileStore(storage)
        holds = ResponseHolds()
        faults = FaultSchedule()
        api = BotApi(self.token, self.limits, world, files, holds, faults)
        # Twice the upload cap so an oversized upload is read and answered with Telegram's
        # JSON 413; anything larger still gets the same answer from the decoding layer.
        app = web.Application(client_max_size=2 * self.limits.max_upload_bytes)
        app.add_routes(
            [
                # An empty method too: Telegram answers it with its JSON 404, as any unknown one.
                web.post("/bot{token}/{method:[^/]*}", api.handle),
                web.get("/bot{token}/{method:[^/]*}", api.handle),
                web.get("/file/bot{token}/{file_path:.+}", api.download),
                *Control(world, files, holds, self.limits).routes(),
                *fault_routes(faults, self.limits),
            ]
        )
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_SECONDS)
        await runner.setup()
        await web.TCPSite(runner, _HOST, port).start()
        self._world, self._holds, self._runner = world, holds, runner
        self._root_url = f"http://{_HOST}:{runner.addresses[0][1]}"
        self._webhooks = asyncio.create_task(deliver_webhooks(world))

    async def stop(self) -> None:
        if self._world is not None:
            await self._world.close()
        if self._holds is not None:
            await self._holds.close()
        if self._webhooks is not None:
            self._webhooks.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhooks
        if self._runner is not None:
            await self._runner.cleanup()
        if self._temporary is not None:
            self._temporary.cleanup()
        self._world = self._holds = self._runner = self._webhooks = None
        self._temporary = self._root_url = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


def run_forever(token: str, port: int = 8081, limits: Limits | None = None) -> None:
    """Serve until Ctrl-C or SIGTERM, for a bot or a person to try things against by hand."""
    asyncio.run(_serve(token, port, limits))


async def _serve(token: str, port: int, limits: Limits | None) -> None:
    stand_in = BotApiStandIn(token, limits)
    await stand_in.start(port)
    stopping = asyncio.Event()
    # Explicit handlers: a process started in the background by a non-interactive shell (as
    # under CI) inherits SIGINT as ignored, and Python then never raises KeyboardInterrupt.
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stopping.set)
    try:
        print(f"Bot API stand-in: base_url={stand_in.api_base_url}", flush=True)
        print(f"                  base_file_url={stand_in.file_base_url}", flush=True)
        print(f"                  control API under {stand_in.root_url}/control", flush=True)
        await stopping.wait()
    finally:
        await stand_in.stop()
