"""The festival calendar: when each template's festival next falls, so the bot lists those first.

Lunar festivals are converted from the Chinese lunisolar calendar and Qingming and the Winter
Solstice are solar terms, both by borax (its tables follow the Hong Kong Observatory's
Gregorian-Lunar conversion tables, China Standard Time, lunar years 1900-2100); the Gregorian
ones are plain date arithmetic. A birthday may be any day, so it has no date. Nothing here
knows Telegram: the festival keyboard calls `upcoming` once and draws what it returns.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Literal, NamedTuple, get_args

from borax.calendars.lunardate import LunarDate, TermUtils

# The same names as the template schema's `festival` (engine/_templates.FestivalId).
Festival = Literal[
    "spring-festival", "lantern-festival", "qingming", "dragon-boat", "qixi", "mid-autumn",
    "double-ninth", "winter-solstice", "christmas", "new-year", "mothers-day", "fathers-day",
    "birthday",
]  # fmt: skip
FESTIVALS: tuple[Festival, ...] = get_args(Festival)

# The years every festival can be dated in (the calendar library's range).
FIRST_YEAR = 1900
LAST_YEAR = 2100

# (lunar month, day), always in the ordinary month, never a leap month of the same number.
_LUNAR: dict[Festival, tuple[int, int]] = {
    "spring-festival": (1, 1),
    "lantern-festival": (1, 15),
    "dragon-boat": (5, 5),
    "qixi": (7, 7),
    "mid-autumn": (8, 15),
    "double-ninth": (9, 9),
}
# The solar term whose day is the festival (names as the library spells them).
_SOLAR_TERMS: dict[Festival, str] = {"qingming": "清明", "winter-solstice": "冬至"}
# (month, day)
_FIXED: dict[Festival, tuple[int, int]] = {"christmas": (12, 25), "new-year": (1, 1)}
# (month, which Sunday of it)
_SUNDAYS: dict[Festival, tuple[int, int]] = {"mothers-day": (5, 2), "fathers-day": (6, 3)}
_UNDATED: frozenset[Festival] = frozenset({"birthday"})


def date_in_year(festival: Festival, year: int) -> date | None:
    """The festival's day in Gregorian `year`; None for a birthday.

    Each lunar festival of lunar year Y falls in Gregorian year Y (Spring Festival is never
    before 21 January, the Double Ninth never after November), so one year maps to one date.
    Raises ValueError for an unknown festival or a year outside 1900-2100.
    """
    if festival in _UNDATED:
        return None
    if festival not in FESTIVALS:
        raise ValueError(f"unknown festival {festival!r}")
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"festival dates are known for {FIRST_YEAR}-{LAST_YEAR}, not {year}")
    if festival in _LUNAR:
        month, day = _LUNAR[festival]
        solar: date = LunarDate(year, month, day, 0).to_solar_date()
        return solar
    if festival in _SOLAR_TERMS:
        term: date = TermUtils.nth_term_day(year, term_name=_SOLAR_TERMS[festival])
        return term
    if festival in _FIXED:
        return date(year, *_FIXED[festival])
    month, nth = _SUNDAYS[festival]
    first = date(year, month, 1)
    first_sunday = first + timedelta(days=(calendar.SUNDAY - first.weekday()) % 7)
    return first_sunday + timedelta(weeks=nth - 1)


def next_date(festival: Festival, on_or_after: date) -> date | None:
    """The festival's first day on or after `on_or_after`; None for a birthday.

    Raises ValueError for an unknown festival or when that day would fall after 2100.
    """
    this_year = date_in_year(festival, on_or_after.year)
    if this_year is None or this_year >= on_or_after:
        return this_year
    return date_in_year(festival, on_or_after.year + 1)


class Upcoming(NamedTuple):
    """Template ids for the festival keyboard: `soon` first, `later` behind a More button."""

    soon: list[str]
    later: list[str]


def upcoming(
    template_ids: Iterable[str],
    festival_of: Callable[[str], Festival],
    today: date,
    window_days: int = 45,
) -> Upcoming:
    """Split templates into those whose festival falls within `window_days` of `today` and the rest.

    `soon` is ordered by the festival's next date (today counts), ties by id. `later` starts
    with the undated ones (birthdays: any day may be one), then the dated ones by next date,
    then any whose next date lies past 2100; ties by id.
    `festival_of` maps a template id to its festival (the template's `festival` field).
    """
    if window_days < 0:
        raise ValueError(f"window_days must not be negative, got {window_days}")
    horizon = today + timedelta(days=window_days)
    soon: list[tuple[date, str]] = []
    later: list[tuple[int, date, str]] = []
    for template_id in template_ids:
        festival = festival_of(template_id)
        if festival not in FESTIVALS:
            raise ValueError(f"template {template_id!r}: unknown festival {festival!r}")
        try:
            when = next_date(festival, today)
        except ValueError:  # past the calendar's last year
            later.append((2, date.max, template_id))
            continue
        if when is None:
            later.append((0, date.min, template_id))
        elif when <= horizon:
            soon.append((when, template_id))
        else:
            later.append((1, when, template_id))
    return Upcoming(
        soon=[template_id for _, template_id in sorted(soon)],
        later=[template_id for _, _, template_id in sorted(later)],
    )
