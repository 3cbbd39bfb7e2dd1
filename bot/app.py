"""Assembling the bot: PTB's Application wired to storage, render jobs and the flows.

The same assembly serves production (Telegram's servers) and the demo and tests (the local
Bot API stand-in); only the base URLs in Settings differ.
"""

import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import structlog
from telegram import BotCommandScopeChat, BotCommandScopeDefault, Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder

from bot.analysis import Analyses
from bot.audit import AuditLog
from bot.campaigns import Campaigns
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.executors import executor_for
from bot.family.erasure import finish_departures, finish_revocations
from bot.family.renewal import consent_year_pass
from bot.flows import register_handlers
from bot.flows.basics import MENU_LANGUAGES, admin_command_descriptions, command_descriptions
from bot.flows.uploads import download_client
from bot.i18n import gettext_for
from bot.jobs import RenderJobs
from bot.metrics import MeasuredApplication
from bot.orders import OrderDesk
from bot.pacing import ChatOrderedUpdates, FloodGuard
from bot.services import Services, attach, services_of
from bot.storage import open_database
from bot.ticker import Ticker
from bot.transient import RetryingRateLimiter
from bot.vault import AUDIT_KEY_PURPOSE, Vault, derive_key, load_or_create_key, watermark_key
from bot.verification import Verifier
from engine import Marking
from engine.provenance import token_for_render_id

log = structlog.get_logger(__name__)

BotApplication = Application[Any, Any, Any, Any, Any, Any]
CONNECTIONS = 32
"""Connections to the Bot API kept open at most (PTB's default is 256)."""
CONNECTION_WAIT_S = 10.0
"""How long a request waits for a free connection before it fails (PTB's default is 1 s)."""


async def _register_commands(application: BotApplication) -> None:
    for code, language in MENU_LANGUAGES.items():
        await application.bot.set_my_commands(
            command_descriptions(gettext_for(language)),
            scope=BotCommandScopeDefault(),
            language_code=code,
        )
    services = services_of(application)
    admin_chat = services.settings.admin_chat_id
    if admin_chat is not None:
        _ = services.gettext_of(admin_chat)
        try:
            await application.bot.set_my_commands(
                command_descriptions(_) + admin_command_descriptions(_),
                scope=BotCommandScopeChat(admin_chat),
            )
        except TelegramError as error:
            log.warning("admin_commands.not_registered", error=str(error))


async def _post_init(application: BotApplication) -> None:
    await _register_commands(application)
    services = services_of(application)
    services.orders.start(application.bot)
    # A revocation or a /delete_me a crash cut short is finished: its orders' tasks, just
    # submitted, are cancelled by it before they run, and each order ends revoked (its Stars
    # refunded if owed).
    await finish_revocations(services, application.bot)
    await finish_departures(services, application.bot)
    services.campaigns.start(application.bot)
    services.consent_year.start()


async def _post_shutdown(application: BotApplication) -> None:
    services = services_of(application)
    await services.campaigns.close()
    await services.consent_year.close()
    await services.analyses.close()
    await services.jobs.close()
    await services.orders.close()
    await services.downloads.aclose()


def render_marking(watermark_key: bytes, signing_dir: Path) -> Callable[[str], Marking]:
    """How every render is marked, the bot's and ``tuanyuan render``'s alike: with the token
    its order stores (the same function of its id), the watermark key, and the signing keys in
    their folder."""

    def marking_for(render_id: str) -> Marking:
        return Marking(
            token=token_for_render_id(render_id),
            watermark_key=watermark_key,
            signing_dir=signing_dir,
        )

    return marking_for


def build_application(
    settings: Settings, clock: Clock | None = None, *, webhook: bool = False
) -> BotApplication:
    """The bot, ready to run; ``clock`` lets tests move time (expiries) without waiting.

    With ``webhook`` there is no updater: ``bot.server`` feeds the update queue from the
    webhook it serves.
    """
    clock = clock or SystemClock()
    db = open_database(settings.database_path)
    master_key = settings.vault_key or load_or_create_key(
        settings.vault_key_file, settings.media_dir, settings.audit_log_path
    )
    vault = Vault(settings.media_dir, master_key)
    if sealed := vault.seal_legacy_files():
        log.info("vault.sealed_legacy_files", count=sealed)
    audit_key = derive_key(master_key, AUDIT_KEY_PURPOSE)
    audit = AuditLog(settings.audit_log_path, audit_key, clock, settings.database_path)
    watermark = watermark_key(settings.watermark_key, lambda: master_key)
    marking = render_marking(watermark, settings.signing_dir)
    executor = executor_for(settings)
    jobs = RenderJobs(db, vault, clock, settings.work_dir, executor, marking, settings.xtts_dir,
                      settings.voxcpm_dir, settings.voice_licence,
                      settings.voice_backend)  # fmt: skip
    orders = OrderDesk(db, vault, audit, clock, settings, jobs)
    campaigns = Campaigns(db, audit, clock, orders, settings.campaign_tick_s)
    verifier = Verifier(watermark, settings.signing_dir, executor)
    builder = ApplicationBuilder().application_class(MeasuredApplication)
    if webhook:
        builder = builder.updater(None)
    application = (
        builder.token(settings.token)
        .base_url(settings.api_base_url)
        .base_file_url(settings.file_base_url)
        # Retry after Telegram's flood-control pauses instead of dropping the message, and
        # after passing failures where that cannot send twice (bot/transient.py).
        .rate_limiter(RetryingRateLimiter(overall_max_rate=settings.send_per_s, max_retries=3))
        # Chats at once, each chat's updates in order (bot/pacing.py).
        .concurrent_updates(ChatOrderedUpdates())
        .media_write_timeout(120)
        # httpcore looks over every pooled connection for each request: PTB's 256 made each
        # request cost ~0.8 ms more CPU once a burst had opened them all. 32 carry Telegram's
        # pace many times over; a burst beyond them waits for one (up to 10 s) instead of failing.
        .connection_pool_size(CONNECTIONS)
        .pool_timeout(CONNECTION_WAIT_S)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    consent_year = Ticker(
        "consent",
        settings.consent_check_s,
        lambda: consent_year_pass(services_of(application), application.bot),
    )
    services = Services(settings=settings, db=db, vault=vault, audit=audit, clock=clock,
                        jobs=jobs, verifier=verifier, orders=orders, campaigns=campaigns,
                        consent_year=consent_year,
                        flood=FloodGuard(settings.flood_updates, settings.flood_window_s),
                        analyses=Analyses(), downloads=download_client())  # fmt: skip
    attach(application, services)
    register_handlers(application)
    return application


@contextlib.asynccontextmanager
async def polling(application: BotApplication) -> AsyncIterator[BotApplication]:
    """Run the bot with long polling inside an already running event loop.

    ``Application.run_polling`` owns the loop and blocks; the demo and the tests need the bot
    running beside other coroutines (the stand-in, a scripted user), and a clean stop after.
    PTB calls post_init/post_shutdown only from run_polling, so they are called here too.
    """
    async with application:
        assert application.updater is not None
        await _post_init(application)
        await application.start()
        await application.updater.start_polling(poll_interval=0.0, timeout=10)
        try:
            yield application
        finally:
            await application.updater.stop()
            await application.stop()
            await _post_shutdown(application)


@contextlib.asynccontextmanager
async def webhook(
    application: BotApplication, url: str, secret: str
) -> AsyncIterator[BotApplication]:
    """Run the bot fed by a webhook: Telegram POSTs each update to ``url`` with ``secret`` in
    its header, and ``bot.server`` puts it on the update queue (the Application was built
    without an updater). The webhook stays registered after a stop: Telegram keeps the updates
    until the bot is back."""
    async with application:
        await _post_init(application)
        await application.start()
        try:
            await application.bot.set_webhook(
                url, secret_token=secret, allowed_updates=Update.ALL_TYPES
            )
            yield application
        finally:
            await application.stop()
            await _post_shutdown(application)
