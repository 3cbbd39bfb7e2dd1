"""The media vault: every photo, recording, document and video the bot keeps, encrypted at rest.

Files are sealed with AES-256-GCM under a key that never enters the repository or a log: it
comes from ``TUANYUAN_VAULT_KEY`` or from a key file created on first run with 0600
permissions. Each file gets a fresh random nonce and is bound to its own id as associated
data, so swapping two files on disk makes both unreadable instead of silently mixing them up.

Files are named by random ids, not by a hash of their content: a content hash would tell anyone
who can list the folder that two families sent the same picture, and shared files would make
deleting one family's footage touch another's.
"""

import base64
import hashlib
import hmac
import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
_NONCE_BYTES = 12
_MAGIC = b"TYV1"
_ID_HEX = 64


class VaultError(Exception):
    """A stored file is missing, damaged or was not sealed with this vault's key."""


# One subkey per use of the master key; the names are part of the key derivation, never change.
AUDIT_KEY_PURPOSE = "tuanyuan audit"
WATERMARK_KEY_PURPOSE = "tuanyuan watermark"


def derive_key(master_key: bytes, purpose: str) -> bytes:
    """One independent key per use (media, audit, evidence), so no key does two jobs."""
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode()
    ).derive(master_key)


def watermark_key(operator_key: bytes | None, master_key: Callable[[], bytes]) -> bytes:
    """The key every greeting is watermarked with, for the bot and the command line alike: the
    operator's TUANYUAN_WATERMARK_KEY when set (detection can then run where the vault key is
    not), else one derived from the vault key, which is only read in that case."""
    return operator_key or derive_key(master_key(), WATERMARK_KEY_PURPOSE)


def read_key_file(key_file: Path) -> bytes:
    """The master key from its file, refusing one that other users could read."""
    if key_file.stat().st_mode & 0o077:
        raise VaultError(f"{key_file} is readable by other users: chmod 600 it")
    key = base64.urlsafe_b64decode(key_file.read_text(encoding="ascii").strip())
    if len(key) != KEY_BYTES:
        raise VaultError(f"{key_file} does not hold a {KEY_BYTES}-byte key")
    return key


def load_or_create_key(key_file: Path, *sealed: Path) -> bytes:
    """Read the master key, creating it (0600, never overwritten) when the file is absent, but
    only for a new installation: when any of ``sealed`` (the media folder, the audit log) holds
    something made under a key, a missing key file is an operator's mistake (a lost volume, a
    wrong path) and a new key would silently make all of it unreadable, so start-up stops."""
    try:
        return read_key_file(key_file)
    except FileNotFoundError:
        for kept in sealed:
            if (kept.is_file() and kept.stat().st_size) or (kept.is_dir() and any(kept.iterdir())):
                raise VaultError(
                    f"{key_file} is missing, but {kept} holds data sealed with a key: restore "
                    "the key file from your backup (or set TUANYUAN_VAULT_KEY_FILE to where it "
                    "is). A new key would make every stored file and the audit log unreadable."
                ) from None
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(KEY_BYTES)
        # O_EXCL: two starting processes cannot both write a key and each use their own.
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(base64.urlsafe_b64encode(key).decode() + "\n")
        return key


def _is_media_id(media_id: str) -> bool:
    return len(media_id) == _ID_HEX and all(c in "0123456789abcdef" for c in media_id)


class Vault:
    """A folder of AES-GCM sealed files, each named by a random 256-bit id."""

    def __init__(self, root: Path, master_key: bytes) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._aead = AESGCM(derive_key(master_key, "tuanyuan media"))
        self._evidence_key = derive_key(master_key, "tuanyuan evidence")

    def path_for(self, media_id: str) -> Path:
        if not _is_media_id(media_id):
            raise ValueError(f"not a media id: {media_id!r}")
        return self.root / media_id[:2] / media_id

    def put_bytes(self, data: bytes) -> str:
        media_id = secrets.token_hex(_ID_HEX // 2)
        self._write(media_id, data)
        return media_id

    def put_file(self, source: Path) -> str:
        """Seal a finished file (a render, in memory: ``bot/plaintext.py``) into the vault; the
        plaintext copy is the caller's. Plaintext is never written here: the vault only ever
        hands it out as bytes (``read_bytes``)."""
        return self.put_bytes(source.read_bytes())

    def read_bytes(self, media_id: str) -> bytes:
        try:
            sealed = self.path_for(media_id).read_bytes()
        except FileNotFoundError:
            raise VaultError(f"no media {media_id}") from None
        if not sealed.startswith(_MAGIC):
            raise VaultError(f"media {media_id} is not sealed")
        nonce = sealed[len(_MAGIC) : len(_MAGIC) + _NONCE_BYTES]
        try:
            return self._aead.decrypt(
                nonce, sealed[len(_MAGIC) + _NONCE_BYTES :], media_id.encode()
            )
        except InvalidTag:
            raise VaultError(f"media {media_id} was altered or sealed with another key") from None

    def exists(self, media_id: str) -> bool:
        return self.path_for(media_id).exists()

    def delete(self, media_id: str) -> bool:
        path = self.path_for(media_id)
        existed = path.exists()
        path.unlink(missing_ok=True)
        return existed

    def commitment(self, data: bytes) -> str:
        """A keyed digest proving which recording a consent record meant, once it is deleted.

        Keyed, so the digest reveals nothing about the recording to anyone without the key.
        """
        return hmac.new(self._evidence_key, data, hashlib.sha256).hexdigest()

    def seal_legacy_files(self) -> int:
        """Encrypt files left in plaintext by releases before the vault, keeping their ids."""
        sealed = 0
        for path in self.root.glob("*/*"):
            if not path.is_file() or not _is_media_id(path.name):
                continue
            with path.open("rb") as existing:
                if existing.read(len(_MAGIC)) == _MAGIC:
                    continue
            self._write(path.name, path.read_bytes())
            sealed += 1
        return sealed

    def _write(self, media_id: str, data: bytes) -> None:
        """Seal into a temporary name, then rename, so a reader never sees a partial file."""
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = _MAGIC + nonce + self._aead.encrypt(nonce, data, media_id.encode())
        target = self.path_for(media_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as tmp:
                tmp.write(sealed)
                tmp.flush()
                os.fsync(tmp.fileno())
            Path(tmp_name).replace(target)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
