"""The audit log: a chain that `tuanyuan audit verify` accepts untouched and rejects altered."""

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest

from bot.audit import AuditError, AuditLog, RepeatedEntries
from bot.cli import main
from bot.config import DATABASE_FILE
from bot.storage import open_database
from bot.vault import derive_key, load_or_create_key
from tests.auxil.bot import FakeClock


def _opened(data_dir: Path) -> AuditLog:
    """The log as the bot opens it: its head kept in the bot's database."""
    key = derive_key(load_or_create_key(data_dir / "vault.key"), "tuanyuan audit")
    open_database(data_dir / DATABASE_FILE).close()
    return AuditLog(data_dir / "audit.log", key, FakeClock(), data_dir / DATABASE_FILE)


def _log(data_dir: Path, entries: int = 4) -> Path:
    log = _opened(data_dir)
    clock = log._clock
    assert isinstance(clock, FakeClock)
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


@pytest.mark.parametrize("cut", ["last entry", "every entry", "the file"])
def test_cutting_the_end_or_emptying_the_log_is_detected(
    data_dir: Path, cut: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _log(data_dir)
    lines = path.read_bytes().splitlines(keepends=True)
    if cut == "the file":
        path.unlink()
    else:
        path.write_bytes(b"".join(lines[:-1] if cut == "last entry" else []))
    assert main(["audit", "verify"]) == 1
    assert "entries were removed from its end" in capsys.readouterr().err


def test_a_half_written_last_line_is_cut_and_the_cut_recorded(data_dir: Path) -> None:
    path = _log(data_dir)
    fragment = b'{"action":"consent.granted","actor":1004,"at":"2026-'
    with path.open("ab") as log_file:
        log_file.write(fragment)
    log = _opened(data_dir)  # the bot starting again after the crash
    log.record(2000, "consent.revoked", space="abc123")
    last_two = [(e["action"], e["details"]) for e in log.entries()[-2:]]
    assert last_two[0] == (
        "audit.repaired",
        {"removed_bytes": len(fragment), "removed_sha256": hashlib.sha256(fragment).hexdigest()},
    )
    assert last_two[1][0] == "consent.revoked"
    assert main(["audit", "verify"]) == 0


def test_a_damaged_last_entry_stops_start_up_with_the_command_to_run(data_dir: Path) -> None:
    path = _log(data_dir)
    path.write_bytes(path.read_bytes()[:-30] + b"}\n")
    with pytest.raises(AuditError, match="tuanyuan audit verify"):
        _opened(data_dir)


@pytest.mark.parametrize(
    "line", [b'{"mac":"\xc3\xa9","seq":1,"prev":"' + b"0" * 64 + b'"}', b"[" * 100_000, b"\xff"]
)
def test_verify_reports_any_broken_line_without_a_traceback(
    data_dir: Path, line: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _log(data_dir, entries=1)
    path.write_bytes(line + b"\n" + path.read_bytes())
    assert main(["audit", "verify"]) == 1
    assert "TAMPERED after 0 good entries: line 1" in capsys.readouterr().err


def test_a_repeated_entry_is_written_once_a_window_with_the_count_left_out() -> None:
    now = [0.0]
    repeats = RepeatedEntries(window_s=60.0, now=lambda: now[0])
    refusal = (1, "order", "not_member")
    assert repeats.left_out_before(refusal) == 0
    assert [repeats.left_out_before(refusal) for _ in range(29)] == [None] * 29
    assert repeats.left_out_before((2, "order", "not_member")) == 0  # another account's own
    assert repeats.left_out_before((1, "order", "revoked")) == 0  # another reason
    now[0] = 60.0
    assert repeats.left_out_before(refusal) == 29
    assert repeats.left_out_before(refusal) is None
