"""Family trust as families and attackers meet it: spaces, invites, consent, revocation.

Everything is driven over HTTP through the Bot API stand-in. Each attack checks three things:
the person is told clearly what happened and what to do, nothing is granted, and the audit log
holds an entry for it. Time-dependent rules move the bot's clock instead of waiting.
"""

from __future__ import annotations

import asyncio
import functools
import io
import json
import sqlite3
import zipfile
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from telegram import Message

from bot.app import build_application, polling
from bot.delivery import ORIGINAL_PREFIX
from bot.demo.samples import sample_portrait_jpeg, sample_voice_ogg
from bot.family.consent import (
    CHALLENGE_VALID_FOR,
    CONSENT_VALID_FOR,
    MATERIAL_KEPT_AFTER_END,
    WORDING_VERSION,
    Method,
    RecordKind,
    append_record,
    deceased_wording,
    records_of,
)
from bot.family.erasure import Receipt, finish_departures, finish_revocations
from bot.family.renewal import consent_year_pass
from bot.family.spaces import (
    INVITE_VALID_FOR,
    MAX_RELATION_CHARS,
    MAX_SUBJECT_NAME_CHARS,
    MemberStatus,
    Role,
    Space,
    SpaceStatus,
    get_space,
    membership_of,
    update_space,
)
from bot.flows.consent import proofs_kept_text, receipt_text
from bot.flows.privacy import DELETE_CONFIRM
from bot.i18n import gettext_for, sentences
from bot.orders._ledger import Ledger
from bot.orders._states import move
from bot.sandbox import BotApiStandIn, SandboxClient, SandboxUser, SentMessage
from bot.storage import MediaKind, OrderStatus
from bot.storage.media import media_where
from bot.storage.orders import get_order, new_order, orders_where
from tests.auxil.bot import ADMIN, BotWorld, FakeClock, settings_for
from tests.auxil.family import (
    AUTHORISED,
    PDF_PROOF,
    RECORD_IT,
    THANKS_FOR_CONSENT,
    TYPED,
    WITHDRAWN,
    approve_order,
    consent_as_living_subject,
    create_space,
    deceased_family,
    has_link,
    invite_payload,
    is_preview,
    leftovers,
    living_family,
    order_greeting,
    order_of,
    phone_of,
    plaintext_media,
    read_phrase,
    relative_invite,
    revoke,
    says,
    seeded_greeting,
    send_it,
    share_own_phone,
    subject_data,
    subject_invite,
    verified_relative,
    verify_relative,
)
from tests.auxil.media import png_header_only

ZH_HANT = gettext_for("zh-Hant")
EN = gettext_for("en")
OWNER = SandboxUser(6001, "美玲", language_code="zh-hant")
GRANDPA = SandboxUser(6002, "外公", language_code="zh-hant")
RELATIVE = SandboxUser(6003, "阿明", language_code="zh-hant")
STRANGER = SandboxUser(6004, "Eve", language_code="en")
GRANDSON = SandboxUser(6005, "Kevin", language_code="en")
RENDER_WAIT_S = 90.0


def _audit_actions(world: BotWorld, actor: int) -> list[tuple[str, dict[str, object]]]:
    return [
        (str(entry["action"]), dict(entry["details"]))  # type: ignore[call-overload]
        for entry in world.services.audit.entries()
        if entry["actor"] == actor
    ]


async def test_a_living_subject_consents_personally_by_reading_the_phrase(
    bot_world: BotWorld,
) -> None:
    await living_family(bot_world, OWNER, GRANDPA)
    db = bot_world.services.db
    # The owner got the link only once their phone number was known, and heard of the consent
    # before saying how they are related: told that step, no photo yet.
    sent = await bot_world.sandbox.sent_messages(OWNER.id)
    [link] = [m for m in sent if has_link(m)]
    assert (link.text or "").startswith(ZH_HANT("Thank you, your phone number is confirmed."))
    # Grandpa opening the link is news told as the family calls him, with what comes next.
    opened = ZH_HANT(
        "{subject} opened your invite link (on Telegram: {name}). I will tell you as soon as "
        "{subject} has consented."
    ).format(subject="外公", name=GRANDPA.first_name)
    assert [m.text for m in sent].count(opened) == 1
    joined = ZH_HANT("{name} joined the family space for {subject}.")
    assert joined.format(name=GRANDPA.first_name, subject="外公") not in [m.text for m in sent]
    news = ZH_HANT("{subject} has consented.").format(subject="外公")
    [told] = [m for m in sent if (m.text or "").startswith(news)]
    assert told.text == news + "\n\n" + ZH_HANT(
        "How are you related to {subject}? Type it, for example: granddaughter."
    ).format(subject="外公")
    subject = membership_of(db, GRANDPA.id)
    owner = membership_of(db, OWNER.id)
    assert subject is not None and subject.verified and subject.phone_number == phone_of(GRANDPA)
    assert owner is not None and owner.verified and owner.relation == "孫女"

    [grant] = records_of(db, subject.space_id)
    assert (grant.kind, grant.method, grant.actor_id) == ("grant", "living_statement", GRANDPA.id)
    assert (grant.subject_name, grant.subject_status, grant.relation) == ("外公", "living", "self")
    assert grant.language == "zh-Hant" and grant.wording_version == WORDING_VERSION
    assert grant.wording is not None and "外公" in grant.wording and "/revoke" in grant.wording
    scope = json.loads(grant.scope or "{}")
    assert "mid-autumn" in scope["occasions"] and scope["use"] == "personal, non-commercial"
    assert grant.evidence_commitment and grant.valid_until and grant.valid_until > grant.created_at
    statement = media_where(db, "kind = ?", [MediaKind.STATEMENT.value])
    assert [row["uploaded_by"] for row in statement] == [GRANDPA.id]
    with pytest.raises(sqlite3.IntegrityError, match="immutable"):
        db.execute("UPDATE consent_records SET valid_until = '2999-01-01'")

    reply = await bot_world.reply_to(
        OWNER, lambda: bot_world.sandbox.send_photo(OWNER, sample_portrait_jpeg())
    )
    assert reply.text == ZH_HANT("Thank you, I have the photo.")
    actions = [action for action, _ in _audit_actions(bot_world, GRANDPA.id)]
    expected = ["member.joined", "verify.phone", "consent.challenge_issued", "consent.granted"]
    assert actions == expected
    assert phone_of(GRANDPA) not in bot_world.services.audit.path.read_text(encoding="utf-8")


async def test_a_deceased_subject_needs_a_reviewed_proof_and_revocation_leaves_nothing(
    bot_world: BotWorld,
) -> None:
    await deceased_family(bot_world, OWNER, "阿嬤")
    db = bot_world.services.db
    told = [m.text for m in await bot_world.sandbox.sent_messages(OWNER.id)]
    assert (
        ZH_HANT(
            "A moderator approved your proof document: you are a verified relative of {subject}. "
            "Send /consent to authorise greetings."
        ).format(subject="阿嬤")
        in told
    )
    member = membership_of(db, OWNER.id)
    assert member is not None and member.verified_by == ADMIN.id
    [grant] = records_of(db, member.space_id)
    assert (grant.method, grant.relation) == ("next_of_kin", "孫女")
    assert json.loads(grant.proof_refs or "[]") == [member.proof_media_id]

    await order_greeting(bot_world, OWNER)
    await approve_order(bot_world)  # greetings from someone who died are always read first
    video = await send_it(bot_world, OWNER, wait_s=RENDER_WAIT_S)
    await bot_world.services.orders.settle()
    ids, blobs = subject_data(bot_world, member.space_id)
    # Photo, voice note, the speaker profile learnt from it, the greeting and its still.
    assert len(ids) == 5 and video.file_id is not None
    needles = ids | {video.file_id}
    assert leftovers(bot_world, needles, blobs)  # the scan does find what is there

    receipt = await revoke(bot_world, OWNER, "阿嬤")
    # The preview and the delivered greeting are both deleted from the chat.
    expected = Receipt(files=Counter({"portrait": 1, "voice": 1, "profile": 1, "video": 1}),
                       telegram_copies=1, messages_deleted=2)  # fmt: skip
    assert receipt_text(ZH_HANT, expected) in (receipt.text or "")
    # Her death certificate is hers, not the subject's likeness: kept, and she is told so (the
    # receipt once listed "Proof documents: 0" as if it were gone).
    assert (receipt.text or "").endswith(proofs_kept_text(ZH_HANT))
    assert ZH_HANT("Proof documents: {count}").format(count=0) not in (receipt.text or "")
    assert bot_world.services.vault.exists(member.proof_media_id or "")
    videos = [m for m in await bot_world.sandbox.sent_messages(OWNER.id) if m.method == "sendVideo"]
    assert len(videos) == 2 and all(m.deleted for m in videos)
    assert leftovers(bot_world, needles, blobs) == []
    [tombstone] = list(db.query("SELECT * FROM tombstones"))
    assert tombstone["revoked_by"] == OWNER.id
    assert json.loads(tombstone["removed"]) == {"portrait": 1, "voice": 1, "profile": 1, "video": 1,
                                                "thumbnail": 1, "telegram_copies": 1}  # fmt: skip
    assert [r.kind for r in records_of(db, member.space_id)] == ["grant", "revocation"]
    assert ("consent.revoked", {"space": member.space_id}) in _audit_actions(bot_world, OWNER.id)


async def test_a_portrait_at_the_proof_step_is_asked_about_and_a_rejection_explained(
    bot_world: BotWorld, tmp_path: Path
) -> None:
    sandbox = bot_world.sandbox
    await bot_world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "/start"))
    await create_space(bot_world, OWNER, "阿嬤", "deceased")
    await verify_relative(bot_world, OWNER, "孫女")
    bomb = png_header_only(tmp_path / "bomb.png", 30_000, 30_000).read_bytes()
    refused = await bot_world.reply_to(
        OWNER, lambda: sandbox.send_document(OWNER, bomb, "proof.png", "image/png")
    )
    assert refused.text == ZH_HANT(
        "That photo is too large for me to process safely. "
        "Please send a photo of at most 7680 × 4320 pixels."
    )
    # A portrait sent at the proof step is asked about, not taken as the proof.
    question = await bot_world.reply_to(
        OWNER, lambda: sandbox.send_photo(OWNER, sample_portrait_jpeg())
    )
    assert question.text == ZH_HANT("This photo shows a face. Is it the proof document?")
    step = await bot_world.reply_to(
        OWNER, lambda: sandbox.press_button(OWNER, question.message_id, "proof:no")
    )
    assert says(OWNER, "Please send a proof document that shows your relation to {subject} and "
                "that they have died (a death certificate or household register), as a photo "
                "or a PDF.", subject="阿嬤")(step)  # fmt: skip
    answered = await sandbox.wait_for_message(
        OWNER.id, lambda m: m.message_id == question.message_id and bool(m.edits)
    )
    assert answered.text == ZH_HANT("No, it was a photo: I did not keep it.")
    assert media_where(bot_world.services.db, "kind = ?", [MediaKind.PROOF.value]) == []
    # A photographed certificate may show a face too: "Yes" sends that photo for review.
    question = await bot_world.reply_to(
        OWNER, lambda: sandbox.send_photo(OWNER, sample_portrait_jpeg())
    )
    await bot_world.reply_to(
        OWNER, lambda: sandbox.press_button(OWNER, question.message_id, "proof:yes"),
        until=says(OWNER, "Thank you. A moderator will review your document; I will tell you "
                   "the outcome."),
    )  # fmt: skip
    review = await sandbox.wait_for_message(ADMIN.id, lambda m: m.method == "sendDocument")
    assert await sandbox.download(review.file_id or "") == sample_portrait_jpeg()
    assert (review.file_name, review.mime_type) == (f"proof-{OWNER.id}.jpg", "image/jpeg")
    assert review.reply_markup is not None
    reject = review.reply_markup["inline_keyboard"][0][1]["callback_data"]

    async def press(data: str, edits: int) -> SentMessage:
        """The moderator presses a button of the review; returns it after its edit."""
        await sandbox.press_button(ADMIN, review.message_id, data)
        return await sandbox.wait_for_message(
            ADMIN.id, lambda m: m.message_id == review.message_id and len(m.edits) == edits
        )

    # Reject pressed by mistake: Back returns to Approve / Reject.
    reasons = await press(reject, 1)
    assert reasons.reply_markup is not None
    back = reasons.reply_markup["inline_keyboard"][-1][0]
    assert back["text"] == EN("Back")
    assert (await press(back["callback_data"], 2)).reply_markup == review.reply_markup
    reasons = await press(reject, 3)
    assert reasons.reply_markup is not None
    mismatch = next(b["callback_data"] for row in reasons.reply_markup["inline_keyboard"]
                    for b in row if b["callback_data"].startswith("adm:why:mismatch"))  # fmt: skip
    told = await bot_world.reply_to(
        OWNER, lambda: sandbox.press_button(ADMIN, review.message_id, mismatch)
    )
    assert told.text == ZH_HANT(
        "A moderator could not accept your proof document: {reason}. "
        "Please send another one, as a photo or a PDF."
    ).format(reason=ZH_HANT("the names on the document do not match"))
    member = membership_of(bot_world.services.db, OWNER.id)
    assert member is not None and member.status == MemberStatus.PROOF
    rejected = {"space": member.space_id, "member": OWNER.id, "reason": "mismatch"}
    assert ("admin.rejected", rejected) in _audit_actions(bot_world, ADMIN.id)


async def test_a_forwarded_contact_is_not_proof_of_identity(bot_world: BotWorld) -> None:
    await create_space(bot_world, OWNER, "阿嬤", "deceased")
    reply = await bot_world.reply_to(
        OWNER, lambda: bot_world.sandbox.send_contact(OWNER, "+886900000000", RELATIVE.id, "阿明")
    )
    assert reply.text == ZH_HANT(
        "That is not your own contact: a forwarded contact does not prove who you are. "
        "Please press the button below to share your own phone number."
    )
    assert reply.reply_markup is not None and "keyboard" in reply.reply_markup
    member = membership_of(bot_world.services.db, OWNER.id)
    assert member is not None and member.status == MemberStatus.CONTACT
    assert member.phone_number is None
    assert ("verify.contact_refused", {"space": member.space_id}) in _audit_actions(
        bot_world, OWNER.id
    )


async def test_roles_invites_need_a_known_owner_ownership_a_verified_heir(
    bot_world: BotWorld,
) -> None:
    sandbox = bot_world.sandbox
    await create_space(bot_world, OWNER, "阿嬤", "deceased")
    early = await bot_world.reply_to(OWNER, lambda: sandbox.send_text(OWNER, "/invite"))
    assert early.text == ZH_HANT(
        "To verify you, please share your phone number with the button below. "
        "It must be the number of this Telegram account."
    )
    await share_own_phone(bot_world, OWNER)
    payload = await relative_invite(bot_world, OWNER)
    # Someone who only opened the link does not inherit the space when its owner leaves.
    await bot_world.reply_to(RELATIVE, lambda: sandbox.send_text(RELATIVE, f"/start {payload}"))
    warning = await bot_world.reply_to(OWNER, lambda: sandbox.send_text(OWNER, "/delete_me"))
    await bot_world.reply_to(
        OWNER, lambda: sandbox.press_button(OWNER, warning.message_id, "delme:yes")
    )
    heir = membership_of(bot_world.services.db, RELATIVE.id)
    assert heir is not None and heir.role == Role.MEMBER
    refused = await bot_world.reply_to(RELATIVE, lambda: sandbox.send_text(RELATIVE, "/invite"))
    assert (refused.text or "").startswith(
        ZH_HANT(
            "Consent for {subject} was withdrawn, so nothing more can be made in this family space."
        ).format(subject="阿嬤")
    )


async def test_a_moderator_cannot_judge_their_own_familys_proof(bot_world: BotWorld) -> None:
    sandbox = bot_world.sandbox
    await create_space(bot_world, ADMIN, "阿嬤", "deceased")
    await verify_relative(bot_world, ADMIN, "孫女")
    await bot_world.reply_to(
        ADMIN, lambda: sandbox.send_document(ADMIN, PDF_PROOF, "a.pdf", "application/pdf")
    )
    card = await sandbox.wait_for_message(
        ADMIN.id, lambda m: m.method == "sendDocument" and m.reply_markup is not None
    )
    approve = card.reply_markup["inline_keyboard"][0][0]["callback_data"]  # type: ignore[index]
    refusal = await bot_world.reply_to(
        ADMIN, lambda: sandbox.press_button(ADMIN, card.message_id, approve)
    )
    assert refusal.text == (
        "You are a member of this family space, so another moderator must decide on its "
        "proof documents."
    )
    member = membership_of(bot_world.services.db, ADMIN.id)
    assert member is not None and member.status == MemberStatus.REVIEW
    assert ("admin.own_family_refused", {"space": member.space_id, "member": ADMIN.id}) in (
        _audit_actions(bot_world, ADMIN.id)
    )


async def test_an_invite_link_works_once(bot_world: BotWorld) -> None:
    await create_space(bot_world, OWNER, "阿嬤", "deceased")
    await share_own_phone(bot_world, OWNER)
    payload = await relative_invite(bot_world, OWNER)
    welcome = await bot_world.reply_to(
        RELATIVE, lambda: bot_world.sandbox.send_text(RELATIVE, f"/start {payload}")
    )
    assert says(RELATIVE, "Welcome to the family space for {subject}.", subject="阿嬤")(welcome)
    joined = ZH_HANT("{name} joined the family space for {subject}.").format(
        name=RELATIVE.first_name, subject="阿嬤"
    )
    await bot_world.sandbox.wait_for_message(OWNER.id, lambda m: m.text == joined)
    reused = await bot_world.reply_to(
        STRANGER, lambda: bot_world.sandbox.send_text(STRANGER, f"/start {payload}")
    )
    assert reused.text == (
        "This invite link has already been used; each link works only once. "
        "Please ask your relative for a new one."
    )
    assert membership_of(bot_world.services.db, STRANGER.id) is None
    owner = membership_of(bot_world.services.db, OWNER.id)
    assert owner is not None
    refused = {"reason": "used", "space": owner.space_id}
    assert ("invite.refused", refused) in _audit_actions(bot_world, STRANGER.id)


async def test_an_invite_link_expires_after_48_hours(bot_world: BotWorld) -> None:
    await create_space(bot_world, OWNER, "阿嬤", "deceased")
    await share_own_phone(bot_world, OWNER)
    payload = await relative_invite(bot_world, OWNER)
    bot_world.clock.advance(INVITE_VALID_FOR + timedelta(seconds=1))
    reply = await bot_world.reply_to(
        RELATIVE, lambda: bot_world.sandbox.send_text(RELATIVE, f"/start {payload}")
    )
    assert reply.text == ZH_HANT(
        "This invite link has expired: links work for 48 hours. "
        "Please ask your relative for a new one."
    )
    assert membership_of(bot_world.services.db, RELATIVE.id) is None
    assert [d["reason"] for a, d in _audit_actions(bot_world, RELATIVE.id)
            if a == "invite.refused"] == ["expired"]  # fmt: skip


@pytest.mark.parametrize(
    ("payload", "reason"),
    [("Zm9yZ2VkLWxpbmstZ3Vlc3NlZC1ieS1ldmU", "unknown"), ("a" * 65, "malformed"),
     ("../../etc/passwd", "malformed")],
)  # fmt: skip
async def test_a_guessed_or_malformed_invite_is_refused(
    bot_world: BotWorld, payload: str, reason: str
) -> None:
    reply = await bot_world.reply_to(
        STRANGER, lambda: bot_world.sandbox.send_text(STRANGER, f"/start {payload}")
    )
    assert reply.text == "This invite link is not valid. Please ask your relative for a new link."
    assert membership_of(bot_world.services.db, STRANGER.id) is None
    assert ("invite.refused", {"reason": reason}) in _audit_actions(bot_world, STRANGER.id)


async def test_strangers_and_unverified_members_cannot_upload_or_order(
    bot_world: BotWorld,
) -> None:
    sandbox = bot_world.sandbox
    photo = await bot_world.reply_to(
        STRANGER, lambda: sandbox.send_photo(STRANGER, sample_portrait_jpeg())
    )
    assert photo.text is not None and photo.text.startswith(
        "Only verified members of a family space can do this."
    )
    text = await bot_world.reply_to(STRANGER, lambda: sandbox.send_text(STRANGER, "外婆"))
    assert text.text == photo.text
    assert media_where(bot_world.services.db, "uploaded_by = ?", [STRANGER.id]) == []
    denied = [d for a, d in _audit_actions(bot_world, STRANGER.id) if a == "authz.denied"]
    assert denied == [{"permission": "upload_footage", "reason": "not_member"},
                      {"permission": "order", "reason": "not_member"}]  # fmt: skip

    await create_space(bot_world, OWNER, "阿嬤", "deceased")
    unverified = await bot_world.reply_to(
        OWNER, lambda: sandbox.send_photo(OWNER, sample_portrait_jpeg())
    )
    assert unverified.text == ZH_HANT(
        "To verify you, please share your phone number with the button below. "
        "It must be the number of this Telegram account."
    )
    assert orders_where(bot_world.services.db, "user_id = ?", [OWNER.id]) == []


async def test_a_refusal_repeated_is_answered_every_time_and_audited_once(
    bot_world: BotWorld,
) -> None:
    """A flood of refused messages costs the other chats no fsync per message: the log keeps the
    first (and, after a minute, the next with how many were left out)."""
    sandbox = bot_world.sandbox
    for words in ("外婆", "外婆?", "外婆!"):
        send = functools.partial(sandbox.send_text, STRANGER, words)
        reply = await bot_world.reply_to(STRANGER, send)
        assert reply.text is not None
        assert reply.text.startswith("Only verified members of a family space can do this.")
    denied = [d for a, d in _audit_actions(bot_world, STRANGER.id) if a == "authz.denied"]
    assert denied == [{"permission": "order", "reason": "not_member"}]


async def test_admin_commands_are_refused_to_non_admins(bot_world: BotWorld) -> None:
    reply = await bot_world.reply_to(
        STRANGER, lambda: bot_world.sandbox.send_text(STRANGER, "/review")
    )
    assert reply.text == "This command is only for Tuanyuan's moderators."
    assert ("authz.denied", {"permission": "moderate", "reason": "not_admin"}) in _audit_actions(
        bot_world, STRANGER.id
    )
    admin = await bot_world.reply_to(ADMIN, lambda: bot_world.sandbox.send_text(ADMIN, "/review"))
    assert admin.text == "Proof documents waiting for review: 0"


async def test_a_consent_phrase_typed_forwarded_read_late_or_too_short_is_asked_again(
    bot_world: BotWorld,
) -> None:
    await create_space(bot_world, OWNER, GRANDPA.first_name, "living")
    payload = await subject_invite(bot_world, OWNER)
    await bot_world.reply_to(
        GRANDPA, lambda: bot_world.sandbox.send_text(GRANDPA, f"/start {payload}")
    )
    wording = await share_own_phone(bot_world, GRANDPA)
    # Typed instead of read aloud: how to record a voice message, and the phrase again.
    phrase = (wording.text or "").splitlines()[-1]
    typed = await bot_world.reply_to(GRANDPA, lambda: bot_world.sandbox.send_text(GRANDPA, phrase))
    assert typed.text == ZH_HANT(TYPED) + ZH_HANT(RECORD_IT) + "\n\n" + phrase
    # A recording forwarded from another chat was not made by him now, whoever speaks in it.
    forwarded = await bot_world.reply_to(
        GRANDPA,
        lambda: bot_world.sandbox.send_voice(
            GRANDPA, sample_voice_ogg(phrase), 8, forwarded_from="外公"
        ),
    )
    not_now = ZH_HANT(
        "That recording was forwarded from another chat, so it cannot show that you are reading "
        "the phrase now."
    )
    assert forwarded.text == not_now + ZH_HANT(RECORD_IT) + "\n\n" + phrase
    bot_world.clock.advance(CHALLENGE_VALID_FOR + timedelta(seconds=1))
    late = await read_phrase(bot_world, GRANDPA, wording)
    expired = "That phrase expired: a phrase must be read within 30 minutes. Here is a new one."
    assert says(GRANDPA, expired)(late)
    # The owner, verified meanwhile, is sent to Grandpa, who has joined: not to /invite, whose
    # link for him is gone.
    ready = await bot_world.reply_to(OWNER, lambda: bot_world.sandbox.send_text(OWNER, "孫女"))
    assert (ready.text or "").endswith(
        ZH_HANT(
            "Greetings can be made once {subject} has consented. Ask {subject} to send me "
            "/consent from their own Telegram account."
        ).format(subject="外公")
    )
    new_phrase = (late.text or "").splitlines()[-1]
    assert new_phrase != (wording.text or "").splitlines()[-1]
    space_id = membership_of(bot_world.services.db, GRANDPA.id).space_id  # type: ignore[union-attr]
    assert records_of(bot_world.services.db, space_id) == []
    assert ("consent.challenge_expired", {"space": space_id}) in _audit_actions(
        bot_world, GRANDPA.id
    )
    short = await bot_world.reply_to(
        GRANDPA, lambda: bot_world.sandbox.send_voice(GRANDPA, sample_voice_ogg("好。"), 1)
    )
    again = ZH_HANT(
        "I heard only {heard:.1f} s of you speaking; reading the phrase takes at least "
        "{minimum:.0f} s. Please read it again, all of it, in one voice message:\n\n{phrase}"
    )
    assert (short.text or "").startswith(again.split("{heard", 1)[0])
    assert (short.text or "").endswith(new_phrase)
    thanks = await read_phrase(bot_world, GRANDPA, late)
    assert says(GRANDPA, THANKS_FOR_CONSENT, subject="外公")(thanks)


async def test_after_revocation_nothing_is_made_until_the_subject_consents_again(
    bot_world: BotWorld,
) -> None:
    await living_family(bot_world, OWNER, GRANDPA)
    sandbox, db = bot_world.sandbox, bot_world.services.db
    # /revoke's question has a Cancel, which changes nothing and says so.
    warning = await bot_world.reply_to(GRANDPA, lambda: sandbox.send_text(GRANDPA, "/revoke"))
    await sandbox.press_button(GRANDPA, warning.message_id, "revoke:no")
    kept = await sandbox.wait_for_message(
        GRANDPA.id, lambda m: m.message_id == warning.message_id and bool(m.edits)
    )
    assert kept.text == ZH_HANT(
        "Nothing was withdrawn: consent for {subject} stays as it was."
    ).format(subject="外公")
    space_id = membership_of(db, GRANDPA.id).space_id  # type: ignore[union-attr]
    assert len(records_of(db, space_id)) == 1

    receipt = await revoke(bot_world, GRANDPA, "外公")
    expected = Receipt(files=Counter({"statement": 1}))
    assert receipt_text(ZH_HANT, expected) in (receipt.text or "")
    assert proofs_kept_text(ZH_HANT) not in (receipt.text or "")  # no relative sent one
    start_over = ZH_HANT(
        "To start over, {subject} gives consent again with /consent; then send the photo and "
        "voice notes again."
    ).format(subject="外公")
    refusal = ZH_HANT(
        "Consent for {subject} was withdrawn, so nothing more can be made in this family space."
    ).format(subject="外公")
    await bot_world.reply_to(
        OWNER,
        lambda: sandbox.send_photo(OWNER, sample_portrait_jpeg()),
        until=lambda m: m.text == refusal + start_over,  # no space between Chinese sentences
    )
    assert ("authz.denied", {"permission": "upload_footage", "reason": "revoked"}) in (
        _audit_actions(bot_world, OWNER.id)
    )
    assert media_where(db, "kind = ?", [MediaKind.PORTRAIT.value]) == []
    told = [m.text or "" for m in await sandbox.sent_messages(OWNER.id)]
    assert any(text.endswith(start_over) for text in told), told

    # The subject consents again: a new grant, after the revocation, and the family may order.
    wording = await bot_world.reply_to(GRANDPA, lambda: sandbox.send_text(GRANDPA, "/consent"))
    thanks = await read_phrase(bot_world, GRANDPA, wording)
    assert says(GRANDPA, THANKS_FOR_CONSENT, subject="外公")(thanks)
    kinds = [record.kind for record in records_of(db, space_id)]
    assert kinds == ["grant", "revocation", "grant"]
    reply = await bot_world.reply_to(
        OWNER, lambda: sandbox.send_photo(OWNER, sample_portrait_jpeg()),
        until=lambda m: m.text == ZH_HANT("Thank you, I have the photo."),
    )  # fmt: skip
    assert reply.text is not None


async def test_a_subject_who_left_is_told_to_the_family_and_invited_back_to_consent(
    bot_world: BotWorld,
) -> None:
    """The owner leaves: the verified relative who inherits the space is told it is theirs.
    Then the living grandfather leaves, which withdraws his consent and takes him out of the
    space: the family is told at once, and how to start over, which is a new link for him
    (/consent in his chat is gone with him, and no relative can join the closed space). Through
    it he consents again, and greetings can be made."""
    sandbox, db = bot_world.sandbox, bot_world.services.db
    await living_family(bot_world, OWNER, GRANDPA)
    payload = await relative_invite(bot_world, OWNER)
    await bot_world.reply_to(RELATIVE, lambda: sandbox.send_text(RELATIVE, f"/start {payload}"))
    await verify_relative(bot_world, RELATIVE, "外孫")

    async def leaves(member: SandboxUser) -> None:
        warning = await bot_world.reply_to(member, lambda: sandbox.send_text(member, "/delete_me"))
        await bot_world.reply_to(member, lambda: sandbox.press_button(
            member, warning.message_id, DELETE_CONFIRM))  # fmt: skip

    inherited = await bot_world.reply_to(RELATIVE, lambda: leaves(OWNER))
    assert inherited.text == sentences(
        ZH_HANT(LEFT).format(name=OWNER.first_name, subject="外公"), ZH_HANT(INHERITED)
    )  # his consent is his own: it stands
    told = await bot_world.reply_to(RELATIVE, lambda: leaves(GRANDPA))
    start_over = ZH_HANT(
        "To start over, {subject} needs a new link, which the family space's owner gets with "
        "/invite: opening it, {subject} gives consent again from their own Telegram account. "
        "Then send the photo and voice notes again."
    ).format(subject="外公")
    assert told.text == sentences(ZH_HANT(
        "Consent for {subject} was withdrawn. Every photo, voice note and video of {subject} "
        "has been deleted, and no more greetings can be made.").format(subject="外公"),
        start_over)  # fmt: skip
    menu = await bot_world.reply_to(RELATIVE, lambda: sandbox.send_text(RELATIVE, "/invite"))
    assert [row[0]["callback_data"] for row in menu.reply_markup["inline_keyboard"]] == [  # type: ignore[index]
        "inv:subject"
    ]
    link = await bot_world.reply_to(
        RELATIVE, lambda: sandbox.press_button(RELATIVE, menu.message_id, "inv:subject"),
        until=has_link,
    )  # fmt: skip
    # The menu, read back later, says whom the link under it is for.
    [shown] = [
        m for m in await sandbox.sent_messages(RELATIVE.id) if m.message_id == menu.message_id
    ]
    assert shown.text == ZH_HANT("{subject} themself, to consent").format(subject="外公")
    thanks = await consent_as_living_subject(bot_world, GRANDPA, invite_payload(link))
    assert says(GRANDPA, THANKS_FOR_CONSENT, subject="外公")(thanks)
    space_id = membership_of(db, RELATIVE.id).space_id  # type: ignore[union-attr]
    assert get_space(db, space_id).status == SpaceStatus.ACTIVE
    await bot_world.reply_to(
        RELATIVE, lambda: sandbox.send_photo(RELATIVE, sample_portrait_jpeg()),
        until=lambda m: m.text == ZH_HANT("Thank you, I have the photo."),
    )  # fmt: skip


LEFT = "{name} has left the family space for {subject}."
INHERITED = "You now look after it: you invite relatives with /invite."


async def test_an_authorisation_whose_signer_left_stops_and_is_given_afresh(
    bot_world: BotWorld,
) -> None:
    """Greetings from 阿嬤 stood on her granddaughter's signature. She leaves: her cousin, who
    inherits the space, is told that greetings stop, and /consent offers him an authorisation
    of his own (it offered to co-sign hers, from "…", a relative no longer there)."""
    world, sandbox = bot_world, bot_world.sandbox
    await deceased_family(world, OWNER, "阿嬤")
    await verified_relative(world, OWNER, RELATIVE, "孫子")
    warning = await world.reply_to(OWNER, lambda: sandbox.send_text(OWNER, "/delete_me"))
    told = await world.reply_to(RELATIVE, lambda: sandbox.press_button(
        OWNER, warning.message_id, DELETE_CONFIRM))  # fmt: skip
    assert told.text == sentences(
        ZH_HANT(LEFT).format(name=OWNER.first_name, subject="阿嬤"),
        ZH_HANT(INHERITED),
        ZH_HANT("Their signature was part of the authorisation of greetings from {subject}, so "
                "greetings stop until enough verified relatives have signed again: send "
                "/consent.").format(subject="阿嬤"),
    )  # fmt: skip
    offer = await world.reply_to(RELATIVE, lambda: sandbox.send_text(RELATIVE, "/consent"))
    assert [row[0]["callback_data"] for row in offer.reply_markup["inline_keyboard"]] == [  # type: ignore[index]
        "auth:grant"
    ]
    await world.reply_to(
        RELATIVE,
        lambda: sandbox.press_button(RELATIVE, offer.message_id, "auth:grant"),
        until=says(RELATIVE, AUTHORISED, subject="阿嬤"),
    )


async def test_revoking_during_a_render_stops_it_and_nothing_is_delivered(
    bot_world: BotWorld,
) -> None:
    await living_family(bot_world, OWNER, GRANDPA)
    await order_greeting(bot_world, OWNER)
    db = bot_world.services.db
    [order] = orders_where(db, "user_id = ?", [OWNER.id])
    for _ in range(600):
        if get_order(db, order.id).status == OrderStatus.RENDERING:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # the render process is up and working
    # The render's folder is in memory; its decrypted inputs are no files at all.
    [scratch] = bot_world.services.jobs.scratch_dirs(order.id)
    assert not scratch.is_relative_to(bot_world.data_dir)
    assert plaintext_media(bot_world) == []
    ids, blobs = subject_data(bot_world, order.space_id or "")

    receipt = await revoke(bot_world, GRANDPA, "外公")
    expected = Receipt(files=Counter({"portrait": 1, "voice": 1, "statement": 1}),
                       renders_stopped=1)  # fmt: skip
    assert receipt_text(ZH_HANT, expected) in (receipt.text or "")
    await bot_world.services.orders.settle()
    await asyncio.sleep(1.0)
    sent = await bot_world.sandbox.sent_messages(OWNER.id)
    assert [m for m in sent if m.method == "sendVideo"] == []
    assert get_order(db, order.id).status == OrderStatus.REVOKED
    assert not scratch.exists()
    assert leftovers(bot_world, ids, blobs) == []
    assert any(a == "consent.revoked" for a, _ in _audit_actions(bot_world, GRANDPA.id))


async def test_revoking_while_the_preview_uploads_deletes_it_once_uploaded(
    bot_world: BotWorld,
) -> None:
    sandbox = bot_world.sandbox
    await living_family(bot_world, OWNER, GRANDPA)
    await sandbox.hold_responses("sendVideo")
    await order_greeting(bot_world, OWNER)
    # Telegram has the preview; the bot is still waiting for its answer when consent goes.
    [held] = await sandbox.wait_held(timeout=RENDER_WAIT_S)
    [order] = orders_where(bot_world.services.db, "user_id = ?", [OWNER.id])
    warning = await bot_world.reply_to(GRANDPA, lambda: sandbox.send_text(GRANDPA, "/revoke"))
    await sandbox.press_button(GRANDPA, warning.message_id, "revoke:yes")
    for _ in range(400):  # the order is revoked while its upload still waits for Telegram
        if get_order(bot_world.services.db, order.id).status == OrderStatus.REVOKED:
            break
        await asyncio.sleep(0.05)
    await sandbox.release_held()
    receipt = await sandbox.wait_for_message(GRANDPA.id, says(GRANDPA, WITHDRAWN, subject="外公"))
    assert ZH_HANT("Sent messages deleted: {count}").format(count=1) in (receipt.text or "")
    videos = [m for m in await sandbox.sent_messages(OWNER.id) if m.method == "sendVideo"]
    assert [(m.message_id, m.deleted) for m in videos] == [(held.message_id, True)]


async def test_revoking_deletes_every_copy_of_the_greeting_the_bot_sent(
    bot_world: BotWorld,
) -> None:
    """His face and voice must not stay in any chat once he withdraws consent: not the
    delivered greeting, not the original file the family fetched (twice), not the copy a
    moderator watched first under "review every finished video"."""
    sandbox = bot_world.sandbox
    await bot_world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "/rules videos on"))
    await living_family(bot_world, OWNER, GRANDPA)
    await order_greeting(bot_world, OWNER)
    watched = await sandbox.wait_for_message(
        ADMIN.id, lambda m: m.method == "sendVideo", timeout=RENDER_WAIT_S
    )
    await sandbox.press_button(ADMIN, watched.message_id, "mod:ok:" + order_of(watched))
    delivered = await send_it(bot_world, OWNER)
    for _ in range(2):
        await bot_world.reply_to(
            OWNER,
            lambda: sandbox.press_button(
                OWNER, delivered.message_id, ORIGINAL_PREFIX + order_of(delivered)
            ),
            until=lambda m: m.method == "sendDocument",
        )
    receipt = await revoke(bot_world, GRANDPA, "外公")
    family_chat = await sandbox.sent_messages(OWNER.id)
    copies = [m for m in family_chat if m.method in ("sendVideo", "sendDocument")]
    assert len(copies) == 4  # the preview, the delivery, two originals
    assert all(m.deleted for m in copies)
    admin_chat = await sandbox.sent_messages(ADMIN.id)
    assert next(m for m in admin_chat if m.message_id == watched.message_id).deleted
    assert ZH_HANT("Sent messages deleted: {count}").format(count=5) in (receipt.text or "")


async def test_mydata_exports_and_delete_me_removes_the_member(bot_world: BotWorld) -> None:
    sandbox = bot_world.sandbox
    # Asked before she belonged to any family: an archive of her account alone.
    early = await bot_world.reply_to(OWNER, lambda: sandbox.send_text(OWNER, "/mydata"),
                                     until=lambda m: m.method == "sendDocument")  # fmt: skip
    await create_space(bot_world, OWNER, "阿嬤", "deceased")
    await verify_relative(bot_world, OWNER, "孫女")
    await bot_world.reply_to(
        OWNER, lambda: sandbox.send_document(OWNER, PDF_PROOF, "proof.pdf", "application/pdf")
    )
    export = await bot_world.reply_to(OWNER, lambda: sandbox.send_text(OWNER, "/mydata"),
                                      until=lambda m: m.method == "sendDocument")  # fmt: skip
    with zipfile.ZipFile(io.BytesIO(await sandbox.download(export.file_id or ""))) as archive:
        data = json.loads(archive.read("data.json"))
        [upload] = data["uploads"]
        assert archive.read(upload["file"]) == PDF_PROOF
    [membership] = data["memberships"]
    assert (membership["phone_number"], membership["relation"]) == (phone_of(OWNER), "孫女")
    assert data["user"][0]["id"] == OWNER.id

    proof_id = membership["proof_media_id"]
    kept = await bot_world.reply_to(OWNER, lambda: sandbox.send_text(OWNER, "/delete_me"))
    await sandbox.press_button(OWNER, kept.message_id, "delme:no")
    answered = await sandbox.wait_for_message(
        OWNER.id, lambda m: m.message_id == kept.message_id and bool(m.edits)
    )
    assert answered.text == ZH_HANT("Nothing was deleted.")
    assert membership_of(bot_world.services.db, OWNER.id) is not None
    warning = await bot_world.reply_to(OWNER, lambda: sandbox.send_text(OWNER, "/delete_me"))
    done = await bot_world.reply_to(
        OWNER, lambda: sandbox.press_button(OWNER, warning.message_id, "delme:yes")
    )
    # The archives held her data and a copy of the proof: they leave the chat with them.
    receipt = Receipt(files=Counter({"proof": 1}), messages_deleted=2)
    assert receipt_text(ZH_HANT, receipt) in (done.text or "")
    assert await bot_world.is_deleted(early)
    assert await bot_world.is_deleted(export)
    db = bot_world.services.db
    assert membership_of(db, OWNER.id) is None
    assert not bot_world.services.vault.exists(proof_id)
    assert list(db.query("SELECT id FROM users WHERE id = ?", [OWNER.id])) == []
    assert leftovers(bot_world, {proof_id}, [PDF_PROOF]) == []
    assert any(a == "member.deleted" for a, _ in _audit_actions(bot_world, OWNER.id))


class _Killed(Exception):
    """Where a test stops a handler, as kill -9 would stop the bot."""


async def test_a_delete_me_a_crash_cut_short_is_finished_at_start_up(
    bot_world: BotWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    # /delete_me removes the membership, then the orders, then the files: a bot killed in
    # between left the member's proof in the vault, with nothing to find it again.
    world, sandbox, services = bot_world, bot_world.sandbox, bot_world.services
    await create_space(world, OWNER, "阿嬤", "deceased")
    await verify_relative(world, OWNER, "孫女")
    await world.reply_to(
        OWNER, lambda: sandbox.send_document(OWNER, PDF_PROOF, "proof.pdf", "application/pdf")
    )
    [proof] = media_where(services.db, "uploaded_by = ?", [OWNER.id])
    warning = await world.reply_to(OWNER, lambda: sandbox.send_text(OWNER, "/delete_me"))

    def killed(media_id: str) -> None:
        raise _Killed(media_id)

    with monkeypatch.context() as patch:
        patch.setattr(services.vault, "delete", killed)
        await sandbox.press_button(OWNER, warning.message_id, DELETE_CONFIRM)
        await asyncio.sleep(2)  # the handler ran up to the kill
    assert membership_of(services.db, OWNER.id) is None
    assert services.vault.exists(str(proof["id"]))  # what the kill left

    assert await finish_departures(services, world.application.bot) == [OWNER.id]
    assert not services.vault.exists(str(proof["id"]))
    assert media_where(services.db, "uploaded_by = ?", [OWNER.id]) == []
    assert list(services.db.query("SELECT id FROM users WHERE id = ?", [OWNER.id])) == []
    # Finished once: the next start finds nothing left to do.
    assert await finish_departures(services, world.application.bot) == []


async def test_the_person_in_the_greetings_gets_what_is_kept_of_them(
    bot_world: BotWorld,
) -> None:
    """/mydata from the living grandfather holds his photo, voice and greeting as his family
    sent and made them (it held only his own consent recording), and the greetings' facts; his
    granddaughter's own export gains nothing of that kind."""
    sandbox = bot_world.sandbox
    await living_family(bot_world, OWNER, GRANDPA)
    await order_greeting(bot_world, OWNER)
    await sandbox.wait_for_message(OWNER.id, is_preview, timeout=60)
    await bot_world.services.orders.settle()
    export = await bot_world.reply_to(GRANDPA, lambda: sandbox.send_text(GRANDPA, "/mydata"),
                                      until=lambda m: m.method == "sendDocument")  # fmt: skip
    assert export.caption == ZH_HANT(
        "Everything Tuanyuan keeps about you: data.json, the files you sent, and the photos, "
        "videos and recordings of you that your family sent, with the greetings made from them."
    )
    [order] = orders_where(bot_world.services.db, "user_id = ?", [OWNER.id])
    vault = bot_world.services.vault
    with zipfile.ZipFile(io.BytesIO(await sandbox.download(export.file_id or ""))) as archive:
        data = json.loads(archive.read("data.json"))
        files = {entry["kind"]: archive.read(entry["file"]) for entry in data["of_you"]}
    assert files == {
        "portrait": vault.read_bytes(order.portrait_id or ""),
        "voice": vault.read_bytes(order.voice_id or ""),
        "video": vault.read_bytes(order.video_id or ""),
    }
    [greeting] = data["greetings_of_you"]
    assert (greeting["template_id"], greeting["recipient"], greeting["made_by"]) == (
        "mid-autumn", "外婆", OWNER.first_name
    )  # fmt: skip
    assert [entry["kind"] for entry in data["uploads"]] == ["statement"]  # his own, as before

    theirs = await bot_world.reply_to(OWNER, lambda: sandbox.send_text(OWNER, "/mydata"),
                                      until=lambda m: m.method == "sendDocument")  # fmt: skip
    assert theirs.caption == ZH_HANT(
        "Everything Tuanyuan keeps about you: data.json and the files you sent."
    )
    with zipfile.ZipFile(io.BytesIO(await sandbox.download(theirs.file_id or ""))) as archive:
        assert "of_you" not in json.loads(archive.read("data.json"))

    # Both archives hold copies of his face and voice: withdrawing consent deletes them too.
    await revoke(bot_world, GRANDPA, GRANDPA.first_name)
    assert await bot_world.is_deleted(export)
    assert await bot_world.is_deleted(theirs)


@pytest.fixture
async def two_signers(
    stand_in: BotApiStandIn, sandbox: SandboxClient, tmp_path: Path
) -> AsyncIterator[BotWorld]:
    """Two relatives must sign for a deceased subject; the owner, her granddaughter, is
    verified by a moderator (no one has authorised yet)."""
    settings = replace(settings_for(stand_in, tmp_path / "bot-data"), deceased_cosigners=2)
    clock = FakeClock()
    async with polling(build_application(settings, clock)) as application:
        world = BotWorld(stand_in, sandbox, application, settings.data_dir, clock)
        await world.reply_to(ADMIN, lambda: sandbox.send_text(ADMIN, "/start"))
        await create_space(world, OWNER, "阿嬤", "deceased")
        await verified_relative(world, OWNER, OWNER, "孫女")
        yield world


async def test_an_authorisation_never_cosigned_neither_ends_nor_keeps_what_came_before(
    two_signers: BotWorld,
) -> None:
    """An authorisation nobody co-signed was never had: a year on, the family is asked to
    authorise, not told that it ended. One given again after a year that did end, and left
    without its co-signer, does not hide that end: the photos kept from it go on their day."""
    world, sandbox, services = two_signers, two_signers.sandbox, two_signers.services
    await verified_relative(world, OWNER, GRANDSON, "grandson")

    async def authorise() -> SentMessage:
        """The owner authorises; returns the co-sign request the grandson receives."""
        seen = max((m.message_id for m in await sandbox.sent_messages(GRANDSON.id)), default=0)
        offer = await world.reply_to(OWNER, lambda: sandbox.send_text(OWNER, "/consent"))
        await world.reply_to(
            OWNER, lambda: sandbox.press_button(OWNER, offer.message_id, "auth:grant")
        )
        return await sandbox.wait_for_message(
            GRANDSON.id, lambda m: m.message_id > seen and "cosign:" in json.dumps(m.reply_markup)
        )

    await authorise()
    world.clock.advance(CONSENT_VALID_FOR + timedelta(hours=1))
    refused = await world.reply_to(OWNER, lambda: sandbox.send_photo(OWNER, sample_portrait_jpeg()))
    assert refused.text == ZH_HANT(
        "Greetings can be made once verified relatives have authorised them. "
        "Send /consent to authorise."
    )
    # Authorised and co-signed: a photo is kept. The year ends; authorised again, not co-signed.
    request = await authorise()
    cosign = request.reply_markup["inline_keyboard"][0][0]["callback_data"]  # type: ignore[index]
    await world.reply_to(
        OWNER,
        lambda: sandbox.press_button(GRANDSON, request.message_id, cosign),
        until=says(OWNER, AUTHORISED, subject="阿嬤"),
    )
    await world.reply_to(OWNER, lambda: sandbox.send_photo(OWNER, sample_portrait_jpeg()))
    member = membership_of(services.db, OWNER.id)
    assert member is not None
    assert media_where(services.db, "space_id = ? AND kind = ?",
                       [member.space_id, MediaKind.PORTRAIT.value])  # fmt: skip
    world.clock.advance(CONSENT_VALID_FOR + timedelta(hours=1))
    await authorise()
    world.clock.advance(MATERIAL_KEPT_AFTER_END)
    await consent_year_pass(services, world.application.bot)
    assert media_where(services.db, "space_id = ? AND kind = ?",
                       [member.space_id, MediaKind.PORTRAIT.value]) == []  # fmt: skip


async def test_two_relatives_must_sign_each_in_their_language_and_either_can_veto(
    two_signers: BotWorld,
) -> None:
    world, sandbox = two_signers, two_signers.sandbox
    await verified_relative(world, OWNER, GRANDSON, "grandson")

    async def authorise(after: int) -> SentMessage:
        """The owner authorises; returns the co-sign request the relative receives."""
        offer = await world.reply_to(OWNER, lambda: sandbox.send_text(OWNER, "/consent"))
        pending = await world.reply_to(
            OWNER, lambda: sandbox.press_button(OWNER, offer.message_id, "auth:grant")
        )
        assert pending.text == ZH_HANT(
            "Your authorisation is recorded. {count} more verified relative(s) must co-sign."
        ).format(count=1)
        return await sandbox.wait_for_message(
            GRANDSON.id,
            lambda m: m.message_id > after and "cosign:" in json.dumps(m.reply_markup),
        )

    request = await authorise(after=0)
    # The grandson reads English: he is told who asks, and what he would sign, in English.
    english_wording = deceased_wording(EN, "阿嬤", "孫女")
    asks = EN("{name} ({relation}) asks you to co-sign this authorisation:")
    assert request.text == asks.format(name="美玲", relation="孫女") + "\n\n" + english_wording
    veto = request.reply_markup["inline_keyboard"][0][1]["callback_data"]  # type: ignore[index]
    told = await world.reply_to(
        OWNER, lambda: sandbox.press_button(GRANDSON, request.message_id, veto)
    )
    assert told.text == ZH_HANT(
        "A verified relative vetoed the authorisation for {subject}. No greetings will be made."
    ).format(subject="阿嬤")
    refused = await world.reply_to(OWNER, lambda: sandbox.send_photo(OWNER, sample_portrait_jpeg()))
    assert refused.text == ZH_HANT(
        "Greetings can be made once verified relatives have authorised them. "
        "Send /consent to authorise."
    )

    request = await authorise(after=request.message_id)
    cosign = request.reply_markup["inline_keyboard"][0][0]["callback_data"]  # type: ignore[index]
    await world.reply_to(
        OWNER,
        lambda: sandbox.press_button(GRANDSON, request.message_id, cosign),
        until=says(OWNER, AUTHORISED, subject="阿嬤"),
    )
    accepted = await world.reply_to(
        OWNER, lambda: sandbox.send_photo(OWNER, sample_portrait_jpeg())
    )
    assert accepted.text == ZH_HANT("Thank you, I have the photo.")
    space_id = membership_of(world.services.db, OWNER.id).space_id  # type: ignore[union-attr]
    records = records_of(world.services.db, space_id)
    assert [r.kind for r in records] == ["grant", "veto", "grant", "cosign"]
    assert (records[-1].wording, records[-1].language) == (english_wording, "en")
    assert records[-2].language == "zh-Hant"
    assert any(a == "consent.veto" for a, _ in _audit_actions(world, GRANDSON.id))


async def test_a_relative_verified_after_the_authorisation_co_signs_it(
    two_signers: BotWorld,
) -> None:
    """Two must sign; the owner authorises before anyone else is verified. The grandson
    verified afterwards is offered her authorisation to co-sign, not one of his own that would
    replace hers and send the family round again."""
    world, sandbox = two_signers, two_signers.sandbox
    offer = await world.reply_to(OWNER, lambda: sandbox.send_text(OWNER, "/consent"))
    signed = await world.reply_to(
        OWNER, lambda: sandbox.press_button(OWNER, offer.message_id, "auth:grant")
    )
    missing = ZH_HANT(
        "Your authorisation is recorded. {count} more verified relative(s) must co-sign."
    ).format(count=1)
    # Nobody else is verified to co-sign: she is told that her /invite brings them, and /start
    # says so too rather than asking her to authorise, which she has done.
    invite = ZH_HANT(
        "Invite relatives with /invite: once verified, each co-signs it with /consent."
    )
    pending = sentences(missing, invite)
    assert signed.text == pending
    again = await world.reply_to(OWNER, lambda: sandbox.send_text(OWNER, "/consent"))
    assert again.text == pending and again.reply_markup is None
    start = await world.reply_to(OWNER, lambda: sandbox.send_text(OWNER, "/start"))
    assert (start.text or "").endswith(pending), start.text

    approved = await verified_relative(world, OWNER, GRANDSON, "grandson")
    assert approved.text == EN(
        "A moderator approved your proof document: you are a verified relative of {subject}. "
        "An authorisation awaits your co-signature: send /consent to read it."
    ).format(subject="阿嬤")
    start = await world.reply_to(GRANDSON, lambda: sandbox.send_text(GRANDSON, "/start"))
    assert (start.text or "").endswith(
        EN("An authorisation awaits your co-signature: send /consent to read it.")
    ), start.text
    start = await world.reply_to(OWNER, lambda: sandbox.send_text(OWNER, "/start"))
    assert (start.text or "").endswith(missing), start.text
    request = await world.reply_to(GRANDSON, lambda: sandbox.send_text(GRANDSON, "/consent"))
    assert (request.text or "").startswith(
        EN("{name} ({relation}) asks you to co-sign this authorisation:").format(
            name="美玲", relation="孫女"
        )
    )
    cosign = request.reply_markup["inline_keyboard"][0][0]["callback_data"]  # type: ignore[index]
    await world.reply_to(
        OWNER,
        lambda: sandbox.press_button(GRANDSON, request.message_id, cosign),
        until=says(OWNER, AUTHORISED, subject="阿嬤"),
    )
    space_id = membership_of(world.services.db, OWNER.id).space_id  # type: ignore[union-attr]
    assert [r.kind for r in records_of(world.services.db, space_id)] == ["grant", "cosign"]


async def test_a_relative_verified_once_greetings_are_authorised_is_told_to_make_one(
    bot_world: BotWorld,
) -> None:
    """Nothing is left to authorise: the approval says so, and what to send (it said to send
    /consent, which answered that consent was recorded)."""
    await deceased_family(bot_world, OWNER, "阿嬤")
    approved = await verified_relative(bot_world, OWNER, RELATIVE, "兒子")
    # The moderator saw who sent the proof, by name as in a greeting request's card.
    cards = [
        m for m in await bot_world.sandbox.sent_messages(ADMIN.id) if m.method == "sendDocument"
    ]
    space = membership_of(bot_world.services.db, RELATIVE.id).space_id  # type: ignore[union-attr]
    assert cards[-1].caption == EN(
        "Proof document for review. {name} (user {user_id}) says they are {relation} of the "
        "late {subject} (family space {space})."
    ).format(name="阿明", user_id=RELATIVE.id, relation="兒子", subject="阿嬤", space=space)
    # A PDF the moderator's Telegram opens as one (it was 'proof-…', application/octet-stream).
    assert (cards[-1].file_name, cards[-1].mime_type) == (
        f"proof-{RELATIVE.id}.pdf",
        "application/pdf",
    )
    assert approved.text == ZH_HANT(
        "A moderator approved your proof document: you are a verified relative of {subject}. "
        "Greetings from {subject} are authorised: send a clear photo of {subject}'s face to "
        "make one."
    ).format(subject="阿嬤")


async def test_a_subject_name_over_40_characters_is_asked_again(bot_world: BotWorld) -> None:
    sandbox = bot_world.sandbox
    await bot_world.reply_to(OWNER, lambda: sandbox.send_text(OWNER, "/newspace"))
    too_long = await bot_world.reply_to(
        OWNER, lambda: sandbox.send_text(OWNER, "嬤" * (MAX_SUBJECT_NAME_CHARS + 1))
    )
    assert too_long.text == ZH_HANT("Please type a name of at most {limit} characters.").format(
        limit=MAX_SUBJECT_NAME_CHARS
    )
    # Still at the name step: a name of exactly the limit moves on to "living or deceased?".
    question = await bot_world.reply_to(
        OWNER,
        lambda: sandbox.send_text(OWNER, "嬤" * MAX_SUBJECT_NAME_CHARS),
        until=lambda m: m.reply_markup is not None,
    )
    assert question.reply_markup is not None


async def test_a_typo_in_the_subjects_name_is_corrected_by_typing_it_again(
    bot_world: BotWorld,
) -> None:
    """The name comes back in "Is 阿麼 living or deceased?": typed again, it replaces the
    first; the name edited instead is answered with how to correct it; the question's answer
    typed rather than pressed is taken as the answer, not as a name."""
    sandbox = bot_world.sandbox
    await bot_world.reply_to(OWNER, lambda: sandbox.send_text(OWNER, "/newspace"))
    typed: list[Message] = []

    async def type_name() -> None:
        typed.append(await sandbox.send_text(OWNER, "阿麼"))

    question = await bot_world.reply_to(OWNER, type_name)
    assert question.text == ZH_HANT("Is {subject} living or deceased?").format(subject="阿麼")
    told = await bot_world.reply_to(
        OWNER, lambda: sandbox.edit_text(OWNER, typed[0].message_id, "阿嬤")
    )
    assert told.text == ZH_HANT(
        "I read each message as it was first sent: a change made to it afterwards does not "
        "reach me."
    ) + ZH_HANT("To correct the name, type it again.")
    question = await bot_world.reply_to(OWNER, lambda: sandbox.send_text(OWNER, "阿嬤"))
    assert question.text == ZH_HANT("Is {subject} living or deceased?").format(subject="阿嬤")
    languages = await bot_world.reply_to(OWNER, lambda: sandbox.send_text(OWNER, "已過世"))
    assert languages.text == ZH_HANT(
        "Which languages does {subject} speak? Choose one or more, then press Done."
    ).format(subject="阿嬤")
    member = membership_of(bot_world.services.db, OWNER.id)
    assert member is not None
    space = get_space(bot_world.services.db, member.space_id)
    assert (space.subject_name, space.subject_status) == ("阿嬤", "deceased")


async def test_a_relation_over_40_characters_is_refused_and_not_kept(bot_world: BotWorld) -> None:
    await create_space(bot_world, OWNER, "阿嬤", "deceased")
    await share_own_phone(bot_world, OWNER)
    too_long = await bot_world.reply_to(
        OWNER, lambda: bot_world.sandbox.send_text(OWNER, "孫" * (MAX_RELATION_CHARS + 1))
    )
    assert too_long.text == ZH_HANT(
        "Please describe your relation in at most {limit} characters."
    ).format(limit=MAX_RELATION_CHARS)
    member = membership_of(bot_world.services.db, OWNER.id)
    assert member is not None and member.relation is None


async def test_an_original_never_made_and_a_press_whose_buttons_were_gone(
    bot_world: BotWorld,
) -> None:
    world, sandbox, services = bot_world, bot_world.sandbox, bot_world.services
    member = SandboxUser(5601, "美玲", language_code="zh-hant")
    seeded = await seeded_greeting(world, member)
    assert seeded.space_id is not None
    draft = new_order(services.db, member.id, member.id, "zh-Hant", seeded.space_id,
                      template_id="mid-autumn", recipient="外婆")  # fmt: skip
    plain = await world.reply_to(member, lambda: sandbox.send_text(member, "/help"))
    assert plain.reply_markup is None
    # The greeting was never made: that is what the member reads, not a withdrawal of consent.
    never = await world.reply_to(
        member,
        lambda: sandbox.press_button(
            member, plain.message_id, ORIGINAL_PREFIX + draft.id, forged=True
        ),
    )
    assert never.text == ZH_HANT("This greeting was never made, so it has no original file.")
    # A second "Delete me" press, racing the one that took the buttons off, finds none to take
    # off: it is handled and answered all the same, not dropped at Telegram's 400.
    done = await world.reply_to(
        member,
        lambda: sandbox.press_button(member, plain.message_id, DELETE_CONFIRM, forged=True),
    )
    assert ZH_HANT(
        "You have been removed and your files deleted. Deletion receipt:\n{receipt}\n\n"
        "Kept: the consent records you signed, which hold no face or voice data."
    ).split("{")[0] in (done.text or "")
    assert membership_of(services.db, member.id) is None
    assert len(await sandbox.callback_answers()) == 2


def _revoked_then_killed(world: BotWorld, space_id: str, actor: int) -> Space:
    """/revoke's first steps, the space marked revoked and the record written; then the kill."""
    db = world.services.db
    space = update_space(db, space_id, status=SpaceStatus.REVOKED.value)
    append_record(db, world.clock, space, RecordKind.REVOCATION, actor, Method.COMMAND)
    return space


async def test_a_revocation_a_crash_cut_short_is_finished_at_start_up(
    bot_world: BotWorld,
) -> None:
    # /revoke marks the space revoked and writes the record first, then stops and deletes; a
    # bot killed in between left the subject's likeness in the vault and the orders open.
    world, services = bot_world, bot_world.services
    member = SandboxUser(5602, "美玲", language_code="zh-hant")
    order = await seeded_greeting(world, member)
    assert order.space_id is not None and order.video_id is not None
    space = _revoked_then_killed(world, order.space_id, member.id)
    assert await finish_revocations(services, world.application.bot) == [space.id]
    assert get_order(services.db, order.id).status == OrderStatus.REVOKED
    assert not services.vault.exists(order.video_id)
    assert media_where(services.db, "space_id = ?", [space.id]) == []
    [tombstone] = services.db.query("SELECT * FROM tombstones WHERE space_id = ?", [space.id])
    assert tombstone["revoked_by"] == member.id
    # Finished once: the next start finds nothing left to do.
    assert await finish_revocations(services, world.application.bot) == []


async def test_a_crash_after_an_order_was_revoked_still_deletes_its_greeting_at_start_up(
    bot_world: BotWorld,
) -> None:
    # The order is moved to "revoked" first, then its messages are deleted: a bot killed in
    # between left the greeting in the family's chat, and the restart found the order done.
    world, sandbox, services = bot_world, bot_world.sandbox, bot_world.services
    member = SandboxUser(5603, "美玲", language_code="zh-hant")
    order = await seeded_greeting(world, member)
    assert order.space_id is not None
    greeting = await Ledger(services.db, world.clock).once(
        order.id, "delivery", lambda: world.application.bot.send_message(member.id, "the greeting")
    )
    space = _revoked_then_killed(world, order.space_id, member.id)
    move(services.db, services.audit, order, OrderStatus.REVOKED, "system")  # then the kill
    assert await finish_revocations(services, world.application.bot) == [space.id]
    chat = await sandbox.sent_messages(member.id)
    assert next(m for m in chat if m.message_id == greeting.message_id).deleted
