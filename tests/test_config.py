"""Settings come from the environment; the token never shows up where logs could carry it."""

import base64
from pathlib import Path

import pytest

from bot.config import ConfigError, settings_from_env


def test_token_from_the_environment_is_kept_out_of_the_repr() -> None:
    settings = settings_from_env({"TUANYUAN_BOT_TOKEN": "123:secret-token"})
    assert settings.token == "123:secret-token"
    assert "secret-token" not in repr(settings)


def test_token_file_is_read_and_stripped(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("123:from-file\n", encoding="utf-8")
    settings = settings_from_env({"TUANYUAN_BOT_TOKEN_FILE": str(token_file)})
    assert settings.token == "123:from-file"


@pytest.mark.parametrize(
    ("environ", "advice"),
    [
        ({}, "Set TUANYUAN_BOT_TOKEN"),
        ({"TUANYUAN_BOT_TOKEN_FILE": "/nonexistent/token"}, "cannot be read"),
        ({"TUANYUAN_BOT_TOKEN": "1:x", "TUANYUAN_RENDER_WORKERS": "0"}, "at least 1"),
        ({"TUANYUAN_BOT_TOKEN": "1:x", "TUANYUAN_ADMIN_IDS": "12,@eve"}, "user ids"),
        ({"TUANYUAN_BOT_TOKEN": "1:x", "TUANYUAN_ADMIN_CHAT_ID": "admins"}, "chat id"),
        ({"TUANYUAN_BOT_TOKEN": "1:x", "TUANYUAN_VAULT_KEY": "c2hvcnQ"}, "32 random bytes"),
        ({"TUANYUAN_BOT_TOKEN": "1:x", "TUANYUAN_DECEASED_COSIGNERS": "0"}, "at least 1"),
        ({"TUANYUAN_BOT_TOKEN": "1:x", "TUANYUAN_WEB_LISTEN": "8080"}, "host:port"),
        ({"TUANYUAN_BOT_TOKEN": "1:x", "TUANYUAN_METRICS_LISTEN": "[::1]:99999"}, "host:port"),
        ({"TUANYUAN_BOT_TOKEN": "1:x", "TUANYUAN_WEB_URL": "admin.example"}, "https://"),
        ({"TUANYUAN_BOT_TOKEN": "1:x", "TUANYUAN_WEB_IDLE_MINUTES": "0"}, "at least 1"),
        ({"TUANYUAN_BOT_TOKEN": "1:x", "TUANYUAN_WEBHOOK_SECRET": "short"}, "16 to 256"),
    ],
)
def test_incomplete_configuration_says_what_to_set(environ: dict[str, str], advice: str) -> None:
    with pytest.raises(ConfigError, match=advice):
        settings_from_env(environ)


def test_admins_vault_key_and_cosigners_come_from_the_environment(tmp_path: Path) -> None:
    key = base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("=")
    settings = settings_from_env(
        {"TUANYUAN_BOT_TOKEN": "1:x", "TUANYUAN_ADMIN_IDS": "11, 22", "TUANYUAN_DATA_DIR":
         str(tmp_path), "TUANYUAN_ADMIN_CHAT_ID": "-1001234", "TUANYUAN_VAULT_KEY": key,
         "TUANYUAN_DECEASED_COSIGNERS": "2"}
    )  # fmt: skip
    assert settings.admin_ids == {11, 22} and settings.admin_chat_id == -1001234
    assert settings.vault_key == bytes(range(32)) and settings.deceased_cosigners == 2
    assert key not in repr(settings) and settings.vault_key_file == tmp_path / "vault.key"


def test_the_xtts_folder_is_optional_and_read_as_given(tmp_path: Path) -> None:
    for unset in ({}, {"TUANYUAN_XTTS_DIR": " "}):
        assert settings_from_env({"TUANYUAN_BOT_TOKEN": "1:x", **unset}).xtts_dir is None
    # A folder that is missing or broken is not a start-up error: the default voice speaks,
    # and the reason is shown when a greeting is rendered.
    missing = tmp_path / "xtts-v2"
    settings = settings_from_env({"TUANYUAN_BOT_TOKEN": "1:x", "TUANYUAN_XTTS_DIR": str(missing)})
    assert settings.xtts_dir == missing


def test_the_web_and_metrics_listen_on_loopback_unless_configured() -> None:
    settings = settings_from_env({"TUANYUAN_BOT_TOKEN": "1:x"})
    assert settings.web_listen == ("127.0.0.1", 8080)
    assert settings.web_url == "http://127.0.0.1:8080"
    assert settings.metrics_listen == ("127.0.0.1", 9464)
    assert settings.web_idle_s == 30 * 60 and settings.webhook_secret is None
    secret = "s" * 40
    settings = settings_from_env(
        {"TUANYUAN_BOT_TOKEN": "1:x", "TUANYUAN_WEB_LISTEN": "[::]:8443",
         "TUANYUAN_WEB_URL": "https://admin.example.org/", "TUANYUAN_WEB_IDLE_MINUTES": "10",
         "TUANYUAN_METRICS_LISTEN": "10.0.0.2:9100", "TUANYUAN_WEBHOOK_SECRET": secret}
    )  # fmt: skip
    assert settings.web_listen == ("::", 8443) and settings.web_url == "https://admin.example.org"
    assert settings.metrics_listen == ("10.0.0.2", 9100) and settings.web_idle_s == 600
    assert settings.webhook_secret == secret and secret not in repr(settings)


def test_renders_stay_on_this_machine_unless_a_ray_cluster_is_named() -> None:
    settings = settings_from_env({"TUANYUAN_BOT_TOKEN": "1:x"})
    assert (settings.ray_address, settings.ray_render_actors, settings.ray_max_in_flight) == (
        None, 2, None,
    )  # fmt: skip
    for address in ("auto", "10.0.0.5:6379", "ray://head.internal:10001"):
        settings = settings_from_env(
            {"TUANYUAN_BOT_TOKEN": "1:x", "TUANYUAN_RAY_ADDRESS": address,
             "TUANYUAN_RAY_RENDER_ACTORS": "3", "TUANYUAN_RAY_MAX_IN_FLIGHT": "6"}
        )  # fmt: skip
        assert (settings.ray_address, settings.ray_render_actors) == (address, 3)
        assert settings.ray_max_in_flight == 6


@pytest.mark.parametrize(
    ("name", "value", "advice"),
    [
        ("TUANYUAN_RAY_ADDRESS", "head", "auto, host:port or ray://host:port"),
        ("TUANYUAN_RAY_ADDRESS", "ray://head:99999", "auto, host:port or ray://host:port"),
        ("TUANYUAN_RAY_RENDER_ACTORS", "0", "TUANYUAN_RAY_RENDER_ACTORS must be a whole number"),
        ("TUANYUAN_RAY_MAX_IN_FLIGHT", "0", "TUANYUAN_RAY_MAX_IN_FLIGHT must be a whole number"),
    ],
)
def test_a_wrong_ray_setting_says_what_is_expected(name: str, value: str, advice: str) -> None:
    with pytest.raises(ConfigError, match=advice):
        settings_from_env({"TUANYUAN_BOT_TOKEN": "1:x", name: value})


def test_the_bots_sending_pace_is_telegrams_unless_lifted() -> None:
    """30 messages a second in all, Telegram's limit; 0 lifts it (the load benchmark, whose
    stand-in has Telegram's limits raised); anything else is refused with what to set."""
    base = {"TUANYUAN_BOT_TOKEN": "1:x"}
    assert settings_from_env(base).send_per_s == 30
    assert settings_from_env(base | {"TUANYUAN_SEND_PER_S": "0"}).send_per_s == 0
    assert settings_from_env(base | {"TUANYUAN_SEND_PER_S": "1000"}).send_per_s == 1000
    with pytest.raises(ConfigError, match="TUANYUAN_SEND_PER_S must be a whole number"):
        settings_from_env(base | {"TUANYUAN_SEND_PER_S": "-1"})
