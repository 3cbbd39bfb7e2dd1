"""Structured logs (structlog) for the bot and the engine, one JSON-ish line per event.

Logs go to stderr, so commands that print results (``tuanyuan render`` prints JSON) keep
stdout clean. Secrets never reach a log line: Settings hides the token from its repr, httpx's
request logging (which would print URLs that contain the bot token) is kept at WARNING, and a
traceback is logged without its frames' variables.
"""

import logging
import sys

import structlog
from structlog.dev import plain_traceback


def configure_logging(level: int = logging.INFO) -> None:
    """Route structlog through stdlib logging, so one handler (stderr) serves both."""
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    for noisy in ("httpx", "httpcore", "telegram.ext", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # A logger keeps the processor list it first ran with (cache_logger_on_first_use), so the
    # process keeps one list, refilled here: a second call (each `tuanyuan` command run
    # in-process) or structlog's capture_logs, which refills it too, reaches every logger.
    processors = structlog.get_config()["processors"]
    processors[:] = [
        structlog.stdlib.filter_by_level,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
        # A traceback's lines, not its frames' variables: with rich installed, structlog's
        # default prints every local, python-telegram-bot's ExtBot[token=...] and a member's
        # data among them.
        structlog.dev.ConsoleRenderer(colors=False, exception_formatter=plain_traceback),
    ]
    structlog.configure(
        processors=processors,
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
