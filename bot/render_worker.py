"""One render in its own process: a spec as JSON on stdin, the result as JSON on stdout.

A process of its own so that withdrawing consent can stop it at once (see ``bot/workers.py``).
"""

import json
import sys

from bot.logs import configure_logging
from engine import IngestError, RenderError, RenderSpec, render


def main() -> int:
    configure_logging()
    spec = RenderSpec.model_validate_json(sys.stdin.buffer.read())
    try:
        result = render(spec)
    except (RenderError, IngestError) as error:
        print(json.dumps({"ok": False, "error": str(error)}))
        return 1
    print(json.dumps({"ok": True, "result": result.model_dump(mode="json")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
