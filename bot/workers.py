"""Work that must not run inside the bot: ``python -m <module>`` worker processes.

A render or a detection runs in a process rather than a thread so it can be stopped at once,
by withdrawn consent or a deadline: a thread cannot be cancelled mid-render, a process can be
killed, and nothing it was making survives. Requests go in as one JSON line on stdin (the only
place secrets travel) and each gets one JSON line back on stdout. Before it, a worker serving
with ``serve_reporting`` may write any number of ``{"progress": {...}}`` lines, which the
caller hands to its ``on_progress`` (a render's stage and fraction, for the member watching);
a reply is therefore never an object whose only key is "progress".

Two ways to use one: ``run_worker`` starts a fresh process for one request (detections: a file
from a stranger gets a process nobody else's work shares); ``WorkerPool`` keeps processes up
between requests (renders: face models, the voice's references and a cloning model load once
per process, not once per greeting), and a request that is cancelled takes its process down.

Every worker runs at a lower CPU priority than the bot (``Priority``): on two cores a render
and an upload's analysis otherwise take the cores from the event loop, and every chat's reply
waits behind them (p99 3.6 s at 1,000 users while greetings rendered; 41 ms once niced).
"""

import asyncio
import contextlib
import ctypes
import enum
import functools
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from bot.metrics import worker_lost

_CLOSE_TIMEOUT_S = 5.0
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

Reply = dict[str, Any]
Progress = dict[str, Any]


class Priority(enum.IntEnum):
    """How far below the bot a worker runs (its niceness): the bot's replies first, then what
    a member is waiting to hear about (an upload's check), then the renders, which take minutes
    anyway and lose only the cores' idle moments to the others."""

    PROMPT = 5
    BATCH = 10


class WorkerFailed(Exception):
    """The worker died or said nothing readable; its own log lines went to stderr."""


class _NeverAsked(Exception):
    """The process had exited before the request could be written: nothing was tried."""


async def run_worker(
    module: str, request: bytes, priority: Priority, timeout_s: float | None = None
) -> Reply:
    """Run ``module`` on ``request`` in a fresh process; killed when cancelled or past
    ``timeout_s`` (TimeoutError)."""
    process = await _start(module, priority)
    try:
        async with asyncio.timeout(timeout_s):
            return await _ask(process, module, request, last=True)
    except _NeverAsked as error:
        raise WorkerFailed(f"{module} exited before its request") from error
    except BaseException:
        await _kill(process)
        raise
    finally:
        await process.wait()


class WorkerPool:
    """Long-lived worker processes of one module, reused request after request.

    Callers bound the concurrency (one process per request in flight); a process that failed
    or whose request was cancelled is never reused.
    """

    def __init__(self, module: str, priority: Priority) -> None:
        self._module = module
        self._priority = priority
        self._idle: list[asyncio.subprocess.Process] = []

    async def call(
        self, request: bytes, on_progress: Callable[[Progress], None] | None = None
    ) -> Reply:
        """The worker's reply to ``request``; each progress line before it goes to
        ``on_progress`` (on the event loop, as it arrives), or is dropped when there is none.
        An ``on_progress`` that raises ends the call, and its process, as a cancellation does."""
        while self._idle:
            # An idle process may have died meanwhile (the OOM killer, an operator's kill):
            # one that never got the request is dropped, and the next one asked.
            with contextlib.suppress(_NeverAsked):
                return await self._ask(self._idle.pop(), request, on_progress)
        try:
            return await self._ask(await _start(self._module, self._priority), request, on_progress)
        except _NeverAsked as error:
            raise WorkerFailed(f"{self._module} exited before its request") from error

    async def _ask(
        self,
        process: asyncio.subprocess.Process,
        request: bytes,
        on_progress: Callable[[Progress], None] | None,
    ) -> Reply:
        try:
            reply = await _ask(process, self._module, request, last=False, on_progress=on_progress)
        except BaseException:
            await _kill(process)
            worker_lost(self._module)
            raise
        self._idle.append(process)
        return reply

    async def close(self) -> None:
        """Let idle processes finish (end of input), killing any that linger."""
        idle, self._idle = self._idle, []
        for process in idle:
            assert process.stdin is not None
            process.stdin.close()
        for process in idle:
            try:
                await asyncio.wait_for(process.wait(), _CLOSE_TIMEOUT_S)
            except TimeoutError:
                await _kill(process)


def serve(handle: Callable[[bytes], Reply]) -> int:
    """The worker side: answer each request line until stdin ends."""
    return serve_reporting(lambda request, _: handle(request))


def serve_reporting(handle: Callable[[bytes, Callable[[Progress], None]], Reply]) -> int:
    """The worker side, for work that reports its progress: ``handle(request, report)`` may
    call ``report`` any number of times, from any thread, before it returns the reply.

    Replies get their own copy of stdout; anything else that prints (a library, C code) lands
    on stderr with the logs instead of corrupting the reply stream.
    """
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    lock = threading.Lock()  # whole lines: a render reports from its composing thread too

    def write(message: dict[str, Any]) -> None:
        with lock:
            replies.write(json.dumps(message) + "\n")
            replies.flush()

    for line in sys.stdin.buffer:
        write(handle(line, lambda progress: write({"progress": progress})))
    return 0


async def _start(module: str, priority: Priority) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", module,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        preexec_fn=functools.partial(_prepare_child, os.getpid(), priority),
    )  # fmt: skip


def _prepare_child(parent: int, priority: Priority) -> None:
    """In the child before exec: lower its priority, and SIGKILL it when the bot dies, however
    it dies. A worker whose bot was killed with -9 would otherwise render on, its decrypted
    inputs open, and race the restarted bot rendering the same order."""
    os.nice(priority)
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the bot died before the signal was armed
        os._exit(1)


async def _ask(
    process: asyncio.subprocess.Process,
    module: str,
    request: bytes,
    last: bool,
    on_progress: Callable[[Progress], None] | None = None,
) -> Reply:
    assert process.stdin is not None and process.stdout is not None
    try:
        process.stdin.write(request.rstrip(b"\n") + b"\n")
        await process.stdin.drain()
    except ConnectionError as error:  # the pipe's reader is gone: it exited before
        raise _NeverAsked(module) from error
    if last:
        process.stdin.close()
    while True:
        try:
            line = await process.stdout.readline()
            message = json.loads(line)
        except ValueError:  # no JSON, or a line past the stream's limit (64 KiB)
            message = None
        if not isinstance(message, dict):
            code = await process.wait()
            raise WorkerFailed(f"{module} exited with status {code}")
        if message.keys() != {"progress"}:
            return message
        if on_progress is not None:
            on_progress(message["progress"])


async def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()
        await process.wait()
