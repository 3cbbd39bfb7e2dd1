"""Giving, co-signing, vetoing and withdrawing consent, as the people concerned see it.

A living subject consents personally: they read a one-time phrase aloud as a voice or video
message within 30 minutes. For a deceased subject, verified relatives authorise, as many as the
operator requires, and any of them can veto. Withdrawal is one command and one button, and ends
with a receipt listing what was deleted.
"""

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import TelegramError

from bot.clock import iso, parse_iso
from bot.family.consent import (
    MIN_STATEMENT_SPEECH_S,
    ConsentRecord,
    Method,
    RecordKind,
    append_record,
    awaiting_cosigners,
    close_challenge,
    current_consent,
    deceased_wording,
    get_record,
    issue_challenge,
    latest_grant,
    living_phrase,
    living_wording,
    open_challenge,
    signatures,
    vetoed,
)
from bot.family.erasure import Receipt, revoke
from bot.family.guidance import cosign_step_text, start_over_text, verification_step_text
from bot.family.renewal import RENEWAL_WINDOW, renewable, renews
from bot.family.spaces import (
    Member,
    MemberStatus,
    Role,
    Space,
    SpaceStatus,
    get_space,
    members_of,
    membership_of,
    update_member,
    update_space,
)
from bot.flows.basics import Context, remember_sender, remove_buttons
from bot.flows.uploads import fetch_checked
from bot.i18n import Gettext, sentences
from bot.services import Services, services_of
from bot.storage import MediaKind
from bot.storage.media import record_media
from bot.storage.users import first_name
from engine import IngestError, VoiceInfo

AUTHORISE = "auth:grant"
COSIGN_PREFIX = "cosign:"
VETO_PREFIX = "veto:"
REVOKE_CONFIRM = "revoke:yes"
REVOKE_KEEP = "revoke:no"


def _sender(update: Update, context: Context) -> tuple[Services, Message, Member, Space, Gettext]:
    remember_sender(update, context)
    services = services_of(context)
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    member = membership_of(services.db, user.id)
    assert member is not None, "consent handlers run for members only"
    return services, message, member, get_space(services.db, member.space_id), \
        services.gettext_of(user.id)  # fmt: skip


def _reopened(services: Services, space: Space, actor: int) -> Space:
    """A grant after a revocation opens the space again. The withdrawn consent stays withdrawn
    (its records, tombstone and the deletion stand); the new grant is a record of its own."""
    if space.status != SpaceStatus.REVOKED:
        return space
    services.audit.record(actor, "space.reopened", space=space.id)
    return update_space(services.db, space.id, status=SpaceStatus.ACTIVE.value, closed_at=None)


def _until(services: Services, space: Space) -> str:
    consent = current_consent(services.db, space, services.clock.now())
    return (consent.valid_until or "")[:10] if consent else ""


async def notify_members(
    bot: Bot,
    services: Services,
    space: Space,
    skip: int,
    compose: Callable[[Gettext], str],
    with_next_step: bool = False,
) -> None:
    """Tell every other member something, each in their own language; ``with_next_step`` adds
    what that member can do now: make a greeting once verified, else their own next step (a
    member still to share their phone or say their relation is not told to send a photo)."""
    for member in members_of(services.db, space.id):
        if member.user_id == skip:
            continue
        _ = services.gettext_of(member.user_id)
        text = compose(_)
        if with_next_step and member.verified:
            text = sentences(text, _(
                "You can make a greeting now: send a clear photo of {subject}'s face."
            ).format(subject=space.subject_name))  # fmt: skip
        elif with_next_step:
            text += "\n\n" + verification_step_text(_, member, space)
        # A member who blocked the bot still sees the new state with their next message.
        with contextlib.suppress(TelegramError):
            await bot.send_message(member.user_id, text)


async def ask_for_statement(
    services: Services, message: Message, _: Gettext, member: Member, space: Space, before: str = ""
) -> None:
    """Show the living subject the consent wording and a fresh phrase to read aloud."""
    subject = space.subject_name or ""
    language = services.language_of(member.user_id)
    challenge = issue_challenge(
        services.db, services.clock, member, language,
        lambda code: living_phrase(_, subject, code),
    )  # fmt: skip
    services.audit.record(member.user_id, "consent.challenge_issued", space=space.id)
    wording = living_wording(_, subject, challenge.phrase)
    await message.reply_text(f"{before}\n\n{wording}" if before else wording,
                             reply_markup=ReplyKeyboardRemove())  # fmt: skip


async def consent_command(update: Update, context: Context) -> None:
    services, message, member, space, _ = _sender(update, context)
    now = services.clock.now()
    current = current_consent(services.db, space, now)
    may_renew = renews(space, member)
    renewing = may_renew and renewable(services.db, space, now) is not None
    if current is not None and not renewing:
        text = _("Consent for {subject} is recorded and valid until {date}.").format(
            subject=space.subject_name, date=_until(services, space)
        )
        if may_renew and current.valid_until is not None:
            opens = parse_iso(current.valid_until) - RENEWAL_WINDOW
            text = sentences(text, _("You can renew it from {date}.").format(date=iso(opens)[:10]))
        await message.reply_text(text)
        return
    if member.role == Role.SUBJECT:
        before = ""
        if renewing:
            before = _(
                "Your consent is valid until {date}. Reading this new phrase renews it for a "
                "year from today."
            ).format(date=_until(services, space))
        await ask_for_statement(services, message, _, member, space, before=before)
        return
    if await _pending_shown(services, message, member, space):
        return
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(_("I authorise"),
                                                           callback_data=AUTHORISE)]])  # fmt: skip
    wording = deceased_wording(_, space.subject_name or "", member.relation or "")
    if renewing:
        wording = (
            _(
                "The authorisation is valid until {date}. Authorising again renews it for a year "
                "from today."
            ).format(date=_until(services, space))
            + "\n\n"
            + wording
        )
    await message.reply_text(wording, reply_markup=keyboard)


async def receive_statement(update: Update, context: Context) -> None:
    services, message, member, space, _ = _sender(update, context)
    challenge = open_challenge(services.db, member.user_id)
    if challenge is None:
        await message.reply_text(_("Send /consent to get a phrase to read aloud."))
        return
    if message.forward_origin is not None:
        # Made elsewhere, perhaps long ago or by someone else: not this account reading now.
        services.audit.record(member.user_id, "consent.forwarded_refused", space=space.id)
        why = _(
            "That recording was forwarded from another chat, so it cannot show that you are "
            "reading the phrase now."
        )
        await _ask_to_record(services, message, _, member, space, why)
        return
    if challenge.expired(services.clock.now()):
        services.audit.record(member.user_id, "consent.challenge_expired", space=space.id)
        expired = _(
            "That phrase expired: a phrase must be read within 30 minutes. Here is a new one."
        )
        await ask_for_statement(services, message, _, member, space, before=expired)
        return
    source = (
        message.voice or message.video or message.video_note or message.audio or message.document
    )
    assert source is not None
    fetched = await fetch_checked(
        context,
        message,
        _,
        source.file_id,
        source.file_size,
        lambda path: check_statement(services.analyses.voice, path),
    )
    if fetched is None:
        return
    data, heard = fetched
    if heard.voice is None:
        # Said to the subject, often an elderly person: not the family's voice-sample advice.
        await message.reply_text(
            _(
                "I heard only {heard:.1f} s of you speaking; reading the phrase takes at least "
                "{minimum:.0f} s. Please read it again, all of it, in one voice message:\n\n"
                "{phrase}"
            ).format(heard=heard.seconds, minimum=MIN_STATEMENT_SPEECH_S, phrase=challenge.phrase)
        )
        return
    renewed = current_consent(services.db, space, services.clock.now()) is not None
    media_id = services.vault.put_bytes(data)
    mime_type = getattr(source, "mime_type", None) or "audio/ogg"
    record_media(services.db, services.clock, media_id, MediaKind.STATEMENT, mime_type,
                 len(data), member.user_id, space.id)  # fmt: skip
    grant = append_record(
        services.db, services.clock, space, RecordKind.GRANT, member.user_id,
        Method.LIVING_STATEMENT, relation="self",
        wording=living_wording(_, space.subject_name or "", challenge.phrase),
        language=challenge.language, evidence_commitment=services.vault.commitment(data),
    )  # fmt: skip
    services.db.table("consent_evidence").insert({"consent_id": grant.id, "media_id": media_id})
    space = _reopened(services, space, member.user_id)
    close_challenge(services.db, challenge)
    update_member(services.db, member, status=MemberStatus.VERIFIED.value,
                  verified_at=grant.created_at)  # fmt: skip
    services.audit.record(member.user_id, "consent.granted", space=space.id, consent=grant.id,
                          method=Method.LIVING_STATEMENT.value)  # fmt: skip
    await message.reply_text(
        _(
            "Thank you, {subject}. Your consent is recorded and valid until {date}. "
            "Send /revoke at any time to withdraw it."
        ).format(subject=space.subject_name, date=_until(services, space))
    )
    if renewed:  # greetings went on all along: the family learns only the new date
        await notify_members(context.bot, services, space, member.user_id, lambda _: _(
            "{subject} renewed their consent: greetings can be made until {date}.").format(
            subject=space.subject_name, date=_until(services, space)))  # fmt: skip
        return
    await notify_members(context.bot, services, space, member.user_id, lambda _: _(
        "{subject} has consented.").format(subject=space.subject_name),
        with_next_step=True)  # fmt: skip


async def statement_typed(update: Update, context: Context) -> None:
    """The phrase typed instead of read aloud, often by someone who has never sent a voice
    message."""
    services, message, member, space, _ = _sender(update, context)
    why = _("I need to hear you read it: typing cannot show that it is you.")
    await _ask_to_record(services, message, _, member, space, why)


async def _ask_to_record(
    services: Services, message: Message, _: Gettext, member: Member, space: Space, why: str
) -> None:
    """Why that message cannot be the consent, how to record a voice message, and the phrase
    again (a new one if it has expired)."""
    how = sentences(
        why,
        _(
            "Hold the microphone button at the right of the message box while you read the "
            "sentence, then let go to send it."
        ),
    )
    challenge = open_challenge(services.db, member.user_id)
    if challenge is None or challenge.expired(services.clock.now()):
        await ask_for_statement(services, message, _, member, space, before=how)
        return
    await message.reply_text(f"{how}\n\n{challenge.phrase}")


@dataclass(frozen=True)
class Statement:
    """What was heard in a consent recording: its speech, or how little there was."""

    seconds: float  # speech heard (the whole recording when shorter than a voice sample)
    voice: VoiceInfo | None  # None when too little to hold the phrase


async def check_statement(
    check_voice: Callable[[Path], Awaitable[VoiceInfo]], path: Path
) -> Statement:
    """``check_voice`` (the analysis workers'), with too short a recording a verdict rather than
    an error: the reply to the subject repeats the phrase, which feedback.py's wording for voice
    samples cannot."""
    try:
        voice = await check_voice(path)
    except IngestError as error:
        if error.code == "too_short":
            return Statement(float(error.details["seconds"]), None)
        if error.code == "too_little_speech":
            return Statement(float(error.details["speech_s"]), None)
        raise
    if voice.speech_s < MIN_STATEMENT_SPEECH_S:
        return Statement(voice.speech_s, None)
    return Statement(voice.speech_s, voice)


async def authorise_pressed(update: Update, context: Context) -> None:
    services, message, member, space, _ = _sender(update, context)
    query = update.callback_query
    assert query is not None
    await query.answer()
    await remove_buttons(query)
    now = services.clock.now()
    current = current_consent(services.db, space, now)
    if current is not None and renewable(services.db, space, now) is None:
        await message.reply_text(_("That choice has expired. Send /start to begin again."))
        return
    if await _pending_shown(services, message, member, space):
        return
    grant = append_record(
        services.db, services.clock, space, RecordKind.GRANT, member.user_id,
        Method.NEXT_OF_KIN, relation=member.relation,
        wording=deceased_wording(_, space.subject_name or "", member.relation or ""),
        language=services.language_of(member.user_id),
        proof_refs=[member.proof_media_id] if member.proof_media_id else [],
    )  # fmt: skip
    space = _reopened(services, space, member.user_id)
    services.audit.record(member.user_id, "consent.granted", space=space.id, consent=grant.id,
                          method=Method.NEXT_OF_KIN.value)  # fmt: skip
    await _report_signatures(context.bot, services, space, grant.id, member,
                             renewed=current is not None)  # fmt: skip


async def _pending_shown(
    services: Services, message: Message, member: Member, space: Space
) -> bool:
    """Whether an authorisation was waiting for co-signers, and ``member`` was shown it: to
    co-sign or veto, or, having signed it, how many signatures it still needs. A relative
    verified after it was given was offered an authorisation of their own, which replaced it:
    the family went round twice."""
    pending = awaiting_cosigners(services.db, space, services.clock.now())
    if pending is None:
        return False
    if member.user_id in signatures(services.db, pending):
        await message.reply_text(_missing_text(services, space, pending, member))
    else:
        text, keyboard = _cosign_request(services, member.user_id, pending)
        await message.reply_text(text, reply_markup=keyboard)
    return True


def _missing_text(services: Services, space: Space, grant: ConsentRecord, signer: Member) -> str:
    """How many must still sign (and who brings them, ``cosign_step_text``); for a renewal,
    also that greetings go on meanwhile."""
    _ = services.gettext_of(signer.user_id)
    text = cosign_step_text(_, services.db, space, grant, signer)
    if current_consent(services.db, space, services.clock.now()) is None:
        return text
    return sentences(text, _(
        "Until then the current authorisation stands: greetings can be made until {date}."
    ).format(date=_until(services, space)))  # fmt: skip


async def _report_signatures(
    bot: Bot,
    services: Services,
    space: Space,
    grant_id: str,
    signer: Member,
    renewed: bool = False,
) -> None:
    """Everyone told when the authorisation is complete (only the new date when it renewed one
    still current: greetings went on all along), else who must still co-sign."""
    grant = get_record(services.db, grant_id)
    _ = services.gettext_of(signer.user_id)
    current = current_consent(services.db, space, services.clock.now())
    if current is not None and current.id == grant.id:
        await bot.send_message(signer.user_id, _("Your authorisation is recorded."))

        def told(_: Gettext) -> str:
            if renewed:
                text = _("The authorisation of greetings from {subject} was renewed: greetings "
                         "can be made until {date}.")  # fmt: skip
            else:
                text = _("Greetings from {subject} are authorised until {date}.")
            return text.format(subject=space.subject_name, date=_until(services, space))

        await notify_members(bot, services, space, -1, told, with_next_step=not renewed)
        return
    await bot.send_message(signer.user_id, _missing_text(services, space, grant, signer))
    for relative in members_of(services.db, space.id):
        if not relative.verified or relative.user_id in signatures(services.db, grant):
            continue
        text, keyboard = _cosign_request(services, relative.user_id, grant)
        with contextlib.suppress(TelegramError):
            await bot.send_message(relative.user_id, text, reply_markup=keyboard)


def _cosign_request(
    services: Services, relative_id: int, grant: ConsentRecord
) -> tuple[str, InlineKeyboardMarkup]:
    """The request names who asks, and shows the authorisation in the relative's own language:
    a grandson who reads English is not asked to sign a paragraph of Chinese."""
    _ = services.gettext_of(relative_id)
    keyboard = InlineKeyboardMarkup([[
        InlineKeyboardButton(_("Co-sign"), callback_data=COSIGN_PREFIX + grant.id),
        InlineKeyboardButton(_("Veto"), callback_data=VETO_PREFIX + grant.id),
    ]])  # fmt: skip
    text = _("{name} ({relation}) asks you to co-sign this authorisation:").format(
        name=first_name(services.db, grant.actor_id) or "…", relation=grant.relation or "…"
    )
    text = f"{text}\n\n{_cosigned_wording(_, grant)}"
    current = current_consent(services.db, get_space(services.db, grant.space_id),
                              services.clock.now())  # fmt: skip
    if current is not None and current.id != grant.id:
        text += "\n\n" + _(
            "It renews the authorisation that allows greetings until {date}. A veto stops "
            "greetings at once."
        ).format(date=(current.valid_until or "")[:10])
    return text, keyboard


def _cosigned_wording(_: Gettext, grant: ConsentRecord) -> str:
    return deceased_wording(_, grant.subject_name or "", grant.relation or "")


async def cosign_or_veto_pressed(update: Update, context: Context) -> None:
    services, message, member, space, _ = _sender(update, context)
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    await remove_buttons(query)
    veto = query.data.startswith(VETO_PREFIX)
    grant_id = query.data.removeprefix(VETO_PREFIX).removeprefix(COSIGN_PREFIX)
    grant = latest_grant(services.db, space.id)
    if grant is None or grant.id != grant_id or vetoed(services.db, grant) or (
            member.user_id in signatures(services.db, grant)):  # fmt: skip
        await message.reply_text(_("That choice has expired. Send /start to begin again."))
        return
    kind = RecordKind.VETO if veto else RecordKind.COSIGN
    renewing = current_consent(services.db, space, services.clock.now()) is not None
    append_record(services.db, services.clock, space, kind, member.user_id,
                  Method.NEXT_OF_KIN, refers_to=grant.id, relation=member.relation,
                  wording=_cosigned_wording(_, grant),
                  language=services.language_of(member.user_id))  # fmt: skip
    services.audit.record(member.user_id, f"consent.{kind.value}", space=space.id,
                          consent=grant.id)  # fmt: skip
    if veto:
        await message.reply_text(_("Your veto is recorded. No greetings will be made."))
        await notify_members(context.bot, services, space, member.user_id, lambda _: _(
            "A verified relative vetoed the authorisation for {subject}. No greetings will be "
            "made.").format(subject=space.subject_name))  # fmt: skip
        return
    await _report_signatures(context.bot, services, space, grant.id, member,
                             renewed=renewing)  # fmt: skip


# Withdrawal


async def revoke_command(update: Update, context: Context) -> None:
    _services, message, _member, space, _ = _sender(update, context)
    keyboard = InlineKeyboardMarkup([
        [InlineKeyboardButton(_("Withdraw consent and delete"), callback_data=REVOKE_CONFIRM)],
        [InlineKeyboardButton(_("Cancel"), callback_data=REVOKE_KEEP)],
    ])  # fmt: skip
    await message.reply_text(
        _(
            "Withdrawing consent for {subject} stops all greetings at once, including any "
            "being made now, and deletes every photo, video, voice note and recording of "
            "{subject}. This cannot be undone."
        ).format(subject=space.subject_name),
        reply_markup=keyboard,
    )


def receipt_text(_: Gettext, receipt: Receipt) -> str:
    """Every kind of the subject's data with its count, zero included: what was looked for. Proof
    documents only where some were deleted: withdrawing consent never deletes them, and a line
    "Proof documents: 0" read as if the death certificate a relative sent were gone."""
    counts = receipt.files
    lines = [
        _("Photos: {count}").format(count=counts[MediaKind.PORTRAIT]),
        _("Video clips: {count}").format(count=counts[MediaKind.FOOTAGE]),
        _("Voice notes: {count}").format(count=counts[MediaKind.VOICE]),
        _("Voice profiles learnt from them: {count}").format(count=counts[MediaKind.PROFILE]),
        _("Consent recordings: {count}").format(count=counts[MediaKind.STATEMENT]),
        *(
            [_("Proof documents: {count}").format(count=counts[MediaKind.PROOF])]
            if counts[MediaKind.PROOF]
            else []
        ),
        _("Greeting videos: {count}").format(count=counts[MediaKind.VIDEO]),
        _("Telegram copies forgotten: {count}").format(count=receipt.telegram_copies),
        _("Sent messages deleted: {count}").format(count=receipt.messages_deleted),
        _("Greetings stopped while being made: {count}").format(count=receipt.renders_stopped),
    ]
    return "\n".join("• " + line for line in lines)


async def revoke_asked(update: Update, context: Context) -> None:
    """The button under the subject's notice of a greeting: /revoke's question, with its Cancel."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    await revoke_command(update, context)


def proofs_kept_text(_: Gettext) -> str:
    return "\n\n" + _(
        "The proof documents relatives sent to be verified are kept: each relative can delete "
        "their own with /delete_me."
    )


async def revoke_kept(update: Update, context: Context) -> None:
    """Cancel under /revoke's question: the question shows the answer, nothing changes."""
    query = update.callback_query
    assert query is not None
    _services, _message, _member, space, _ = _sender(update, context)
    await query.answer()
    await query.edit_message_text(
        _("Nothing was withdrawn: consent for {subject} stays as it was.").format(
            subject=space.subject_name
        )
    )


async def revoke_confirmed(update: Update, context: Context) -> None:
    services, message, member, space, _ = _sender(update, context)
    query = update.callback_query
    assert query is not None
    await query.answer()
    await remove_buttons(query)
    receipt = await revoke(services, context.bot, space.id, member.user_id)
    await message.reply_text(
        _(
            "Consent for {subject} is withdrawn. Deletion receipt:\n{receipt}\n\n"
            "Kept: a record that consent was given and withdrawn, with no face or voice data."
        ).format(subject=space.subject_name, receipt=receipt_text(_, receipt))
        + (proofs_kept_text(_) if receipt.proofs_kept else "")
    )
    await tell_withdrawn(context.bot, services, space, member.user_id)


async def tell_withdrawn(bot: Bot, services: Services, space: Space, withdrawn_by: int) -> None:
    """Everyone else in the space learns that consent was withdrawn (by /revoke, or by the
    subject leaving), and how the family can start over."""
    space = get_space(services.db, space.id)
    await notify_members(bot, services, space, withdrawn_by, lambda _: sentences(_(
        "Consent for {subject} was withdrawn. Every photo, voice note and video of {subject} "
        "has been deleted, and no more greetings can be made.").format(
        subject=space.subject_name), start_over_text(_, services.db, space)))  # fmt: skip
