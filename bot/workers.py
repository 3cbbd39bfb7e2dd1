"""Work that must not run inside the bot: ``python -m <module>`` in a fresh process per job.

A render or a detection gets a process of its own (rather than a slot in a pool) so it can be
stopped at once, by withdrawn consent or a deadline: a pool's running task cannot be cancelled,
a process can be killed, and nothing it was making survives. The request goes in on stdin (the
only place secrets travel) and the reply is the last line of stdout, as JSON.
"""

import asyncio
import json
import sys
from typing import Any


class WorkerFailed(Exception):
    """The worker died or said nothing readable; its own log lines went to stderr."""


async def run_worker(module: str, request: bytes, timeout_s: float | None = None) -> dict[str, Any]:
    """Run ``module`` on ``request``; killed when cancelled or past ``timeout_s`` (TimeoutError)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with asyncio.timeout(timeout_s):
            stdout, _ = await process.communicate(request)
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    lines = stdout.decode(errors="replace").strip().splitlines()
    try:
        reply = json.loads(lines[-1])
    except (IndexError, ValueError):
        reply = None
    if not isinstance(reply, dict):
        raise WorkerFailed(f"{module} exited with status {process.returncode}")
    return reply
