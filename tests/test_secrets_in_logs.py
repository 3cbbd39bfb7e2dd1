"""The secrets-in-logs check (tests/auxil/secrets.py) fails a run whose logs hold a test's
vault key, a key derived from it, a signing key or the bot token, and passes one that logs
around them."""

from __future__ import annotations

import pytest

_LEAKY = """
import base64, logging, os, sys
from bot.vault import WATERMARK_KEY_PURPOSE, derive_key

def _key(tmp_path):
    key = os.urandom(32)
    (tmp_path / "bot-data").mkdir()
    (tmp_path / "bot-data" / "vault.key").write_text(base64.urlsafe_b64encode(key).decode())
    return key

def test_prints_the_vault_key(tmp_path):
    print("vault", base64.urlsafe_b64encode(_key(tmp_path)).decode())

def test_logs_the_watermark_key(tmp_path):
    marking = derive_key(_key(tmp_path), WATERMARK_KEY_PURPOSE)
    logging.getLogger("bot").warning("key %s", marking.hex())

def test_a_worker_writes_the_token(tmp_path):
    sys.stderr.write("GET /bot123456:sandbox-TEST_token/getMe\\n")

def test_logs_around_them(tmp_path):
    _key(tmp_path)
    logging.getLogger("bot").warning("the vault key is in %s", tmp_path)
"""


def test_a_leaked_secret_fails_the_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_leaky=_LEAKY)
    pytester.makeconftest('pytest_plugins = ["tests.auxil.secrets"]')
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=4)  # every test passed: the logs failed the run
    summary = result.stdout.str()
    assert "test_prints_the_vault_key: the vault key" in summary
    assert "test_logs_the_watermark_key: the watermark key" in summary
    assert "test_a_worker_writes_the_token: the bot token" in summary
    assert "test_logs_around_them" not in summary
    assert "GET /bot<the bot token>/getMe" in summary  # where it was, not the secret again
