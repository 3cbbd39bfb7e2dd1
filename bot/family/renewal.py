"""Consent's year: whoever can renew it reminded before it ends, the family told once it has.

Consent lasts a year (``CONSENT_VALID_FOR``), so the family that made last Mid-Autumn's
greeting finds this year's refused unless consent is given again. In the consent's last
``RENEWAL_WINDOW`` it may be given again, so that greetings never stop: by the living subject,
or by any verified relative of a deceased one, whose new authorisation, where co-signers are
needed, takes over once they have signed (the old one stands until then:
``consent.current_consent``). Those who can renew are reminded when that window opens.
Everyone verified in the space is told when the year has ended, in their own words of what to
do (``guidance.consent_step_text``).
Consent allows use for that year: once it has ended and not been given again for
``MATERIAL_KEPT_AFTER_END``, the photos, clips and voice notes greetings are made from are
deleted (``erasure.erase_material``) and everyone verified is told.

Each notice is written down before it is sent, so no pass sends one twice; one a crash cut
short is not sent again, and its reader meets the same words at their next step. A deletion is
told by the pass that deleted something; one a crash cut short after its last file is met the
same way, at the next step.
"""

import contextlib
from datetime import datetime, timedelta
from enum import StrEnum

from sqlite_utils import Database
from telegram import Bot
from telegram.error import TelegramError

from bot.clock import iso, parse_iso
from bot.family.consent import (
    ConsentRecord,
    current_consent,
    lapsed_grant,
    material_deleted_on,
)
from bot.family.erasure import erase_material
from bot.family.guidance import consent_step_text
from bot.family.spaces import Member, Role, Space, active_spaces, members_of
from bot.i18n import sentences
from bot.services import Services

RENEWAL_WINDOW = timedelta(days=30)


class Notice(StrEnum):
    ENDING = "ending"  # to whoever may renew, as the renewal window opens
    ENDED = "ended"  # to everyone verified in the space, within RENEWAL_WINDOW of the end
    MATERIAL_DELETED = "material_deleted"  # to everyone verified, by the pass that deleted it


def renews(space: Space, member: Member) -> bool:
    """Whether ``member`` may give the space's consent again before it ends: the living
    subject, or a verified relative of a deceased one."""
    in_role = space.deceased or member.role == Role.SUBJECT
    return in_role and member.verified


def renewable(db: Database, space: Space, now: datetime) -> ConsentRecord | None:
    """The current consent in its last ``RENEWAL_WINDOW``: it may be given again now, for a
    year from today."""
    grant = current_consent(db, space, now)
    if grant is None or grant.valid_until is None:
        return None
    return grant if parse_iso(grant.valid_until) - RENEWAL_WINDOW <= now else None


def _due(db: Database, space: Space, now: datetime) -> tuple[ConsentRecord, Notice] | None:
    if (grant := renewable(db, space, now)) is not None:
        return grant, Notice.ENDING
    grant = lapsed_grant(db, space, now)
    if grant is None or grant.valid_until is None:
        return None
    if material_deleted_on(grant) <= now:
        return grant, Notice.MATERIAL_DELETED
    # An end long past (a bot that was down for weeks) is news to nobody: it is not announced.
    return (grant, Notice.ENDED) if now - parse_iso(grant.valid_until) < RENEWAL_WINDOW else None


def _claimed(
    db: Database, grant: ConsentRecord, notice: Notice, user_id: int, now: datetime
) -> bool:
    """Writes the notice down; False when it was written before (sent, or cut short)."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO consent_notices (grant_id, kind, user_id, noticed_at) "
        "VALUES (?, ?, ?, ?)",
        [grant.id, notice.value, user_id, iso(now)],
    )
    return cursor.rowcount == 1


def _readers(db: Database, space: Space, notice: Notice) -> list[Member]:
    verified = [member for member in members_of(db, space.id) if member.verified]
    if notice == Notice.ENDING:
        return [member for member in verified if renews(space, member)]
    return verified


async def consent_year_pass(services: Services, bot: Bot) -> int:
    """One pass over every active space: reminders, ends, and material kept past its time
    deleted; how many notices went out."""
    db, now, sent = services.db, services.clock.now(), 0
    for space in active_spaces(db):
        due = _due(db, space, now)
        if due is None:
            continue
        grant, notice = due
        if (
            notice == Notice.MATERIAL_DELETED
            and not (await erase_material(services, bot, space)).files
        ):
            continue  # deleted by an earlier pass (told then, or met at the member's next step)
        for member in _readers(db, space, notice):
            if not _claimed(db, grant, notice, member.user_id, now):
                continue
            _ = services.gettext_of(member.user_id)
            ends = (grant.valid_until or "")[:10]
            if notice == Notice.ENDING and space.deceased:
                text = _(
                    "The authorisation of greetings from {subject} ends on {date}. To let the "
                    "family go on making them, send /consent and authorise them again: the "
                    "authorisation then lasts a year from that day."
                ).format(subject=space.subject_name, date=ends)
                if space.cosigners_required > 1:
                    text = sentences(text, _(
                        "{count} verified relatives must sign it: whoever sends /consent "
                        "first authorises, and the others then co-sign."
                    ).format(count=space.cosigners_required))  # fmt: skip
            elif notice == Notice.ENDING:
                text = _(
                    "Your consent to greetings made with your face and voice ends on {date}. "
                    "To let your family go on making them, send /consent and read the new "
                    "phrase aloud: your consent then lasts a year from that day."
                ).format(date=ends)
            else:
                text = consent_step_text(_, db, space, now, member)
            with contextlib.suppress(TelegramError):  # blocked: they read it at their next step
                await bot.send_message(member.user_id, text)
                sent += 1
    return sent
