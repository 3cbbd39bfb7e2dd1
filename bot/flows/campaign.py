"""Festival campaigns in chat: the organiser's guided /campaign and /campaign_report in the
admin chat, and a family's answers to an invitation (Yes, then their time zone once, the
recipient's names and an optional personal message; Not this time; Never).

The organiser's answers are kept in ``campaign_drafts`` and a family's in its invitation row,
so a restart in the middle of either carries on from the last answer.
"""

from datetime import date, timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from bot.campaigns import (
    JOIN_PREFIX,
    MAX_INVITATION_CHARS,
    TIME_ZONES,
    Answer,
    Audience,
    Invitation,
    OffFestival,
    Refused,
    Setup,
    Step,
    campaign_day,
    campaign_with_code,
    draft_of,
    drop_draft,
    invitation_words,
    invite_link,
    message_button,
    save_draft,
    send_time,
    zone_buttons,
)
from bot.family.spaces import get_space
from bot.festivals import next_date, upcoming
from bot.flows.basics import Context, bounded_text, caller, remove_buttons, show_answer
from bot.flows.order import (
    MAX_RECIPIENT_CHARS,
    own_words,
    speakable_words,
    with_language_note,
)
from bot.i18n import LANGUAGES, Gettext, Language, sentences, words_language, written_language_name
from bot.orders import fitting_spoken_language
from bot.services import Services, services_of
from bot.storage.orders import draft_for, get_order
from bot.storage.users import DEFAULT_TIME_ZONES, set_time_zone
from engine import list_templates, template_festival, template_title

# Callback data of the organiser's buttons.
ORGANISER_PREFIX = "cmk:"
TEMPLATE_PREFIX = "cmk:tpl:"
DATE_PREFIX = "cmk:date:"
KEEP_DATE_PREFIX = "cmk:keep:"  # a day far from the festival, confirmed
AUDIENCE_PREFIX = "cmk:aud:"
_TEXT_STEPS = tuple(f"text:{language}" for language in LANGUAGES)


def _buttons(rows: list[tuple[str, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d)] for t, d in rows])


# The organiser


async def campaign_command(update: Update, context: Context) -> None:
    """/campaign: the first question of the guided set-up (template), a fresh draft."""
    services, message, admin_id, _ = caller(update, context)
    save_draft(services.db, services.clock, admin_id, "template", {})
    language = services.language_of(admin_id)
    soon, later = upcoming(list_templates(), template_festival, services.clock.now().date())
    rows = [(template_title(t, language), TEMPLATE_PREFIX + t) for t in [*soon, *later]]
    await message.reply_text(
        _("A new festival campaign. Which greeting template should every family get?"),
        reply_markup=_buttons(rows),
    )


async def organiser_pressed(update: Update, context: Context) -> None:
    """A button of the set-up: the template, the festival's date, or the audience."""
    query = update.callback_query
    assert query is not None and query.data is not None
    services, message, admin_id, _ = caller(update, context)
    await query.answer()
    draft = draft_of(services.db, admin_id)
    data = query.data
    if draft is None:
        await message.reply_text(_("That choice has expired. Send /campaign to begin again."))
        return
    step, fields = draft
    if step == "template" and data.startswith(TEMPLATE_PREFIX):
        template_id = data.removeprefix(TEMPLATE_PREFIX)
        if template_id not in list_templates():
            await message.reply_text(_("That choice has expired. Send /campaign to begin again."))
            return
        fields["template_id"] = template_id
        save_draft(services.db, services.clock, admin_id, "date", fields)
        await _ask_date(message, services, template_id, _)
    elif step == "date" and data.startswith(DATE_PREFIX):
        await _date_given(message, services, admin_id, fields, data.removeprefix(DATE_PREFIX), _)
    elif step == "date" and data.startswith(KEEP_DATE_PREFIX):
        day = data.removeprefix(KEEP_DATE_PREFIX)
        await _date_given(message, services, admin_id, fields, day, _, confirmed=True)
    elif step == "audience" and data.startswith(AUDIENCE_PREFIX):
        fields["audience"] = Audience(data.removeprefix(AUDIENCE_PREFIX)).value
        save_draft(services.db, services.clock, admin_id, _TEXT_STEPS[0], fields)
        await message.reply_text(_invitation_question(_, LANGUAGES[0]))
    else:
        await message.reply_text(_("That choice has expired. Send /campaign to begin again."))


async def _ask_date(message: Message, services: Services, template_id: str, _: Gettext) -> None:
    rows = []
    festival = template_festival(template_id)
    today = services.clock.now().date()
    when = next_date(festival, today)
    if when is not None:
        rows.append((when.isoformat(), DATE_PREFIX + when.isoformat()))
    await message.reply_text(
        _("On which day? Type the date as YYYY-MM-DD, or press the festival's next date."),
        reply_markup=_buttons(rows) if rows else None,
    )


def _invitation_question(_: Gettext, language: Language) -> str:
    return _(
        "Type the invitation families will read in {language} (at most {limit} characters)."
    ).format(language=written_language_name(_, language), limit=MAX_INVITATION_CHARS)


def drafting(update: Update, context: Context) -> bool:
    """The sender is an admin whose /campaign waits for typed text, typing in the admin chat."""
    user, chat = update.effective_user, update.effective_chat
    services = services_of(context)
    if user is None or chat is None or chat.id != services.settings.admin_chat_id:
        return False
    if not services.is_admin(user.id):
        return False
    draft = draft_of(services.db, user.id)
    return draft is not None and draft[0] in ("date", "time", *_TEXT_STEPS)


async def organiser_typed(update: Update, context: Context) -> None:
    services, message, admin_id, _ = caller(update, context)
    draft = draft_of(services.db, admin_id)
    assert draft is not None
    step, fields = draft
    text = (message.text or "").strip()
    if step == "date":
        await _date_given(message, services, admin_id, fields, text, _)
    elif step == "time":
        try:
            fields["send_time"] = send_time(_, text)
        except Refused as refused:
            await message.reply_text(str(refused))
            return
        save_draft(services.db, services.clock, admin_id, "audience", fields)
        await message.reply_text(
            _("Who is invited?"),
            reply_markup=_buttons(
                [
                    (_("Every family with a current consent"),
                     AUDIENCE_PREFIX + Audience.CONSENTED.value),
                    (_("Families who open this campaign's own invite link"),
                     AUDIENCE_PREFIX + Audience.LINK.value),
                ]
            ),
        )  # fmt: skip
    else:
        await _invitation_given(message, services, admin_id, step, fields, text, _)


async def _date_given(
    message: Message,
    services: Services,
    admin_id: int,
    fields: dict[str, object],
    text: str,
    _: Gettext,
    confirmed: bool = False,
) -> None:
    language, template_id = services.language_of(admin_id), str(fields["template_id"])
    try:
        day = campaign_day(_, language, template_id, text, services.clock.now().date(),
                           confirmed=text if confirmed else "")  # fmt: skip
    except OffFestival as off:
        keep, festival = off.day.isoformat(), off.festival_day.isoformat()
        await message.reply_text(
            sentences(str(off), _("Should greetings arrive on {date} all the same? Or type "
                                  "another date.").format(date=keep)),
            reply_markup=_buttons([
                (_("Yes, on {date}").format(date=keep), KEEP_DATE_PREFIX + keep),
                (_("No, on {date}").format(date=festival), DATE_PREFIX + festival),
            ]),
        )  # fmt: skip
        return
    except Refused as refused:
        await message.reply_text(str(refused))
        return
    fields["festival_date"] = day.isoformat()
    save_draft(services.db, services.clock, admin_id, "time", fields)
    await message.reply_text(
        _(
            "At what time should greetings arrive, in each family's own time zone? "
            "Type it as HH:MM, for example 09:30."
        )
    )


async def _invitation_given(
    message: Message,
    services: Services,
    admin_id: int,
    step: str,
    fields: dict[str, object],
    text: str,
    _: Gettext,
) -> None:
    try:
        words = invitation_words(_, message.text or "")
    except Refused as refused:
        await message.reply_text(str(refused))
        return
    language = step.removeprefix("text:")
    fields.setdefault("texts", {})
    assert isinstance(fields["texts"], dict)
    fields["texts"][language] = words
    following = _TEXT_STEPS.index(step) + 1
    if following < len(_TEXT_STEPS):
        save_draft(services.db, services.clock, admin_id, _TEXT_STEPS[following], fields)
        await message.reply_text(_invitation_question(_, LANGUAGES[following]))
        return
    setup = Setup(
        template_id=str(fields["template_id"]),
        festival_date=date.fromisoformat(str(fields["festival_date"])),
        send_time=str(fields["send_time"]),
        audience=Audience(str(fields["audience"])),
        texts=fields["texts"],
    )
    campaign = services.campaigns.create(admin_id, **setup.fields(services.settings))
    drop_draft(services.db, admin_id)
    ready = _("Campaign {id} is ready: {festival} on {date} at {time}, each family's own time.")
    if campaign.invitations_open(services.clock.now()):
        # A festival nearer than the invitations' lead: they go out at once, not "days before".
        invitations = _("Invitations go out now.")
    else:
        first = campaign.day - timedelta(days=campaign.invite_days)
        invitations = _("Invitations go out on {date}, {days} days before.").format(
            date=first.isoformat(), days=campaign.invite_days
        )
    follow = _(
        "{percent}% of the greetings come to you to watch first. Send /campaign_report {id} "
        "to follow it."
    )
    text = sentences(
        ready.format(
            id=campaign.id,
            festival=template_title(campaign.template_id, services.language_of(admin_id)),
            date=campaign.festival_date,
            time=campaign.send_time,
        ),
        invitations,
        follow.format(percent=campaign.sample_percent, id=campaign.id),
    )
    if campaign.audience == Audience.LINK:
        link = invite_link(message.get_bot().username, campaign)
        text += "\n\n" + _("Share this link with the families to invite: {link}").format(link=link)
    await message.reply_text(text)


async def report_command(update: Update, context: Context) -> None:
    """/campaign_report ID"""
    services, message, admin_id, _ = caller(update, context)
    language = services.language_of(admin_id)
    campaign = services.campaigns.campaign(context.args[0]) if context.args else None
    if campaign is not None:
        await message.reply_text(services.campaigns.report(campaign).text(_, language))
        return
    campaigns = services.campaigns.campaigns()
    if not campaigns:
        await message.reply_text(_("There are no campaigns yet. Send /campaign to create one."))
        return
    # Without an id (or with a wrong one) the organiser is shown the ids to choose from.
    listed = "\n".join(
        f"{c.id} {template_title(c.template_id, language)} {c.festival_date}" for c in campaigns
    )
    asked = _(
        "Send /campaign_report followed by a campaign's id, for example /campaign_report {id}."
    )
    if context.args:
        asked = sentences(_("No campaign has that id."), asked)
    await message.reply_text(asked.format(id=campaigns[0].id) + "\n\n" + listed)


# Families


def is_join_payload(payload: str) -> bool:
    return payload.startswith(JOIN_PREFIX) and len(payload) == len(JOIN_PREFIX) + 16


async def join(update: Update, context: Context, payload: str) -> None:
    """A family opened a campaign's own invite link: they are its audience from now on."""
    services, message, user_id, _ = caller(update, context)
    campaign = campaign_with_code(services.db, payload.removeprefix(JOIN_PREFIX))
    if campaign is None:
        await message.reply_text(
            _("This campaign link is not valid. Ask the organiser for a new one.")
        )
        return
    services.campaigns.join(campaign, user_id)
    await message.reply_text(
        _(
            "Thank you: your family will be invited to the {festival} campaign. If you have no "
            "family space yet, send /newspace to create one for your loved one first."
        ).format(festival=template_title(campaign.template_id, services.language_of(user_id)))
    )


async def answer_pressed(update: Update, context: Context) -> None:
    """Not this time, or Never send me campaigns."""
    query = update.callback_query
    assert query is not None and query.data is not None
    services, message, user_id, _ = caller(update, context)
    await query.answer()
    choice, _sep, campaign_id = query.data.removeprefix("camp:").partition(":")
    answer = Answer.DECLINED if choice == "no" else Answer.OPTED_OUT
    if services.campaigns.answer(campaign_id, user_id, answer) is None:
        await message.reply_text(_("This invitation has already been answered."))
        return
    await remove_buttons(query)
    if answer == Answer.DECLINED:
        await message.reply_text(_("All right, not this time."))
    else:
        await message.reply_text(
            _("You will not receive campaign invitations again. You can still order "
              "greetings yourself at any time.")
        )  # fmt: skip


async def yes_pressed(update: Update, context: Context) -> None:
    """Yes (guarded: a verified member of a family whose consent is current)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    services, message, user_id, _ = caller(update, context)
    await query.answer()
    campaign_id = query.data.removeprefix("camp:yes:")
    invitation = services.campaigns.answer(campaign_id, user_id, Answer.ACCEPTED)
    if invitation is None:
        await message.reply_text(_("This invitation has already been answered."))
        return
    await remove_buttons(query)
    await _ask(message, services, user_id, invitation, _)


async def _ask(
    message: Message, services: Services, user_id: int, invitation: Invitation, _: Gettext
) -> None:
    if invitation.step == Step.ZONE:
        default = DEFAULT_TIME_ZONES[services.language_of(user_id)]
        await message.reply_text(
            _("Which time zone do you live in? The greeting arrives at the campaign's time there. "
              "(I ask only once.)"),
            reply_markup=zone_buttons(default),
        )  # fmt: skip
    elif invitation.step == Step.RECIPIENT:
        question = _("Who is the greeting for? Type their names as the greeting should say them, "
                     "for example: Grandma and Grandpa (at most {limit} characters).")  # fmt: skip
        await message.reply_text(
            with_language_note(
                question.format(limit=MAX_RECIPIENT_CHARS),
                get_space(services.db, invitation.space_id),
                services.language_of(user_id),
                _spoken_language(services, user_id, invitation),
                _,
            )
        )
    elif invitation.step == Step.MESSAGE:
        subject = get_space(services.db, invitation.space_id).subject_name or ""
        await message.reply_text(
            _("If you like, type a personal message for {subject} to say (a moderator reads it "
              "first), or press No personal message.").format(subject=subject),
            reply_markup=message_button(_),
        )  # fmt: skip
    else:
        await _place(message, services, user_id, invitation, _)


async def zone_pressed(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    services, message, user_id, _ = caller(update, context)
    await query.answer()
    zone = query.data.removeprefix("camp:tz:")
    invitation = services.campaigns.answering(user_id)
    if invitation is None or invitation.step != Step.ZONE or not _known_zone(zone):
        await message.reply_text(_("That choice has expired."))
        return
    set_time_zone(services.db, user_id, zone)
    await show_answer(query)
    await _ask(message, services, user_id, services.campaigns.next_step(invitation), _)


def _known_zone(zone: str) -> bool:
    return zone in TIME_ZONES or zone in DEFAULT_TIME_ZONES.values()


async def no_message_pressed(update: Update, context: Context) -> None:
    query = update.callback_query
    assert query is not None
    services, message, user_id, _ = caller(update, context)
    await query.answer()
    invitation = services.campaigns.answering(user_id)
    if invitation is None or invitation.step != Step.MESSAGE:
        await message.reply_text(_("That choice has expired."))
        return
    await show_answer(query)
    await _ask(message, services, user_id, services.campaigns.next_step(invitation), _)


def asked_last(services: Services, user_id: int) -> Invitation | None:
    """The invitation this person said Yes to and still owes an answer for, if it asked its
    question after the greeting they are preparing asked theirs: a member who went back to
    their own greeting meanwhile is answering that one (the invitation's question waits)."""
    invitation = services.campaigns.answering(user_id)
    if invitation is None:
        return None
    draft = draft_for(services.db, user_id)
    if draft is None or draft.updated_at <= (invitation.updated_at or ""):
        return invitation
    return None


def answering(update: Update, context: Context) -> bool:
    """The sender owes an invitation typed text (names or a message), asked last."""
    user = update.effective_user
    if user is None:
        return False
    invitation = asked_last(services_of(context), user.id)
    return invitation is not None and invitation.step in (Step.RECIPIENT, Step.MESSAGE)


async def ask_again(
    message: Message, services: Services, user_id: int, invitation: Invitation, _: Gettext
) -> None:
    """/start from someone who left an invitation half-answered: which campaign, then its
    question again (the answers given so far are kept)."""
    campaign = services.campaigns.campaign(invitation.campaign_id)
    assert campaign is not None
    title = template_title(campaign.template_id, services.language_of(user_id))
    await message.reply_text(
        _("You accepted the invitation to the {festival} campaign. It still needs your answer "
          "to this question:").format(festival=title)
    )  # fmt: skip
    await _ask(message, services, user_id, invitation, _)


async def family_typed(update: Update, context: Context) -> None:
    """The recipient's names, or the personal message (guarded like ordering)."""
    services, message, user_id, _ = caller(update, context)
    invitation = services.campaigns.answering(user_id)
    assert invitation is not None
    spoken = _spoken_language(services, user_id, invitation)
    language = words_language(services.language_of(user_id), spoken)
    if invitation.step == Step.RECIPIENT:
        names = await bounded_text(
            message, MAX_RECIPIENT_CHARS, _("Please type a name of at most {limit} characters.")
        )
        if names is not None and await speakable_words(message, names, language, _):
            invitation = services.campaigns.next_step(invitation, recipient=names)
            await _ask(message, services, user_id, invitation, _)
        return
    words = await own_words(message, language, _)
    if words is not None:
        await _ask(
            message, services, user_id, services.campaigns.next_step(invitation, message=words), _
        )


def _spoken_language(services: Services, user_id: int, invitation: Invitation) -> str:
    """The language the invited family's greeting will speak (no question asked in a
    campaign): the member's if the subject spoke it, else the subject's."""
    space = get_space(services.db, invitation.space_id)
    return fitting_spoken_language(services.language_of(user_id), space)


async def _place(
    message: Message, services: Services, user_id: int, invitation: Invitation, _: Gettext
) -> None:
    spoken = _spoken_language(services, user_id, invitation)
    order = await services.campaigns.place(invitation, spoken)
    if order is None:
        await message.reply_text(
            _("Sorry, this greeting can no longer be made: consent for it is not current.")
        )
        return
    order = get_order(services.db, order.id)
    await message.reply_text(
        _("Thank you. The greeting for {recipient} will be made ahead; you will see it before "
          "the festival.").format(recipient=order.recipient)
    )  # fmt: skip
