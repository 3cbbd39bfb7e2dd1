"""Plaintext media only in memory: in-memory files another process opens by path and that
vanish with their owner, a bounded budget for them, and job folders on a RAM filesystem."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.executors import EmbeddedExecutor
from bot.jobs import RenderJobs
from bot.plaintext import (
    DEFAULT_MEMORY_DIR,
    FOLDER_PREFIX,
    MEMORY_DIR_VARIABLE,
    MemoryFiles,
    TooMuchInMemory,
    job_folder,
    memory_root,
)
from bot.vault import Vault
from engine import Marking
from tests.auxil.bot import FakeClock


def test_an_in_memory_file_is_read_by_a_worker_by_path_and_gone_once_closed() -> None:
    with MemoryFiles() as memory:
        path = memory.add(b"\xff\xd8\xff a portrait", "portrait")
        still = memory.empty("still")
        # A worker process opens both by path: reads one, writes the other (a video's still).
        child = subprocess.run(
            [sys.executable, "-c",
             f"import pathlib; pathlib.Path({str(still)!r}).write_bytes("
             f"pathlib.Path({str(path)!r}).read_bytes()[::-1])"],
            capture_output=True, check=False,
        )  # fmt: skip
        assert child.returncode == 0, child.stderr
        assert still.read_bytes() == b"tiartrop a \xff\xd8\xff"
        assert path.read_bytes() == b"\xff\xd8\xff a portrait"  # each open reads from the start
        # No directory names it: only this process's descriptor table does.
        assert str(path.readlink()).startswith("/memfd:portrait")
    with pytest.raises(FileNotFoundError):
        path.read_bytes()


def test_a_jobs_plaintext_beyond_its_budget_is_refused_before_it_is_held() -> None:
    with MemoryFiles(budget=10) as memory:
        memory.add(b"123456", "voice-0")
        with pytest.raises(TooMuchInMemory, match=r"voice-1: .* more than 10 bytes"):
            memory.add(b"12345", "voice-1")
        memory.add(b"1234", "voice-2")  # what fits still fits


def test_job_folders_go_in_memory_where_there_is_a_ram_filesystem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(MEMORY_DIR_VARIABLE, raising=False)
    root = memory_root(tmp_path / "disk")
    if root != DEFAULT_MEMORY_DIR:
        pytest.skip(f"{DEFAULT_MEMORY_DIR} is not a RAM filesystem on this machine")
    mine = job_folder(root, "order-1-")
    try:
        # Named after this process, for the sweep at the next start (tests/test_executors.py).
        assert mine.name.startswith(f"{FOLDER_PREFIX}{os.getpid()}-order-1-")
        assert mine.stat().st_mode & 0o777 == 0o700
    finally:
        mine.rmdir()
    # A folder on no RAM filesystem is not taken for one: the disk fallback is used.
    monkeypatch.setenv(MEMORY_DIR_VARIABLE, str(tmp_path / "not-memory"))
    assert memory_root(tmp_path / "disk") == tmp_path / "disk"


def test_a_killed_bots_render_folder_in_memory_is_swept_when_the_next_bot_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if memory_root(tmp_path / "disk") != DEFAULT_MEMORY_DIR:
        pytest.skip(f"{DEFAULT_MEMORY_DIR} is not a RAM filesystem on this machine")
    memory = DEFAULT_MEMORY_DIR / f"tuanyuan-test-{os.getpid()}-{tmp_path.name}"
    monkeypatch.setenv(MEMORY_DIR_VARIABLE, str(memory))
    try:
        ended = subprocess.Popen(["true"])  # the bot that was killed mid-render
        ended.wait()
        dead = memory / f"{FOLDER_PREFIX}{ended.pid}-order-1-x" / "out"
        dead.mkdir(parents=True)
        (dead / "order-1.mp4").write_bytes(b"\0\0\0\x18ftypisom a greeting")
        data_dir = tmp_path / "data"
        marking = Marking(token=1, watermark_key=bytes(32), signing_dir=data_dir / "c2pa")
        jobs = RenderJobs(
            Database(memory=True), Vault(data_dir / "media", bytes(32)), FakeClock(),
            data_dir / "work", EmbeddedExecutor(1), lambda order_id: marking,
        )  # fmt: skip
        assert list(memory.iterdir()) == []
        assert jobs.scratch_dirs("order-1") == []
    finally:
        shutil.rmtree(memory, ignore_errors=True)
