"""A worker for the tests of bot/workers.py: echoes its request with its process id and
niceness.

``{"sleep": s}`` makes it work that long first, ``{"crash": true}`` makes it die without a
reply, ``{"steps": n}`` reports n steps of progress before replying (the last from a thread
of its own, as a render's composition does), and every request prints a stray line, as a
chatty library would.
"""

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from bot.workers import serve_reporting


def _answer(line: bytes, report: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    request = json.loads(line)
    print("a library talking on stdout")
    if request.get("crash"):
        sys.stdout.flush()
        os._exit(3)
    steps = int(request.get("steps", 0))
    for step in range(steps - 1):
        report({"step": step})
    if steps:
        reporter = threading.Thread(target=report, args=({"step": steps - 1},))
        reporter.start()
        reporter.join()
    time.sleep(float(request.get("sleep", 0)))
    return {"pid": os.getpid(), "niceness": os.nice(0), "echo": request}


if __name__ == "__main__":
    raise SystemExit(serve_reporting(_answer))
