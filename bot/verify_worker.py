"""A detection process: a request as a JSON line on stdin, the report as a JSON line on stdout.

The file comes from anyone who sends /verify; whatever its decoding does (a crash in a codec,
a memory blow-up) happens here, in a process of its own, not in the bot (see ``bot/workers.py``).
"""

import json
from pathlib import Path
from typing import Any

from bot.logs import configure_logging
from bot.workers import serve
from engine import IngestError
from engine.provenance import detect


def _detect(line: bytes) -> dict[str, Any]:
    request = json.loads(line)
    anchor = bytes.fromhex(request["trust_anchor"]) if request["trust_anchor"] else None
    try:
        report = detect(Path(request["path"]), bytes.fromhex(request["key"]), anchor)
    except IngestError as error:
        return {"code": error.code, "error": str(error)}
    return {"report": report.model_dump(mode="json")}


def main() -> int:
    configure_logging()
    return serve(_detect)


if __name__ == "__main__":
    raise SystemExit(main())
