"""An upload analysis process: a request as a JSON line on stdin, the finding as a JSON line on
stdout (see ``bot/analysis.py``). Whatever decoding a member's file does (a codec's crash, a
slow stream) happens here, not in the bot."""

import json
from pathlib import Path
from typing import Any

from bot.analysis import analyse
from bot.logs import configure_logging
from bot.workers import serve
from engine import IngestError


def _analyse(line: bytes) -> dict[str, Any]:
    request = json.loads(line)
    try:
        output = Path(request["output"]) if request.get("output") else None
        return {"found": analyse(request["kind"], Path(request["path"]), output)}
    except IngestError as error:
        return {"code": error.code, "error": str(error), "details": error.details}


def main() -> int:
    configure_logging()
    return serve(_analyse)


if __name__ == "__main__":
    raise SystemExit(main())
