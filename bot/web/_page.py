"""One page of the admin web: where it lives, its name in the navigation, and its routes."""

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from bot.i18n import Gettext


@dataclass(frozen=True)
class Page:
    path: str
    label: Callable[[Gettext], str]
    routes: tuple[web.RouteDef, ...]
