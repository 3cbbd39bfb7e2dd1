"""Festival campaigns: one template, many families, each greeting delivered on the day.

An organiser sets a campaign up in the admin chat; :class:`Campaigns` invites the families in
their language ahead of the festival, takes their answers (Yes with recipient names and an
optional personal message, Not this time, Never), turns each Yes into an order that renders
at low priority and goes through moderation and the preview like any other, and on the day
hands each greeting to the :class:`Broadcaster` at the family's own send time. An admin may
pause a campaign in the admin web: nothing goes out until it is resumed, and a greeting whose
festival day ended meanwhile is missed, never sent late. The order desk still owns every
status and every send; this package decides only who and when.
"""

from bot.campaigns._broadcast import BROADCAST_RATE, CATCH_UP_S, PER_CHAT_S, Broadcaster
from bot.campaigns._service import MISSED, Campaigns, day_over, sampled, send_moment
from bot.campaigns._setup import (
    MAX_INVITATION_CHARS,
    OffFestival,
    Refused,
    Setup,
    campaign_day,
    check_setup,
    festival_day,
    invitation_words,
    send_time,
)
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
    invite_link,
    message_button,
    report_labels,
    zone_buttons,
)

__all__ = [
    "BROADCAST_RATE",
    "CATCH_UP_S",
    "JOIN_PREFIX",
    "MAX_INVITATION_CHARS",
    "MISSED",
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
    "OffFestival",
    "Refused",
    "Report",
    "Setup",
    "Step",
    "campaign_day",
    "campaign_with_code",
    "check_setup",
    "day_over",
    "draft_of",
    "drop_draft",
    "festival_day",
    "invitation_words",
    "invite_link",
    "message_button",
    "report_labels",
    "sampled",
    "save_draft",
    "send_moment",
    "send_time",
    "zone_buttons",
]
