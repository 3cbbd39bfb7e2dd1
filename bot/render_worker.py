"""A render process: a spec per JSON line on stdin, its result as a JSON line on stdout.

It stays up between renders so that what is slow to load loads once (see ``bot/workers.py``);
withdrawing consent mid-render kills it. While it renders it reports its progress on the same
stdout, at most about twice a second: the bot edits a chat message with it, and Telegram
limits how often a message may be edited.
"""

import time
from collections.abc import Callable
from typing import Any

from bot.logs import configure_logging
from bot.workers import Progress, serve_reporting
from engine import IngestError, RenderError, RenderProgress, RenderSpec, render

_PROGRESS_INTERVAL_S = 0.5


class _Throttled:
    """Passes a render's progress on when its stage changes, else once per interval: the
    engine reports every 1% (a few times a second on a fast machine); a new stage ("done"
    above all) is never held back."""

    def __init__(self, report: Callable[[Progress], None]) -> None:
        self._report = report
        self._last: tuple[str, float] | None = None  # the stage passed on, and when

    def __call__(self, progress: RenderProgress) -> None:
        now = time.monotonic()
        last = self._last
        if last is not None and last[0] == progress.stage and now < last[1] + _PROGRESS_INTERVAL_S:
            return
        self._last = (progress.stage, now)
        self._report(progress.model_dump(mode="json"))


def _render(request: bytes, report: Callable[[Progress], None]) -> dict[str, Any]:
    spec = RenderSpec.model_validate_json(request)
    try:
        result = render(spec, progress=_Throttled(report))
        return {"ok": True, "result": result.model_dump(mode="json")}
    except (RenderError, IngestError) as error:
        return {"ok": False, "error": str(error)}


def main() -> int:
    configure_logging()
    return serve_reporting(_render)


if __name__ == "__main__":
    raise SystemExit(main())
