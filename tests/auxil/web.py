"""The bot served as in production (chat, admin web and /metrics in one process) against the
Bot API stand-in, and a real headless Chromium to use the admin web with.

Chromium is Debian's (``/usr/bin/chromium``; ``make test`` installs it when missing), driven by
Playwright through ``executable_path``: Playwright never downloads a browser here.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import noto_cjk_sans_otc
from playwright.async_api import Browser, async_playwright

from bot.app import build_application
from bot.sandbox import BotApiStandIn, SandboxClient, SandboxUser
from bot.server import Served, serving
from tests.auxil.bot import BotWorld, FakeClock, settings_for
from tests.auxil.sandbox import TOKEN

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
ARTEFACTS = Path(__file__).parent.parent / "artefacts" / "web"
_LOGIN = re.compile(r"/login/([A-Za-z0-9_-]+)")


@dataclass
class WebWorld:
    world: BotWorld
    served: Served


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def served_bot(data_dir: Path, webhook_path: str | None = None) -> AsyncIterator[WebWorld]:
    """The stand-in, and the bot with its web and metrics on free loopback ports; with
    ``webhook_path`` the bot takes its updates from a webhook there instead of polling."""
    async with BotApiStandIn(TOKEN) as stand_in, SandboxClient(stand_in.root_url) as sandbox:
        port = free_port()
        settings = replace(
            settings_for(stand_in, data_dir),
            web_listen=("127.0.0.1", port),
            web_url=f"http://127.0.0.1:{port}",
            metrics_listen=("127.0.0.1", 0),
        )
        clock = FakeClock()
        application = build_application(settings, clock, webhook=webhook_path is not None)
        url = None if webhook_path is None else f"{settings.web_url}{webhook_path}"
        async with serving(application, url) as served:
            world = BotWorld(stand_in, sandbox, application, data_dir, clock)
            yield WebWorld(world, served)


def _fontconfig(folder: Path) -> dict[str, str | float | bool]:
    """The browser's environment with the CJK font the project already ships (a moderator's
    phone has one; a bare CI machine has none, and screenshots would show empty boxes)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>'
        f"<dir>{Path(noto_cjk_sans_otc.__file__).parent}</dir>"
        f"<cachedir>{folder / 'cache'}</cachedir></fontconfig>",
        encoding="utf-8",
    )
    return {**os.environ, "FONTCONFIG_FILE": str(config)}


@contextlib.asynccontextmanager
async def chromium(scratch: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, env=_fontconfig(scratch)
        )
        try:
            yield browser
        finally:
            await browser.close()


async def login_link(world: BotWorld, admin: SandboxUser) -> str:
    """/admin_login as ``admin``; the secret of the link the bot sends back."""
    reply = await world.reply_to(admin, lambda: world.sandbox.send_text(admin, "/admin_login"))
    found = _LOGIN.search(reply.text or "")
    assert found is not None, reply.text
    return found.group(1)
