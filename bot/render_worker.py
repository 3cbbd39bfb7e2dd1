"""A render process: specs as JSON lines on stdin, one result line each on stdout.

Renders run outside the bot's process so that withdrawing consent can stop one at once: a
thread cannot be cancelled mid-render, a process can be killed, and nothing it was making
survives. The process stays up between renders so what is slow to load (face models, the
voice's reference analyses, a cloning model) loads once per process, not once per greeting.
"""

import json
import os
import sys

from bot.logs import configure_logging
from engine import IngestError, RenderError, RenderSpec, render


def main() -> int:
    # Replies get their own copy of stdout; anything else that prints (a library, C code)
    # lands on stderr with the logs instead of corrupting the reply stream.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    configure_logging()
    for line in sys.stdin.buffer:
        spec = RenderSpec.model_validate_json(line)
        try:
            reply = {"ok": True, "result": render(spec).model_dump(mode="json")}
        except (RenderError, IngestError) as error:
            reply = {"ok": False, "error": str(error)}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
