"""Moderation of greeting requests: which orders a moderator reads first, and the
per-deployment rules behind that (a word list per language, daily limits, reviewing every
finished video).

Rules are data the admins change from the admin chat (``/rules``), kept in SQLite, so every
bot process and every restart applies the same ones. This package only decides; the order's
states move in ``bot.orders``.
"""

import json
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from sqlite_utils import Database

from bot.clock import iso
from bot.i18n import LANGUAGES, Language, words_language
from bot.storage import Order
from bot.storage.orders import placed_since
from bot.words import clean_words

DAY = timedelta(days=1)
# Zero-width and direction characters a word could hide behind ("f\u200bool").
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u202a\u202b\u202c\u202d\u202e"))

ReviewReason = Literal["personal_message", "deceased", "flagged_family", "word_list"]
REVIEW_REASONS: tuple[ReviewReason, ...] = (
    "personal_message",
    "deceased",
    "flagged_family",
    "word_list",
)


@dataclass(frozen=True)
class Rules:
    """What a deployment's admins decided; the defaults are what a new deployment starts with."""

    words: dict[Language, tuple[str, ...]] = field(default_factory=dict)
    member_orders_per_day: int = 5
    family_orders_per_day: int = 10
    review_videos: bool = False

    def with_words(self, language: Language, words: tuple[str, ...]) -> "Rules":
        return replace(self, words={**self.words, language: words})


def load_rules(db: Database) -> Rules:
    stored = {row["name"]: json.loads(row["value"]) for row in db.table("moderation_rules").rows}
    words = {language: tuple(stored.get("words", {}).get(language, ())) for language in LANGUAGES}
    defaults = Rules()
    return Rules(
        words={language: found for language, found in words.items() if found},
        member_orders_per_day=int(
            stored.get("member_orders_per_day", defaults.member_orders_per_day)
        ),
        family_orders_per_day=int(
            stored.get("family_orders_per_day", defaults.family_orders_per_day)
        ),
        review_videos=bool(stored.get("review_videos", defaults.review_videos)),
    )


def save_rules(db: Database, rules: Rules) -> None:
    values = {
        "words": {language: list(words) for language, words in rules.words.items()},
        "member_orders_per_day": rules.member_orders_per_day,
        "family_orders_per_day": rules.family_orders_per_day,
        "review_videos": rules.review_videos,
    }
    db.table("moderation_rules").upsert_all(
        [{"name": name, "value": json.dumps(value)} for name, value in values.items()], pk="name"
    )


def _folded(text: str) -> str:
    """Compare as a reader sees: compatibility forms, case and invisible characters ignored."""
    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE).casefold()


def listed_words(rules: Rules, language: Language, *texts: str | None) -> list[str]:
    """The words of the order's language list that appear in any of ``texts``."""
    haystack = _folded(" ".join(text for text in texts if text))
    return [word for word in rules.words.get(language, ()) if _folded(word) in haystack]


def review_reasons(order: Order, deceased: bool, flagged: bool, rules: Rules) -> list[ReviewReason]:
    """Why a moderator must read this order before it is made; empty: it goes straight on."""
    reasons: list[ReviewReason] = []
    if order.message is not None:
        reasons.append("personal_message")
    if deceased:
        reasons.append("deceased")
    if flagged:
        reasons.append("flagged_family")
    language = words_language(order.language, order.spoken_language)
    if listed_words(rules, language, order.message, order.recipient, order.sender):
        reasons.append("word_list")
    return reasons


Limit = Literal["member", "family"]


def limit_reached(db: Database, order: Order, rules: Rules, now: datetime) -> Limit | None:
    """Which daily limit placing this order would pass, counting the last 24 hours."""
    since = iso(now - DAY)
    if placed_since(db, "user_id", order.user_id, since) >= rules.member_orders_per_day:
        return "member"
    assert order.space_id is not None
    if placed_since(db, "space_id", order.space_id, since) >= rules.family_orders_per_day:
        return "family"
    return None


def await_note(db: Database, admin_id: int, order_id: str, now: datetime) -> None:
    """The admin pressed "Ask for a change": their next message in the admin chat is the note."""
    db.table("moderation_notes").upsert(
        {"admin_id": admin_id, "order_id": order_id, "created_at": iso(now)}, pk="admin_id"
    )


def take_note_order(db: Database, admin_id: int) -> str | None:
    """The order this admin owes a note for, forgotten once asked (one message, one note)."""
    rows = list(db.query("SELECT order_id FROM moderation_notes WHERE admin_id = ?", [admin_id]))
    if not rows:
        return None
    db.execute("DELETE FROM moderation_notes WHERE admin_id = ?", [admin_id])
    return str(rows[0]["order_id"])


def owes_note(db: Database, admin_id: int) -> bool:
    return bool(db.table("moderation_notes").count_where("admin_id = ?", [admin_id]))


MAX_NOTE_CHARS = 500


def clean_note(text: str) -> str:
    """An admin's "Ask for a change" note as the family reads it: one paragraph, at most
    :data:`MAX_NOTE_CHARS` characters, cleaned like every text the family reads; empty when
    nothing was written."""
    return clean_words(text)[:MAX_NOTE_CHARS]
