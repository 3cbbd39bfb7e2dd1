"""The control API's side of :mod:`bot.sandbox._faults`: a test schedules Telegram's failures
per method and reads back which it served. Routes of their own, beside ``Control``'s."""

from __future__ import annotations

from typing import Annotated

from aiohttp import web
from pydantic import BaseModel

from bot.sandbox._botapi import DOWNLOADS, is_method, json_error, json_ok
from bot.sandbox._errors import ApiError, bad_request
from bot.sandbox._faults import FaultKind, FaultSchedule
from bot.sandbox._limits import Limits
from bot.sandbox._params import Json, parse_params
from bot.sandbox._wire import request_parameters


class _Schedule(BaseModel):
    method: str
    kinds: Annotated[list[FaultKind], Json]


def fault_routes(schedule: FaultSchedule, limits: Limits) -> list[web.RouteDef]:
    async def arm(request: web.Request) -> web.Response:
        try:
            async with request_parameters(request, limits.max_upload_bytes) as raw:
                params = parse_params(_Schedule, raw, limits)
            if not (is_method(params.method) or params.method.lower() == DOWNLOADS):
                raise bad_request(f"the Bot API has no method {params.method!r}")
        except ApiError as error:
            return json_error(error)
        schedule.schedule(params.method, params.kinds)
        return json_ok(schedule.pending())

    async def clear(_: web.Request) -> web.Response:
        schedule.clear()
        return json_ok(True)

    async def served(_: web.Request) -> web.Response:
        injected = [fault.model_dump(mode="json") for fault in schedule.injected]
        return json_ok({"pending": schedule.pending(), "injected": injected})

    return [
        web.post("/control/faults", arm),
        web.post("/control/faults/clear", clear),
        web.get("/control/faults", served),
    ]
