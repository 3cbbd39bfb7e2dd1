"""A new campaign's answers, checked by one set of rules for the admin chat's guided /campaign
and the admin web's form alike, refused with the same words in the organiser's language."""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from bot.campaigns._store import Audience
from bot.config import Settings
from bot.festivals import FIRST_YEAR, LAST_YEAR, date_in_year, next_date
from bot.i18n import LANGUAGES, Gettext, Language
from bot.orders import clean_words, visible_length
from engine import list_templates, template_festival, template_title

MAX_INVITATION_CHARS = 2000  # the organiser's words; the invitation adds a line of its own
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


NEAR_FESTIVAL = timedelta(days=3)
"""How far from its festival a campaign's day may be without a question (the eve, the weekend
before or after)."""


class Refused(ValueError):
    """An answer that cannot be used; its message (already localised) says what to do instead."""


class OffFestival(Refused):
    """A day far from the template's festival (a slip of the year or month, a Mid-Autumn
    campaign typed for December): asked about rather than taken, and taken once confirmed."""

    def __init__(self, _: Gettext, language: Language, template_id: str, day: date,
                 festival_day: date) -> None:  # fmt: skip
        super().__init__(
            _("{date} is far from {festival}, which next falls on {festival_date}.").format(
                date=day.isoformat(),
                festival=template_title(template_id, language),
                festival_date=festival_day.isoformat(),
            )
        )
        self.day = day
        self.festival_day = festival_day


def _check_near_festival(
    _: Gettext, language: Language, template_id: str, day: date, today: date
) -> None:
    """Raises :class:`OffFestival` when ``day`` is further than ``NEAR_FESTIVAL`` from every
    day the template's festival falls on around it (a birthday's campaign may be any day)."""
    festival = template_festival(template_id)
    coming = next_date(festival, today + timedelta(days=1))
    years = [y for y in (day.year - 1, day.year, day.year + 1) if FIRST_YEAR <= y <= LAST_YEAR]
    days = [d for d in (date_in_year(festival, y) for y in years) if d is not None]
    if coming is None or any(abs(d - day) <= NEAR_FESTIVAL for d in days):
        return
    raise OffFestival(_, language, template_id, day, coming)


def festival_day(_: Gettext, text: str, today: date) -> date:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise Refused(_("Please type the date as YYYY-MM-DD, for example 2027-09-15.")) from None
    if day <= today:
        raise Refused(_("That day has begun or passed: please choose a later one."))
    return day


def send_time(_: Gettext, text: str) -> str:
    """The local send time as HH:MM (a leading zero added)."""
    found = _TIME.match(text.strip())
    if found is None:
        raise Refused(_("Please type the time as HH:MM, for example 09:30."))
    return f"{int(found.group(1)):02d}:{found.group(2)}"


def invitation_words(_: Gettext, text: str) -> str:
    """The invitation with its spaces collapsed, like every text the bot keeps."""
    words = clean_words(text)
    if not words or visible_length(words) > MAX_INVITATION_CHARS:
        raise Refused(
            _("Please keep the invitation to {limit} characters.").format(
                limit=MAX_INVITATION_CHARS
            )
        )
    return words


@dataclass(frozen=True)
class Setup:
    """Every answer a campaign needs, checked."""

    template_id: str
    festival_date: date
    send_time: str
    audience: Audience
    texts: Mapping[str, str]  # language -> invitation

    def fields(self, settings: Settings) -> dict[str, object]:
        """What :meth:`Campaigns.create` stores, with the operator's invitation lead time and
        moderation sample."""
        return {
            "template_id": self.template_id,
            "festival_date": self.festival_date.isoformat(),
            "send_time": self.send_time,
            "audience": self.audience.value,
            "texts": json.dumps(dict(self.texts), ensure_ascii=False),
            "invite_days": settings.campaign_invite_days,
            "sample_percent": settings.campaign_sample_percent,
        }


def campaign_day(
    _: Gettext, language: Language, template_id: str, text: str, today: date, confirmed: str = ""
) -> date:
    """The day typed for a campaign of ``template_id``: refused when not a coming day, asked
    about (:class:`OffFestival`) when far from the festival, unless ``confirmed`` is that
    very day (the organiser said yes to it; a day changed since is asked about again)."""
    day = festival_day(_, text, today)
    if confirmed != day.isoformat():
        _check_near_festival(_, language, template_id, day, today)
    return day


def check_setup(
    _: Gettext,
    language: Language,
    today: date,
    template_id: str,
    day: str,
    time: str,
    audience: str,
    texts: Mapping[Language, str],
    day_confirmed: str = "",
) -> Setup:
    """All the answers of a form at once: the first problem is refused. A day far from the
    festival is taken only when ``day_confirmed`` is that day (the form's box ticked)."""
    if template_id not in list_templates():
        raise Refused(_("Please choose one of the greeting templates."))
    try:
        chosen = Audience(audience)
    except ValueError:
        raise Refused(_("Please choose who is invited.")) from None
    chosen_day = campaign_day(_, language, template_id, day, today, day_confirmed)
    return Setup(
        template_id=template_id,
        festival_date=chosen_day,
        send_time=send_time(_, time),
        audience=chosen,
        texts={language: invitation_words(_, texts.get(language, "")) for language in LANGUAGES},
    )
