"""A whole PTB Application, long polling the stand-in, as the real bot will run."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
)

from bot.sandbox import BotApiStandIn, SandboxClient, SandboxUser
from tests.auxil.sandbox import TOKEN


async def test_polling_application_round_trip(
    stand_in: BotApiStandIn, sandbox: SandboxClient, user: SandboxUser
) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        keyboard = [[InlineKeyboardButton("Spring Festival", callback_data="spring")]]
        await context.bot.send_message(
            update.effective_chat.id,
            f"Hi! payload={context.args}",
            reply_markup=InlineKeyboardMarkup(keyboard),
        )

    async def chosen(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer()
        await query.edit_message_text(f"Chose {query.data}")

    application = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(stand_in.api_base_url)
        .base_file_url(stand_in.file_base_url)
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(chosen))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=5)
        try:
            await sandbox.send_text(user, "/start qr42")
            greeting = await sandbox.wait_for_message(user.id, timeout=5)
            assert greeting.text == "Hi! payload=['qr42']"
            await sandbox.press_button(user, greeting.message_id, "spring")
            edited = await sandbox.wait_for_message(
                user.id, lambda m: m.text == "Chose spring", timeout=5
            )
            assert edited.message_id == greeting.message_id
            assert len(await sandbox.callback_answers()) == 1
        finally:
            await application.updater.stop()
            await application.stop()
    assert await sandbox.errors() == []
