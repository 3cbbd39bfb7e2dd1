"""The audit log: a chain that `tuanyuan audit verify` accepts untouched and rejects altered."""

import json
from datetime import timedelta
from pathlib import Path

import pytest

from bot.audit import AuditLog
from bot.cli import main
from bot.vault import derive_key, load_or_create_key
from tests.auxil.bot import FakeClock


def _log(data_dir: Path, entries: int = 4) -> Path:
    key = derive_key(load_or_create_key(data_dir / "vault.key"), "tuanyuan audit")
    clock = FakeClock()
    log = AuditLog(data_dir / "audit.log", key, clock)
    for number in range(entries):
        log.record(1000 + number, "consent.granted", space="abc123", consent=f"c{number}")
        clock.advance(timedelta(minutes=1))
    return log.path


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("TUANYUAN_VAULT_KEY", "TUANYUAN_VAULT_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TUANYUAN_DATA_DIR", str(tmp_path))
    return tmp_path


def test_an_untouched_log_verifies(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _log(data_dir)
    assert main(["audit", "verify"]) == 0
    assert "intact: 4 entries" in capsys.readouterr().out


def test_a_reopened_log_continues_the_same_chain(data_dir: Path) -> None:
    path = _log(data_dir, entries=2)
    _log(data_dir, entries=2)
    assert [json.loads(line)["seq"] for line in path.read_text().splitlines()] == [1, 2, 3, 4]
    assert main(["audit", "verify"]) == 0


@pytest.mark.parametrize("where", ["first", "middle", "mac", "newline", "last"])
def test_changing_any_one_byte_is_detected(
    data_dir: Path, where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _log(data_dir)
    data = bytearray(path.read_bytes())
    second_line = data.index(b"\n") + 1
    offset = {
        "first": 0,
        "middle": data.index(b'"actor":1001', second_line) + len('"actor":100'),
        "mac": data.index(b'"mac":"', second_line) + 10,
        "newline": second_line - 1,
        "last": len(data) - 2,
    }[where]
    data[offset] = ord("7") if data[offset] != ord("7") else ord("8")
    path.write_bytes(bytes(data))
    assert main(["audit", "verify"]) == 1
    assert "TAMPERED" in capsys.readouterr().err


def test_a_deleted_entry_breaks_the_chain(data_dir: Path) -> None:
    path = _log(data_dir)
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:1] + lines[2:]))
    assert main(["audit", "verify"]) == 1


def test_verifying_without_the_key_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TUANYUAN_VAULT_KEY", raising=False)
    monkeypatch.setenv("TUANYUAN_DATA_DIR", str(tmp_path / "empty"))
    assert main(["audit", "verify"]) == 2
