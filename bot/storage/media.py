"""Media files stored by content hash, outside the database.

The same photo sent twice is stored once, and a file's name proves its content: a row in the
database points at a hash, never at a path that could be swapped underneath it.
"""

import hashlib
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from sqlite_utils import Database


class MediaStore:
    """A folder of immutable files named by the SHA-256 of their bytes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def put_bytes(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path_for(sha256)
        if not target.exists():
            self._write_atomically(target, data)
        return sha256

    def put_file(self, source: Path) -> str:
        """Copy a file in; renders are moved into the store this way once they are complete."""
        return self.put_bytes(source.read_bytes())

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()

    def _write_atomically(self, target: Path, data: bytes) -> None:
        """Write to a temporary name, then rename, so a reader never sees a partial file."""
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(data)
                tmp.flush()
                os.fsync(tmp.fileno())
            Path(tmp_name).replace(target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise


def record_media(
    db: Database, sha256: str, kind: str, mime_type: str, size_bytes: int, uploaded_by: int
) -> None:
    db.table("media").upsert(
        {
            "sha256": sha256,
            "kind": kind,
            "mime_type": mime_type,
            "size_bytes": size_bytes,
            "uploaded_by": uploaded_by,
            "created_at": datetime.now(UTC).isoformat(),
        },
        pk="sha256",
    )
