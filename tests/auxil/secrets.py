"""Secrets never in logs (issue 17): a pytest plugin that reads every test's logs and fails
the run if a secret of that test appears in them.

What it reads, per test (setup, call and teardown together): captured stdout (structlog's
lines), captured stderr (the bot's worker processes write there too) and the log records
pytest captured. What it looks for: the stand-in's bot token, and under the test's tmp_path
every vault key file (the key itself, the watermark and audit keys derived from it) and every
C2PA signing key (its PEM body), each in hex, base64 and URL-safe base64 and as Python writes
bytes. A finding is reported at the end of the session, which then fails.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.vault import AUDIT_KEY_PURPOSE, WATERMARK_KEY_PURPOSE, derive_key
from tests.auxil.sandbox import TOKEN

_MIN_SPELLING = 16  # shorter fragments could match by chance


def spellings(secret: bytes) -> set[str]:
    """How a key could be written into a line of text."""
    forms = {
        secret.hex(),
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode().rstrip("="),
        repr(secret)[2:-1],
    }
    return {form for form in forms if len(form) >= _MIN_SPELLING}


def secrets_under(folder: Path) -> dict[str, set[str]]:
    """The keys a test's bot kept in ``folder``, by name, in every spelling."""
    found: dict[str, set[str]] = {}
    for key_file in folder.rglob("vault.key"):
        try:
            master = base64.urlsafe_b64decode(key_file.read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            continue
        found.setdefault("vault key", set()).update(spellings(master))
        for name, purpose in (("watermark key", WATERMARK_KEY_PURPOSE),
                              ("audit key", AUDIT_KEY_PURPOSE)):  # fmt: skip
            found.setdefault(name, set()).update(spellings(derive_key(master, purpose)))
    for key_file in folder.rglob("leaf.key"):
        lines = key_file.read_text(encoding="ascii", errors="replace").splitlines()
        body = {line for line in lines if not line.startswith("-----") and len(line) >= 40}
        found.setdefault("signing key", set()).update(body)
    return found


@dataclass(frozen=True)
class Finding:
    test: str
    secret: str
    excerpt: str


def leaks(test: str, text: str, secrets: dict[str, set[str]]) -> list[Finding]:
    findings = []
    for name, forms in secrets.items():
        for form in forms:
            at = text.find(form)
            if at >= 0:
                excerpt = text[max(0, at - 60) : at + len(form) + 20].replace("\n", " ")
                excerpt = excerpt.replace(form, f"<the {name}>")  # the report leaks nothing
                findings.append(Finding(test, name, excerpt))
                break
    return findings


class SecretsInLogs:
    def __init__(self) -> None:
        self.findings: list[Finding] = []

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> object:
        outcome = yield
        if call.when != "teardown":
            return None
        report: pytest.TestReport = outcome.get_result()  # type: ignore[attr-defined]
        # The teardown report carries every phase's captured output.
        text = "\n".join((report.capstdout, report.capstderr, report.caplog))
        secrets: dict[str, set[str]] = {"bot token": {TOKEN}}
        tmp_path = getattr(item, "funcargs", {}).get("tmp_path")
        if isinstance(tmp_path, Path):
            secrets.update(secrets_under(tmp_path))
        self.findings += leaks(item.nodeid, text, secrets)
        return None

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.findings:
            terminalreporter.section("secrets in logs", red=True)
            for finding in self.findings:
                terminalreporter.line(f"{finding.test}: the {finding.secret}: {finding.excerpt}")

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.findings:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SecretsInLogs(), "tuanyuan-secrets-in-logs")
