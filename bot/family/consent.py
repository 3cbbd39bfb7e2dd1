"""Consent records: who allowed a subject's face and voice to be used, for what, until when.

Records are never changed or deleted (SQLite triggers refuse it): a co-signature, a veto or a
revocation is a new record that refers to the grant it concerns. Each record carries a SHA-256
of its own content, which is what a render spec cites, so the engine renders only against the
exact grant the bot checked.
"""

import hashlib
import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel
from sqlite_utils import Database

from bot.clock import Clock, iso, parse_iso
from bot.family.spaces import Member, Space, SpaceStatus, members_of
from bot.i18n import Gettext
from engine import ConsentReference, list_templates

CONSENT_VALID_FOR = timedelta(days=365)
CHALLENGE_VALID_FOR = timedelta(minutes=30)
# Consent allows use "for one year": once it has ended and not been given again, what the family
# sent to make greetings from is kept this long (a family renewing late need not send it all
# again), then deleted (bot/family/renewal.py).
MATERIAL_KEPT_AFTER_END = timedelta(days=90)
# How much speech a consent statement must hold: the phrase takes about 6 s to read aloud.
MIN_STATEMENT_SPEECH_S = 3.0
WORDING_VERSION = "2026-11-v1"


class RecordKind(StrEnum):
    GRANT = "grant"
    COSIGN = "cosign"
    VETO = "veto"
    REVOCATION = "revocation"


class Method(StrEnum):
    LIVING_STATEMENT = "living_statement"  # the subject, reading a one-time phrase
    NEXT_OF_KIN = "next_of_kin"  # verified relatives of a deceased subject
    COMMAND = "command"  # a /revoke or a button press


class ConsentRecord(BaseModel):
    id: str
    space_id: str
    kind: RecordKind
    refers_to: str | None = None
    actor_id: int
    relation: str | None = None
    method: Method
    subject_name: str | None = None
    subject_status: str | None = None
    scope: str | None = None
    wording: str | None = None
    wording_version: str | None = None
    language: str | None = None
    proof_refs: str | None = None
    evidence_commitment: str | None = None
    created_at: str
    valid_until: str | None = None
    record_hash: str

    def reference(self) -> ConsentReference:
        assert self.valid_until is not None
        return ConsentReference(
            consent_id=self.id,
            record_hash=self.record_hash,
            valid_until=parse_iso(self.valid_until),
        )


class Challenge(BaseModel):
    id: str
    space_id: str
    user_id: int
    phrase: str
    language: str
    created_at: str
    expires_at: str

    def expired(self, now: datetime) -> bool:
        return parse_iso(self.expires_at) <= now


def scope() -> dict[str, object]:
    """What a consent allows: today's festivals, greetings to the family only, no commerce."""
    return {
        "occasions": sorted(list_templates()),
        "recipients": "members of this family space",
        "use": "personal, non-commercial",
    }


def living_phrase(_: Gettext, subject_name: str, code: str) -> str:
    return _("I am {subject}. I agree to festival greetings made with my face and voice. "
             "Code {code}.").format(subject=subject_name, code=code)  # fmt: skip


def living_wording(_: Gettext, subject_name: str, phrase: str) -> str:
    return _(
        "I, {subject}, agree that my family in this Tuanyuan space may use my photo and voice "
        "to make festival greeting videos, to be sent only to family members, for personal, "
        "non-commercial use, for one year. I can withdraw this at any time with /revoke, and "
        "then everything made from my face and voice is deleted.\n\n"
        "Read this aloud as a voice or video message within 30 minutes:\n{phrase}"
    ).format(subject=subject_name, phrase=phrase)


def deceased_wording(_: Gettext, subject_name: str, relation: str) -> str:
    return _(
        "As {relation} of the late {subject}, I authorise my family in this Tuanyuan space to "
        "use {subject}'s photo and voice to make festival greeting videos, to be sent only to "
        "family members, for personal, non-commercial use, for one year. Any verified relative "
        "can withdraw this at any time with /revoke, and then everything made from "
        "{subject}'s face and voice is deleted."
    ).format(subject=subject_name, relation=relation)


def issue_challenge(
    db: Database, clock: Clock, member: Member, language: str, phrase_for: Callable[[str], str]
) -> Challenge:
    """A new one-time phrase for the living subject; older ones stop counting."""
    now = clock.now()
    code = " ".join(f"{secrets.randbelow(1000):03d}" for _ in range(2))
    db.execute("DELETE FROM challenges WHERE user_id = ?", [member.user_id])
    challenge = Challenge(
        id=secrets.token_hex(8),
        space_id=member.space_id,
        user_id=member.user_id,
        phrase=phrase_for(code),
        language=language,
        created_at=iso(now),
        expires_at=iso(now + CHALLENGE_VALID_FOR),
    )
    db.table("challenges").insert(challenge.model_dump())
    return challenge


def open_challenge(db: Database, user_id: int) -> Challenge | None:
    rows = list(db.query("SELECT * FROM challenges WHERE user_id = ?", [user_id]))
    return Challenge.model_validate(rows[0]) if rows else None


def close_challenge(db: Database, challenge: Challenge) -> None:
    db.execute("DELETE FROM challenges WHERE id = ?", [challenge.id])


def _record_hash(fields: dict[str, object]) -> str:
    canonical = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def append_record(
    db: Database,
    clock: Clock,
    space: Space,
    kind: RecordKind,
    actor_id: int,
    method: Method,
    *,
    refers_to: str | None = None,
    relation: str | None = None,
    wording: str | None = None,
    language: str | None = None,
    proof_refs: list[str] | None = None,
    evidence_commitment: str | None = None,
) -> ConsentRecord:
    now = clock.now()
    fields: dict[str, object] = {
        "id": secrets.token_hex(8),
        "space_id": space.id,
        "kind": kind.value,
        "refers_to": refers_to,
        "actor_id": actor_id,
        "relation": relation,
        "method": method.value,
        "subject_name": space.subject_name,
        "subject_status": space.subject_status,
        "created_at": iso(now),
    }
    if kind == RecordKind.GRANT:
        fields |= {
            "scope": json.dumps(scope(), ensure_ascii=False),
            "wording": wording,
            "wording_version": WORDING_VERSION,
            "language": language,
            "proof_refs": json.dumps(proof_refs or []),
            "evidence_commitment": evidence_commitment,
            "valid_until": iso(now + CONSENT_VALID_FOR),
        }
    if kind == RecordKind.COSIGN:
        # What the co-signer read, in their own language, is what they agreed to.
        fields |= {"wording": wording, "wording_version": WORDING_VERSION, "language": language}
    fields["record_hash"] = _record_hash(fields)
    db.table("consent_records").insert(fields)
    return get_record(db, str(fields["id"]))


def get_record(db: Database, record_id: str) -> ConsentRecord:
    return ConsentRecord.model_validate(db.table("consent_records").get(record_id))


def records_of(db: Database, space_id: str) -> list[ConsentRecord]:
    rows = db.query(
        "SELECT * FROM consent_records WHERE space_id = ? ORDER BY created_at, rowid", [space_id]
    )
    return [ConsentRecord.model_validate(row) for row in rows]


def _grants(db: Database, space_id: str) -> list[ConsentRecord]:
    return [r for r in records_of(db, space_id) if r.kind == RecordKind.GRANT]


def latest_grant(db: Database, space_id: str) -> ConsentRecord | None:
    grants = _grants(db, space_id)
    return grants[-1] if grants else None


def signatures(db: Database, grant: ConsentRecord) -> set[int]:
    """The verified relatives who stand behind a next-of-kin grant, its author included."""
    cosigners = {
        r.actor_id
        for r in records_of(db, grant.space_id)
        if r.kind == RecordKind.COSIGN and r.refers_to == grant.id
    }
    return cosigners | {grant.actor_id}


def vetoed(db: Database, grant: ConsentRecord) -> bool:
    return any(
        r.kind in (RecordKind.VETO, RecordKind.REVOCATION) and r.refers_to == grant.id
        for r in records_of(db, grant.space_id)
    )


def signatures_missing(db: Database, space: Space, grant: ConsentRecord) -> int:
    """How many more verified relatives must sign a next-of-kin grant (a signer who left no
    longer counts)."""
    return max(space.cosigners_required - len(_standing(db, space, grant)), 0)


def _complete(db: Database, space: Space, grant: ConsentRecord) -> bool:
    """A living subject's statement is; a next-of-kin grant once enough verified relatives
    stand behind it."""
    if grant.method != Method.NEXT_OF_KIN:
        return True
    return len(_standing(db, space, grant)) >= space.cosigners_required


def _standing(db: Database, space: Space, grant: ConsentRecord) -> set[int]:
    """Who signed ``grant`` and is still a verified relative in the space: a signer who left
    no longer stands behind it."""
    verified = {m.user_id for m in members_of(db, space.id) if m.verified}
    return signatures(db, grant) & verified


def current_consent(db: Database, space: Space, now: datetime) -> ConsentRecord | None:
    """The grant that allows renders right now, or None: the single question every check asks.

    The newest grant decides, unless it is an authorisation still waiting for its co-signers:
    then the one before it stands until its own year ends, so that relatives can renew early
    without stopping greetings until everyone has signed. A veto decides at once, on a renewal
    as on the grant in force: "No greetings will be made" is what the relative chose."""
    if space.status != SpaceStatus.ACTIVE:
        return None
    for grant in reversed(_grants(db, space.id)):
        if vetoed(db, grant):
            return None
        if not _complete(db, space, grant):
            continue
        if grant.valid_until is None or parse_iso(grant.valid_until) <= now:
            return None
        return grant
    return None


def lapsed_grant(db: Database, space: Space, now: datetime) -> ConsentRecord | None:
    """The last grant the family had, once its year has run out and none is current: they had
    consent and need it given again, which is not the same as never having had it. An
    authorisation that never gathered its co-signers was never had: it neither ends nor hides
    the one before it (whose material is then deleted on time all the same). One vetoed after
    it was complete was had: the veto stopped greetings at once, and its year still ends, so
    what was sent under it is not kept longer than it would have been without the veto."""
    if space.status != SpaceStatus.ACTIVE or current_consent(db, space, now) is not None:
        return None
    had = [
        grant
        for grant in _grants(db, space.id)
        if grant.method != Method.NEXT_OF_KIN
        or len(signatures(db, grant)) >= space.cosigners_required
    ]
    if not had or had[-1].valid_until is None or parse_iso(had[-1].valid_until) > now:
        return None
    return had[-1]


def material_deleted_on(grant: ConsentRecord) -> datetime:
    """When the material of a grant that ended unrenewed is deleted."""
    assert grant.valid_until is not None
    return parse_iso(grant.valid_until) + MATERIAL_KEPT_AFTER_END


def awaiting_cosigners(db: Database, space: Space, now: datetime) -> ConsentRecord | None:
    """A next-of-kin grant still short of co-signers (neither vetoed, withdrawn nor expired):
    a relative verified after it was given co-signs it rather than starting another. One whose
    every signer has left stands for nobody: relatives authorise afresh."""
    grant = latest_grant(db, space.id)
    if space.status != SpaceStatus.ACTIVE or grant is None or vetoed(db, grant):
        return None
    if grant.valid_until is None or parse_iso(grant.valid_until) <= now:
        return None
    if _complete(db, space, grant) or not _standing(db, space, grant):
        return None
    return grant
