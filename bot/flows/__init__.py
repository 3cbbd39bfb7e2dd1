"""Conversation flows: what the bot answers to each kind of update.

Handlers are registered here in one place so the precedence between them is visible at once:
commands first, then button presses, then media, then free text.
"""

from typing import Any

from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.flows import basics, order

COMMANDS = ("start", "help", "language", "cancel")


def register_handlers(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    application.add_handler(CommandHandler("start", basics.start))
    application.add_handler(CommandHandler("help", basics.help_command))
    application.add_handler(CommandHandler("language", basics.choose_language))
    application.add_handler(CommandHandler("cancel", order.cancel))
    application.add_handler(
        CallbackQueryHandler(basics.language_chosen, pattern=rf"^{basics.LANGUAGE_PREFIX}")
    )
    application.add_handler(
        CallbackQueryHandler(order.template_chosen, pattern=rf"^{order.TEMPLATE_PREFIX}")
    )
    application.add_handler(
        MessageHandler(filters.PHOTO | filters.Document.IMAGE, order.receive_portrait)
    )
    application.add_handler(
        MessageHandler(filters.VOICE | filters.AUDIO | filters.Document.AUDIO, order.receive_voice)
    )
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, order.receive_text))
    application.add_handler(MessageHandler(filters.ALL, basics.unsupported))
