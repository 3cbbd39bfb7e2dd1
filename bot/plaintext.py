"""Where a member's media live while a job uses them in plaintext: in memory, never on a disk.

A decrypted portrait, voice note, speaker profile or clip, and an upload being judged, is an
anonymous in-memory file (``memfd_create``): its path ``/proc/<pid>/fd/<n>`` opens like any
file, in this process or in a worker process of the same user (PyAV, Pillow, ffmpeg all read
it, and seek in it), yet no directory names it and it is gone the moment its process closes it
or dies, a ``kill -9`` included. What a render writes (its intermediate files, the finished
greeting before it is sealed) needs a folder, so it gets one on a RAM filesystem (``/dev/shm``
or ``TUANYUAN_MEMORY_DIR``),
named after the process that made it: removed when the job ends, and by the next start of a
bot or render actor when that process was killed. Neither is the disk, but both are memory the
kernel may swap out: a machine with swap should encrypt it (as most distributions do for a
swap file, or with ``cryptswap``).

Memory is the price. One render's decrypted inputs are held to MAX_INPUT_BYTES together (a
photo and a few voice notes are usually under 1 MB). Its folder holds the encoded picture, the
muxed greeting and, while it is signed, a copy: a 60 s 1080p render peaked at 11 MB there (a
3 MB greeting), and the encoder's 6 Mbit/s cap and the 50 MB upload limit bound it at about
150 MB. The render process's own memory (about 0.8 GB at 60 s 1080p, BENCHMARKS.md) is apart.
"""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

import structlog

from engine import memory_file

log = structlog.get_logger(__name__)

# A render's decrypted inputs held in memory at once: each upload was at most Telegram's 20 MB
# download limit (bot/flows/uploads.py), and this many of them is more than any family's
# portrait, notes and clips so far. Past it a render is refused rather than swapping.
MAX_INPUT_BYTES = 256 * 1024 * 1024
# The folder on a RAM filesystem that job folders go in (Linux has /dev/shm); an operator whose
# /dev/shm is small (Docker's is 64 MB) names a larger tmpfs with TUANYUAN_MEMORY_DIR.
MEMORY_DIR_VARIABLE = "TUANYUAN_MEMORY_DIR"
DEFAULT_MEMORY_DIR = Path("/dev/shm")
# Every job folder in memory starts with this and its process id (see ``sweep_dead_folders``).
FOLDER_PREFIX = "tuanyuan-render-"
_RAM_FILESYSTEMS = ("tmpfs", "ramfs")


class TooMuchInMemory(Exception):
    """The job's plaintext would pass MAX_INPUT_BYTES."""


class MemoryFiles:
    """Anonymous in-memory files for one job, closed (and so freed) together with it."""

    def __init__(self, budget: int = MAX_INPUT_BYTES) -> None:
        self._budget = budget
        self._held = 0
        self._fds: list[int] = []

    def add(self, data: bytes, name: str) -> Path:
        """A path that reads back ``data``, for as long as this object is open; ``name`` only
        shows in ``/proc/<pid>/fd`` listings."""
        if self._held + len(data) > self._budget:
            raise TooMuchInMemory(
                f"{name}: the job's files would take more than {self._budget} bytes of memory"
            )
        path = self.empty(name)
        with path.open("r+b") as out:
            out.write(data)
        self._held += len(data)
        return path

    def empty(self, name: str) -> Path:
        """A path to an empty in-memory file that another process may write (an upload being
        downloaded, a still a worker takes from a video)."""
        fd, path = memory_file(name)
        self._fds.append(fd)
        return path

    def close(self) -> None:
        fds, self._fds = self._fds, []
        for fd in fds:
            os.close(fd)
        self._held = 0

    def __enter__(self) -> "MemoryFiles":
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


def memory_root(fallback: Path) -> Path:
    """Where job folders go: the memory folder (``TUANYUAN_MEMORY_DIR``, else /dev/shm) when it
    is on a RAM filesystem, else ``fallback``, on a disk, which the log says."""
    wanted = Path(os.environ.get(MEMORY_DIR_VARIABLE) or DEFAULT_MEMORY_DIR)
    with contextlib.suppress(OSError):
        wanted.mkdir(mode=0o700, parents=True, exist_ok=True)
    if _filesystem_of(wanted) in _RAM_FILESYSTEMS and os.access(wanted, os.W_OK):
        return wanted
    log.warning("plaintext.no_memory_filesystem", wanted=str(wanted), using=str(fallback))
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback


def job_folder(root: Path, name: str = "") -> Path:
    """A new private (0700) folder for one job under ``root``, named after this process so that
    ``sweep_dead_folders`` can tell when nobody is left to remove it."""
    return Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-{name}", dir=root))


def sweep_dead_folders(root: Path) -> int:
    """Remove job folders whose process is gone (killed with no chance to clean up); how many."""
    swept = 0
    for folder in root.glob(f"{FOLDER_PREFIX}*"):
        pid = folder.name.removeprefix(FOLDER_PREFIX).split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            swept += 1
    return swept


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _filesystem_of(path: Path) -> str | None:
    """The type of the filesystem ``path`` is on: its deepest mount point's in /proc/self/mounts."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return None
    resolved = path.resolve()
    kinds = {Path(f[1]): f[2] for f in (line.split() for line in mounts) if len(f) > 2}
    points = [point for point in kinds if resolved.is_relative_to(point)]
    return kinds[max(points, key=lambda point: len(point.parts))] if points else None
