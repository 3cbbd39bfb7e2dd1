"""The media vault: nothing readable at rest, nothing swappable, and a key kept to its owner."""

import base64
from pathlib import Path

import pytest

from bot.vault import Vault, VaultError, load_or_create_key, read_key_file

KEY = bytes(range(32))
PHOTO = b"\xff\xd8\xff\xe0 a portrait of grandpa " * 50


def test_files_are_sealed_at_rest_and_read_back_exactly(tmp_path: Path) -> None:
    vault = Vault(tmp_path / "media", KEY)
    media_id = vault.put_bytes(PHOTO)
    sealed = vault.path_for(media_id).read_bytes()
    assert b"portrait of grandpa" not in sealed and len(sealed) == len(PHOTO) + 4 + 12 + 16
    assert vault.read_bytes(media_id) == PHOTO
    assert oct(vault.path_for(media_id).stat().st_mode & 0o777) == "0o600"


def test_the_same_file_twice_gets_unrelated_names_and_ciphertexts(tmp_path: Path) -> None:
    vault = Vault(tmp_path / "media", KEY)
    first, second = vault.put_bytes(PHOTO), vault.put_bytes(PHOTO)
    assert first != second
    assert vault.path_for(first).read_bytes() != vault.path_for(second).read_bytes()


def test_an_altered_or_swapped_file_is_refused(tmp_path: Path) -> None:
    vault = Vault(tmp_path / "media", KEY)
    first, second = vault.put_bytes(PHOTO), vault.put_bytes(b"another file")
    path = vault.path_for(first)
    tampered = bytearray(path.read_bytes())
    tampered[40] ^= 1
    path.write_bytes(bytes(tampered))
    with pytest.raises(VaultError, match="altered"):
        vault.read_bytes(first)
    path.write_bytes(vault.path_for(second).read_bytes())  # a valid file under the wrong name
    with pytest.raises(VaultError, match="altered"):
        vault.read_bytes(first)
    with pytest.raises(VaultError, match="altered"):
        Vault(tmp_path / "media", bytes(32)).read_bytes(second)


def test_media_ids_cannot_escape_the_vault(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a media id"):
        Vault(tmp_path / "media", KEY).path_for("../../etc/passwd")


def test_plaintext_files_from_before_the_vault_are_sealed_in_place(tmp_path: Path) -> None:
    legacy_id = "ab" * 32
    legacy = tmp_path / "media" / legacy_id[:2] / legacy_id
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(PHOTO)
    vault = Vault(tmp_path / "media", KEY)
    assert vault.seal_legacy_files() == 1
    assert PHOTO not in legacy.read_bytes() and vault.read_bytes(legacy_id) == PHOTO
    assert vault.seal_legacy_files() == 0


def test_the_key_file_is_created_once_with_0600_and_reused(tmp_path: Path) -> None:
    key_file = tmp_path / "secrets" / "vault.key"
    key = load_or_create_key(key_file)
    assert len(key) == 32 and oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert load_or_create_key(key_file) == key
    assert base64.urlsafe_b64decode(key_file.read_text().strip()) == key


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "vault.key"
    load_or_create_key(key_file)
    key_file.chmod(0o644)
    with pytest.raises(VaultError, match="chmod 600"):
        read_key_file(key_file)


def test_a_lost_key_file_is_never_replaced_while_sealed_data_remains(tmp_path: Path) -> None:
    key_file, media = tmp_path / "vault.key", tmp_path / "media"
    Vault(media, load_or_create_key(key_file, media)).put_bytes(b"a portrait")
    key_file.unlink()
    with pytest.raises(VaultError, match="restore the key file from your backup"):
        load_or_create_key(key_file, media, tmp_path / "audit.log")
    assert not key_file.exists()
