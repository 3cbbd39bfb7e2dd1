"""Structured logs (structlog) for the bot and the engine, one JSON-ish line per event.

Logs go to stderr, so commands that print results (``tuanyuan render`` prints JSON) keep
stdout clean. Secrets never reach a log line: Settings hides the token from its repr, and
httpx's request logging (which would print URLs that contain the bot token) is kept at WARNING.
"""

import logging
import sys

import structlog


def configure_logging(level: int = logging.INFO) -> None:
    """Route structlog through stdlib logging, so one handler (stderr) serves both."""
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    for noisy in ("httpx", "httpcore", "telegram.ext", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.stdlib.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
