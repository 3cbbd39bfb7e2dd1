"""One detection in its own process: a request as JSON on stdin, the report as JSON on stdout.

The file comes from anyone who sends /verify; whatever its decoding does (a crash in a codec,
a memory blow-up) happens here, not in the bot (see ``bot/workers.py``).
"""

import json
import sys
from pathlib import Path

from bot.logs import configure_logging
from engine import IngestError
from engine.provenance import detect, trust_anchor_from_env


def main() -> int:
    configure_logging()
    request = json.loads(sys.stdin.buffer.read())
    anchor = trust_anchor_from_env(Path(request["signing_dir"]))
    try:
        report = detect(Path(request["path"]), bytes.fromhex(request["key"]), anchor)
    except IngestError as error:
        print(json.dumps({"code": error.code, "error": str(error)}))
        return 1
    print(json.dumps({"report": report.model_dump(mode="json")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
