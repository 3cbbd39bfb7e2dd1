"""Settings read from the environment, with secrets kept out of logs and reprs.

The bot token may come from ``TUANYUAN_BOT_TOKEN`` or from a file named by
``TUANYUAN_BOT_TOKEN_FILE`` (for container secrets); the vault key likewise from
``TUANYUAN_VAULT_KEY`` or a key file. Neither is ever printed.
"""

import base64
import binascii
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import VoiceChoice, VoiceLicence
from engine.provenance import (
    WATERMARK_KEY_ENV,
    WATERMARK_KEY_FILE_ENV,
    WatermarkKeyError,
    load_watermark_key,
)

TELEGRAM_API_URL = "https://api.telegram.org/bot"
TELEGRAM_FILE_URL = "https://api.telegram.org/file/bot"
DATABASE_FILE = "tuanyuan.sqlite3"  # in the data dir, where `tuanyuan detect` finds it too


class ConfigError(Exception):
    """The operator's configuration is incomplete; the message says which variable to set."""


@dataclass(frozen=True)
class Settings:
    token: str = field(repr=False)
    data_dir: Path
    api_base_url: str = TELEGRAM_API_URL
    file_base_url: str = TELEGRAM_FILE_URL
    render_workers: int = 1
    admin_ids: frozenset[int] = frozenset()
    # The chat where moderators review proof documents; usually a private group of the admins.
    admin_chat_id: int | None = None
    # Verified relatives who must sign before a deceased person's likeness may be used.
    deceased_cosigners: int = 1
    vault_key: bytes | None = field(default=None, repr=False)
    vault_key_file_override: Path | None = None
    # The operator's watermark key, so detection can run on another machine; by default the
    # key is derived from the vault key (one secret to keep).
    watermark_key: bytes | None = field(default=None, repr=False)
    # XTTS-v2 weights the operator installed (config.json, model.pth, vocab.json); without
    # them, or when they cannot be loaded, greetings speak in the embedded default voice.
    xtts_dir: Path | None = None
    # VoxCPM2 weights (TUANYUAN_VOXCPM_DIR), preferred to XTTS when both load; the licence the
    # operator declared acceptable (TUANYUAN_VOICE_LICENCE), which keeps XTTS out if commercial.
    voxcpm_dir: Path | None = None
    voice_licence: VoiceLicence | None = None
    # The voice the operator forces (TUANYUAN_VOICE_BACKEND); None: chosen by device and licence.
    voice_backend: VoiceChoice | None = None
    # The price of a greeting in Telegram Stars; 0 makes greetings free (no invoice at all).
    price_stars: int = 0
    # A render whose worker process died is tried again after this long, doubled each time.
    render_retry_s: float = 30.0
    # Telegram allows about one message a second per chat; progress edits keep well inside it.
    progress_edit_interval_s: float = 3.0
    # The admin web (and the webhook, in webhook mode) listens here; loopback unless the
    # operator opens it. ``web_url`` is what the login links point at (a reverse proxy's https
    # address in production); the session cookie is Secure when it is https.
    web_listen: tuple[str, int] = ("127.0.0.1", 8080)
    web_url: str = "http://127.0.0.1:8080"
    # A signed-in moderator who does nothing for this long signs in again.
    web_idle_s: int = 30 * 60
    # Prometheus scrapes /metrics here: its own listener, so opening the admin web or the
    # webhook to a proxy never exposes the metrics.
    metrics_listen: tuple[str, int] = ("127.0.0.1", 9464)
    # Telegram sends it back with every webhook update; None: a new one per run.
    webhook_secret: str | None = field(default=None, repr=False)
    # Renders on a Ray cluster instead of this machine's worker processes: "auto" (the head
    # node beside the bot), "host:port" (its GCS) or "ray://host:port" (Ray Client).
    ray_address: str | None = None
    # Render actors on a cluster without GPUs (with GPUs: one actor per GPU).
    ray_render_actors: int = 2
    # Renders in flight on the cluster at most (None, and never more than: one per render
    # actor); the rest wait as queued orders in SQLite. render_workers bounds the embedded pool.
    ray_max_in_flight: int | None = None
    # Festival campaigns: invitations go out this many days before the festival, this share of
    # their greetings (percent) is watched by a moderator before the family's preview, and the
    # calendar is looked at this often for invitations and greetings that are due.
    campaign_invite_days: int = 7
    campaign_sample_percent: int = 10
    campaign_tick_s: float = 30.0
    # How often consents are looked at for a year about to end or ended, to tell the family
    # (bot/family/renewal.py).
    consent_check_s: float = 3600.0
    # One account may send at most this many updates (messages, button presses) in this many
    # seconds; the first one over is answered with how long to wait, the rest are dropped
    # until the window has passed (payments never are). See bot/pacing.py.
    flood_updates: int = 30
    flood_window_s: int = 10
    # Everything the bot sends to chats, paced at Telegram's limit for a bot (about 30 messages
    # a second in all; PTB's AIORateLimiter). 0 lifts the pace: only where Telegram allows more
    # (paid broadcasts) or against the stand-in with its own limits raised (`bench load`).
    send_per_s: int = 30

    @property
    def signing_dir(self) -> Path:
        return signing_dir_in(self.data_dir)

    @property
    def vault_key_file(self) -> Path:
        """Where the vault key lives when it is not given in the environment."""
        return self.vault_key_file_override or self.data_dir / "vault.key"

    @property
    def audit_log_path(self) -> Path:
        return self.data_dir / "audit.log"

    @property
    def database_path(self) -> Path:
        return self.data_dir / DATABASE_FILE

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def work_dir(self) -> Path:
        """Scratch space on disk, swept at start-up: renders' folders only where the machine
        has no RAM filesystem for them (``bot/plaintext.py``); uploads never come here."""
        return self.data_dir / "work"


def signing_dir_in(data_dir: Path) -> Path:
    """The C2PA signing identity: the operator's chain, or the one made here on first use."""
    return data_dir / "c2pa"


def _read_token(environ: dict[str, str]) -> str:
    if token := environ.get("TUANYUAN_BOT_TOKEN", "").strip():
        return token
    if token_file := environ.get("TUANYUAN_BOT_TOKEN_FILE"):
        try:
            return Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ConfigError(f"TUANYUAN_BOT_TOKEN_FILE cannot be read: {error.strerror}") from None
    raise ConfigError("Set TUANYUAN_BOT_TOKEN or TUANYUAN_BOT_TOKEN_FILE to the bot's token.")


def read_vault_key(environ: dict[str, str]) -> bytes | None:
    encoded = environ.get("TUANYUAN_VAULT_KEY", "").strip()
    if not encoded:
        return None
    try:
        key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise ConfigError("TUANYUAN_VAULT_KEY must be 32 random bytes in URL-safe base64.")
    return key


def _read_admin_ids(environ: dict[str, str]) -> frozenset[int]:
    raw = [part.strip() for part in environ.get("TUANYUAN_ADMIN_IDS", "").split(",")]
    if not all(part.isdigit() for part in raw if part):
        raise ConfigError("TUANYUAN_ADMIN_IDS must be Telegram user ids separated by commas.")
    return frozenset(int(part) for part in raw if part)


def _positive_int(environ: dict[str, str], name: str, default: str, least: int = 1) -> int:
    value = environ.get(name, default)
    if not value.isdigit() or int(value) < least:
        raise ConfigError(f"{name} must be a whole number of at least {least}.")
    return int(value)


# Telegram's range for one invoice in Stars (sendInvoice with currency XTR).
MAX_PRICE_STARS = 10_000


def settings_from_env(environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    admin_chat = env.get("TUANYUAN_ADMIN_CHAT_ID", "").strip()
    if admin_chat and not admin_chat.removeprefix("-").isdigit():
        raise ConfigError("TUANYUAN_ADMIN_CHAT_ID must be a Telegram chat id (a number).")
    key_file = env.get("TUANYUAN_VAULT_KEY_FILE")
    return Settings(
        token=_read_token(env),
        data_dir=Path(env.get("TUANYUAN_DATA_DIR", "var")),
        api_base_url=env.get("TUANYUAN_BOT_API_URL", TELEGRAM_API_URL),
        file_base_url=env.get("TUANYUAN_BOT_FILE_URL", TELEGRAM_FILE_URL),
        render_workers=_positive_int(env, "TUANYUAN_RENDER_WORKERS", "1"),
        admin_ids=_read_admin_ids(env),
        admin_chat_id=int(admin_chat) if admin_chat else None,
        deceased_cosigners=_positive_int(env, "TUANYUAN_DECEASED_COSIGNERS", "1"),
        vault_key=read_vault_key(env),
        vault_key_file_override=Path(key_file) if key_file else None,
        watermark_key=read_watermark_key(env),
        xtts_dir=read_xtts_dir(env),
        voxcpm_dir=read_voxcpm_dir(env),
        voice_licence=read_voice_licence(env),
        voice_backend=read_voice_backend(env),
        price_stars=_price_stars(env),
        render_retry_s=_positive_int(env, "TUANYUAN_RENDER_RETRY_S", "30"),
        ray_address=_ray_address(env),
        ray_render_actors=_positive_int(env, "TUANYUAN_RAY_RENDER_ACTORS", "2"),
        ray_max_in_flight=(
            _positive_int(env, "TUANYUAN_RAY_MAX_IN_FLIGHT", "1")
            if env.get("TUANYUAN_RAY_MAX_IN_FLIGHT", "").strip()
            else None
        ),
        campaign_invite_days=_positive_int(env, "TUANYUAN_CAMPAIGN_INVITE_DAYS", "7"),
        campaign_tick_s=_positive_int(env, "TUANYUAN_CAMPAIGN_TICK_S", "30"),
        consent_check_s=_positive_int(env, "TUANYUAN_CONSENT_CHECK_S", "3600"),
        flood_updates=_positive_int(env, "TUANYUAN_FLOOD_UPDATES", "30"),
        flood_window_s=_positive_int(env, "TUANYUAN_FLOOD_WINDOW_S", "10"),
        send_per_s=_positive_int(env, "TUANYUAN_SEND_PER_S", "30", least=0),
        campaign_sample_percent=_sample_percent(env),
        **_web_settings(env),
    )


def _listen(environ: dict[str, str], name: str, default: str) -> tuple[str, int]:
    # Port 0: one the system picks (the fault benchmark's bots, which need no fixed address).
    address = split_host_port(environ.get(name, default).strip(), least_port=0)
    if address is None:
        raise ConfigError(f"{name} must be host:port, such as {default}.")
    return address


# What Telegram accepts as a webhook's secret_token.
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{16,256}")


def _web_settings(environ: dict[str, str]) -> dict[str, Any]:
    web_listen = _listen(environ, "TUANYUAN_WEB_LISTEN", "127.0.0.1:8080")
    web_url = environ.get("TUANYUAN_WEB_URL", "").strip().rstrip("/")
    if web_url and not web_url.startswith(("http://", "https://")):
        raise ConfigError("TUANYUAN_WEB_URL must start with https:// (or http:// for loopback).")
    secret = environ.get("TUANYUAN_WEBHOOK_SECRET", "").strip() or None
    if secret is not None and not _WEBHOOK_SECRET.fullmatch(secret):
        raise ConfigError(
            "TUANYUAN_WEBHOOK_SECRET must be 16 to 256 characters: letters, digits, _ and -."
        )
    host = f"[{web_listen[0]}]" if ":" in web_listen[0] else web_listen[0]
    return {
        "web_listen": web_listen,
        "web_url": web_url or f"http://{host}:{web_listen[1]}",
        "web_idle_s": 60 * _positive_int(environ, "TUANYUAN_WEB_IDLE_MINUTES", "30"),
        "metrics_listen": _listen(environ, "TUANYUAN_METRICS_LISTEN", "127.0.0.1:9464"),
        "webhook_secret": secret,
    }


def _ray_address(environ: dict[str, str]) -> str | None:
    """``auto``, ``host:port`` or ``ray://host:port``; unset: renders stay on this machine."""
    address = environ.get("TUANYUAN_RAY_ADDRESS", "").strip()
    if not address:
        return None
    if address != "auto" and split_host_port(address.removeprefix("ray://")) is None:
        raise ConfigError("TUANYUAN_RAY_ADDRESS must be auto, host:port or ray://host:port.")
    return address


def split_host_port(address: str, least_port: int = 1) -> tuple[str, int] | None:
    """``(host, port)`` of a ``host:port`` (IPv6 hosts in brackets), or None when it is not one:
    a listen address, or a Ray head's."""
    host, _, port = address.rpartition(":")
    if not host or any(c in host for c in "/@ ") or not port.isdigit():
        return None
    if not least_port <= int(port) < 65536:
        return None
    return host.strip("[]"), int(port)


def _sample_percent(environ: dict[str, str]) -> int:
    percent = _positive_int(environ, "TUANYUAN_CAMPAIGN_SAMPLE_PERCENT", "10", least=0)
    if percent > 100:
        raise ConfigError("TUANYUAN_CAMPAIGN_SAMPLE_PERCENT must be at most 100.")
    return percent


def _price_stars(environ: dict[str, str]) -> int:
    price = _positive_int(environ, "TUANYUAN_PRICE_STARS", "0", least=0)
    if price > MAX_PRICE_STARS:
        raise ConfigError(f"TUANYUAN_PRICE_STARS must be at most {MAX_PRICE_STARS}.")
    return price


def read_xtts_dir(environ: dict[str, str]) -> Path | None:
    """The XTTS weights folder if one is configured; whether it loads is the engine's to say."""
    return _folder(environ, "TUANYUAN_XTTS_DIR")


def read_voxcpm_dir(environ: dict[str, str]) -> Path | None:
    """The VoxCPM2 weights folder if one is configured."""
    return _folder(environ, "TUANYUAN_VOXCPM_DIR")


def read_voice_licence(environ: dict[str, str]) -> VoiceLicence | None:
    """What the operator declared about their use of cloning weights, if they did."""
    value = environ.get("TUANYUAN_VOICE_LICENCE", "").strip().lower()
    if not value:
        return None
    if value not in ("commercial", "noncommercial"):
        raise ConfigError("TUANYUAN_VOICE_LICENCE must be commercial or noncommercial.")
    return "commercial" if value == "commercial" else "noncommercial"


def read_voice_backend(environ: dict[str, str]) -> VoiceChoice | None:
    """The voice the operator forces for every greeting, if they did."""
    value = environ.get("TUANYUAN_VOICE_BACKEND", "").strip().lower()
    choices: dict[str, VoiceChoice] = {"voxcpm": "voxcpm", "xtts": "xtts", "default": "default"}
    if value and value not in choices:
        raise ConfigError("TUANYUAN_VOICE_BACKEND must be voxcpm, xtts or default.")
    return choices.get(value)


def _folder(environ: dict[str, str], name: str) -> Path | None:
    folder = environ.get(name, "").strip()
    return Path(folder) if folder else None


def read_watermark_key(environ: dict[str, str]) -> bytes | None:
    """The operator's watermark key if one is configured; None leaves it to the vault key."""
    if WATERMARK_KEY_ENV not in environ and WATERMARK_KEY_FILE_ENV not in environ:
        return None
    try:
        return load_watermark_key(environ)
    except (WatermarkKeyError, OSError) as error:
        raise ConfigError(f"watermark key: {error}") from None
