"""Withdrawing consent and leaving: deleting what must go, keeping what must be provable.

Revocation blocks new orders at once (the space stops being active before anything else
happens), stops running renders, then deletes every piece of the subject's face and voice: the
photos, clips and voice notes, the speaker profile derived from them, the consent recording,
the rendered videos, their Telegram file ids, the delivered messages and the /mydata archives
holding copies of the files. What remains is a tombstone with counts and dates, and the consent
records themselves, which hold no face or voice data.

Consent that ended and was not given again deletes less: the material greetings are made from
(``erase_material``), not the greetings already made under it.
"""

import json
from collections import Counter
from dataclasses import dataclass, field

import structlog
from sqlite_utils import Database
from telegram import Bot

from bot.audit import SYSTEM
from bot.clock import iso
from bot.family.consent import Method, RecordKind, append_record, latest_grant, records_of
from bot.family.export import delete_exports
from bot.family.spaces import (
    Member,
    Role,
    Space,
    SpaceStatus,
    get_space,
    members_of,
    membership_of,
    remove_member,
    update_space,
)
from bot.services import Services
from bot.storage import MediaKind
from bot.storage.media import LIKENESS_MATERIAL, SUBJECT_DATA, forget_media, media_where
from bot.storage.orders import forget_orders_of, orders_where, update_order

log = structlog.get_logger(__name__)


@dataclass
class Receipt:
    """What was removed, by kind, for the message the person receives."""

    files: Counter[str] = field(default_factory=Counter)
    telegram_copies: int = 0
    messages_deleted: int = 0
    renders_stopped: int = 0
    # Proof documents are each relative's own, not the subject's likeness: withdrawing consent
    # keeps them (and says so); each relative deletes theirs by leaving (/delete_me).
    proofs_kept: int = 0


async def _erase_orders(
    services: Services, bot: Bot, where: str, params: list[object], receipt: Receipt
) -> None:
    """Stop, delete the media and the delivered messages of, and forget the Telegram copies
    of the orders matched (the order desk deletes the messages: it knows every upload, even
    one still on its way)."""
    orders = orders_where(services.db, where, params)
    receipt.renders_stopped += await services.jobs.cancel([order.id for order in orders])
    for order in orders:
        receipt.telegram_copies += order.telegram_file_id is not None
        receipt.messages_deleted += await services.orders.revoked(order)


def _erase_media(services: Services, rows: list[dict[str, object]], receipt: Receipt) -> None:
    for row in rows:
        media_id = str(row["id"])
        services.vault.delete(media_id)
        services.db.execute("DELETE FROM consent_evidence WHERE media_id = ?", [media_id])
        receipt.files[str(row["kind"])] += 1
    forget_media(services.db, [str(row["id"]) for row in rows])


async def revoke(services: Services, bot: Bot, space_id: str, actor_id: int) -> Receipt:
    """Withdraw consent for a space's subject and delete everything made of their likeness."""
    db, now = services.db, services.clock.now()
    space = update_space(db, space_id, status=SpaceStatus.REVOKED.value, closed_at=iso(now))
    grant = latest_grant(db, space_id)
    append_record(db, services.clock, space, RecordKind.REVOCATION, actor_id, Method.COMMAND,
                  refers_to=grant.id if grant else None)  # fmt: skip
    services.audit.record(actor_id, "consent.revoked", space=space_id)
    return await _erase_space(services, bot, space, actor_id)


async def finish_revocations(services: Services, bot: Bot) -> list[str]:
    """At start-up: erase what a revocation cut short by a crash left (the space is marked
    revoked first, so nothing new starts, and its tombstone is written last); the spaces done.

    The subject's receipt is not sent again: they confirmed, and /mydata shows what is kept."""
    rows = services.db.query(
        "SELECT id FROM spaces WHERE status = ? AND id NOT IN (SELECT space_id FROM tombstones)",
        [SpaceStatus.REVOKED.value],
    )
    finished = []
    for row in list(rows):
        space = get_space(services.db, str(row["id"]))
        revocations = [r for r in records_of(services.db, space.id)
                       if r.kind == RecordKind.REVOCATION]  # fmt: skip
        # Who withdrew, from their record; unknown (0) if the crash came before it was written.
        actor = revocations[-1].actor_id if revocations else 0
        log.warning("erasure.resumed", space_id=space.id)
        await _erase_space(services, bot, space, actor)
        finished.append(space.id)
    return finished


async def _erase_space(services: Services, bot: Bot, space: Space, actor_id: int) -> Receipt:
    """Everything made of the subject's likeness deleted, the tombstone last."""
    db, now, space_id = services.db, services.clock.now(), space.id
    receipt = Receipt()
    await _erase_orders(services, bot, "space_id = ?", [space_id], receipt)
    receipt.messages_deleted += await delete_exports(db, bot, "space_id = ?", [space_id])
    _erase_media(services, _media_of_kinds(db, space_id, SUBJECT_DATA), receipt)
    receipt.proofs_kept = len(
        media_where(db, "space_id = ? AND kind = ?", [space_id, MediaKind.PROOF.value])
    )
    db.execute("DELETE FROM challenges WHERE space_id = ?", [space_id])
    db.execute("DELETE FROM invites WHERE space_id = ? AND used_by IS NULL", [space_id])
    removed = dict(receipt.files) | {"telegram_copies": receipt.telegram_copies}
    db.table("tombstones").insert(
        {
            "space_id": space.id,
            "revoked_at": iso(now),
            "revoked_by": actor_id,
            "removed": json.dumps(removed, sort_keys=True),
        }
    )
    services.audit.record(actor_id, "data.deleted", space=space_id, **removed)
    _flush_deleted_pages(services)
    return receipt


async def erase_material(services: Services, bot: Bot, space: Space) -> Receipt:
    """Consent ended and was not given again in time (``bot.family.renewal``): the photos,
    clips and voice notes the family sent of the subject, and the voice learnt from them, are
    deleted, and orders not made yet end, refunded. The recorded statement and the greetings
    made under that consent stay (they are the family's; /revoke deletes them too).

    Safe to run again at any point: each step finds what the one before left, and orders
    end before the files go, so a space with none left has nothing left to do (the hourly pass
    looks at every long-lapsed space again)."""
    db = services.db
    receipt = Receipt()
    material = _media_of_kinds(db, space.id, LIKENESS_MATERIAL)
    if not material:
        return receipt
    for order in orders_where(db, "space_id = ?", [space.id]):
        await services.orders.material_deleted(order)
    receipt.messages_deleted += await delete_exports(db, bot, "space_id = ?", [space.id])
    gone = {str(row["id"]) for row in material}
    for order in orders_where(db, "space_id = ?", [space.id]):
        # A draft then asks for a photo again; no order points at a file that is not there.
        if order.portrait_id in gone or order.voice_id in gone:
            update_order(
                db,
                order.id,
                portrait_id=None if order.portrait_id in gone else order.portrait_id,
                voice_id=None if order.voice_id in gone else order.voice_id,
            )
    _erase_media(services, material, receipt)
    if receipt.files:
        services.audit.record(SYSTEM, "material.deleted", space=space.id, **dict(receipt.files))
        _flush_deleted_pages(services)
    return receipt


def _media_of_kinds(
    db: Database, space_id: str, kinds: tuple[MediaKind, ...]
) -> list[dict[str, object]]:
    marks = ", ".join("?" for _ in kinds)
    where = f"space_id = ? AND kind IN ({marks})"
    return media_where(db, where, [space_id, *[kind.value for kind in kinds]])


def _flush_deleted_pages(services: Services) -> None:
    """Fold the write-ahead log back and empty it, so old page copies go with the rows."""
    services.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def withdraws_consent(member: Member) -> bool:
    """Whether removing this member withdraws the subject's consent. A subject who never shared
    their phone number is not known to be the subject (anyone handed the link) and could not
    consent: leaving does not close the family's space, whose owner can invite them again."""
    return member.role == Role.SUBJECT and member.phone_number is not None


async def delete_member(services: Services, bot: Bot, user_id: int) -> Receipt:
    """Remove a member and what only they sent; a living subject's consent goes with them.

    Safe to run again at any point: the departure is written first and removed last, and
    ``finish_departures`` runs it again at start-up for one a crash cut short. An order whose
    Stars Telegram failed to give back keeps its row, the debt's only record, without the
    member's own words: the order desk refunds it at its next start, and the row stays as a
    revoked order's does."""
    db = services.db
    db.table("departures").insert(
        {"user_id": user_id, "requested_at": iso(services.clock.now())}, ignore=True
    )
    member = membership_of(db, user_id)
    receipt = Receipt()
    if member is not None:
        space = get_space(db, member.space_id)
        # A space needs an owner: the longest-standing verified relative (phone shared,
        # relation verified) takes over, never someone who only opened an invite; without one
        # the space closes as if consent were withdrawn.
        successors = [
            m
            for m in members_of(db, space.id)
            if m.user_id != user_id and m.role != Role.SUBJECT and m.verified
        ]
        if space.status != SpaceStatus.REVOKED and (
            withdraws_consent(member) or (member.role == Role.OWNER and not successors)
        ):
            receipt = await revoke(services, bot, space.id, user_id)
        elif member.role == Role.OWNER and successors:
            update_space(db, space.id, owner_id=successors[0].user_id)
            db.table("members").update(
                (space.id, successors[0].user_id), {"role": Role.OWNER.value}
            )
        remove_member(db, member)
    await _erase_orders(services, bot, "user_id = ?", [user_id], receipt)
    receipt.messages_deleted += await delete_exports(db, bot, "user_id = ?", [user_id])
    forget_orders_of(db, user_id)
    _erase_media(services, media_where(db, "uploaded_by = ?", [user_id]), receipt)
    if member is not None:
        # The speaker profile was derived from every member's voice notes, theirs included.
        profiles = media_where(
            db, "space_id = ? AND kind = ?", [member.space_id, MediaKind.PROFILE.value]
        )
        _erase_media(services, profiles, receipt)
    db.execute("DELETE FROM challenges WHERE user_id = ?", [user_id])
    db.execute("DELETE FROM invites WHERE created_by = ? AND used_by IS NULL", [user_id])
    # Their answers to campaign invitations (names, a personal message) and the links they opened.
    db.execute("DELETE FROM campaign_invitations WHERE user_id = ?", [user_id])
    db.execute("DELETE FROM campaign_joiners WHERE user_id = ?", [user_id])
    db.execute("DELETE FROM consent_notices WHERE user_id = ?", [user_id])
    db.execute("DELETE FROM users WHERE id = ?", [user_id])
    services.audit.record(user_id, "member.deleted", **dict(receipt.files))
    db.execute("DELETE FROM departures WHERE user_id = ?", [user_id])
    _flush_deleted_pages(services)
    return receipt


async def finish_departures(services: Services, bot: Bot) -> list[int]:
    """At start-up, before any update is read: finish each /delete_me a crash cut short; the
    members it removed.

    The member, whose receipt the crash kept from them, is not written to: /mydata shows them
    that nothing is kept."""
    rows = list(services.db.query("SELECT user_id FROM departures"))
    for row in rows:
        log.warning("erasure.member_resumed", user_id=row["user_id"])
        await delete_member(services, bot, int(row["user_id"]))
    return [int(row["user_id"]) for row in rows]
