"""Family spaces, their members and the single-use invite links that let people in.

A space is made for one depicted person, the subject. Its members are the owner who created
it, the relatives who joined by invite and, for a living subject, the subject themself. Every
member proves they hold their Telegram account's phone number and states how they are related;
a relative of a deceased subject also sends a proof document that a moderator reviews.
"""

import hashlib
import json
import re
import secrets
from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlite_utils import Database

from bot.clock import Clock, iso, parse_iso

INVITE_VALID_FOR = timedelta(hours=48)
MAX_SUBJECT_NAME_CHARS = 40
MAX_RELATION_CHARS = 40
# Telegram's deep-link limit: at most 64 characters of [A-Za-z0-9_-].
_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")
_INVITE_RANDOM_BYTES = 24  # 192 bits: 32 characters in the link, beyond any guessing


class SubjectStatus(StrEnum):
    LIVING = "living"
    DECEASED = "deceased"


class SpaceStatus(StrEnum):
    SETUP = "setup"
    ACTIVE = "active"
    REVOKED = "revoked"


class SetupStep(StrEnum):
    NAME = "name"
    STATUS = "status"
    LANGUAGES = "languages"


class Role(StrEnum):
    OWNER = "owner"
    MEMBER = "member"
    SUBJECT = "subject"


class MemberStatus(StrEnum):
    CONTACT = "contact"  # must share their own phone number
    RELATION = "relation"  # must say how they are related to the subject
    PROOF = "proof"  # must send a proof document (deceased subject)
    REVIEW = "review"  # a moderator is reviewing the proof
    STATEMENT = "statement"  # the living subject must record the consent phrase
    VERIFIED = "verified"


class Space(BaseModel):
    id: str
    owner_id: int
    subject_name: str | None = None
    subject_status: SubjectStatus | None = None
    subject_languages: str = "[]"
    status: SpaceStatus
    setup_step: SetupStep | None = None
    cosigners_required: int
    created_at: str
    closed_at: str | None = None
    flagged: bool = False  # an admin asked to review every order of this family

    @property
    def languages(self) -> list[str]:
        return list(json.loads(self.subject_languages))

    @property
    def deceased(self) -> bool:
        return self.subject_status == SubjectStatus.DECEASED


class Member(BaseModel):
    space_id: str
    user_id: int
    role: Role
    status: MemberStatus
    relation: str | None = None
    phone_number: str | None = None
    proof_media_id: str | None = None
    review_reason: str | None = None
    joined_at: str
    verified_at: str | None = None
    verified_by: int | None = None

    @property
    def verified(self) -> bool:
        return self.status == MemberStatus.VERIFIED


def get_space(db: Database, space_id: str) -> Space:
    return Space.model_validate(db.table("spaces").get(space_id))


def membership_of(db: Database, user_id: int) -> Member | None:
    rows = list(db.query("SELECT * FROM members WHERE user_id = ?", [user_id]))
    return Member.model_validate(rows[0]) if rows else None


def members_of(db: Database, space_id: str) -> list[Member]:
    rows = db.query("SELECT * FROM members WHERE space_id = ? ORDER BY joined_at", [space_id])
    return [Member.model_validate(row) for row in rows]


def subject_joined(db: Database, space_id: str) -> bool:
    """Whether the person in the greetings has opened their link: a living subject is sent a
    link once, and from then on consents in their own chat."""
    return any(m.role == Role.SUBJECT for m in members_of(db, space_id))


def subject_may_rejoin(db: Database, space: Space) -> bool:
    """A living subject's space closed by their leaving (their /delete_me withdrew consent):
    a new link from /invite lets them back in to consent again. Nothing else opens a closed
    space to newcomers."""
    return (
        space.status == SpaceStatus.REVOKED
        and not space.deceased
        and not subject_joined(db, space.id)
    )


def create_space(db: Database, clock: Clock, owner_id: int, cosigners_required: int) -> Space:
    space_id = secrets.token_hex(6)
    now = iso(clock.now())
    # sqlite-utils' own transaction: under ``with db.conn`` each of its writes committed (and
    # fsync'd) alone, so a crash could leave a space without its owner.
    with db.atomic():
        db.table("spaces").insert(
            {
                "id": space_id,
                "owner_id": owner_id,
                "subject_languages": "[]",
                "status": SpaceStatus.SETUP.value,
                "setup_step": SetupStep.NAME.value,
                "cosigners_required": cosigners_required,
                "created_at": now,
            }
        )
        _add_member(db, space_id, owner_id, Role.OWNER, now)
    return get_space(db, space_id)


def abandon_setup(db: Database, space: Space) -> bool:
    """Forget a space its owner stopped setting up. Until set-up ends nobody else can join (no
    invite exists yet) and nothing can be made, so the space and its one member go entirely."""
    if space.status != SpaceStatus.SETUP:
        return False
    with db.conn:
        db.execute("DELETE FROM members WHERE space_id = ?", [space.id])
        db.execute("DELETE FROM spaces WHERE id = ?", [space.id])
    return True


def update_space(db: Database, space_id: str, **fields: Any) -> Space:
    db.table("spaces").update(space_id, fields)
    return get_space(db, space_id)


def _add_member(db: Database, space_id: str, user_id: int, role: Role, now: str) -> None:
    db.table("members").insert(
        {
            "space_id": space_id,
            "user_id": user_id,
            "role": role.value,
            "status": MemberStatus.CONTACT.value,
            "joined_at": now,
        }
    )


def update_member(db: Database, member: Member, **fields: Any) -> Member:
    db.table("members").update((member.space_id, member.user_id), fields)
    updated = membership_of(db, member.user_id)
    assert updated is not None
    return updated


def remove_member(db: Database, member: Member) -> None:
    db.execute(
        "DELETE FROM members WHERE space_id = ? AND user_id = ?", [member.space_id, member.user_id]
    )


class InviteProblem(StrEnum):
    MALFORMED = "malformed"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    ALREADY_MEMBER = "already_member"
    SPACE_CLOSED = "space_closed"
    SUBJECT_TAKEN = "subject_taken"


class InviteRefused(Exception):
    def __init__(self, problem: InviteProblem, space_id: str | None = None) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.space_id = space_id


def _token_digest(payload: str) -> str:
    """Only a digest is stored: a copy of the database cannot be used to join a family."""
    return hashlib.sha256(payload.encode()).hexdigest()


def create_invite(db: Database, clock: Clock, space: Space, role: Role, created_by: int) -> str:
    """A fresh single-use deep-link payload for ``/start``."""
    payload = secrets.token_urlsafe(_INVITE_RANDOM_BYTES)
    now = clock.now()
    db.table("invites").insert(
        {
            "token_sha256": _token_digest(payload),
            "space_id": space.id,
            "role": role.value,
            "created_by": created_by,
            "created_at": iso(now),
            "expires_at": iso(now + INVITE_VALID_FOR),
        }
    )
    return payload


def redeem_invite(db: Database, clock: Clock, payload: str, user_id: int) -> Member:
    """Join the invite's space; raises InviteRefused saying exactly why not."""
    if not _PAYLOAD.fullmatch(payload):  # "$" would let a final newline through
        raise InviteRefused(InviteProblem.MALFORMED)
    rows = list(db.query("SELECT * FROM invites WHERE token_sha256 = ?", [_token_digest(payload)]))
    if not rows:
        raise InviteRefused(InviteProblem.UNKNOWN)
    invite = rows[0]
    space_id = str(invite["space_id"])
    now = clock.now()
    if invite["used_by"] is not None:
        raise InviteRefused(InviteProblem.USED, space_id)
    if parse_iso(invite["expires_at"]) <= now:
        raise InviteRefused(InviteProblem.EXPIRED, space_id)
    if membership_of(db, user_id) is not None:
        raise InviteRefused(InviteProblem.ALREADY_MEMBER, space_id)
    role = Role(invite["role"])
    space = get_space(db, space_id)
    if space.status != SpaceStatus.ACTIVE and not (
        role == Role.SUBJECT and subject_may_rejoin(db, space)
    ):
        raise InviteRefused(InviteProblem.SPACE_CLOSED, space_id)
    if role == Role.SUBJECT and subject_joined(db, space_id):
        raise InviteRefused(InviteProblem.SUBJECT_TAKEN, space_id)
    with db.atomic():  # the invite used and the member added in one commit, or neither
        db.table("invites").update(
            invite["token_sha256"], {"used_by": user_id, "used_at": iso(now)}
        )
        _add_member(db, space_id, user_id, role, iso(now))
    member = membership_of(db, user_id)
    assert member is not None
    return member


def active_spaces(db: Database) -> list[Space]:
    """Every family space that is set up and not revoked, oldest first (campaign audiences)."""
    rows = db.query("SELECT * FROM spaces WHERE status = ? ORDER BY created_at",
                    [SpaceStatus.ACTIVE.value])  # fmt: skip
    return [Space.model_validate(row) for row in rows]
