"""A subject's plaintext handed over by path: readable in a worker, on no disk, gone when freed."""

from __future__ import annotations

import os
import subprocess
import sys

from engine import memory_file


def test_an_in_memory_file_reads_back_by_path_in_another_process_and_is_gone_when_closed() -> None:
    descriptor, path = memory_file("portrait")
    try:
        path.write_bytes(b"plaintext")
        assert str(path.readlink()).startswith("/memfd:portrait")  # no directory names it
        # A worker of the same user opens it by its path; it does not inherit the descriptor.
        inherited = (
            "import os\n"
            "def link(fd):\n"
            "    try: return os.readlink('/proc/self/fd/' + fd)\n"
            "    except OSError: return ''\n"
            "print(any(link(fd).startswith('/memfd:') for fd in os.listdir('/proc/self/fd')))\n"
        )
        read = f"print(open({str(path)!r}, 'rb').read())\n"
        child = subprocess.run([sys.executable, "-c", inherited + read], capture_output=True,
                               text=True, check=True, close_fds=False)  # fmt: skip
        assert child.stdout.split() == ["False", "b'plaintext'"]
    finally:
        os.close(descriptor)
    assert not path.exists()
