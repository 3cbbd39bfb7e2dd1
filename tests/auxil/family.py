"""Playing families through the trust flow over HTTP, as their Telegram apps would.

Each helper drives real users through the stand-in and waits for the bot's answer that the
next step depends on, so a test can start from "a family with consent" in a few lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from bot.demo.samples import sample_portrait_jpeg, sample_voice_ogg
from bot.faults import seed_campaign_greeting
from bot.flows.order import place_button
from bot.i18n import gettext_for, language_from_telegram
from bot.orders import APPROVE_PREFIX, SEND_PREFIX
from bot.sandbox import SandboxUser, SentMessage
from bot.storage import OrderStatus
from bot.storage.media import SUBJECT_DATA, media_where
from bot.storage.orders import Order, orders_where
from tests.auxil.bot import ADMIN, BotWorld

THANKS_FOR_CONSENT = (
    "Thank you, {subject}. Your consent is recorded and valid until {date}. "
    "Send /revoke at any time to withdraw it."
)
AUTHORISED = "Greetings from {subject} are authorised until {date}."
WITHDRAWN = (
    "Consent for {subject} is withdrawn. Deletion receipt:\n{receipt}\n\n"
    "Kept: a record that consent was given and withdrawn, with no face or voice data."
)
ASKS_FOR_VOICE = (
    "Now send a recording of them speaking: a voice message, an audio file or a video. "
    "About 20 seconds is best."
)
TYPED = "I need to hear you read it: typing cannot show that it is you."
RECORD_IT = (
    "Hold the microphone button at the right of the message box while you read the sentence, "
    "then let go to send it."
)
PDF_PROOF = b"%PDF-1.4\n% a scanned death certificate, for the tests\n%%EOF\n"
_LINK = re.compile(r"start=([A-Za-z0-9_-]+)")


def phone_of(user: SandboxUser) -> str:
    return f"+8869{user.id:08d}"


def invite_payload(message: SentMessage) -> str:
    found = _LINK.search(message.text or "")
    assert found is not None, message.text
    return found.group(1)


def has_link(message: SentMessage) -> bool:
    return bool(_LINK.search(message.text or ""))


def says(user: SandboxUser, english: str, **values: str) -> Callable[[SentMessage], bool]:
    """Matches a bot message saying ``english`` (a whole message id) in ``user``'s language.

    Placeholders given in ``values`` are filled in; the message is compared up to the first
    placeholder left open (a date, a receipt), which must not be its very start.
    """
    text = gettext_for(language_from_telegram(user.language_code))(english)
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    head = text.split("{")[0]
    assert head, f"{english!r} needs more values to be recognisable"
    return lambda message: head in (message.text or message.caption or "")


async def create_space(
    world: BotWorld,
    owner: SandboxUser,
    subject: str,
    status: str,
    languages: tuple[str, ...] = ("cmn",),
) -> SentMessage:
    """/newspace through to the ready space; returns the bot's answer, which asks the owner's
    phone number (for a living subject, the subject's link comes once it is shared)."""
    sandbox = world.sandbox
    await world.reply_to(owner, lambda: sandbox.send_text(owner, "/newspace"))
    status_question = await world.reply_to(owner, lambda: sandbox.send_text(owner, subject),
                                           until=lambda m: m.reply_markup is not None)  # fmt: skip
    languages_question = await world.reply_to(
        owner,
        lambda: sandbox.press_button(owner, status_question.message_id, f"space:{status}"),
        until=lambda m: m.reply_markup is not None,
    )
    for language in languages:
        await sandbox.press_button(owner, languages_question.message_id, f"slang:{language}")
    return await world.reply_to(
        owner,
        lambda: sandbox.press_button(owner, languages_question.message_id, "slang:done"),
        until=lambda m: bool(m.reply_markup and "keyboard" in m.reply_markup),
    )


async def share_own_phone(world: BotWorld, user: SandboxUser) -> SentMessage:
    return await world.reply_to(
        user, lambda: world.sandbox.send_contact(user, phone_of(user), user.id, user.first_name)
    )


async def consent_as_living_subject(
    world: BotWorld, subject: SandboxUser, payload: str
) -> SentMessage:
    """Open the invite, share the phone number, read the phrase; returns the bot's thanks."""
    await world.reply_to(subject, lambda: world.sandbox.send_text(subject, f"/start {payload}"),
                         until=lambda m: m.reply_markup is not None)  # fmt: skip
    wording = await share_own_phone(world, subject)
    return await read_phrase(world, subject, wording)


async def read_phrase(world: BotWorld, subject: SandboxUser, wording: SentMessage) -> SentMessage:
    phrase = (wording.text or "").splitlines()[-1]
    language = language_from_telegram(subject.language_code)
    voice = sample_voice_ogg(phrase, language)
    return await world.reply_to(
        subject, lambda: world.sandbox.send_voice(subject, voice, duration=8), wait_s=30
    )


async def verify_relative(world: BotWorld, member: SandboxUser, relation: str) -> SentMessage:
    await share_own_phone(world, member)
    return await world.reply_to(member, lambda: world.sandbox.send_text(member, relation))


async def subject_invite(world: BotWorld, owner: SandboxUser) -> str:
    """The owner of a new space for a living subject shares their phone number; returns the
    payload of the subject's link, which the bot gives only then."""
    return invite_payload(await share_own_phone(world, owner))


async def living_family(
    world: BotWorld,
    owner: SandboxUser,
    subject: SandboxUser,
    languages: tuple[str, ...] | None = None,
) -> None:
    """A space for a living subject who consented, with ``owner`` a verified relative. The
    subject speaks ``languages``; by default the language their Telegram is in (Mandarin for
    Chinese), so a greeting from them is in it."""
    if languages is None:
        languages = ("en",) if language_from_telegram(subject.language_code) == "en" else ("cmn",)
    await create_space(world, owner, subject.first_name, "living", languages)
    payload = await subject_invite(world, owner)
    thanks = await consent_as_living_subject(world, subject, payload)
    assert says(subject, THANKS_FOR_CONSENT, subject=subject.first_name)(thanks), thanks.text
    await world.sandbox.send_text(owner, "孫女")
    await world.sandbox.wait_for_message(
        owner.id,
        says(
            owner,
            "You can make a greeting now: send a clear photo of {subject}'s face.",
            subject=subject.first_name,
        ),
    )


async def approve_proof(world: BotWorld, member: SandboxUser) -> SentMessage:
    """The moderator approves the newest proof; returns what the member is told."""
    review = await world.sandbox.wait_for_message(
        ADMIN.id, lambda m: m.method == "sendDocument" and m.reply_markup is not None
    )
    key = f"{review.reply_markup['inline_keyboard'][0][0]['callback_data']}"  # type: ignore[index]
    return await world.reply_to(
        member, lambda: world.sandbox.press_button(ADMIN, review.message_id, key)
    )


async def relative_invite(world: BotWorld, owner: SandboxUser) -> str:
    """The payload of the owner's invite link for a relative."""
    menu = await world.reply_to(owner, lambda: world.sandbox.send_text(owner, "/invite"))
    link = await world.reply_to(
        owner, lambda: world.sandbox.press_button(owner, menu.message_id, "inv:member"),
        until=has_link,
    )  # fmt: skip
    return invite_payload(link)


async def verified_relative(
    world: BotWorld, owner: SandboxUser, relative: SandboxUser, relation: str
) -> SentMessage:
    """The relative (invited by the owner unless they are the owner) shares their phone, says
    their relation and has their proof approved; returns what they are told then."""
    sandbox = world.sandbox
    if relative != owner:
        payload = await relative_invite(world, owner)
        await world.reply_to(relative, lambda: sandbox.send_text(relative, f"/start {payload}"))
    await verify_relative(world, relative, relation)
    await world.reply_to(
        relative, lambda: sandbox.send_document(relative, PDF_PROOF, "p.pdf", "application/pdf")
    )
    return await approve_proof(world, relative)


async def deceased_family(world: BotWorld, owner: SandboxUser, subject_name: str) -> None:
    """A space for a deceased subject, ``owner`` verified by a moderator and authorising."""
    await world.reply_to(ADMIN, lambda: world.sandbox.send_text(ADMIN, "/start"))
    await create_space(world, owner, subject_name, "deceased")
    await verify_relative(world, owner, "孫女")
    await world.reply_to(
        owner,
        lambda: world.sandbox.send_document(owner, PDF_PROOF, "certificate.pdf", "application/pdf"),
    )
    await approve_proof(world, owner)
    offer = await world.reply_to(owner, lambda: world.sandbox.send_text(owner, "/consent"))
    await world.reply_to(
        owner,
        lambda: world.sandbox.press_button(owner, offer.message_id, "auth:grant"),
        until=says(owner, AUTHORISED, subject=subject_name),
    )


async def order_greeting(world: BotWorld, member: SandboxUser, recipient: str = "外婆") -> None:
    """Photo, voice note, festival and recipient, confirmed: the order is placed on return."""
    await confirm(world, member, await prepare_order(world, member, recipient))


async def prepare_order(
    world: BotWorld, member: SandboxUser, recipient: str, festival: str = "mid-autumn"
) -> SentMessage:
    """Photo (and a voice note when the family has none yet), festival, recipient; returns the
    card showing the greeting's words, waiting for "Make this greeting"."""
    offer = await festival_question(world, member)
    await world.reply_to(member, lambda: press_festival(world, member, offer, festival))
    return await world.reply_to(
        member,
        lambda: world.sandbox.send_text(member, recipient),
        until=lambda m: m.reply_markup is not None,
    )


async def festival_question(world: BotWorld, member: SandboxUser) -> SentMessage:
    """Photo, and a voice note when the family has none yet; returns the festival keyboard."""
    sandbox = world.sandbox
    asks_for_voice = says(member, ASKS_FOR_VOICE)
    offer = await world.reply_to(
        member,
        lambda: sandbox.send_photo(member, sample_portrait_jpeg()),
        until=lambda m: m.reply_markup is not None or asks_for_voice(m),
    )
    if offer.reply_markup is None:
        offer = await world.reply_to(
            member,
            lambda: sandbox.send_voice(
                member, sample_voice_ogg("我很想念你們。祝你們中秋快樂。"), 5
            ),
            until=lambda m: m.reply_markup is not None,
        )
    return offer


async def confirm(world: BotWorld, member: SandboxUser, card: SentMessage) -> SentMessage:
    """Press "Make this greeting"; returns the bot's next message (the order's status)."""
    return await world.reply_to(
        member,
        lambda: world.sandbox.press_button(
            member, card.message_id, place_button(card.reply_markup)
        ),
    )


async def place(world: BotWorld, member: SandboxUser, recipient: str) -> SentMessage:
    """Type the recipient and confirm the greeting's words; returns the order's status message."""
    card = await world.reply_to(
        member,
        lambda: world.sandbox.send_text(member, recipient),
        until=lambda m: m.reply_markup is not None,
    )
    return await confirm(world, member, card)


def is_preview(message: SentMessage) -> bool:
    return message.method == "sendVideo" and SEND_PREFIX in json.dumps(message.reply_markup)


def order_of(message: SentMessage) -> str:
    """The order id the first button under a bot message names."""
    assert message.reply_markup is not None
    data: str = message.reply_markup["inline_keyboard"][0][0]["callback_data"]
    return data.rpartition(":")[2]


async def send_it(world: BotWorld, member: SandboxUser, wait_s: float = 90.0) -> SentMessage:
    """Wait for the preview, press Send it; returns the delivered greeting."""
    preview = await world.sandbox.wait_for_message(member.id, is_preview, timeout=wait_s)
    return await world.reply_to(
        member,
        lambda: world.sandbox.press_button(
            member, preview.message_id, SEND_PREFIX + order_of(preview)
        ),
        until=lambda m: m.method == "sendVideo",
    )


async def revoke(world: BotWorld, user: SandboxUser, subject: str) -> SentMessage:
    """/revoke and its confirmation; returns the deletion receipt."""
    warning = await world.reply_to(
        user, lambda: world.sandbox.send_text(user, "/revoke"),
        until=lambda m: "revoke:yes" in json.dumps(m.reply_markup),
    )  # fmt: skip
    return await world.reply_to(
        user,
        lambda: world.sandbox.press_button(user, warning.message_id, "revoke:yes"),
        until=says(user, WITHDRAWN, subject=subject),
    )


def subject_data(world: BotWorld, space_id: str) -> tuple[set[str], list[bytes]]:
    """The ids of every stored piece of the subject's likeness, and its plaintext."""
    kinds = [kind.value for kind in SUBJECT_DATA]
    rows = [r for r in media_where(world.services.db, "space_id = ?", [space_id])
            if r["kind"] in kinds]  # fmt: skip
    ids = {str(row["id"]) for row in rows}
    return ids, [world.services.vault.read_bytes(media_id) for media_id in ids]


def leftovers(world: BotWorld, needles: set[str], blobs: list[bytes]) -> list[str]:
    """Every place under the data folder (vault decrypted, database as raw bytes, WAL and
    audit log included) that still holds one of ``needles`` or a piece of ``blobs``."""
    found = []
    vault = world.services.vault
    probes = [blob[1000:1064] for blob in blobs if len(blob) > 1064]
    for path in sorted(world.data_dir.rglob("*")):
        if not path.is_file():
            continue
        raw = path.read_bytes()
        if path.is_relative_to(vault.root) and not path.name.startswith("."):
            raw = vault.read_bytes(path.name)
            if path.name in needles:
                found.append(f"vault file {path.name}")
        found += [f"{path.name}: id {n}" for n in needles if n.encode() in raw]
        found += [f"{path.name}: content" for probe in probes if probe in raw]
    return found


# How each kind of media a member sends or a render makes begins: JPEG, PNG, WAV, Ogg (voice
# notes), MP4 and QuickTime (the box type after a 4-byte size), Matroska / WebM.
_MEDIA_HEADERS = (
    (0, b"\xff\xd8\xff"), (0, b"\x89PNG"), (0, b"RIFF"), (0, b"OggS"), (4, b"ftyp"),
    (4, b"moov"), (4, b"mdat"), (0, b"\x1a\x45\xdf\xa3"),
)  # fmt: skip


def plaintext_media(world: BotWorld) -> list[str]:
    """Every file under the data folder that is a photo, a recording or a video in plaintext:
    what a decrypted input or an unsealed render would be (a sealed file begins otherwise)."""
    found = []
    for path in sorted(world.data_dir.rglob("*")):
        if not path.is_file():
            continue
        with path.open("rb") as file:
            head = file.read(16)
        if any(head[at : at + len(magic)] == magic for at, magic in _MEDIA_HEADERS):
            found.append(str(path.relative_to(world.data_dir)))
    return found


@dataclass
class PlaintextWatch:
    """What ``watching_plaintext`` saw: plaintext media under the data folder (none, it is
    hoped), and how much it saw of renders, so that a watch that missed them shows."""

    found: set[str] = field(default_factory=set)
    scans_while_rendering: int = 0
    render_files_in_memory: int = 0  # the most files an attempt's folder in memory held


@contextlib.asynccontextmanager
async def watching_plaintext(world: BotWorld) -> AsyncIterator[PlaintextWatch]:
    """Scan the data folder for plaintext media every 50 ms while the block runs, and each
    rendering order's scratch folders, which must be outside it (in memory)."""
    watch = PlaintextWatch()

    async def scan() -> None:
        while True:
            watch.found.update(plaintext_media(world))
            rendering = [OrderStatus.RENDERING.value]
            for order in orders_where(world.services.db, "status = ?", rendering):
                for folder in world.services.jobs.scratch_dirs(order.id):
                    assert not folder.is_relative_to(world.data_dir), folder
                    watch.scans_while_rendering += 1
                    files = sum(1 for path in folder.rglob("*") if path.is_file())
                    watch.render_files_in_memory = max(watch.render_files_in_memory, files)
            await asyncio.sleep(0.05)

    scanning = asyncio.create_task(scan())
    try:
        yield watch
    finally:
        scanning.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await scanning


def is_card(message: SentMessage) -> bool:
    """A moderation card for a greeting request, with its buttons still on."""
    return APPROVE_PREFIX in json.dumps(message.reply_markup)


async def approve_order(world: BotWorld) -> None:
    """The moderator approves the newest greeting request in the admin chat."""
    card = await world.sandbox.wait_for_message(ADMIN.id, is_card)
    await world.reply_to(
        ADMIN,
        lambda: world.sandbox.press_button(ADMIN, card.message_id, APPROVE_PREFIX + order_of(card)),
    )


async def press_festival(
    world: BotWorld, member: SandboxUser, keyboard: SentMessage, template_id: str
) -> None:
    """Press a festival's button, after "More festivals" when it is not among those upcoming."""
    wanted = f"tpl:{template_id}"
    if wanted not in json.dumps(keyboard.reply_markup):
        await world.sandbox.press_button(member, keyboard.message_id, "tpl-more")
        for _ in range(100):
            sent = await world.sandbox.sent_messages(member.id)
            shown = next(m for m in sent if m.message_id == keyboard.message_id)
            if wanted in json.dumps(shown.reply_markup):
                break
            await asyncio.sleep(0.05)
    await world.sandbox.press_button(member, keyboard.message_id, wanted)


async def seeded_greeting(world: BotWorld, member: SandboxUser) -> Order:
    """A campaign greeting of ``member``'s family as its render leaves it, the member's chat
    open to the bot (``bot.faults.seed_campaign_greeting``): where restart tests begin."""
    services = world.services
    await world.sandbox.block_bot(member, blocked=False)
    order = seed_campaign_greeting(services.db, services.vault, services.audit, world.clock,
                                   member, f"c-{member.id}", "舅舅")  # fmt: skip
    assert order.space_id is not None
    return order
