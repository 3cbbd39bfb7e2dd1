"""Plaintext that must be readable by path yet never lie on a disk.

An anonymous in-memory file (``memfd_create``) has a path, ``/proc/<pid>/fd/<n>``, that opens
like any file in this process or in a worker process of the same user (PyAV, Pillow, ffmpeg
and model loaders read it and seek in it), yet no directory names it, and it is gone once its
descriptor is closed or its process dies, a ``kill -9`` included.
"""

import os
from pathlib import Path


def memory_file(name: str) -> tuple[int, Path]:
    """A new, empty in-memory file: its descriptor (the caller closes it to free the file) and
    a path that opens it. ``name`` only shows in ``/proc/<pid>/fd`` listings.

    Close-on-exec: a process started meanwhile reaches it by path, never by inheritance.
    """
    descriptor = os.memfd_create(name, os.MFD_CLOEXEC)
    return descriptor, Path(f"/proc/{os.getpid()}/fd/{descriptor}")
