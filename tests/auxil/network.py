"""A guard that records, and refuses, every attempt to reach a host other than this machine.

It patches Python's socket layer (connect, connect_ex, create_connection, name lookups), which
every Python HTTP client goes through; code that opens sockets from C or Rust without Python's
socket module would pass unseen, so it proves what Python code tries, not more.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback(host: object) -> bool:
    if not isinstance(host, str | bytes):
        return False
    name = host.decode() if isinstance(host, bytes) else host
    if name.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.split("%")[0]).is_loopback
    except ValueError:
        return False


def _address_is_local(family: int, address: Any) -> bool:
    if family == getattr(socket, "AF_UNIX", None):
        return True
    return isinstance(address, tuple) and is_loopback(address[0])


@contextmanager
def network_guard() -> Iterator[list[str]]:
    """Yields the list of refused attempts, filled while the block runs."""
    attempts: list[str] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo
    real_gethostbyname = socket.gethostbyname
    real_create_connection = socket.create_connection

    def connect(self: socket.socket, address: Any) -> None:
        if not _address_is_local(self.family, address):
            attempts.append(f"connect {address!r}")
            raise OSError(errno.ENETUNREACH, "network refused by the test guard")
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not _address_is_local(self.family, address):
            attempts.append(f"connect_ex {address!r}")
            return errno.ENETUNREACH
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not is_loopback(host):
            attempts.append(f"getaddrinfo {host!r}")
            raise socket.gaierror(socket.EAI_NONAME, "name lookup refused by the test guard")
        return real_getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host: str) -> str:
        if not is_loopback(host):
            attempts.append(f"gethostbyname {host!r}")
            raise socket.gaierror(socket.EAI_NONAME, "name lookup refused by the test guard")
        return real_gethostbyname(host)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        if not is_loopback(address[0]):
            attempts.append(f"create_connection {address!r}")
            raise OSError(errno.ENETUNREACH, "network refused by the test guard")
        return real_create_connection(address, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", connect)
        patch.setattr(socket.socket, "connect_ex", connect_ex)
        patch.setattr(socket, "getaddrinfo", getaddrinfo)
        patch.setattr(socket, "gethostbyname", gethostbyname)
        patch.setattr(socket, "create_connection", create_connection)
        yield attempts
