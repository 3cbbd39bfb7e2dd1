"""Creating a family space, inviting relatives and the subject, and verifying each member.

Every step is saved in the database as it happens (the space's setup step, the member's
verification status), so the bot always knows what to ask next, even after a restart.
"""

import json

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)

from bot.clock import iso
from bot.family.consent import current_consent
from bot.family.guidance import consent_step_text, verification_step_text
from bot.family.likeness import SPOKEN_LANGUAGES
from bot.family.spaces import (
    MAX_RELATION_CHARS,
    MAX_SUBJECT_NAME_CHARS,
    InviteProblem,
    InviteRefused,
    Member,
    MemberStatus,
    Role,
    SetupStep,
    Space,
    SpaceStatus,
    SubjectStatus,
    abandon_setup,
    create_invite,
    create_space,
    get_space,
    membership_of,
    redeem_invite,
    subject_joined,
    update_member,
    update_space,
)
from bot.flows.admin import send_for_review
from bot.flows.basics import Context, bounded_text, caller, remove_buttons, show_answer
from bot.flows.consent import ask_for_statement, notify_members
from bot.flows.uploads import fetch_checked
from bot.i18n import Gettext
from bot.services import Services, services_of
from bot.storage import MediaKind
from bot.storage.media import record_media
from bot.storage.users import first_name

SUBJECT_STATUS_PREFIX = "space:"
SUBJECT_LANGUAGE_PREFIX = "slang:"
LANGUAGES_DONE = SUBJECT_LANGUAGE_PREFIX + "done"
INVITE_PREFIX = "inv:"
PROOF_PREFIX = "proof:"  # "is this photo of a face the proof document?" yes / no
_PENDING_PROOF = "pending_proof"


def _contact_keyboard(_: Gettext) -> ReplyKeyboardMarkup:
    button = KeyboardButton(_("Share my phone number"), request_contact=True)
    return ReplyKeyboardMarkup([[button]], one_time_keyboard=True, resize_keyboard=True)


async def send_next_step(
    message: Message, _: Gettext, member: Member, space: Space, before: str = "", after: str = ""
) -> None:
    """Say what this member has to do next, with the contact button when that is the step.

    Whatever else there is to say goes into the same message (``before``/``after``): Telegram
    allows one message a second per chat, so every extra message is a wait for the member.
    """
    markup: ReplyKeyboardMarkup | ReplyKeyboardRemove = (
        _contact_keyboard(_) if member.status == MemberStatus.CONTACT else ReplyKeyboardRemove()
    )
    parts = (before, verification_step_text(_, member, space), after)
    await message.reply_text("\n\n".join(part for part in parts if part), reply_markup=markup)


def invite_link(context: Context, payload: str) -> str:
    return f"https://t.me/{context.bot.username}?start={payload}"


# Creating a space


async def new_space(update: Update, context: Context) -> None:
    services, message, user_id, _ = caller(update, context)
    existing = membership_of(services.db, user_id)
    if existing is not None:
        space = get_space(services.db, existing.space_id)
        await message.reply_text(
            _(
                "You already belong to the family space for {subject}. A Telegram account can "
                "belong to one family space; send /delete_me to leave it first."
            ).format(subject=space.subject_name or "…")
        )
        return
    space = create_space(services.db, services.clock, user_id, services.settings.deceased_cosigners)
    services.audit.record(user_id, "space.created", space=space.id)
    await message.reply_text(
        _(
            "Let's create a family space. Whose greetings will it make? "
            "Type their name as the family calls them, for example: Grandpa."
        )
    )


async def cancel_setup(update: Update, context: Context) -> bool:
    """/cancel while creating a space: the half-made space is forgotten. False when the sender
    is setting up none, so /cancel means their greeting instead."""
    services, message, user_id, _ = caller(update, context)
    member = membership_of(services.db, user_id)
    if member is None or member.role != Role.OWNER:
        return False
    if not abandon_setup(services.db, get_space(services.db, member.space_id)):
        return False
    services.audit.record(user_id, "space.abandoned", space=member.space_id)
    await message.reply_text(
        _("I have stopped creating the family space. Send /newspace to start again."),
        reply_markup=ReplyKeyboardRemove(),
    )
    return True


async def subject_name_given(update: Update, context: Context, space: Space) -> None:
    """The subject's name, typed when asked or again once the next question shows it (a typo
    seen there): the new name replaces it and the question is asked with it. Typed at that
    question, "Living" or "Deceased" is its answer, not a name."""
    services, message, _user_id, _ = caller(update, context)
    answers = {_("Living").casefold(): SubjectStatus.LIVING,
               _("Deceased").casefold(): SubjectStatus.DECEASED}  # fmt: skip
    answer = answers.get((message.text or "").strip().casefold())
    if space.setup_step == SetupStep.STATUS and answer is not None:
        await _ask_languages(message, services, space, answer, _)
        return
    name = await bounded_text(
        message, MAX_SUBJECT_NAME_CHARS, _("Please type a name of at most {limit} characters.")
    )
    if name is None:
        return
    space = update_space(
        services.db, space.id, subject_name=name, setup_step=SetupStep.STATUS.value
    )
    await ask_setup_step(message, space, _)


async def ask_setup_step(message: Message, space: Space, _: Gettext) -> None:
    """The set-up's current question, with its buttons as they stand: asked as the set-up goes
    on, and again by /start or after /language (in the language chosen)."""
    if space.setup_step == SetupStep.NAME:
        await message.reply_text(_("Whose greetings will the family space make? Type their name "
                                   "as the family calls them, for example: Grandpa."))  # fmt: skip
    elif space.setup_step == SetupStep.STATUS:
        keyboard = InlineKeyboardMarkup([
            [InlineKeyboardButton(_("Living"), callback_data=SUBJECT_STATUS_PREFIX + "living")],
            [InlineKeyboardButton(_("Deceased"),
                                  callback_data=SUBJECT_STATUS_PREFIX + "deceased")],
        ])  # fmt: skip
        await message.reply_text(
            _("Is {subject} living or deceased?").format(subject=space.subject_name),
            reply_markup=keyboard,
        )
    else:
        await message.reply_text(
            _("Which languages does {subject} speak? Choose one or more, then press Done.")
            .format(subject=space.subject_name),
            reply_markup=_languages_keyboard(_, space.languages),
        )  # fmt: skip


def space_in_setup(services: Services, user_id: int, step: SetupStep) -> Space | None:
    member = membership_of(services.db, user_id)
    if member is None or member.role != Role.OWNER:
        return None
    space = get_space(services.db, member.space_id)
    return space if space.status == SpaceStatus.SETUP and space.setup_step == step else None


def spoken_language_name(_: Gettext, code: str) -> str:
    names = {"cmn": _("Mandarin"), "yue": _("Cantonese"), "en": _("English")}
    return names[code]


def _languages_keyboard(_: Gettext, chosen: list[str]) -> InlineKeyboardMarkup:
    rows = [
        [
            InlineKeyboardButton(
                ("✓ " if language in chosen else "") + spoken_language_name(_, language),
                callback_data=SUBJECT_LANGUAGE_PREFIX + language,
            )
        ]
        for language in SPOKEN_LANGUAGES
    ]
    rows.append([InlineKeyboardButton(_("Done"), callback_data=LANGUAGES_DONE)])
    return InlineKeyboardMarkup(rows)


async def subject_status_chosen(update: Update, context: Context) -> None:
    services, message, user_id, _ = caller(update, context)
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    space = space_in_setup(services, user_id, SetupStep.STATUS)
    status = query.data.removeprefix(SUBJECT_STATUS_PREFIX)
    if space is None or status not in (SubjectStatus.LIVING, SubjectStatus.DECEASED):
        await message.reply_text(_("That choice has expired. Send /start to begin again."))
        return
    await show_answer(query)
    await _ask_languages(message, services, space, SubjectStatus(status), _)


async def _ask_languages(
    message: Message, services: Services, space: Space, status: SubjectStatus, _: Gettext
) -> None:
    space = update_space(services.db, space.id, subject_status=status.value,
                         setup_step=SetupStep.LANGUAGES.value)  # fmt: skip
    await ask_setup_step(message, space, _)


async def subject_language_chosen(update: Update, context: Context) -> None:
    services, message, user_id, _ = caller(update, context)
    query = update.callback_query
    assert query is not None and query.data is not None
    space = space_in_setup(services, user_id, SetupStep.LANGUAGES)
    if space is None:
        await query.answer()
        await message.reply_text(_("That choice has expired. Send /start to begin again."))
        return
    chosen = space.languages
    if query.data != LANGUAGES_DONE:
        language = query.data.removeprefix(SUBJECT_LANGUAGE_PREFIX)
        if language in SPOKEN_LANGUAGES:
            chosen = [lang for lang in SPOKEN_LANGUAGES if (lang in chosen) != (lang == language)]
            update_space(services.db, space.id, subject_languages=json.dumps(chosen))
        await query.answer()
        await query.edit_message_reply_markup(reply_markup=_languages_keyboard(_, chosen))
        return
    if not chosen:
        await query.answer(_("Choose at least one language."), show_alert=True)
        return
    await query.answer()
    await remove_buttons(query)
    space = update_space(services.db, space.id, status=SpaceStatus.ACTIVE.value, setup_step=None)
    services.audit.record(user_id, "space.activated", space=space.id)
    ready = _("The family space for {subject} is ready.").format(subject=space.subject_name)
    # The subject's link lets someone into the family's space: it is handed out only once the
    # owner's own phone number is known (``receive_contact``), as /invite's links are.
    later = "" if space.deceased else _(
        "Once your number is confirmed, I will give you the link that lets {subject} consent."
    ).format(subject=space.subject_name)  # fmt: skip
    owner = membership_of(services.db, user_id)
    assert owner is not None
    await send_next_step(message, _, owner, space, before=ready, after=later)


# Invitations


def _invite_text(
    context: Context, services: Services, _: Gettext, space: Space, role: Role, user_id: int
) -> str:
    """A fresh single-use link, with what it is for and how long it works."""
    payload = create_invite(services.db, services.clock, space, role, user_id)
    services.audit.record(user_id, "invite.created", space=space.id, role=role.value)
    link = invite_link(context, payload)
    if role == Role.SUBJECT:
        text = _(
            "Send this link to {subject}. Opening it lets them consent, personally, from their "
            "own Telegram account; it works once, within 48 hours:\n{link}"
        )
    else:
        text = _(
            "Send this link to one relative. It lets them join the family space for {subject}; "
            "it works once, within 48 hours:\n{link}"
        )
    return text.format(subject=space.subject_name, link=link)


def _awaits_subject(services: Services, space: Space) -> bool:
    """A living subject who has not joined yet: they can still be sent a link to consent."""
    return not space.deceased and not subject_joined(services.db, space.id)


async def invite(update: Update, context: Context) -> None:
    services, message, user_id, _ = caller(update, context)
    member = membership_of(services.db, user_id)
    assert member is not None, "guarded by Permission.INVITE"
    space = get_space(services.db, member.space_id)
    buttons = []
    if space.status == SpaceStatus.ACTIVE:  # else closed, open only to its subject's return
        buttons.append(
            [InlineKeyboardButton(_("A relative"), callback_data=INVITE_PREFIX + "member")]
        )
    if _awaits_subject(services, space):
        label = _("{subject} themself, to consent").format(subject=space.subject_name)
        buttons.append([InlineKeyboardButton(label, callback_data=INVITE_PREFIX + "subject")])
    await message.reply_text(
        _("Whom do you want to invite?"), reply_markup=InlineKeyboardMarkup(buttons)
    )


async def invite_chosen(update: Update, context: Context) -> None:
    services, message, user_id, _ = caller(update, context)
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    member = membership_of(services.db, user_id)
    assert member is not None, "guarded by Permission.INVITE"
    space = get_space(services.db, member.space_id)
    role = Role.SUBJECT if query.data == INVITE_PREFIX + "subject" else Role.MEMBER
    if (role == Role.SUBJECT and not _awaits_subject(services, space)) or (
        role == Role.MEMBER and space.status != SpaceStatus.ACTIVE
    ):
        await message.reply_text(_("That choice has expired. Send /start to begin again."))
        return
    await show_answer(query)
    await message.reply_text(_invite_text(context, services, _, space, role, user_id))


def _refusal_text(_: Gettext, problem: InviteProblem) -> str:
    texts = {
        InviteProblem.MALFORMED: _(
            "This invite link is not valid. Please ask your relative for a new link."
        ),
        InviteProblem.UNKNOWN: _(
            "This invite link is not valid. Please ask your relative for a new link."
        ),
        InviteProblem.USED: _(
            "This invite link has already been used; each link works only once. "
            "Please ask your relative for a new one."
        ),
        InviteProblem.EXPIRED: _(
            "This invite link has expired: links work for 48 hours. "
            "Please ask your relative for a new one."
        ),
        InviteProblem.ALREADY_MEMBER: _(
            "You already belong to a family space. A Telegram account can belong to one family "
            "space; send /delete_me to leave it first."
        ),
        InviteProblem.SPACE_CLOSED: _("This family space is closed; nobody can join it now."),
        InviteProblem.SUBJECT_TAKEN: _(
            "Someone has already accepted the invitation meant for the person in the greetings."
        ),
    }
    return texts[problem]


async def join(update: Update, context: Context, payload: str) -> None:
    services, message, user_id, _ = caller(update, context)
    try:
        member = redeem_invite(services.db, services.clock, payload, user_id)
    except InviteRefused as refused:
        services.audit.record(user_id, "invite.refused", reason=refused.problem.value,
                              space=refused.space_id)  # fmt: skip
        await message.reply_text(_refusal_text(_, refused.problem))
        return
    space = get_space(services.db, member.space_id)
    services.audit.record(user_id, "member.joined", space=space.id, role=member.role.value)
    if member.role == Role.SUBJECT:
        welcome = _(
            "Hello {subject}. Your family invited you to Tuanyuan, which makes festival greeting "
            "videos in your face and voice. Nothing is made without your consent, and you can "
            "withdraw it at any time."
        )
    else:
        welcome = _("Welcome to the family space for {subject}.")
    # The others hear first: once the newcomer is welcomed, the news is already out.
    name = first_name(services.db, user_id) or "…"

    def news(_: Gettext) -> str:
        if member.role == Role.SUBJECT:
            # Named as the family calls them (their Telegram name may mean nothing to the
            # others), and with what comes next: the consent they are waiting for.
            return _(
                "{subject} opened your invite link (on Telegram: {name}). I will tell you as "
                "soon as {subject} has consented."
            ).format(name=name, subject=space.subject_name)
        return _("{name} joined the family space for {subject}.").format(
            name=name, subject=space.subject_name
        )

    await notify_members(context.bot, services, space, user_id, news)
    await send_next_step(
        message, _, member, space, before=welcome.format(subject=space.subject_name)
    )


# Verification


async def receive_contact(update: Update, context: Context) -> None:
    services, message, user_id, _ = caller(update, context)
    contact = message.contact
    assert contact is not None
    member = membership_of(services.db, user_id)
    if member is None or member.status != MemberStatus.CONTACT:
        await message.reply_text(_("I did not ask for a contact. Send /help to see what I need."))
        return
    space = get_space(services.db, member.space_id)
    if contact.user_id != user_id:
        services.audit.record(user_id, "verify.contact_refused", space=space.id)
        await message.reply_text(
            _(
                "That is not your own contact: a forwarded contact does not prove who you are. "
                "Please press the button below to share your own phone number."
            ),
            reply_markup=_contact_keyboard(_),
        )
        return
    next_status = MemberStatus.STATEMENT if member.role == Role.SUBJECT else MemberStatus.RELATION
    member = update_member(services.db, member, phone_number=contact.phone_number,
                           status=next_status.value)  # fmt: skip
    services.audit.record(user_id, "verify.phone", space=space.id)
    confirmed = _("Thank you, your phone number is confirmed.")
    if member.role == Role.OWNER and _awaits_subject(services, space):
        invitation = _invite_text(context, services, _, space, Role.SUBJECT, user_id)
        confirmed += "\n\n" + invitation
    if member.role == Role.SUBJECT:
        await ask_for_statement(services, message, _, member, space, before=confirmed)
    else:
        await send_next_step(message, _, member, space, before=confirmed)


async def relation_given(update: Update, context: Context, member: Member) -> None:
    services, message, user_id, _ = caller(update, context)
    relation = await bounded_text(
        message,
        MAX_RELATION_CHARS,
        _("Please describe your relation in at most {limit} characters."),
    )
    if relation is None:
        return
    space = get_space(services.db, member.space_id)
    if space.deceased:
        member = update_member(services.db, member, relation=relation,
                               status=MemberStatus.PROOF.value)  # fmt: skip
    else:
        # A living subject vouches for the family through their own consent; no document.
        member = update_member(services.db, member, relation=relation,
                               status=MemberStatus.VERIFIED.value,
                               verified_at=iso(services.clock.now()))  # fmt: skip
    services.audit.record(user_id, "verify.relation", space=space.id)
    ready = _ready_text(services, _, space) if member.verified else ""
    await send_next_step(message, _, member, space, after=ready)


def _ready_text(services: Services, _: Gettext, space: Space) -> str:
    now = services.clock.now()
    if current_consent(services.db, space, now) is not None:
        return _("You can make a greeting now: send a clear photo of {subject}'s face.").format(
            subject=space.subject_name
        )
    return consent_step_text(_, services.db, space, now)


async def receive_proof(update: Update, context: Context, member: Member) -> None:
    """The proof step's file. A photo showing a face is more likely a portrait sent too early
    than a certificate: the member is asked before it goes to the moderators."""
    services, message, _user_id, _ = caller(update, context)
    source = message.photo[-1] if message.photo else message.document
    assert source is not None
    fetched = await fetch_checked(
        context, message, _, source.file_id, source.file_size, services.analyses.proof
    )
    if fetched is None:
        return
    data, proof = fetched
    if proof.faces:
        # Only Telegram's file id is held, in memory, until the answer: nothing is stored.
        assert context.user_data is not None
        context.user_data[_PENDING_PROOF] = source.file_id
        answers = [(_("Yes, it is the proof"), "yes"), (_("No, it was a photo"), "no")]
        keyboard = [[InlineKeyboardButton(text, callback_data=PROOF_PREFIX + answer)]
                    for text, answer in answers]  # fmt: skip
        await message.reply_text(
            _("This photo shows a face. Is it the proof document?"),
            reply_markup=InlineKeyboardMarkup(keyboard),
        )
        return
    await _keep_proof(context, message, member, data, proof.mime_type)


async def proof_answered(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None and context.user_data is not None
    services, message, user_id, _ = caller(update, context)
    await query.answer()
    member = membership_of(services.db, user_id)
    file_id = context.user_data.pop(_PENDING_PROOF, None)
    if member is None or member.status != MemberStatus.PROOF or file_id is None:
        await query.edit_message_text(_("That choice has expired. Please send the document again."))
        return
    space = get_space(services.db, member.space_id)
    if query.data.removeprefix(PROOF_PREFIX) != "yes":
        await query.edit_message_text(_("No, it was a photo: I did not keep it."))
        await send_next_step(message, _, member, space)
        return
    await query.edit_message_text(_("Yes, it is the proof."))
    fetched = await fetch_checked(context, message, _, file_id, None, services.analyses.proof)
    if fetched is not None:
        data, proof = fetched
        await _keep_proof(context, message, member, data, proof.mime_type)


async def _keep_proof(
    context: Context, message: Message, member: Member, data: bytes, mime_type: str
) -> None:
    services = services_of(context)
    _ = services.gettext_of(member.user_id)
    media_id = services.vault.put_bytes(data)
    record_media(services.db, services.clock, media_id, MediaKind.PROOF, mime_type, len(data),
                 member.user_id, member.space_id)  # fmt: skip
    member = update_member(services.db, member, proof_media_id=media_id,
                           status=MemberStatus.REVIEW.value, review_reason=None)  # fmt: skip
    space = get_space(services.db, member.space_id)
    services.audit.record(member.user_id, "verify.proof_sent", space=space.id)
    await message.reply_text(
        _("Thank you. A moderator will review your document; I will tell you the outcome.")
    )
    await send_for_review(context.bot, services, member, space)
