"""The greeting order: a picture (photo or video), voice notes, a festival and a recipient, in
any order; then, only when the material leaves a choice, how to show and voice the subject.

Each step is saved in the member's draft order as soon as it arrives, and the reply always
says what is still missing, so a member who leaves and comes back later is never lost. Voice
notes and usable clips belong to the family space: a second greeting needs no new voice note.
These handlers run only for verified members of a space with a current consent: the registry
wraps them with ``bot.authz.guarded``, so they can rely on a membership being there.
"""

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.analysis import Clip
from bot.delivery import DEFAULT_SHAPE, Shape
from bot.family.consent import current_consent
from bot.family.likeness import speech_seconds, usable_clips, voice_notes
from bot.family.spaces import Member, Space, get_space, membership_of
from bot.festivals import Upcoming, upcoming
from bot.flows.basics import Context as _Context
from bot.flows.basics import bounded_text, caller, remove_buttons, show_answer, unsupported
from bot.flows.family import spoken_language_name
from bot.flows.feedback import ingest_error_text
from bot.flows.uploads import fetch_checked
from bot.i18n import Gettext, Language, sentences, words_language
from bot.orders import (
    MAX_SENDER_CHARS,
    MESSAGE_LIMITS,
    Refusal,
    clean_words,
    greeting_language,
    sent_by_us,
    speakable,
    spoken_choices,
    spoken_language_of,
    visible_length,
)
from bot.services import Services, services_of
from bot.storage import MediaKind, Order, OrderStatus
from bot.storage.media import record_media, space_media
from bot.storage.orders import draft_for, open_draft, orders_where, update_order
from bot.workers import WorkerFailed
from engine import (
    IngestError,
    VoiceInfo,
    list_templates,
    sayable,
    template_festival,
    template_title,
)

Context = _Context
TEMPLATE_PREFIX = "tpl:"
MORE_FESTIVALS = "tpl-more"  # not under TEMPLATE_PREFIX: it names no template
PICTURES_PREFIX = "pic:"  # the template picker's pages (bot.flows.picker), by template id
WORDS_PREFIX = "words:"  # the confirmation card's buttons
# "Make this greeting", with a digest of the card it is under: a card the greeting has changed
# since (new words, another festival chosen from the earlier keyboard) places nothing.
PLACE_PREFIX = WORDS_PREFIX + "go:"
LIKENESS_PREFIX = "look:"
SPOKEN_PREFIX = "spk:"
SHAPE_PREFIX = "shape:"
LAST_PHOTO = "photo:last"  # a new greeting with the family's last photo
MAX_RECIPIENT_CHARS = 40
_STILL_QUALITY = 92
_ALBUM_KEPT = "album_kept"  # user_data: the album whose photo became the portrait
_ALBUM_QUESTION = "album_question"  # user_data: the next question, held for the album's end
# The photos and videos of an album arrive together, each judged in turn: the next question
# waits this long after a verdict and is dropped when another of the album comes in meanwhile.
ALBUM_SETTLE_S = 1.0
_PLACED_FROM = "placed_from"  # user_data: the card whose "Make this greeting" placed the last order


def _member(services: Services, user_id: int) -> Member:
    member = membership_of(services.db, user_id)
    assert member is not None, "order handlers run behind bot.authz.guarded"
    return member


def _keep_upload(
    services: Services,
    member: Member,
    data: bytes,
    kind: MediaKind,
    mime_type: str,
    details: dict[str, object] | None = None,
) -> str:
    media_id = services.vault.put_bytes(data)
    record_media(services.db, services.clock, media_id, kind, mime_type, len(data),
                 member.user_id, member.space_id,
                 json.dumps(details) if details is not None else None)  # fmt: skip
    return media_id


def _draft(services: Services, message: Message, member: Member) -> Order:
    return open_draft(services.db, member.user_id, message.chat_id,
                      services.language_of(member.user_id), member.space_id)  # fmt: skip


@dataclass(frozen=True)
class _Needs:
    """What the draft still lacks, judged against everything the family has sent."""

    picture: bool
    voice: bool
    template: bool
    likeness: bool  # a photo and a usable clip: the member chooses which the greeting shows
    spoken: bool  # Chinese text for a subject who speaks both Mandarin and Cantonese

    @property
    def media(self) -> bool:
        return self.picture or self.voice

    @property
    def choices(self) -> bool:
        return self.media or self.template or self.likeness or self.spoken


def _needs(services: Services, order: Order) -> _Needs:
    assert order.space_id is not None
    clips = bool(usable_clips(services.db, order.space_id))
    space = get_space(services.db, order.space_id)
    return _Needs(
        picture=order.portrait_id is None and not clips,
        voice=not voice_notes(services.db, order.space_id),
        template=order.template_id is None,
        likeness=order.portrait_id is not None and clips and order.likeness is None,
        spoken=order.spoken_language is None and bool(spoken_choices(order.language, space)),
    )


def _buttons(rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data)] for text, data in rows]
    )


def _template_keyboard(
    services: Services, _: Gettext, language: Language, everything: bool = False
) -> InlineKeyboardMarkup:
    """Festivals coming up first; the rest behind "More festivals", or all of them when
    ``everything``; then the picker, opening at the first."""
    soon, later = festivals(services)
    shown = [*soon, *later] if everything or not soon else soon
    rows = [
        (template_title(template_id, language), TEMPLATE_PREFIX + template_id)
        for template_id in shown
    ]
    if len(shown) < len(soon) + len(later):
        rows.append((_("More festivals"), MORE_FESTIVALS))
    rows.append((_("See them in pictures"), PICTURES_PREFIX + shown[0]))
    return _buttons(rows)


def festivals(services: Services) -> Upcoming:
    """Template ids by their festival's next date (lunar ones included), coming up first."""
    return upcoming(list_templates(), template_festival, services.clock.now().date())


async def more_festivals(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    services, _message, user_id, _ = caller(update, context)
    await query.answer()
    draft = draft_for(services.db, user_id)
    language = draft.language if draft else services.language_of(user_id)
    await query.edit_message_reply_markup(
        reply_markup=_template_keyboard(services, _, language, everything=True)
    )


async def ask_next_step(message: Message, services: Services, order: Order, _: Gettext) -> None:
    needs = _needs(services, order)
    assert order.space_id is not None
    subject = get_space(services.db, order.space_id).subject_name or ""
    if needs.picture:
        await message.reply_text(
            _("Now send a clear photo of their face, or a short video of them.")
        )
    elif needs.voice:
        await message.reply_text(asks_for_voice(_))
    elif needs.template:
        await message.reply_text(
            _("Which festival is the greeting for?"),
            reply_markup=_template_keyboard(services, _, order.language),
        )
    elif needs.likeness:
        await message.reply_text(
            _("Should the greeting show {subject}'s video, or their photo brought to life?").format(
                subject=subject
            ),
            reply_markup=_buttons(
                [
                    (_("Their video"), LIKENESS_PREFIX + "footage"),
                    (_("Their photo, animated"), LIKENESS_PREFIX + "portrait"),
                ]
            ),
        )
    elif needs.spoken:
        choices = spoken_choices(order.language, get_space(services.db, order.space_id))
        await message.reply_text(
            _("Should {subject} speak Mandarin or Cantonese in the greeting?").format(
                subject=subject
            ),
            reply_markup=_buttons(
                [(spoken_language_name(_, code), SPOKEN_PREFIX + code) for code in choices]
            ),
        )
    elif order.recipient is None:
        await message.reply_text(
            _with_language_note(
                _("Who is the greeting for? Type their name, for example: {example}.").format(
                    example=_recipient_example(_, subject)
                ),
                services,
                order,
                _,
            )
        )
    elif order.text_step == "sender":
        await message.reply_text(
            _("Who is it from? Type how the greeting should be signed, for example: {subject}.")
            .format(subject=subject)
        )  # fmt: skip
    else:
        await _confirm(message, services, order, _)


def place_button(markup: Mapping[str, Any] | None) -> str:
    """The callback data of a card's "Make this greeting", from the card's buttons as the Bot
    API sends them (what the demo and the benchmarks press, as a member would)."""
    rows = (markup or {}).get("inline_keyboard", [])
    return next(
        str(button["callback_data"])
        for row in rows
        for button in row
        if str(button.get("callback_data", "")).startswith(PLACE_PREFIX)
    )


async def _confirm(message: Message, services: Services, order: Order, _: Gettext) -> None:
    """The exact words the greeting will say, before anything is made."""
    body, rows = _card(services, order, _)
    await message.reply_text(body, reply_markup=_buttons(rows))


def _card(services: Services, order: Order, _: Gettext) -> tuple[str, list[tuple[str, str]]]:
    """The card's text and buttons."""
    limit = MESSAGE_LIMITS[language_of_words(services, order)]
    words = services.orders.greeting_words(order)
    rows: list[tuple[str, str]] = []
    if order.message is None:
        rows.append((_("Write my own words"), WORDS_PREFIX + "own"))
        text = _(
            "The greeting will say:\n\n{words}\n\nTo put your own words in their mouth, type "
            "them now (at most {limit} characters); a moderator reads them first."
        )
    else:
        rows.append((_("Use the festival's words"), WORDS_PREFIX + "template"))
        text = _(
            "The greeting will say:\n\n{words}\n\nTo change your own words, type new ones now "
            "(at most {limit} characters); a moderator reads them first."
        )
    rows.append(
        (_("Change the signature") if order.sender else _("Sign it"), WORDS_PREFIX + "sign")
    )
    rows.append((_("Change who it is for"), WORDS_PREFIX + "recipient"))
    rows.append((_("Change the format"), WORDS_PREFIX + "shape"))
    shape = shape_for(services, order)
    body = _with_language_note(text.format(words=words, limit=limit), services, order, _)
    body += "\n\n" + _("Format: {format}").format(format=shape_name(_, shape))
    return body, [(_("Make this greeting"), _place_data(services, order)), *rows]


def _place_data(services: Services, order: Order) -> str:
    """The data of "Make this greeting" under a card of ``order`` as it stands: a digest of
    what would be made (not of the chat's language, which may change without changing it)."""
    made = [services.orders.greeting_words(order), shape_for(services, order).value,
            order.template_id, order.spoken_language, order.likeness]  # fmt: skip
    return PLACE_PREFIX + hashlib.sha256(json.dumps(made).encode()).hexdigest()[:12]


def asks_for_voice(_: Gettext) -> str:
    """Any recording will do, not only a voice message recorded now: a family whose loved one
    has died has old ones, as audio files or videos."""
    return _(
        "Now send a recording of them speaking: a voice message, an audio file or a video. "
        "About 20 seconds is best."
    )


# What families call a grandmother, whichever language the chat is in: 阿嫲's Cantonese family
# was offered "例如：奶奶", the same person by another word.
_GRANDMOTHERS = frozenset(("奶奶", "阿嫲", "阿嬤", "嫲嫲", "婆婆", "外婆", "阿婆", "姥姥",
                           "grandma", "granny", "grandmother", "nana", "nan"))  # fmt: skip


def _recipient_example(_: Gettext, subject: str) -> str:
    """A name to suggest for the recipient, never the subject's: the greeting is from them
    (a family making Grandma's greetings read "for example: Grandma")."""
    grandma = _("Grandma")
    return _("Grandpa") if subject.casefold() in {grandma.casefold(), *_GRANDMOTHERS} else grandma


def _with_language_note(text: str, services: Services, order: Order, _: Gettext) -> str:
    assert order.space_id is not None
    space = get_space(services.db, order.space_id)
    return with_language_note(text, space, order.language, spoken_language_of(order, space), _)


def with_language_note(text: str, space: Space, language: Language, spoken: str, _: Gettext) -> str:
    """``text``, after a line saying why, when a greeting spoken in ``spoken`` is not in the
    member's ``language`` (the subject spoke another, or the member chose between the
    subject's Chinese languages): before the member types a name, and on the card."""
    if words_language(language, spoken) == language:
        return text
    if spoken_choices(language, space):
        note = _("The greeting is in {language}, as you chose.")
    else:
        note = _("{subject} speaks {language}, so the greeting is in {language}.")
    note = note.format(subject=space.subject_name or "", language=spoken_language_name(_, spoken))
    return note + "\n\n" + text


def shape_name(_: Gettext, shape: Shape) -> str:
    return {
        Shape.LANDSCAPE: _("Landscape video (16:9)"),
        Shape.VERTICAL: _("Upright video for Stories (9:16)"),
        Shape.SQUARE: _("Square video (1:1)"),
        Shape.ROUND: _("Round video message"),
        Shape.VOICE: _('Voice message, opening with "made with AI"'),
    }[shape]


def shape_for(services: Services, order: Order) -> Shape:
    """The draft's shape: the member's choice, else the one of their last greeting."""
    if order.shape is not None:
        return Shape(order.shape)
    earlier = orders_where(
        services.db, "user_id = ? AND shape IS NOT NULL AND placed_at IS NOT NULL", [order.user_id]
    )
    return Shape(earlier[-1].shape) if earlier and earlier[-1].shape else DEFAULT_SHAPE


async def _ask_shape(message: Message, _: Gettext) -> None:
    await message.reply_text(
        _("How should the greeting arrive?"),
        reply_markup=_buttons([(shape_name(_, shape), SHAPE_PREFIX + shape) for shape in Shape]),
    )


async def shape_chosen(update: Update, context: Context) -> None:
    """The format question's answer: shown in place of the question, then the card again."""
    query = update.callback_query
    assert query is not None and query.data is not None
    services, message, user_id, _ = caller(update, context)
    await query.answer()
    draft = draft_for(services.db, user_id)
    choice = query.data.removeprefix(SHAPE_PREFIX)
    if draft is None or choice not in tuple(Shape) or _needs(services, draft).choices:
        await message.reply_text(_("That choice has expired. Send /start to begin again."))
        return
    draft = update_order(services.db, draft.id, shape=choice)
    await show_answer(query)
    await ask_next_step(message, services, draft, _)


async def _made_here(message: Message, services: Services, file_id: str, _: Gettext) -> bool:
    """A file the bot itself sent (a greeting, forwarded back) refused by its Telegram id,
    before anything is downloaded; a copy of one is recognised by its marks (``_footage_check``)."""
    if not sent_by_us(services.db, file_id):
        return False
    await message.reply_text(ingest_error_text(_, IngestError("made_here", "sent by the bot")))
    return True


@dataclass(frozen=True)
class _Footage:
    clip: Clip
    # Their speech, when the clip shows them talking: what it measured, and the sound alone.
    voice: tuple[VoiceInfo, bytes] | None


def _footage_check(services: Services) -> Callable[[Path], Awaitable[_Footage]]:
    """The footage check, then the watermark detector: a greeting this service made is no
    material for another one, however it came back (a download, a screen recording). A clip
    of them talking is also heard as a recording of their voice, and its sound kept alone: for a
    family whose loved one has died, videos are most of what is left of it. Only one whose lips
    are seen moving, so that the voice is theirs, not the person filming."""

    async def check(path: Path) -> _Footage:
        clip = await services.analyses.clip(path)
        try:
            report = await services.verifier.detect(path)
        except (TimeoutError, WorkerFailed) as error:
            raise IngestError("too_slow", f"{path.name}: detection did not finish") from error
        if report.made_by_service:
            raise IngestError("made_here", f"{path.name}: a greeting made here")
        if not clip.assessment.speaking:
            return _Footage(clip, None)
        try:
            return _Footage(clip, await services.analyses.sound(path))
        except IngestError:  # too little speech, or too long a video: the picture still counts
            return _Footage(clip, None)

    return check


async def receive_portrait(update: Update, context: Context) -> None:
    """A photo of them. Of an album (several chosen at once, each arriving alone), the first
    usable one is kept and the rest pass unanswered: each kept in turn replaced the last, and
    the member read the thanks and the next question once per photo."""
    message = update.effective_message
    assert message is not None and context.user_data is not None
    album = message.media_group_id
    if album is not None and context.user_data.get(_ALBUM_KEPT) == album:
        return
    waiting = _take_held_question(context)
    await _ask_after(update, context, await _keep_portrait(update, context), waiting)


async def _keep_portrait(update: Update, context: Context) -> Order | None:
    """The photo's verdict given; the draft it went to, or None when it was refused."""
    services, message, user_id, _ = caller(update, context)
    source = message.photo[-1] if message.photo else message.document
    assert source is not None and context.user_data is not None
    if await _made_here(message, services, source.file_id, _):
        return None
    mime_type = (message.document.mime_type if message.document else None) or "image/jpeg"
    fetched = await fetch_checked(
        context, message, _, source.file_id, source.file_size, services.analyses.portrait
    )
    if fetched is None:
        return None
    member = _member(services, user_id)
    portrait_id = _keep_upload(services, member, fetched[0], MediaKind.PORTRAIT, mime_type)
    earlier = _draft(services, message, member)
    draft = update_order(services.db, earlier.id, portrait_id=portrait_id)
    if message.media_group_id is None and earlier.portrait_id is not None:
        # A second photo sent alone: which of the two the greeting shows is worth saying.
        await message.reply_text(
            _("Thank you: the greeting will show this photo instead of the one you sent before.")
        )
    elif message.media_group_id is None:
        await message.reply_text(_("Thank you, I have the photo."))
    else:
        context.user_data[_ALBUM_KEPT] = message.media_group_id
        await message.reply_text(
            _("Thank you, I have the photo: the first clear one of those you sent.")
        )
    return draft


async def receive_voice(update: Update, context: Context) -> None:
    services, message, user_id, _ = caller(update, context)
    source = message.voice or message.audio or message.document
    assert source is not None
    if await _made_here(message, services, source.file_id, _):
        return  # a voice greeting of ours is no recording of the subject
    fetched = await fetch_checked(
        context, message, _, source.file_id, source.file_size, services.analyses.voice
    )
    if fetched is None:
        return
    member = _member(services, user_id)
    mime_type = getattr(source, "mime_type", None) or "audio/ogg"
    draft, text = _keep_voice(services, message, member, fetched[0], mime_type, fetched[1], _)
    await message.reply_text(text)
    await ask_next_step(message, services, draft, _)


def _keep_voice(
    services: Services,
    message: Message,
    member: Member,
    data: bytes,
    mime_type: str,
    voice: VoiceInfo,
    _: Gettext,
    from_video: bool = False,
) -> tuple[Order, str]:
    """Pool a recording of their voice with the family's earlier ones; the draft, and what the
    member is told of how much speech there now is."""
    earlier = speech_seconds(services.db, member.space_id)
    voice_id = _keep_upload(services, member, data, MediaKind.VOICE, mime_type,
                            {"speech_s": round(voice.speech_s, 2)})  # fmt: skip
    draft = update_order(services.db, _draft(services, message, member).id, voice_id=voice_id)
    total = earlier + voice.speech_s
    if from_video and earlier > 0:
        text = _(
            "I took their voice from the video too: {speech:.1f} s of clear speech. With the "
            "earlier recordings that makes {total:.1f} s of the {recommended:.0f} s recommended."
        )
    elif from_video:
        text = _(
            "I took their voice from the video too: {speech:.1f} s of clear speech "
            "of the {recommended:.0f} s recommended."
        )
    elif earlier > 0:
        text = _(
            "Thank you, I have the voice note: {speech:.1f} s of clear speech. With the earlier "
            "notes that makes {total:.1f} s of the {recommended:.0f} s recommended."
        )
    else:
        text = _(
            "Thank you, I have the voice note: {speech:.1f} s of clear speech "
            "of the {recommended:.0f} s recommended."
        )
    text = text.format(speech=voice.speech_s, total=total, recommended=voice.recommended_s)
    if total < voice.recommended_s:
        # Every note is learnt from (the default voice's adaptation, a cloning voice's
        # enrolment): short of the recommended length, the family should know more helps.
        text = sentences(text, _(
            "You can send more recordings of them at any time: the more of their voice I hear, the "
            "closer the greeting's voice comes to theirs."
        ))  # fmt: skip
    return draft, text


async def receive_footage(update: Update, context: Context) -> None:
    """A video of the subject: kept for footage mode when it can carry the narration, and its
    best frame taken as the photo when the draft has none yet.

    Several videos chosen at once (an album, each arriving as a message of its own) each get
    their verdict, and the next question is asked once, after the last (``_ask_after``)."""
    waiting = _take_held_question(context)
    await _ask_after(update, context, await _judge_footage(update, context), waiting)


def _take_held_question(context: Context) -> bool:
    """Drop the next question an earlier file of the album holds; whether one was waiting."""
    assert context.user_data is not None
    held = context.user_data.pop(_ALBUM_QUESTION, None)
    waiting = held is not None and not held.done()  # an earlier file's, not yet asked
    if waiting:
        held.cancel()
    return waiting


async def _ask_after(update: Update, context: Context, draft: Order | None, waiting: bool) -> None:
    """The next question after a photo or video (``draft`` None: it was refused). For one of
    an album (photos and videos chosen together, each arriving as a message of its own) it is
    held a moment and dropped when another of the album comes in, so it is asked once, after
    the last: asked after each, it changed between them. ``waiting``: an earlier file's
    question was dropped for this one."""
    services, message, user_id, _ = caller(update, context)
    assert context.user_data is not None
    if message.media_group_id is None:
        if draft is not None:
            await ask_next_step(message, services, draft, _)
        return
    if draft is None and not waiting:
        return  # refused, and no question waits from an earlier file of the album

    async def ask_once_all_are_in() -> None:
        await asyncio.sleep(ALBUM_SETTLE_S)
        current = draft_for(services.db, user_id)
        if current is not None:
            await ask_next_step(message, services, current, _)

    context.user_data[_ALBUM_QUESTION] = context.application.create_task(
        ask_once_all_are_in(), update=update
    )


async def _judge_footage(update: Update, context: Context) -> Order | None:
    """The video's verdict given; the draft it went to, or None when it was refused."""
    services, message, user_id, _ = caller(update, context)
    source = message.video or message.video_note or message.document
    assert source is not None
    if await _made_here(message, services, source.file_id, _):
        return None
    fetched = await fetch_checked(
        context, message, _, source.file_id, source.file_size, _footage_check(services)
    )
    if fetched is None:
        return None
    data, footage = fetched
    clip = footage.clip
    member = _member(services, user_id)
    subject = get_space(services.db, member.space_id).subject_name or ""
    draft = _draft(services, message, member)
    if clip.assessment.usable:
        mime_type = getattr(source, "mime_type", None) or "video/mp4"
        _keep_upload(services, member, data, MediaKind.FOOTAGE, mime_type,
                     {"usable": True, "seconds": round(clip.info.duration_s, 1)})  # fmt: skip
    verdict = _footage_verdict(_, clip, subject)
    if draft.portrait_id is None and clip.still is not None:
        portrait_id = _keep_upload(services, member, clip.still, MediaKind.PORTRAIT, "image/jpeg")
        draft = update_order(services.db, draft.id, portrait_id=portrait_id)
        verdict += "\n" + _("I took their photo from the clearest moment of the video.")
    if footage.voice is not None:
        voice, sound = footage.voice
        draft, heard = _keep_voice(
            services, message, member, sound, "audio/ogg", voice, _, from_video=True
        )
        verdict += "\n" + heard
    await message.reply_text(verdict)
    return draft


def _footage_verdict(_: Gettext, clip: Clip, subject: str) -> str:
    assessment = clip.assessment
    if assessment.problem == "speaking":
        return _(
            "{subject} is talking in this video. I will not put other words in their mouth, so "
            "I cannot show it under the greeting: a clip of them listening or smiling works best."
        ).format(subject=subject)
    if assessment.problem == "face_not_in_view":
        return _(
            "In this video the face is in view only {share:.0f}% of the time, so I cannot show "
            "it under the greeting. A clip where they stay in the picture works best."
        ).format(share=100 * assessment.face_share)
    if assessment.problem == "unsteady":
        return _(
            "This video moves too much to show under the greeting. "
            "A clip filmed with a steady hand works best."
        )
    if assessment.problem == "too_short":
        return _(
            "This video is too short to show under the greeting. "
            "A clip of a few seconds or more works best."
        )
    return _(
        "Thank you, I have the video ({seconds:.0f} s). {subject}'s face is clear and "
        "steady in it, so the greeting can show this video."
    ).format(seconds=clip.info.duration_s, subject=subject)


async def template_chosen(update: Update, context: Context) -> None:
    await _choice_made(update, context, TEMPLATE_PREFIX, tuple(list_templates()), "template_id")


async def likeness_chosen(update: Update, context: Context) -> None:
    await _choice_made(update, context, LIKENESS_PREFIX, ("footage", "portrait"), "likeness")


async def spoken_language_chosen(update: Update, context: Context) -> None:
    await _choice_made(update, context, SPOKEN_PREFIX, ("cmn", "yue"), "spoken_language")


async def _choice_made(
    update: Update, context: Context, prefix: str, allowed: tuple[str, ...], field: str
) -> None:
    """A keyboard answer for the draft: stored, then the next question, or "expired" when the
    draft it belongs to is gone or no longer at that step."""
    query = update.callback_query
    assert query is not None and query.data is not None
    services, message, user_id, _ = caller(update, context)
    choice = query.data.removeprefix(prefix)
    draft = draft_for(services.db, user_id)
    await query.answer()
    if draft is None or _needs(services, draft).media or choice not in allowed:
        await message.reply_text(_("That choice has expired. Send /start to begin again."))
        return
    draft = update_order(services.db, draft.id, **{field: choice})
    await show_answer(query)
    await ask_next_step(message, services, draft, _)


def _last_photo(services: Services, space_id: str) -> str | None:
    """The family's newest photo still kept: a second greeting needs no new one."""
    photos = space_media(services.db, space_id, MediaKind.PORTRAIT)
    return str(photos[-1]["id"]) if photos else None


async def ask_for_photo(message: Message, services: Services, member: Member, _: Gettext) -> None:
    """How a new greeting starts: a photo, or the one the family sent last time."""
    if _last_photo(services, member.space_id) is None:
        await message.reply_text(_("To make a greeting, start by sending a photo of their face."))
        return
    await message.reply_text(
        _("To make a greeting, send a photo of their face, or use the last one again."),
        reply_markup=_buttons([(_("Use the last photo"), LAST_PHOTO)]),
    )


async def last_photo_chosen(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    services, message, user_id, _ = caller(update, context)
    await query.answer()
    member = _member(services, user_id)
    last = _last_photo(services, member.space_id)
    draft = _draft(services, message, member)
    if last is None:
        await remove_buttons(query)
        await message.reply_text(_("That photo is no longer kept. Please send a photo."))
        return
    # The question shows its answer; the old button cannot be pressed twice.
    await query.edit_message_text(_("I will use the last photo."))
    if draft.portrait_id is None:
        draft = update_order(services.db, draft.id, portrait_id=last)
    await ask_next_step(message, services, draft, _)


async def receive_unusable(update: Update, context: Context) -> None:
    """A kind of message no step takes (a sticker, a ZIP, a PDF outside the proof step) from a
    member making a greeting: the draft's question again, as typed text gets, where the generic
    "send /help" left them to find it."""
    assert update.effective_user is not None
    draft = draft_for(services_of(context).db, update.effective_user.id)
    if draft is None:
        await unsupported(update, context)
        return
    services, message, _user_id, _ = caller(update, context)
    await message.reply_text(_("I cannot use this kind of message here."))
    await ask_next_step(message, services, draft, _)


async def receive_text(update: Update, context: Context) -> None:
    """Typed text fills whatever the draft asks for: the recipient, the sender line, or the
    member's own words for the greeting."""
    services, message, user_id, _ = caller(update, context)
    draft = draft_for(services.db, user_id)
    if draft is None or _needs(services, draft).choices:
        if draft is None:
            await ask_for_photo(message, services, _member(services, user_id), _)
        else:
            await ask_next_step(message, services, draft, _)
        return
    language = language_of_words(services, draft)
    if draft.recipient is None:
        recipient = await bounded_text(
            message, MAX_RECIPIENT_CHARS, _("Please type a name of at most {limit} characters.")
        )
        if recipient is not None and await speakable_words(message, recipient, language, _):
            draft = update_order(services.db, draft.id, recipient=recipient)
            await ask_next_step(message, services, draft, _)
        return
    if draft.text_step == "sender":
        sender = await bounded_text(
            message, MAX_SENDER_CHARS, _("Please type a name of at most {limit} characters.")
        )
        if sender is not None and await speakable_words(message, sender, language, _):
            draft = update_order(services.db, draft.id, sender=sender, text_step=None)
            await ask_next_step(message, services, draft, _)
        return
    words = await own_words(message, language, _)
    if words is not None:
        draft = update_order(services.db, draft.id, message=words)
        await ask_next_step(message, services, draft, _)


def follow_language(services: Services, user_id: int, language: Language) -> None:
    """A draft speaks to its member in the language they now read: its card, invoice and
    captions would otherwise stay in the one they left. Where that changes the greeting's
    own language, what the member typed for it is asked again (a name in Chinese characters
    that an English greeting's voice cannot read, own words in the other script)."""
    draft = draft_for(services.db, user_id)
    if draft is None or draft.language == language or draft.space_id is None:
        return
    space = get_space(services.db, draft.space_id)
    spoken = draft.spoken_language
    if spoken is not None and spoken not in spoken_choices(language, space):
        spoken = None  # chosen among languages this member is no longer offered
    followed = draft.model_copy(update={"language": language, "spoken_language": spoken})
    typed: dict[str, None] = {}
    if greeting_language(followed, space) != greeting_language(draft, space):
        typed = {"recipient": None, "sender": None, "message": None, "text_step": None}
    update_order(services.db, draft.id, language=language, spoken_language=spoken, **typed)


def language_of_words(services: Services, order: Order) -> Language:
    """The language the member's own words for ``order`` must be in (and are limited by)."""
    assert order.space_id is not None
    return greeting_language(order, get_space(services.db, order.space_id))


async def own_words(message: Message, language: Language, _: Gettext) -> str | None:
    """The member's own words for the greeting, or None after saying what the limit is."""
    limit = MESSAGE_LIMITS[language]
    words = clean_words(message.text or "")
    if not words or visible_length(words) > limit:
        await message.reply_text(
            _(
                "Your words have {count} characters; a greeting can say at most {limit}. "
                "Please type a shorter message."
            ).format(count=visible_length(words), limit=limit)
        )
        return None
    return words if await speakable_words(message, words, language, _) else None


async def speakable_words(message: Message, text: str, language: Language, _: Gettext) -> bool:
    """Whether the greeting's voice can say ``text``; if not, the member is told how to type it."""
    if not sayable(text):  # emoji alone: a name or words the greeting would leave out
        await message.reply_text(
            _("A greeting can neither show nor say emoji. Please type words for it to say.")
        )
        return False
    if speakable(text, language):
        return True
    await message.reply_text(
        _("The greeting is in English, and its voice cannot read Chinese characters. Please "
          "type it in English letters, for example: Grandma.")
    )  # fmt: skip
    return False


async def words_chosen(update: Update, context: Context) -> None:
    """A button on the confirmation card."""
    query = update.callback_query
    assert query is not None and query.data is not None
    services, message, user_id, _ = caller(update, context)
    assert context.user_data is not None
    draft = draft_for(services.db, user_id)
    choice = query.data.removeprefix(WORDS_PREFIX)
    if draft is None and context.user_data.get(_PLACED_FROM) == message.message_id:
        # Pressed again before the first press took the buttons away (a double tap): the
        # greeting is on its way, which "send /start to begin again" would have hidden.
        await query.answer(_("This greeting has moved on: send /orders to see where it is."))
        return
    await query.answer()
    if draft is None or draft.recipient is None or _needs(services, draft).choices:
        await message.reply_text(_("That choice has expired. Send /start to begin again."))
        return
    await remove_buttons(query)
    if choice == "own":
        await message.reply_text(
            _("Type the words {subject} should say (at most {limit} characters).").format(
                subject=_subject(services, draft),
                limit=MESSAGE_LIMITS[language_of_words(services, draft)],
            )
        )
    elif choice == "template":
        await ask_next_step(message, services, update_order(services.db, draft.id, message=None), _)
    elif choice == "sign":
        draft = update_order(services.db, draft.id, text_step="sender")
        await ask_next_step(message, services, draft, _)
    elif choice == "recipient":  # a name mistyped: asked again, the member's own words kept
        draft = update_order(services.db, draft.id, recipient=None)
        await ask_next_step(message, services, draft, _)
    elif choice == "shape":
        await _ask_shape(message, _)
    elif query.data != _place_data(services, draft):
        await message.reply_text(
            _("The greeting has changed since that card. This is how it reads now:")
        )
        await _confirm(message, services, draft, _)
    else:
        context.user_data[_PLACED_FROM] = message.message_id
        await _place(message, services, draft, user_id, _)


def _subject(services: Services, order: Order) -> str:
    assert order.space_id is not None
    return get_space(services.db, order.space_id).subject_name or ""


async def _place(
    message: Message, services: Services, draft: Order, user_id: int, _: Gettext
) -> None:
    space = get_space(services.db, _member(services, user_id).space_id)
    consent = current_consent(services.db, space, services.clock.now())
    assert consent is not None, "ordering is guarded by a current consent"
    refusal = await services.orders.place(
        draft,
        user_id,
        consent_id=consent.id,
        spoken_language=spoken_language_of(draft, space),
        shape=shape_for(services, draft).value,
    )
    if isinstance(refusal, Refusal):
        rules = services.orders.rules()
        if refusal.limit == "member":
            text = _(
                "You have ordered {count} greetings in the last 24 hours, the most allowed. "
                "Please try again tomorrow."
            ).format(count=rules.member_orders_per_day)
        else:
            text = _(
                "Your family has ordered {count} greetings in the last 24 hours, the most "
                "allowed. Please try again tomorrow."
            ).format(count=rules.family_orders_per_day)
        await message.reply_text(text)


async def cancel(update: Update, context: Context) -> None:
    """/cancel: the greeting in preparation, else the newest one not made yet."""
    services, message, user_id, _ = caller(update, context)
    draft = draft_for(services.db, user_id)
    if draft is not None:
        services.orders.discard_draft(draft, user_id)
        await message.reply_text(_("I have discarded the greeting you were preparing."))
        return
    waiting = orders_where(
        services.db,
        "user_id = ? AND status IN (?, ?, ?, ?, ?)",
        [user_id, OrderStatus.AWAITING_PAYMENT.value, OrderStatus.MODERATION.value,
         OrderStatus.CHANGES_REQUESTED.value, OrderStatus.QUEUED.value,
         OrderStatus.RENDERING.value],
    )  # fmt: skip
    if waiting and await services.orders.cancel(waiting[-1].id, user_id):
        await message.reply_text(
            _("I have cancelled the greeting for {recipient}.").format(
                recipient=waiting[-1].recipient
            )
        )
        return
    await message.reply_text(_("There is no greeting in preparation."))
