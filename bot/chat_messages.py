"""Taking back what the bot put in a chat: a greeting after consent is withdrawn, an invoice
for an order that will not be made, a /mydata archive after its files were deleted.

Telegram lets a bot delete its own messages in a private chat for 48 hours only; an older one
stays where it is, and a deletion asked twice (after a crash) is only refused. Both are the
same answer here: not deleted, nothing to retry.
"""

from telegram import Bot
from telegram.error import TelegramError


async def delete_messages(bot: Bot, chat_id: int, message_ids: set[int]) -> int:
    """Deletes what Telegram still lets a bot delete; returns how many went."""
    deleted = 0
    for message_id in sorted(message_ids):
        try:
            await bot.delete_message(chat_id, message_id)
            deleted += 1
        except TelegramError:
            pass  # older than Telegram lets bots delete, or deleted before
    return deleted
