"""The order lifecycle: from the member's confirmed draft to the greeting in their chat.

One object, :class:`OrderDesk`, owns every order's status. Flows call its methods (place,
approve, reject, send it, make it again, cancel...), the render tasks it starts report back to
it, and revocation ends orders through it. Each move is checked against one table
(:data:`TRANSITIONS`), made only if no one moved the order first, and audited; each message and
refund it owes goes through a ledger written before and after the call, so a restart at any
line sends nothing twice and loses nothing.
"""

from bot.orders._desk import MAX_RENDER_ATTEMPTS, MAX_TAKES, OrderDesk, Refusal
from bot.orders._language import (
    fitting_spoken_language,
    greeting_language,
    spoken_choices,
    spoken_language_of,
)
from bot.orders._ledger import Outcome, sent_by_us
from bot.orders._states import OPEN, TRANSITIONS, UNDER_REVIEW
from bot.orders._texts import (
    APPROVE_PREFIX,
    BACK_PREFIX,
    CANCEL_PREFIX,
    CHANGE_PREFIX,
    FLAG_PREFIX,
    REASON_PREFIX,
    REJECT_PREFIX,
    REJECTION_REASONS,
    REMAKE_PREFIX,
    RESEND_PREFIX,
    REVOKE_FROM_NOTICE,
    SEND_PREFIX,
    CardFacts,
    cancelled_text,
    consent_summary,
    reason_buttons,
    rejection_reasons,
    rejection_text,
    review_reason_text,
    status_line,
    title,
)
from bot.orders._words import (
    MAX_SENDER_CHARS,
    MESSAGE_LIMITS,
    clean_words,
    speakable,
    visible_length,
)

__all__ = [
    "APPROVE_PREFIX",
    "BACK_PREFIX",
    "CANCEL_PREFIX",
    "CHANGE_PREFIX",
    "FLAG_PREFIX",
    "MAX_RENDER_ATTEMPTS",
    "MAX_SENDER_CHARS",
    "MAX_TAKES",
    "MESSAGE_LIMITS",
    "OPEN",
    "REASON_PREFIX",
    "REJECTION_REASONS",
    "REJECT_PREFIX",
    "REMAKE_PREFIX",
    "RESEND_PREFIX",
    "REVOKE_FROM_NOTICE",
    "SEND_PREFIX",
    "TRANSITIONS",
    "UNDER_REVIEW",
    "CardFacts",
    "OrderDesk",
    "Outcome",
    "Refusal",
    "cancelled_text",
    "clean_words",
    "consent_summary",
    "fitting_spoken_language",
    "greeting_language",
    "reason_buttons",
    "rejection_reasons",
    "rejection_text",
    "review_reason_text",
    "sent_by_us",
    "speakable",
    "spoken_choices",
    "spoken_language_of",
    "status_line",
    "title",
    "visible_length",
]
