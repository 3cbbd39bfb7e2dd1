"""The one exception type that becomes a Bot API error response."""

from __future__ import annotations

from typing import Any

QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
"""Telegram's answer to an unknown, spent or expired callback or pre-checkout query id."""


class ApiError(Exception):
    """A failed Bot API call, carrying exactly what Telegram would put on the wire.

    Raised from anywhere below the HTTP layer (even from inside pydantic validators, which let
    non-``ValueError`` exceptions through untouched) so that every check reports in Telegram's
    own words without threading return values around.
    """

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")
