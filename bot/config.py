"""Settings read from the environment, with secrets kept out of logs and reprs.

The bot token may come from ``TUANYUAN_BOT_TOKEN`` or from a file named by
``TUANYUAN_BOT_TOKEN_FILE`` (for container secrets); the vault key likewise from
``TUANYUAN_VAULT_KEY`` or a key file. Neither is ever printed.
"""

import base64
import binascii
import os
from dataclasses import dataclass, field
from pathlib import Path

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
    # The price of a greeting in Telegram Stars; 0 makes greetings free (no invoice at all).
    price_stars: int = 0
    # A render whose worker process died is tried again after this long, doubled each time.
    render_retry_s: float = 30.0
    # Telegram allows about one message a second per chat; progress edits keep well inside it.
    progress_edit_interval_s: float = 3.0
    # Festival campaigns: invitations go out this many days before the festival, this share of
    # their greetings (percent) is watched by a moderator before the family's preview, and the
    # calendar is looked at this often for invitations and greetings that are due.
    campaign_invite_days: int = 7
    campaign_sample_percent: int = 10
    campaign_tick_s: float = 30.0

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
        """Scratch space for renders in progress; finished videos move into the media store."""
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
        price_stars=_price_stars(env),
        render_retry_s=_positive_int(env, "TUANYUAN_RENDER_RETRY_S", "30"),
        campaign_invite_days=_positive_int(env, "TUANYUAN_CAMPAIGN_INVITE_DAYS", "7"),
        campaign_sample_percent=_sample_percent(env),
    )


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
    folder = environ.get("TUANYUAN_XTTS_DIR", "").strip()
    return Path(folder) if folder else None


def read_watermark_key(environ: dict[str, str]) -> bytes | None:
    """The operator's watermark key if one is configured; None leaves it to the vault key."""
    if WATERMARK_KEY_ENV not in environ and WATERMARK_KEY_FILE_ENV not in environ:
        return None
    try:
        return load_watermark_key(environ)
    except (WatermarkKeyError, OSError) as error:
        raise ConfigError(f"watermark key: {error}") from None
