"""The authorisation matrix: every command and button the bot knows, pressed by every role.

Three families live in one bot world: A (a living subject who consented, the owner, a verified
relative and one who only opened a link), B (a deceased subject, a relative verified by a
moderator who authorised and ordered a greeting now waiting for moderation, the owner's proof
waiting for review) and C (a living subject who only opened the link). The admin chat is a
group, so the moderator is tried there, in their private chat and in another group. Buttons are
pressed with forged data naming family B's order, grant and proof, as a modified client would.

:data:`MATRIX` says, for each (action, role), what the person notices: a refusal in their
language (and then nothing changed in the database), or the handler's own answer. Every
command and button prefix the application registers must have its row, with every role. For
every cell the replies are read up to a marker message sent after the action (one chat's
updates are handled in order), and none may name another family's subject, phone numbers or
files.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from telegram.ext import AIORateLimiter, CallbackQueryHandler, CommandHandler

from bot.app import build_application, polling
from bot.family.spaces import SpaceStatus, get_space, membership_of
from bot.flows.basics import help_text
from bot.i18n import gettext_for, language_from_telegram
from bot.orders import REJECTION_REASONS
from bot.sandbox import BotApiStandIn, SandboxClient, SandboxUser, SentMessage
from bot.storage.orders import orders_where
from tests.auxil.bot import ADMIN, BotWorld, FakeClock, settings_for
from tests.auxil.family import (
    PDF_PROOF,
    confirm,
    create_space,
    living_family,
    phone_of,
    prepare_order,
    relative_invite,
    share_own_phone,
    subject_invite,
    verify_relative,
)

ADMIN_GROUP, OTHER_GROUP = -900, -700
OWNER_A = SandboxUser(8101, "Mei", language_code="zh-hant")
SUBJECT_A = SandboxUser(8102, "Grandpa Lin", language_code="zh-hant")
MEMBER_A = SandboxUser(8103, "Ming", language_code="zh-hans")
UNVERIFIED_A = SandboxUser(8104, "Hui", language_code="en")
OWNER_B = SandboxUser(8201, "Ana", language_code="en")
KIN_B = SandboxUser(8202, "Bo", language_code="zh-hant")
OWNER_C = SandboxUser(8301, "Jun", language_code="en")
SUBJECT_C = SandboxUser(8302, "Uncle Wu", language_code="en")
STRANGER = SandboxUser(8401, "Eve", language_code="en")
MARKER = SandboxUser(8501, "Marker", language_code="zh-hans")  # says the marker in groups
SUBJECT_NAMES = {"A": "Grandpa Lin", "B": "Nana Chen", "C": "Uncle Wu"}

# Refusals (the exact words a person reads)
NOT_MEMBER = (
    "Only verified members of a family space can do this. Send /newspace to create a space for "
    "your loved one, or open the invite link a relative sent you."
)
NOT_ADMIN = "This command is only for Tuanyuan's moderators."
NOT_OWNER = "Only the person who created this family space can invite others."
# Followed by how the subject does it: in their own chat once they have joined (as here), else
# through a link sent with /invite (tests/test_family_trust.py).
NOT_SUBJECT = "Only {subject} can give or withdraw their consent, from their own Telegram account."
LIVING = (
    "Only relatives of someone who has died authorise greetings. {subject} gives consent "
    "personally, by reading a phrase aloud."
)
SHARE_PHONE = (
    "To verify you, please share your phone number with the button below. "
    "It must be the number of this Telegram account."
)
OTHER_FAMILY = "Only verified members of this greeting's family can get its original file."
GO_PRIVATE = (
    "I only talk about your family and your greetings in a private chat, where nobody else "
    "reads along. Tap below to write to me there."
)
ADMIN_CHAT_ONLY = "Moderation works only in the moderators' chat."
# What the handlers answer to a press they cannot act on
EXPIRED = "That choice has expired. Send /start to begin again."
MOVED_ON = "This greeting has moved on: send /orders to see where it is."
ANSWERED = "This invitation has already been answered."
MARKER_TEXT = "Which language should I use?"  # /language: a keyboard to press forged data on
ADMIN_LINK = "Your link to the admin web. It works once, for 5 minutes, and only for you:\n{link}"
REVIEW = "Proof documents waiting for review: {count}"
NEW_SPACE = (
    "Let's create a family space. Whose greetings will it make? Type their name as the family "
    "calls them, for example: Grandpa."
)
AUTHZ_REFUSALS = (NOT_MEMBER, NOT_ADMIN, NOT_OWNER, NOT_SUBJECT, LIVING, SHARE_PHONE,
                  OTHER_FAMILY, GO_PRIVATE, ADMIN_CHAT_ONLY)  # fmt: skip


@dataclass(frozen=True)
class Words:
    """A message id in the reader's language, ``values`` filled in, read up to the first
    placeholder left open."""

    text: str
    values: tuple[tuple[str, str], ...] = ()

    def head(self, user: SandboxUser) -> str:
        localised = gettext_for(language_from_telegram(user.language_code))(self.text)
        for name, value in self.values:
            localised = localised.replace("{" + name + "}", value)
        return localised.split("{")[0]


@dataclass(frozen=True)
class Refused(Words):
    """Refused with these words: nothing in the database changes."""


@dataclass(frozen=True)
class Says(Words):
    """The handler ran and answered with these words."""

    elsewhere: bool = False  # in the sender's private chat rather than where they asked


def of(family: str) -> tuple[tuple[str, str], ...]:
    return (("subject", SUBJECT_NAMES[family]),)


@dataclass(frozen=True)
class Handled:
    """The handler ran and answered (what, depends on a flow the matrix does not follow):
    something came back, and it is none of the refusals above."""

    method: str | None = None  # the answer's Bot API method, when it tells


HANDLED = Handled()
Outcome = Refused | Says | Handled


@dataclass(frozen=True)
class Role:
    name: str
    user: SandboxUser
    family: str | None  # the family whose data the role may see ("*": every family's)
    chat: int | None = None  # the group it acts in; None: its private chat


ROLES = {
    "stranger": Role("stranger", STRANGER, None),
    "unverified": Role("unverified", UNVERIFIED_A, "A"),
    "member": Role("member", MEMBER_A, "A"),
    "owner": Role("owner", OWNER_A, "A"),
    "subject": Role("subject", SUBJECT_A, "A"),
    "unknown subject": Role("unknown subject", SUBJECT_C, "C"),
    "next of kin": Role("next of kin", KIN_B, "B"),
    "admin in admin chat": Role("admin in admin chat", ADMIN, "*", ADMIN_GROUP),
    "admin privately": Role("admin privately", ADMIN, None),
    "admin in a group": Role("admin in a group", ADMIN, None, OTHER_GROUP),
}
FAMILY_ROLES = ("unverified", "member", "owner", "subject", "unknown subject", "next of kin")


def personal(
    default: Outcome, *, admin_privately: Outcome | None = None, **roles: Outcome
) -> dict[str, Outcome]:
    """A row for something personal: refused in the admin chat and in groups with the way to a
    private chat; the moderator in their private chat is whoever they are there (no family)."""
    row = {name: roles.get(name.replace(" ", "_"), default) for name in ROLES}
    row["admin in admin chat"] = row["admin in a group"] = Refused(GO_PRIVATE)
    row["admin privately"] = admin_privately or row["stranger"]
    return row


def guarded(default: Outcome, **roles: Outcome) -> dict[str, Outcome]:
    """A personal row for a family permission: strangers (and the moderator, who has no
    family) are told how to get one; ``default`` for the family roles not named."""
    return personal(default, stranger=Refused(NOT_MEMBER), **roles)


def moderation(in_admin_chat: Outcome) -> dict[str, Outcome]:
    row: dict[str, Outcome] = {name: Refused(NOT_ADMIN) for name in ROLES}
    row["admin in admin chat"] = in_admin_chat
    row["admin privately"] = row["admin in a group"] = Refused(ADMIN_CHAT_ONLY)
    return row


@dataclass
class Ids:
    """The real ids forged buttons name: family B's, pressed by everyone."""

    order: str = ""
    grant: str = ""
    proof: str = ""  # "<space>:<user>" of B's owner, whose proof waits for review
    files: set[str] = field(default_factory=set)


ASKS_TO_WITHDRAW = (
    "Withdrawing consent for {subject} stops all greetings at once, including any being made "
    "now, and deletes every photo, video, voice note and recording of {subject}. This cannot be "
    "undone."
)
CONSENT_VALID = "Consent for {subject} is recorded and valid until {date}."
WITHDRAWN = (
    "Consent for {subject} is withdrawn. Deletion receipt:\n{receipt}\n\n"
    "Kept: a record that consent was given and withdrawn, with no face or voice data."
)
KEPT = "Nothing was withdrawn: consent for {subject} stays as it was."


# (action, data) in the order the cells run; each row lists the roles in the order they act
# (those an action changes things for last).
NOT_SUBJECT_A = Refused(NOT_SUBJECT, of("A"))
REVOKE_ROW = guarded(
    NOT_SUBJECT_A,
    subject=Says(ASKS_TO_WITHDRAW, of("A")),
    unknown_subject=Refused(SHARE_PHONE),
    next_of_kin=Says(ASKS_TO_WITHDRAW, of("B")),
)
AUTHORISE_ROW = guarded(
    Refused(LIVING, of("A")),
    unknown_subject=Refused(LIVING, of("C")),
    next_of_kin=Says(EXPIRED),  # authorised already; a co-sign of one's own grant likewise
)
ORDER_ROW = guarded(HANDLED, unverified=Refused(SHARE_PHONE), unknown_subject=Refused(SHARE_PHONE))
MATRIX: dict[str, tuple[Callable[[Ids, SandboxUser], str], dict[str, Outcome]]] = {
    "/start": (lambda _, _user: "/start", personal(HANDLED)),
    "/help": (lambda _, _user: "/help", personal(Says(help_text(lambda text: text)))),
    "/language": (lambda _, _user: "/language", personal(HANDLED)),
    "/invite": (lambda _, _user: "/invite", guarded(Refused(NOT_OWNER),
                                             owner=Says("Whom do you want to invite?"))),
    "/consent": (lambda _, _user: "/consent", guarded(
        NOT_SUBJECT_A, subject=Says(CONSENT_VALID, of("A")), unknown_subject=Refused(SHARE_PHONE),
        next_of_kin=Says(CONSENT_VALID, of("B")))),
    "/revoke": (lambda _, _user: "/revoke", REVOKE_ROW),
    "/mydata": (lambda _, _user: "/mydata", personal(Handled("sendDocument"))),
    # Only a subject known to be one (their phone shared) could consent, so only they withdraw.
    "/delete_me": (lambda _, _user: "/delete_me", personal(Says(
        "This removes you from your family space and deletes everything you sent: photos, voice "
        "notes, documents and your greetings. This cannot be undone."), subject=Says(
        "This removes you from your family space and deletes everything you sent: photos, voice "
        "notes, documents and your greetings. You are the person in the greetings, so your "
        "consent is withdrawn too and everything made from your face and voice is deleted. This "
        "cannot be undone."))),
    "/orders": (lambda _, _user: "/orders", personal(
        Says("You have not ordered a greeting yet."), next_of_kin=HANDLED)),
    "/verify": (lambda _, _user: "/verify", personal(HANDLED)),
    "/review": (lambda _, _user: "/review", moderation(Says(REVIEW, (("count", "1"),)))),
    "/renders": (lambda _, _user: "/renders", moderation(HANDLED)),
    "/queue": (lambda _, _user: "/queue", moderation(HANDLED)),
    "/rules": (lambda _, _user: "/rules", moderation(HANDLED)),
    "/campaign_report": (lambda _, _user: "/campaign_report", moderation(HANDLED)),
    "/campaign": (lambda _, _user: "/campaign", moderation(HANDLED)),
    "/admin_login": (lambda _, _user: "/admin_login", {
        **moderation(Says(ADMIN_LINK, elsewhere=True)), "admin privately": Says(ADMIN_LINK)}),
    "lang:": (lambda _, user: "lang:" + language_from_telegram(user.language_code),
              personal(HANDLED)),
    "tpl:": (lambda _, _user: "tpl:mid-autumn", ORDER_ROW),
    "tpl-more": (lambda _, _user: "tpl-more", ORDER_ROW),
    "pic:": (lambda _, _user: "pic:mid-autumn", ORDER_ROW),
    "photo:last": (lambda _, _user: "photo:last", ORDER_ROW),
    "words:": (lambda _, _user: "words:go", ORDER_ROW),
    "look:": (lambda _, _user: "look:photo", ORDER_ROW),
    "spk:": (lambda _, _user: "spk:cmn", ORDER_ROW),
    "shape:": (lambda _, _user: "shape:square", ORDER_ROW),
    "ord:send:": (lambda ids, _user: "ord:send:" + ids.order, personal(Says(MOVED_ON))),
    "ord:again:": (lambda ids, _user: "ord:again:" + ids.order, personal(Says(MOVED_ON))),
    "ord:resend:": (lambda ids, _user: "ord:resend:" + ids.order, personal(Says(MOVED_ON))),
    "space:": (lambda _, _user: "space:living", personal(Says(EXPIRED))),
    "slang:": (lambda _, _user: "slang:cmn", personal(Says(EXPIRED))),
    "inv:": (lambda _, _user: "inv:member", guarded(
        Refused(NOT_OWNER), owner=Says(
            "Send this link to one relative. It lets them join the family space for {subject}; "
            "it works once, within 48 hours:\n{link}", of("A")))),
    "auth:grant": (lambda _, _user: "auth:grant", AUTHORISE_ROW),
    "cosign:": (lambda ids, _user: "cosign:" + ids.grant, AUTHORISE_ROW),
    "veto:": (lambda ids, _user: "veto:" + ids.grant, AUTHORISE_ROW),
    "proof:": (lambda _, _user: "proof:yes",
               personal(Says("That choice has expired. Please send the document again."))),
    "revoke:no": (lambda _, _user: "revoke:no", guarded(
        NOT_SUBJECT_A, subject=Says(KEPT, of("A")), unknown_subject=Refused(SHARE_PHONE),
        next_of_kin=Says(KEPT, of("B")))),
    "revoke:ask": (lambda _, _user: "revoke:ask", REVOKE_ROW),
    "delme:no": (lambda _, _user: "delme:no", personal(Says("Nothing was deleted."))),
    "camp:yes:": (lambda _, _user: "camp:yes:nosuchcampaign", ORDER_ROW),
    "camp:tz:": (lambda _, _user: "camp:tz:Asia/Taipei", ORDER_ROW),
    "camp:nomsg": (lambda _, _user: "camp:nomsg", ORDER_ROW),
    "camp:no:": (lambda _, _user: "camp:no:nosuchcampaign", personal(Says(ANSWERED))),
    "camp:never:": (lambda _, _user: "camp:never:nosuchcampaign", personal(Says(ANSWERED))),
    # B's order waits for a moderator: it was never made (not deleted), and is said so.
    "orig:": (lambda ids, _user: "orig:" + ids.order, personal(
        Refused(OTHER_FAMILY), next_of_kin=Says(
            "This greeting was never made, so it has no original file."))),
    "cmk:": (lambda _, _user: "cmk:tpl:mid-autumn", moderation(HANDLED)),
    # Moderation of B's greeting request: flagged, reasons shown, a change asked, rejected;
    # approving it then finds it settled.
    "mod:flag:": (lambda ids, _user: "mod:flag:" + ids.order,
                  moderation(Says("Every greeting of this family will now be reviewed."))),
    "mod:no:": (lambda ids, _user: "mod:no:" + ids.order, moderation(Handled())),
    "mod:back:": (lambda ids, _user: "mod:back:" + ids.order, moderation(Handled())),
    "mod:ask:": (lambda ids, _user: "mod:ask:" + ids.order, moderation(Says(
        "Type the change you ask for; the family will read it as you write it."))),
    "mod:why:": (lambda ids, _user: f"mod:why:{REJECTION_REASONS[0]}:{ids.order}",
                 moderation(Says("Rejected."))),
    "mod:ok:": (lambda ids, _user: "mod:ok:" + ids.order,
                moderation(Says("This request is already settled."))),
    "/cancel": (lambda _, _user: "/cancel", personal(HANDLED)),  # B's request settled by now
    "ord:cancel:": (lambda ids, _user: "ord:cancel:" + ids.order, personal(Says(MOVED_ON))),
    # B's owner's proof: the reasons shown, approved; a rejection then finds it settled.
    "adm:no:": (lambda ids, _user: "adm:no:" + ids.proof, moderation(Handled())),
    "adm:back:": (lambda ids, _user: "adm:back:" + ids.proof, moderation(Handled())),
    "adm:ok:": (lambda ids, _user: "adm:ok:" + ids.proof, moderation(Says("Approved."))),
    "adm:why:": (lambda ids, _user: "adm:why:forged:" + ids.proof,
                 moderation(Says("This review is already settled."))),
    # What changes the families runs last: consent withdrawn (A by its subject, B by its
    # relative; C's subject is not known to be theirs), new spaces, everyone leaving.
    "revoke:yes": (lambda _, _user: "revoke:yes", guarded(
        NOT_SUBJECT_A, subject=Says(WITHDRAWN, of("A")), unknown_subject=Refused(SHARE_PHONE),
        next_of_kin=Says(WITHDRAWN, of("B")))),
    "/newspace": (lambda _, _user: "/newspace", personal(
        Says("You already belong to the family space for {subject}. A Telegram account can "
             "belong to one family space; send /delete_me to leave it first."),
        stranger=Says(NEW_SPACE), admin_privately=Says(NEW_SPACE))),
    "delme:yes": (lambda _, _user: "delme:yes", personal(Says(
        "You have been removed and your files deleted. Deletion receipt:\n{receipt}\n\n"
        "Kept: the consent records you signed, which hold no face or voice data."))),
}  # fmt: skip


def registered_actions(world: BotWorld) -> set[str]:
    """Every command and button prefix the application itself registers."""
    found: set[str] = set()
    for handlers in world.application.handlers.values():
        for handler in handlers:
            if isinstance(handler, CommandHandler):
                found |= {"/" + command for command in handler.commands}
            elif isinstance(handler, CallbackQueryHandler) and handler.pattern is not None:
                pattern = getattr(handler.pattern, "pattern", handler.pattern)
                assert isinstance(pattern, str) and pattern.startswith("^"), pattern
                found.add(pattern[1:])
    return found


def _snapshot(world: BotWorld) -> str:
    """Every table but those that record visits (users, the audit chain's head)."""
    db = world.services.db
    digest = hashlib.sha256()
    for table in sorted(db.table_names()):
        if table in ("users", "audit_head") or table.startswith("sqlite_"):
            continue
        digest.update(table.encode())
        for row in db.execute(f"SELECT * FROM [{table}] ORDER BY 1").fetchall():
            digest.update(repr(row).encode())
    return digest.hexdigest()


@pytest.fixture
async def world(
    stand_in: BotApiStandIn, sandbox: SandboxClient, tmp_path: Path
) -> AsyncIterator[BotWorld]:
    settings = dataclasses.replace(
        settings_for(stand_in, tmp_path / "bot-data"), admin_chat_id=ADMIN_GROUP,
        flood_updates=10_000,
    )  # fmt: skip
    clock = FakeClock()
    application = build_application(settings, clock)
    # The bot keeps Telegram's 20 messages a minute in a group itself; like the stand-in's
    # UNPACED chats, a test of who may do what does not wait on it.
    rate_limiter = application.bot.rate_limiter
    assert isinstance(rate_limiter, AIORateLimiter)
    rate_limiter._group_max_rate, rate_limiter._base_limiter = 0, None
    async with polling(application):
        yield BotWorld(stand_in, sandbox, application, tmp_path / "bot-data", clock)


async def _join(world: BotWorld, user: SandboxUser, payload: str) -> None:
    await world.reply_to(user, lambda: world.sandbox.send_text(user, f"/start {payload}"))


async def _proof_card(world: BotWorld, after: int) -> SentMessage:
    return await world.sandbox.wait_for_message(
        ADMIN_GROUP,
        lambda m: m.message_id > after and m.method == "sendDocument" and bool(m.reply_markup),
    )


async def _families(world: BotWorld) -> Ids:
    sandbox, ids = world.sandbox, Ids()
    for group in (ADMIN_GROUP, OTHER_GROUP):  # the stand-in makes a group when first used
        await sandbox.send_text(MARKER, "/marker", group_id=group)
        await sandbox.wait_for_message(group)
    await living_family(world, OWNER_A, SUBJECT_A)
    await _join(world, MEMBER_A, await relative_invite(world, OWNER_A))
    await verify_relative(world, MEMBER_A, "孫子")
    await _join(world, UNVERIFIED_A, await relative_invite(world, OWNER_A))

    await create_space(world, OWNER_B, SUBJECT_NAMES["B"], "deceased")
    await share_own_phone(world, OWNER_B)
    await _join(world, KIN_B, await relative_invite(world, OWNER_B))
    await verify_relative(world, KIN_B, "孫子")
    proof = await sandbox.send_document(KIN_B, PDF_PROOF, "certificate.pdf", "application/pdf")
    assert proof.document is not None
    ids.files.add(proof.document.file_id)
    card = await _proof_card(world, 0)
    await world.reply_to(KIN_B, lambda: sandbox.press_button(
        ADMIN, card.message_id, card.reply_markup["inline_keyboard"][0][0]["callback_data"],  # type: ignore[index]
        group_id=ADMIN_GROUP))  # fmt: skip
    offer = await world.reply_to(KIN_B, lambda: sandbox.send_text(KIN_B, "/consent"))
    await world.reply_to(KIN_B, lambda: sandbox.press_button(KIN_B, offer.message_id, "auth:grant"))
    await world.reply_to(OWNER_B, lambda: sandbox.send_text(OWNER_B, "daughter"))
    second = await sandbox.send_document(OWNER_B, PDF_PROOF, "register.pdf", "application/pdf")
    assert second.document is not None
    ids.files.add(second.document.file_id)
    owners_card = await _proof_card(world, card.message_id)
    ids.proof = owners_card.reply_markup["inline_keyboard"][0][0]["callback_data"].removeprefix(  # type: ignore[index]
        "adm:ok:"
    )
    await confirm(world, KIN_B, await prepare_order(world, KIN_B, "Aunt Mei Ling"))
    space_b = membership_of(world.services.db, KIN_B.id)
    assert space_b is not None
    [order] = orders_where(world.services.db, "space_id = ?", [space_b.space_id])
    ids.order = order.id
    ids.grant = world.services.db.execute(
        "SELECT id FROM consent_records WHERE space_id = ? AND kind = 'grant'", [order.space_id]
    ).fetchone()[0]
    ids.files |= {m.file_id for m in await sandbox.sent_messages(ADMIN_GROUP) if m.file_id}

    await create_space(world, OWNER_C, SUBJECT_NAMES["C"], "living")
    await _join(world, SUBJECT_C, await subject_invite(world, OWNER_C))
    return ids


def _secrets(family: str | None, ids: Ids) -> list[str]:
    """What a role outside ``family`` must never read."""
    people = {"A": (OWNER_A, SUBJECT_A, MEMBER_A), "B": (OWNER_B, KIN_B), "C": (OWNER_C,)}
    found = []
    for name, members in people.items():
        if name != family:
            found += [SUBJECT_NAMES[name], *(phone_of(user) for user in members)]
    if family != "B":
        found += [*ids.files, "Aunt Mei Ling"]
    return found


@dataclass
class Cell:
    action: str
    role: Role
    outcome: Outcome
    seen: list[str] = field(default_factory=list)  # every text, caption and markup it produced
    methods: list[str] = field(default_factory=list)

    def fail(self, why: str) -> str:
        return f"({self.action}, {self.role.name}): {why}; saw {self.seen}"


async def _play(world: BotWorld, cell: Cell, data: str, ids: Ids) -> str | None:
    """Do the cell's action; None when what the person noticed is what the matrix says."""
    sandbox, role, user = world.sandbox, cell.role, cell.role.user
    chat = role.chat or user.id
    sent = await sandbox.sent_messages(chat)
    before = max((m.message_id for m in sent), default=0)
    elsewhere = isinstance(cell.outcome, Says) and cell.outcome.elsewhere
    private_before = (
        max((m.message_id for m in await sandbox.sent_messages(user.id)), default=0)
        if elsewhere
        else 0
    )
    target = sent[-1] if sent else None
    snapshot = _snapshot(world)
    press_id = None
    if data.startswith("/"):
        await sandbox.send_text(user, data, group_id=role.chat)
    else:
        assert target is not None, "a button is pressed under one of the bot's messages"
        press_id = await sandbox.press_button(user, target.message_id, data, group_id=role.chat,
                                              forged=True)  # fmt: skip
    marker_by = MARKER if role.chat else user
    await sandbox.send_text(marker_by, "/marker" if role.chat else "/language", group_id=role.chat)
    marker = gettext_for(language_from_telegram(marker_by.language_code))(
        GO_PRIVATE if role.chat else MARKER_TEXT
    )
    end = await sandbox.wait_for_message(
        chat, lambda m: m.message_id > before and m.text == marker, timeout=10
    )
    if data == "/language" and not role.chat:  # its own answer is the marker's too
        first = end.message_id
        end = await sandbox.wait_for_message(
            chat, lambda m: m.message_id > first and m.text == marker, timeout=10
        )
    now = await sandbox.sent_messages(chat)
    replies = [m for m in now if before < m.message_id < end.message_id]
    if target is not None:
        edited = next(m for m in now if m.message_id == target.message_id)
        if edited != target:
            replies.append(edited)
    if elsewhere:
        replies += [m for m in await sandbox.sent_messages(user.id)
                    if m.message_id > private_before]  # fmt: skip
    answers = (
        []
        if press_id is None
        else [
            a.text
            for a in await sandbox.callback_answers()
            if a.callback_query_id == press_id and a.text
        ]
    )
    cell.seen = [*answers, *(json.dumps([m.text, m.caption, m.reply_markup, m.file_id],
                                        ensure_ascii=False) for m in replies)]  # fmt: skip
    cell.methods = [m.method for m in replies]
    if role.family != "*":
        leaked = [secret for secret in _secrets(role.family, ids) if any(
            secret in seen for seen in cell.seen)]  # fmt: skip
        if leaked:
            return cell.fail(f"shows another family's {leaked}")
    texts = [*answers, *(m.text or m.caption or "" for m in replies)]
    outcome = cell.outcome
    if isinstance(outcome, Words):
        head = outcome.head(user)
        if not any(text.startswith(head) for text in texts):
            return cell.fail(f"expected {head!r}")
        if isinstance(outcome, Refused) and _snapshot(world) != snapshot:
            return cell.fail("refused, yet the database changed")
        return None
    refusals = tuple(Words(text).head(user) for text in AUTHZ_REFUSALS)
    if not cell.seen or any(text.startswith(refusals) for text in texts):
        return cell.fail("expected the handler's own answer")
    if outcome.method is not None and outcome.method not in cell.methods:
        return cell.fail(f"expected a {outcome.method}")
    return None


def test_every_row_names_every_role() -> None:
    assert all(set(row) == set(ROLES) for _, row in MATRIX.values())


@pytest.mark.sandbox_limits(
    messages_per_second=1000.0, chat_messages_per_second=1000.0, chat_burst=1000
)
async def test_the_authorisation_matrix(world: BotWorld) -> None:
    assert registered_actions(world) == set(MATRIX), "a command or button without its row"
    ids = await _families(world)
    space_c = membership_of(world.services.db, OWNER_C.id)
    assert space_c is not None
    failures = []
    cells = 0
    for action, (data, row) in MATRIX.items():
        # The refusals first, then those allowed, whose changes may be what the next finds.
        for name in sorted(row, key=lambda name: not isinstance(row[name], Refused)):
            cell = Cell(action, ROLES[name], row[name])
            failure = await _play(world, cell, data(ids, cell.role.user), ids)
            cells += 1
            if failure is not None:
                failures.append(failure)
    assert cells == len(MATRIX) * len(ROLES)
    assert [failure for failure in failures if failure] == []
    # Whoever opened C's subject link left without being known as the subject: C stays open.
    assert get_space(world.services.db, space_c.space_id).status == SpaceStatus.ACTIVE
