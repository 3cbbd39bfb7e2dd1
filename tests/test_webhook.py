"""Webhook mode: the stand-in posts updates to the bot's own aiohttp app as Telegram would,
with the secret registered by setWebhook; anything posted without that secret is refused with
401 and never reaches a handler."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.i18n import gettext_for
from bot.sandbox import SandboxUser
from bot.server import SECRET_HEADER
from tests.auxil.web import WebWorld, served_bot

HOOK = "/telegram/hook"
FORGER = SandboxUser(7201, "Mallory", language_code="en")
MEMBER = SandboxUser(7202, "Ann", language_code="en")


def _forged_update() -> dict[str, object]:
    user = {"id": FORGER.id, "is_bot": False, "first_name": FORGER.first_name}
    return {
        "update_id": 10_000,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": FORGER.id, "type": "private", "first_name": FORGER.first_name},
            "from": user,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def _raw_post(base_url: str, path: str, secret: bytes) -> int:
    """POST a forged update with ``secret`` as the header's raw bytes; the status code."""
    host, port = base_url.removeprefix("http://").split(":")
    body = json.dumps(_forged_update()).encode()
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST " + path.encode() + b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
        + SECRET_HEADER.encode() + b": " + secret + b"\r\nContent-Type: application/json\r\n"
        + b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n"
        + body
    )  # fmt: skip
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return int(status_line.split()[1])


async def _messages_handled(web: WebWorld) -> float:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{web.served.metrics_url}/metrics") as response,
    ):
        text = await response.text()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "tuanyuan_updates_total" and sample.labels == {"type": "message"}
    )


async def test_only_updates_with_the_registered_secret_are_handled(tmp_path: Path) -> None:
    async with served_bot(tmp_path / "bot-data", webhook_path=HOOK) as web:
        world = web.world
        info = await world.application.bot.get_webhook_info()
        assert info.url == f"{web.served.web_url}{HOOK}"
        handled = await _messages_handled(web)
        async with aiohttp.ClientSession() as session:
            for headers in ({}, {SECRET_HEADER: "not-the-secret"}, {SECRET_HEADER: ""}):
                async with session.post(
                    f"{web.served.web_url}{HOOK}", json=_forged_update(), headers=headers
                ) as refused:
                    assert refused.status == 401
        # A header no client library would send: bytes that are not UTF-8.
        assert await _raw_post(web.served.web_url, HOOK, b"\xff\xfe-secret") == 401

        # A member's message, posted by the stand-in with the secret: answered.
        reply = await world.reply_to(MEMBER, lambda: world.sandbox.send_text(MEMBER, "/help"))
        assert gettext_for("en")("/newspace") in (reply.text or "")
        for _ in range(100):  # the reply goes out just before its handler returns
            if await _messages_handled(web) > handled:
                break
            await asyncio.sleep(0.02)
        assert await _messages_handled(web) == handled + 1
        assert await world.sandbox.sent_messages(FORGER.id) == []
        assert (await world.application.bot.get_webhook_info()).pending_update_count == 0
