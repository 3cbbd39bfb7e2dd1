"""The subject's likeness as the family has sent it: voice notes, usable clips, and the speaker
profile the engine derived from the notes.

Voice notes and clips belong to the family space, not to one order: every greeting is voiced
from all accepted notes, and the profile computed from them is kept (sealed in the vault like
the notes themselves) until the set of notes changes. A new note or a deleted member's notes
make it stale; revocation deletes it with everything else of the subject.
"""

import hashlib
import json
from typing import Any

from sqlite_utils import Database

from bot.clock import Clock
from bot.storage import MediaKind
from bot.storage.media import forget_media, record_media, space_media
from bot.vault import Vault

# The subject's spoken languages, as /newspace asks for them (engine speech codes differ:
# Mandarin is spoken from Chinese text in either script).
SPOKEN_LANGUAGES = ("cmn", "yue", "en")


def details_of(row: dict[str, Any]) -> dict[str, Any]:
    details: dict[str, Any] = json.loads(row["details"] or "{}")
    return details


def voice_notes(db: Database, space_id: str) -> list[dict[str, Any]]:
    return space_media(db, space_id, MediaKind.VOICE)


def speech_seconds(db: Database, space_id: str) -> float:
    """Clear speech over every note the family has sent, as measured when each arrived."""
    return sum(float(details_of(row).get("speech_s", 0.0)) for row in voice_notes(db, space_id))


def usable_clips(db: Database, space_id: str) -> list[dict[str, Any]]:
    """Clips the engine judged able to carry the narration (face steady, not talking)."""
    clips = space_media(db, space_id, MediaKind.FOOTAGE)
    return [row for row in clips if details_of(row).get("usable")]


def has_picture(db: Database, space_id: str, portrait_id: str | None) -> bool:
    """Whether a greeting can show the subject: its own photo or any usable clip. Neither is
    left once the material is deleted at the end of consent, even if consent is given again."""
    return portrait_id is not None or bool(usable_clips(db, space_id))


def profile_key(notes: list[dict[str, Any]]) -> str:
    """Which notes a profile was computed from: any change to the set makes it stale."""
    return hashlib.sha256("\n".join(sorted(str(row["id"]) for row in notes)).encode()).hexdigest()


def current_profile(db: Database, space_id: str, key: str) -> str | None:
    """The vault id of the profile computed from exactly these notes, if there is one."""
    for row in space_media(db, space_id, MediaKind.PROFILE):
        if row["derived_from"] == key:
            return str(row["id"])
    return None


def keep_profile(
    db: Database,
    vault: Vault,
    clock: Clock,
    space_id: str,
    key: str,
    profile: bytes,
    computed_for: int,
) -> str:
    """Seal a newly computed profile and delete the ones it replaces."""
    stale = profiles_of(db, space_id)
    media_id = vault.put_bytes(profile)
    record_media(db, clock, media_id, MediaKind.PROFILE, "application/x-tuanyuan-voice-profile",
                 len(profile), computed_for, space_id, derived_from=key)  # fmt: skip
    forget_profiles(db, vault, stale)
    return media_id


def profiles_of(db: Database, space_id: str) -> list[str]:
    return [str(row["id"]) for row in space_media(db, space_id, MediaKind.PROFILE)]


def forget_profiles(db: Database, vault: Vault, media_ids: list[str]) -> None:
    for media_id in media_ids:
        vault.delete(media_id)
    forget_media(db, media_ids)
