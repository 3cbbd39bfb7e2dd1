"""Settings read from the environment, with secrets kept out of logs and reprs.

The bot token may come from ``TUANYUAN_BOT_TOKEN`` or from a file named by
``TUANYUAN_BOT_TOKEN_FILE`` (for container secrets); it is never printed.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

TELEGRAM_API_URL = "https://api.telegram.org/bot"
TELEGRAM_FILE_URL = "https://api.telegram.org/file/bot"


class ConfigError(Exception):
    """The operator's configuration is incomplete; the message says which variable to set."""


@dataclass(frozen=True)
class Settings:
    token: str = field(repr=False)
    data_dir: Path
    api_base_url: str = TELEGRAM_API_URL
    file_base_url: str = TELEGRAM_FILE_URL
    render_workers: int = 1

    @property
    def database_path(self) -> Path:
        return self.data_dir / "tuanyuan.sqlite3"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def work_dir(self) -> Path:
        """Scratch space for renders in progress; finished videos move into the media store."""
        return self.data_dir / "work"


def _read_token(environ: dict[str, str]) -> str:
    if token := environ.get("TUANYUAN_BOT_TOKEN", "").strip():
        return token
    if token_file := environ.get("TUANYUAN_BOT_TOKEN_FILE"):
        try:
            return Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ConfigError(f"TUANYUAN_BOT_TOKEN_FILE cannot be read: {error.strerror}") from None
    raise ConfigError("Set TUANYUAN_BOT_TOKEN or TUANYUAN_BOT_TOKEN_FILE to the bot's token.")


def settings_from_env(environ: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if environ is None else environ)
    workers = env.get("TUANYUAN_RENDER_WORKERS", "1")
    if not workers.isdigit() or int(workers) < 1:
        raise ConfigError("TUANYUAN_RENDER_WORKERS must be a whole number of at least 1.")
    return Settings(
        token=_read_token(env),
        data_dir=Path(env.get("TUANYUAN_DATA_DIR", "var")),
        api_base_url=env.get("TUANYUAN_BOT_API_URL", TELEGRAM_API_URL),
        file_base_url=env.get("TUANYUAN_BOT_FILE_URL", TELEGRAM_FILE_URL),
        render_workers=int(workers),
    )
