"""Which of Telegram's passing failures are tried again: never a send that may have gone out."""

from __future__ import annotations

import httpx
import pytest
from telegram.error import NetworkError, TimedOut

from bot.transient import repeatable


def _failed(error: NetworkError, cause: Exception | None) -> NetworkError:
    error.__cause__ = cause
    return error


REQUEST = httpx.Request("POST", "http://telegram.invalid")


@pytest.mark.parametrize(
    ("endpoint", "error", "again"),
    [
        # Telegram answered 502: nothing was done, any call may go again.
        ("sendVideo", _failed(NetworkError("Bad Gateway"), None), True),
        # The connection was never made.
        ("sendMessage", _failed(NetworkError("x"), httpx.ConnectError("refused")), True),
        ("sendMessage", _failed(TimedOut(), httpx.PoolTimeout("pool")), True),
        # Cut after the request went out: the message may be in the chat already.
        ("sendMessage", _failed(NetworkError("x"), httpx.RemoteProtocolError("reset")), False),
        ("sendVideo", _failed(TimedOut(), httpx.ReadTimeout("slow", request=REQUEST)), False),
        # ...which only calls that change nothing twice may risk.
        ("editMessageText", _failed(TimedOut(), httpx.ReadTimeout("slow")), True),
        ("deleteMessage", _failed(NetworkError("x"), httpx.RemoteProtocolError("reset")), True),
        ("sendChatAction", _failed(NetworkError("x"), httpx.RemoteProtocolError("reset")), True),
    ],
)
def test_only_what_cannot_be_done_twice_is_tried_again(
    endpoint: str, error: NetworkError, again: bool
) -> None:
    assert repeatable(endpoint, error) is again
