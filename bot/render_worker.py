"""A render process: a spec per JSON line on stdin, its result as a JSON line on stdout.

It stays up between renders so that what is slow to load loads once (see ``bot/workers.py``);
withdrawing consent mid-render kills it.
"""

from typing import Any

from bot.logs import configure_logging
from bot.workers import serve
from engine import IngestError, RenderError, RenderSpec, render


def _render(request: bytes) -> dict[str, Any]:
    spec = RenderSpec.model_validate_json(request)
    try:
        return {"ok": True, "result": render(spec).model_dump(mode="json")}
    except (RenderError, IngestError) as error:
        return {"ok": False, "error": str(error)}


def main() -> int:
    configure_logging()
    return serve(_render)


if __name__ == "__main__":
    raise SystemExit(main())
