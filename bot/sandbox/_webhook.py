"""Pushing updates to a webhook, in order, retrying with back-off as Telegram does."""

from __future__ import annotations

import asyncio

import aiohttp

from bot.sandbox._records import JsonObject
from bot.sandbox._world import Webhook, World

_FIRST_RETRY_SECONDS = 0.5
_LAST_RETRY_SECONDS = 8.0
_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def deliver_webhooks(world: World) -> None:
    """Run until the stand-in closes; an update is dropped only once the receiver took it."""
    retry = _FIRST_RETRY_SECONDS
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while (pending := await world.next_for_webhook()) is not None:
            webhook, update = pending
            error = await _post(session, webhook, update)
            world.webhook_result(webhook, update, error)
            if error is None:
                retry = _FIRST_RETRY_SECONDS
            else:
                await asyncio.sleep(retry)
                retry = min(2 * retry, _LAST_RETRY_SECONDS)


async def _post(session: aiohttp.ClientSession, webhook: Webhook, update: JsonObject) -> str | None:
    headers = {} if webhook.secret_token is None else {_SECRET_HEADER: webhook.secret_token}
    try:
        async with session.post(webhook.url, json=update, headers=headers) as response:
            if 200 <= response.status < 300:
                return None
            return f"Wrong response from the webhook: {response.status} {response.reason}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        return f"Connection failed: {exc!r}"
