"""Everything the bot keeps between updates: one SQLite file and the rows behind the media vault.

Handlers never hold conversation state in memory: a member's progress lives in their draft
order row, so a restarted bot carries on where the family left off.
"""

from bot.storage.database import SCHEMA_VERSION, open_database
from bot.storage.media import MediaKind
from bot.storage.orders import Order, OrderStatus
from bot.storage.users import get_language, remember_user, set_language

__all__ = [
    "SCHEMA_VERSION",
    "MediaKind",
    "Order",
    "OrderStatus",
    "get_language",
    "open_database",
    "remember_user",
    "set_language",
]
