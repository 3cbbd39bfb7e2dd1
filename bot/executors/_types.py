"""What every executor promises the render jobs: one render at a time per call, the engine's
result with its files on this machine, and one kind of failure worth another attempt."""

from collections.abc import Callable
from typing import Protocol

from engine import RenderResult, RenderSpec

# A render's stage and fraction done, for the member watching its status message.
Progress = Callable[[str, float], None]


class RenderCrashed(Exception):
    """The render's process, actor or node died (not the engine refusing the input): worth
    another attempt, which the order table counts."""


class RenderExecutor(Protocol):
    """Runs renders somewhere: here (the embedded pool) or on a Ray cluster.

    ``render`` is given a spec whose input files are on this machine and returns a result whose
    files are on this machine, in ``spec.output_dir``; how the bytes travel in between is the
    executor's business. Cancelling the call stops the render wherever it runs. It raises
    RenderCrashed when what ran it died, RenderError when the engine refused the input.
    """

    # Renders in flight at most; the order desk keeps the rest queued in SQLite.
    capacity: int

    async def render(self, spec: RenderSpec, progress: Progress) -> RenderResult: ...

    async def close(self) -> None: ...
