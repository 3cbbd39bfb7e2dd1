"""The media table: what each file in the vault is, which family it belongs to, who sent it.

The files themselves live sealed in the vault (``bot/vault.py``); these rows are what lets
revocation find every piece of a subject's footage, and /delete_me everything one member sent.
"""

from enum import StrEnum
from typing import Any

from sqlite_utils import Database

from bot.clock import Clock, iso


class MediaKind(StrEnum):
    PORTRAIT = "portrait"
    VOICE = "voice"
    STATEMENT = "statement"  # the living subject's recorded consent
    PROOF = "proof"  # a relative's proof document (death certificate, household register)
    VIDEO = "video"  # a rendered greeting
    THUMBNAIL = "thumbnail"  # its still, sent with the preview and the delivery
    FOOTAGE = "footage"  # a family video clip of the subject
    PROFILE = "profile"  # the subject's speaker profile, derived from every voice note


# What the family sent of the subject to make greetings from, and what was learnt from it:
# deleted when consent has ended and not been given again (bot/family/renewal.py).
LIKENESS_MATERIAL = (
    MediaKind.PORTRAIT,
    MediaKind.VOICE,
    MediaKind.FOOTAGE,
    MediaKind.PROFILE,
)
# The subject's likeness: what revocation must leave nothing of. The material above, and what
# was made under consent: the recorded statement and the greetings themselves.
SUBJECT_DATA = (*LIKENESS_MATERIAL, MediaKind.STATEMENT, MediaKind.VIDEO, MediaKind.THUMBNAIL)


def record_media(
    db: Database,
    clock: Clock,
    media_id: str,
    kind: MediaKind,
    mime_type: str,
    size_bytes: int,
    uploaded_by: int,
    space_id: str | None,
    details: str | None = None,
    derived_from: str | None = None,
) -> None:
    db.table("media").insert(
        {
            "id": media_id,
            "kind": kind.value,
            "mime_type": mime_type,
            "size_bytes": size_bytes,
            "uploaded_by": uploaded_by,
            "space_id": space_id,
            "created_at": iso(clock.now()),
            "details": details,
            "derived_from": derived_from,
        }
    )


def space_media(db: Database, space_id: str, kind: MediaKind) -> list[dict[str, Any]]:
    """A family's files of one kind, oldest first: every voice note, every clip."""
    return media_where(db, "space_id = ? AND kind = ?", [space_id, kind.value])


def media_where(db: Database, where: str, params: list[Any]) -> list[dict[str, Any]]:
    return list(db.query(f"SELECT * FROM media WHERE {where} ORDER BY created_at", params))


def media_type(db: Database, media_id: str) -> str:
    """The file's MIME type as it was checked on arrival (a vault file is only bytes)."""
    rows = media_where(db, "id = ?", [media_id])
    return str(rows[0]["mime_type"]) if rows else "application/octet-stream"


def forget_media(db: Database, media_ids: list[str]) -> None:
    for media_id in media_ids:
        db.execute("DELETE FROM media WHERE id = ?", [media_id])
