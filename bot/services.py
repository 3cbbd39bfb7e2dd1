"""The long-lived objects every handler needs, reachable from PTB's context in one typed step."""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from sqlite_utils import Database

from bot.audit import AuditLog, RepeatedEntries
from bot.clock import Clock
from bot.config import Settings
from bot.i18n import Gettext, Language, gettext_for
from bot.pacing import FloodGuard
from bot.storage import get_language
from bot.ticker import Ticker
from bot.vault import Vault

if TYPE_CHECKING:
    from bot.analysis import Analyses
    from bot.campaigns import Campaigns
    from bot.jobs import RenderJobs
    from bot.orders import OrderDesk
    from bot.verification import Verifier

_KEY = "tuanyuan.services"


@dataclass
class Services:
    settings: Settings
    db: Database
    vault: Vault
    audit: AuditLog
    clock: Clock
    jobs: "RenderJobs"
    verifier: "Verifier"
    orders: "OrderDesk"
    campaigns: "Campaigns"
    consent_year: Ticker  # bot/family/renewal.py: reminders, ends, material deleted
    flood: FloodGuard
    analyses: "Analyses"
    # Members' files are fetched over one client's kept connections: a client per download
    # costs the event loop ~27 ms of CPU (its TLS context) and Telegram a new connection.
    downloads: httpx.AsyncClient
    # Which refusals are audited (authz's, one account's same refusal once a minute).
    denials: RepeatedEntries = field(default_factory=RepeatedEntries)

    def language_of(self, user_id: int) -> Language:
        return get_language(self.db, user_id)

    def gettext_of(self, user_id: int) -> Gettext:
        return gettext_for(self.language_of(user_id))

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.settings.admin_ids


class _HasBotData(Protocol):
    """PTB's Application and every CallbackContext: both carry the same bot_data."""

    @property
    def bot_data(self) -> Any: ...


def attach(owner: _HasBotData, services: Services) -> None:
    owner.bot_data[_KEY] = services


def services_of(owner: _HasBotData) -> Services:
    services: Services = owner.bot_data[_KEY]
    return services
