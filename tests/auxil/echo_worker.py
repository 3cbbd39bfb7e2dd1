"""A worker for the tests of bot/workers.py: echoes its request with its process id.

``{"sleep": s}`` makes it work that long first, ``{"crash": true}`` makes it die without a
reply, and every request prints a stray line, as a chatty library would.
"""

import json
import os
import sys
import time
from typing import Any

from bot.workers import serve


def _answer(line: bytes) -> dict[str, Any]:
    request = json.loads(line)
    print("a library talking on stdout")
    if request.get("crash"):
        sys.stdout.flush()
        os._exit(3)
    time.sleep(float(request.get("sleep", 0)))
    return {"pid": os.getpid(), "echo": request}


if __name__ == "__main__":
    raise SystemExit(serve(_answer))
