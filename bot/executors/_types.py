"""What every executor promises: for the render jobs, one render per call, the engine's result
with its files on this machine, and one kind of failure worth another attempt; for /verify, one
detection per call in a process of its own."""

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from engine import RenderResult, RenderSpec

# A render's stage and fraction done, for the member watching its status message.
Progress = Callable[[str, float], None]
# The detection process's reply: {"report": ...} or {"code": ..., "error": ...}.
Reply = dict[str, Any]


class RenderCrashed(Exception):
    """The render's process, actor or node died (not the engine refusing the input): worth
    another attempt, which the order table counts."""


class RenderExecutor(Protocol):
    """Runs renders and detections somewhere: here (the embedded pool) or on a Ray cluster.

    ``render`` is given a spec whose input files are on this machine and returns a result whose
    files are on this machine, in ``spec.output_dir``; how the bytes travel in between is the
    executor's business. Cancelling the call stops the render wherever it runs. It raises
    RenderCrashed when what ran it died, RenderError when the engine refused the input.
    """

    # Renders in flight at most; the order desk keeps the rest queued in SQLite.
    capacity: int

    async def render(self, spec: RenderSpec, progress: Progress) -> RenderResult: ...

    async def detect(
        self, upload: Path, key: bytes, trust_anchor: bytes | None, timeout_s: float
    ) -> Reply:
        """Look for this service's marks in ``upload`` (a file on this machine) in a fresh
        process nobody else's work shares; TimeoutError past ``timeout_s``."""
        ...

    async def close(self) -> None: ...
