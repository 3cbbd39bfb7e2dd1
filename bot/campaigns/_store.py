"""Campaigns as rows: what an organiser set up, who opened its link, and each family's answer.

A campaign greeting itself is an order (``orders.campaign_id``): its status is bot.orders's
alone. Rows here change only their own fields; an invitation is written as ``sending`` before
the message goes out and ``invited`` after, so a restart never invites a family twice.
"""

import json
import secrets
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlite_utils import Database

from bot.clock import Clock, iso
from bot.i18n import Language
from bot.storage.database import changed_at, known_column


class Audience(StrEnum):
    CONSENTED = "consented"  # every family with a current consent
    LINK = "link"  # the families who joined through the campaign's own invite link


class Answer(StrEnum):
    SENDING = "sending"  # written before the invitation went out; never sent again
    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"  # "Not this time"
    OPTED_OUT = "opted_out"  # "Never send me campaigns"
    UNREACHABLE = "unreachable"  # the invitation was refused: the person blocked the bot


class Step(StrEnum):
    """What an accepting family still owes before its greeting is made."""

    ZONE = "zone"  # their time zone (asked once per person)
    RECIPIENT = "recipient"
    MESSAGE = "message"  # a personal message, or "No message"
    DONE = "done"


class Campaign(BaseModel):
    id: str
    template_id: str
    festival_date: str  # ISO date
    send_time: str  # "HH:MM", in each requester's own time zone
    audience: Audience
    invite_code: str
    texts: str  # JSON: language -> invitation text
    invite_days: int
    sample_percent: int
    created_by: int
    created_at: str
    invited_at: str | None = None
    paused_at: str | None = None  # set while an admin holds it back: nothing is sent
    paused_by: int | None = None

    @property
    def day(self) -> date:
        return date.fromisoformat(self.festival_date)

    @property
    def local_time(self) -> time:
        return time.fromisoformat(self.send_time)

    def text(self, language: Language) -> str:
        texts: dict[str, str] = json.loads(self.texts)
        return texts.get(language) or texts["en"]

    def invitations_open(self, now: datetime) -> bool:
        """From ``invite_days`` before the festival (UTC midnight) to the end of its day."""
        first = datetime.combine(self.day - timedelta(days=self.invite_days), time(), UTC)
        last = datetime.combine(self.day + timedelta(days=1), time(), UTC)
        return first <= now < last


class Invitation(BaseModel):
    campaign_id: str
    space_id: str
    user_id: int
    chat_id: int
    state: Answer
    step: Step | None = None
    recipient: str | None = None
    message: str | None = None
    order_id: str | None = None
    invited_at: str | None = None
    answered_at: str | None = None
    updated_at: str | None = None  # when it last asked its family something (changed_at)


def create_campaign(db: Database, clock: Clock, created_by: int, **fields: Any) -> Campaign:
    campaign_id = secrets.token_hex(4)
    db.table("campaigns").insert(
        {
            "id": campaign_id,
            "invite_code": secrets.token_hex(8),
            "created_by": created_by,
            "created_at": iso(clock.now()),
            **fields,
        }
    )
    return get_campaign(db, campaign_id)  # type: ignore[return-value]


def get_campaign(db: Database, campaign_id: str) -> Campaign | None:
    rows = list(db.query("SELECT * FROM campaigns WHERE id = ?", [campaign_id]))
    return Campaign.model_validate(rows[0]) if rows else None


def campaign_with_code(db: Database, code: str) -> Campaign | None:
    rows = list(db.query("SELECT * FROM campaigns WHERE invite_code = ?", [code]))
    return Campaign.model_validate(rows[0]) if rows else None


def all_campaigns(db: Database) -> list[Campaign]:
    return [Campaign.model_validate(row) for row in db.query("SELECT * FROM campaigns")]


def mark_invitations_started(db: Database, campaign: Campaign, now: datetime) -> None:
    if campaign.invited_at is None:
        db.table("campaigns").update(campaign.id, {"invited_at": iso(now)})


def join(db: Database, clock: Clock, campaign: Campaign, user_id: int) -> None:
    db.table("campaign_joiners").insert(
        {"campaign_id": campaign.id, "user_id": user_id, "joined_at": iso(clock.now())},
        ignore=True,
    )


def joiners(db: Database, campaign_id: str) -> list[int]:
    rows = db.query(
        "SELECT user_id FROM campaign_joiners WHERE campaign_id = ? ORDER BY joined_at",
        [campaign_id],
    )
    return [int(row["user_id"]) for row in rows]


def get_invitation(db: Database, campaign_id: str, space_id: str) -> Invitation | None:
    rows = list(
        db.query(
            "SELECT * FROM campaign_invitations WHERE campaign_id = ? AND space_id = ?",
            [campaign_id, space_id],
        )
    )
    return Invitation.model_validate(rows[0]) if rows else None


def invitations_of(db: Database, campaign_id: str) -> list[Invitation]:
    rows = db.query("SELECT * FROM campaign_invitations WHERE campaign_id = ?", [campaign_id])
    return [Invitation.model_validate(row) for row in rows]


def invited_spaces(db: Database, campaign_id: str) -> set[str]:
    rows = db.query(
        "SELECT space_id FROM campaign_invitations WHERE campaign_id = ?", [campaign_id]
    )
    return {str(row["space_id"]) for row in rows}


def answering(db: Database, user_id: int) -> Invitation | None:
    """The invitation this person accepted and still owes an answer for (newest first)."""
    rows = list(
        db.query(
            "SELECT * FROM campaign_invitations WHERE user_id = ? AND state = ?"
            " AND step IS NOT NULL AND step != ? ORDER BY answered_at DESC LIMIT 1",
            [user_id, Answer.ACCEPTED.value, Step.DONE.value],
        )
    )
    return Invitation.model_validate(rows[0]) if rows else None


def write_invitation(db: Database, invitation: Invitation) -> None:
    db.table("campaign_invitations").upsert(
        invitation.model_dump(mode="json"), pk=("campaign_id", "space_id")
    )


def answer(db: Database, invitation: Invitation, state: Answer, **fields: Any) -> bool:
    """Record the family's answer, once: only an invitation still waiting for one changes."""
    values = {"state": state.value, **fields, "updated_at": changed_at()}
    assignments = ", ".join(
        f"{known_column(db, 'campaign_invitations', name)} = ?" for name in values
    )
    with db.conn:
        cursor = db.execute(
            f"UPDATE campaign_invitations SET {assignments}"
            " WHERE campaign_id = ? AND space_id = ? AND state = ?",
            [*values.values(), invitation.campaign_id, invitation.space_id, Answer.INVITED.value],
        )
    return cursor.rowcount == 1


def update_invitation(db: Database, invitation: Invitation, **fields: Any) -> Invitation:
    db.table("campaign_invitations").update(
        (invitation.campaign_id, invitation.space_id), {**fields, "updated_at": changed_at()}
    )
    found = get_invitation(db, invitation.campaign_id, invitation.space_id)
    assert found is not None
    return found


# An admin's answers while /campaign asks for them: kept in the database, like a member's
# draft order, so a restart does not lose them.


def draft_of(db: Database, admin_id: int) -> tuple[str, dict[str, Any]] | None:
    rows = list(db.query("SELECT * FROM campaign_drafts WHERE admin_id = ?", [admin_id]))
    return (str(rows[0]["step"]), json.loads(rows[0]["fields"])) if rows else None


def save_draft(
    db: Database, clock: Clock, admin_id: int, step: str, fields: dict[str, Any]
) -> None:
    db.table("campaign_drafts").upsert(
        {
            "admin_id": admin_id,
            "step": step,
            "fields": json.dumps(fields, ensure_ascii=False),
            "created_at": iso(clock.now()),
        },
        pk="admin_id",
    )


def drop_draft(db: Database, admin_id: int) -> None:
    db.execute("DELETE FROM campaign_drafts WHERE admin_id = ?", [admin_id])


def set_paused(db: Database, campaign_id: str, paused_at: str | None, admin_id: int | None) -> bool:
    """Pause (a moment) or resume (None) a campaign; False when it already was so, or unknown."""
    now_paused = "paused_at IS NULL" if paused_at is not None else "paused_at IS NOT NULL"
    with db.conn:
        cursor = db.execute(
            f"UPDATE campaigns SET paused_at = ?, paused_by = ? WHERE id = ? AND {now_paused}",
            [paused_at, admin_id, campaign_id],
        )
    return cursor.rowcount == 1


def paused_campaigns(db: Database) -> set[str]:
    return {
        str(row["id"]) for row in db.query("SELECT id FROM campaigns WHERE paused_at IS NOT NULL")
    }


def reschedule(db: Database, campaign_id: str, festival_date: str, send_time: str) -> bool:
    """A new day and time, only while no invitation has gone out (they name the old ones)."""
    with db.conn:
        cursor = db.execute(
            "UPDATE campaigns SET festival_date = ?, send_time = ? WHERE id = ?"
            " AND invited_at IS NULL",
            [festival_date, send_time, campaign_id],
        )
    return cursor.rowcount == 1
