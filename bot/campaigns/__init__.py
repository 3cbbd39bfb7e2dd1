"""Festival campaigns: one template, many families, each greeting delivered on the day.

An organiser sets a campaign up in the admin chat; :class:`Campaigns` invites the families in
their language ahead of the festival, takes their answers (Yes with recipient names and an
optional personal message, Not this time, Never), turns each Yes into an order that renders
at low priority and goes through moderation and the preview like any other, and on the day
hands each greeting to the :class:`Broadcaster` at the family's own send time. The order desk
still owns every status and every send; this package decides only who and when.
"""

from bot.campaigns._broadcast import BROADCAST_RATE, CATCH_UP_S, PER_CHAT_S, Broadcaster
from bot.campaigns._service import Campaigns, sampled, send_moment
from bot.campaigns._store import (
    Answer,
    Audience,
    Campaign,
    Invitation,
    Step,
    campaign_with_code,
    draft_of,
    drop_draft,
    save_draft,
)
from bot.campaigns._texts import (
    JOIN_PREFIX,
    NEVER_PREFIX,
    NO_MESSAGE,
    NO_PREFIX,
    TIME_ZONES,
    YES_PREFIX,
    ZONE_PREFIX,
    Report,
    message_button,
    zone_buttons,
)

__all__ = [
    "BROADCAST_RATE",
    "CATCH_UP_S",
    "JOIN_PREFIX",
    "NEVER_PREFIX",
    "NO_MESSAGE",
    "NO_PREFIX",
    "PER_CHAT_S",
    "TIME_ZONES",
    "YES_PREFIX",
    "ZONE_PREFIX",
    "Answer",
    "Audience",
    "Broadcaster",
    "Campaign",
    "Campaigns",
    "Invitation",
    "Report",
    "Step",
    "campaign_with_code",
    "draft_of",
    "drop_draft",
    "message_button",
    "sampled",
    "save_draft",
    "send_moment",
    "zone_buttons",
]
