"""/start, /help and /language: how a member finds their way and their language."""

from collections.abc import Awaitable
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest
from telegram.ext import CallbackContext

from bot.authz import Admission
from bot.i18n import LANGUAGE_NAMES, LANGUAGES, Gettext, Language, gettext_for
from bot.orders import clean_words, visible_length
from bot.services import Services, services_of
from bot.storage import remember_user, set_language
from bot.transient import not_modified

Context = CallbackContext[Any, Any, Any, Any]
LANGUAGE_PREFIX = "lang:"


async def _edit(edit: Awaitable[object]) -> None:
    """An edit of the pressed message where it may already stand as asked (data a modified
    client sent, a press racing the one that edited it first): Telegram's "not modified" must
    not stop the press from being handled and answered."""
    try:
        await edit
    except BadRequest as error:
        if not not_modified(error):
            raise


async def remove_buttons(query: CallbackQuery) -> None:
    """Take the buttons off the pressed message before acting on the press (a message that has
    none is left as it is)."""
    await _edit(query.edit_message_reply_markup(reply_markup=None))


async def show_answer(query: CallbackQuery) -> None:
    """The pressed button's words in place of its question, so that the chat, read back later,
    shows what was chosen. A photo's card (its caption names what it offers) or a press whose
    button is not on the message (forged, or its keyboard already gone) only loses its buttons."""
    message = query.message
    pressed = [
        button.text
        for row in message.reply_markup.inline_keyboard
        for button in row
        if button.callback_data == query.data
    ] if isinstance(message, Message) and message.text and message.reply_markup else []  # fmt: skip
    if pressed:
        await _edit(query.edit_message_text(pressed[0]))
    else:
        await remove_buttons(query)


def remember_sender(update: Update, context: Context) -> None:
    user = update.effective_user
    assert user is not None
    remember_user(services_of(context).db, user.id, user.first_name, user.language_code)


def caller(update: Update, context: Context) -> tuple[Services, Message, int, Gettext]:
    """What nearly every handler starts from: the services, the message to answer, who sent
    it and their language (remembering them on first contact)."""
    remember_sender(update, context)
    services = services_of(context)
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    return services, message, user.id, services.gettext_of(user.id)


# Telegram keys command menus by two-letter ISO 639-1 codes, which cannot tell Traditional from
# Simplified Chinese: "zh" gets Simplified. A member whose language is not the one their code's
# menu shows (zh-hant, zh-hk, zh-tw; or a choice made with /language) gets a menu of their own
# in their chat (own_menu).
MENU_LANGUAGES: dict[str | None, Language] = {None: "en", "zh": "zh-Hans"}


async def own_menu(update: Update, context: Context) -> None:
    """The chat's command menu in the sender's language, when Telegram's would be another."""
    user, chat = update.effective_user, update.effective_chat
    assert user is not None and chat is not None
    language = services_of(context).language_of(user.id)
    two_letter = (user.language_code or "").split("-")[0].lower()
    if MENU_LANGUAGES.get(two_letter, MENU_LANGUAGES[None]) != language:
        await context.bot.set_my_commands(
            command_descriptions(gettext_for(language)), scope=BotCommandScopeChat(chat.id)
        )


def command_descriptions(_: Gettext) -> list[BotCommand]:
    return [
        BotCommand("start", _("Make a festival greeting")),
        BotCommand("help", _("How Tuanyuan works")),
        BotCommand("newspace", _("Create a family space for a loved one")),
        BotCommand("invite", _("Invite a relative or the person in the greetings")),
        BotCommand("consent", _("Give or renew consent")),
        BotCommand("revoke", _("Withdraw consent and delete everything")),
        BotCommand("mydata", _("Get a copy of your data")),
        BotCommand("delete_me", _("Leave and delete your files")),
        BotCommand("verify", _("Check whether Tuanyuan made a video")),
        BotCommand("language", _("Change the language")),
        BotCommand("orders", _("See your greetings and where each one is")),
        BotCommand("cancel", _("Discard the greeting in preparation")),
    ]


def admin_command_descriptions(_: Gettext) -> list[BotCommand]:
    return [
        BotCommand("review", _("Show proof documents waiting for review")),
        BotCommand("renders", _("Show the latest greetings and the voice that spoke them")),
        BotCommand("queue", _("Show greeting requests waiting for moderation")),
        BotCommand("rules", _("Show or change the moderation rules")),
        BotCommand("admin_login", _("Get a one-time link to the admin web")),
        BotCommand("campaign", _("Set up a festival campaign for many families")),
        BotCommand("campaign_report", _("Show where a campaign stands")),
    ]


def help_text(_: Gettext) -> str:
    return _(
        "Tuanyuan makes a festival greeting video in the voice and face of someone you love.\n\n"
        "First, /newspace creates a family space for them, or an invite link from a relative "
        "lets you join theirs. Each member shares their phone number and says how they are "
        "related; nothing is made until the person consents themself, or, if they have died, "
        "verified relatives authorise it.\n\n"
        "Then:\n"
        "1. Send a clear photo of their face.\n"
        "2. Send a recording of them speaking: a voice message, an audio file or a video "
        "(about 20 seconds is best).\n"
        "3. Choose the festival and tell me who the greeting is for.\n\n"
        "Every video is marked as made with AI; anyone can send /verify and then a video to "
        "learn whether Tuanyuan made it. /revoke withdraws consent and deletes "
        "everything, /mydata sends you your data, /delete_me removes you. /language changes "
        "the language, /cancel discards the greeting you are preparing.\n\n"
        "Also: /orders shows your greetings and where each one is, /invite brings in a "
        "relative or the person in the greetings, /consent gives or renews consent."
    )


def moderator_help_text(_: Gettext) -> str:
    """What a moderator can do, for their /help: the admin chat's command menu, which a
    moderator in a private chat with the bot does not see."""
    commands = "\n".join(f"/{c.command} {c.description}" for c in admin_command_descriptions(_))
    return _("For moderators:") + "\n" + commands


async def help_command(update: Update, context: Context) -> None:
    remember_sender(update, context)
    assert update.effective_user is not None and update.effective_message is not None
    services = services_of(context)
    _ = services.gettext_of(update.effective_user.id)
    text = help_text(_)
    if services.is_admin(update.effective_user.id):
        text += "\n\n" + moderator_help_text(_)
    await update.effective_message.reply_text(text)


async def choose_language(update: Update, context: Context) -> None:
    remember_sender(update, context)
    assert update.effective_user is not None and update.effective_message is not None
    _ = services_of(context).gettext_of(update.effective_user.id)
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(LANGUAGE_NAMES[lang], callback_data=LANGUAGE_PREFIX + lang)]
            for lang in LANGUAGES
        ]
    )
    await update.effective_message.reply_text(
        _("Which language should I use?"), reply_markup=keyboard
    )


async def language_chosen(update: Update, context: Context) -> Language | None:
    """The language chosen (None for a forged button)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    remember_sender(update, context)
    chosen = query.data.removeprefix(LANGUAGE_PREFIX)
    if chosen not in LANGUAGES:
        await query.answer()
        return None
    set_language(services_of(context).db, query.from_user.id, chosen)
    _ = gettext_for(chosen)
    await query.answer()
    await query.edit_message_text(_("I will write to you in English from now on."))
    if query.message is not None:
        # Telegram's per-language menus cannot tell the two Chinese scripts apart: give this
        # chat a menu of its own in the member's exact choice.
        await context.bot.set_my_commands(
            command_descriptions(_), scope=BotCommandScopeChat(query.message.chat.id)
        )
    return chosen


async def unsupported(update: Update, context: Context) -> None:
    remember_sender(update, context)
    assert update.effective_user is not None and update.effective_message is not None
    _ = services_of(context).gettext_of(update.effective_user.id)
    await update.effective_message.reply_text(
        _("I cannot use this kind of message. Send /help to see what I need.")
    )


def _refusal(_: Gettext, admission: Admission) -> str:
    match admission:
        case Admission.GO_PRIVATE:
            return _(
                "I only talk about your family and your greetings in a private chat, where "
                "nobody else reads along. Tap below to write to me there."
            )
        case Admission.ADMIN_CHAT_ONLY:
            return _("Moderation works only in the moderators' chat.")
        case _other:
            return _(
                "I cannot tell who sent this: it was sent in the name of a group or channel. "
                "Write to me from your own account, in a private chat."
            )


async def refuse_here(update: Update, context: Context, admission: Admission) -> None:
    """One answer to a command or button that does not belong in its chat (``bot.authz.admit``
    decided), in the sender's language: a button stops spinning, a command gets a reply with
    a button that opens a private chat with the bot."""
    user = update.effective_user
    _ = gettext_for("en")
    if user is not None and admission != Admission.UNKNOWN_SENDER:
        remember_sender(update, context)
        _ = services_of(context).gettext_of(user.id)
    text = _refusal(_, admission)
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
        return
    assert update.effective_message is not None
    markup = None
    if admission == Admission.GO_PRIVATE:
        link = InlineKeyboardButton(_("Write to me privately"), url=context.bot.link)
        markup = InlineKeyboardMarkup([[link]])
    await update.effective_message.reply_text(text, reply_markup=markup)


async def slow_down(update: Update, context: Context, wait_s: int) -> None:
    """The one answer an account gets when it goes over its flood limit (``bot.pacing``)."""
    remember_sender(update, context)
    assert update.effective_user is not None
    _ = services_of(context).gettext_of(update.effective_user.id)
    text = _(
        "You are sending messages faster than I can read them. Please wait {seconds} s, then "
        "send your last message again."
    ).format(seconds=wait_s)
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)


async def stale_button(update: Update, context: Context) -> None:
    """A press whose data no handler knows (an old keyboard, a modified client): answered, so
    the button stops spinning, with the way back."""
    remember_sender(update, context)
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    _ = services_of(context).gettext_of(update.effective_user.id)
    await query.answer(_("This button no longer works. Send /start to begin again."))


async def bounded_text(message: Message, limit: int, too_long: str) -> str | None:
    """The typed text with its spaces collapsed, or None after sending ``too_long``.

    Names and relations end up on screen and in records; one rule keeps them one line of at
    most ``limit`` characters, and the member is asked again rather than having them cut.
    """
    text = clean_words(message.text or "")
    if not text or visible_length(text) > limit:
        await message.reply_text(too_long.format(limit=limit))
        return None
    return text
