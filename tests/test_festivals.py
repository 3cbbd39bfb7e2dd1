"""The festival calendar: published dates, the upcoming-first order, every year 1900-2100."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import get_args

import pytest

from bot.festivals import (
    FESTIVALS,
    FIRST_YEAR,
    LAST_YEAR,
    Festival,
    Upcoming,
    date_in_year,
    next_date,
    upcoming,
)
from engine import RenderError, list_templates
from engine._templates import FestivalId, load_template, template_festival, templates_dir

# Published dates, each checked against a source:
# - Spring Festival 1900, 1950, 2100: the first days of the Rat (1900), Tiger (1950) and Monkey
#   (2100) years in Wikipedia's "Rat (zodiac)", "Tiger (zodiac)" and "Monkey (zodiac)" tables.
# - Spring Festival 2024 and Ching Ming 2024, the day after Mid-Autumn 2024 (18 September): the
#   Hong Kong government's gazetted general holidays for 2024.
# - Spring Festival 2025, Ching Ming, Tuen Ng (Dragon Boat), the day after Mid-Autumn
#   (7 October) and Chung Yeung (Double Ninth) 2025: Hong Kong's general holidays for 2025;
#   Chung Yeung 2025 also People's Daily, 29 October 2025.
# - Spring Festival 2000, 2026: Chinese New Year tables (2000 Dragon, 2026 Horse); Mid-Autumn
#   2026: calendarlabs.com's Mid-Autumn Festival table.
# - Lantern Festival 2025 (2月12日) and Qixi 2025 (8月29日): rili.com.cn and other Chinese
#   almanac pages for 2025.
# - Winter Solstice: the solstice instant from USNO's tables as given in Wikipedia's "Equinox"
#   table, in China Standard Time (UTC+8): 2024-12-21 09:20 UT (17:20 CST), 2025-12-21 15:03 UT
#   (23:03 CST), 2026-12-21 20:50 UT (04:50 CST on the 22nd).
# - Mother's Day 2025 (11 May) and Father's Day 2025 (15 June): calendarpedia.com; the second
#   Sunday of May and the third Sunday of June.
PUBLISHED: list[tuple[Festival, date]] = [
    ("spring-festival", date(1900, 1, 31)),
    ("spring-festival", date(1950, 2, 17)),
    ("spring-festival", date(2000, 2, 5)),
    ("spring-festival", date(2024, 2, 10)),
    ("spring-festival", date(2025, 1, 29)),
    ("spring-festival", date(2026, 2, 17)),
    ("spring-festival", date(2100, 2, 9)),
    ("mid-autumn", date(2024, 9, 17)),
    ("mid-autumn", date(2025, 10, 6)),
    ("mid-autumn", date(2026, 9, 25)),
    ("dragon-boat", date(2024, 6, 10)),
    ("dragon-boat", date(2025, 5, 31)),
    ("qixi", date(2025, 8, 29)),
    ("double-ninth", date(2024, 10, 11)),
    ("double-ninth", date(2025, 10, 29)),
    ("lantern-festival", date(2025, 2, 12)),
    ("qingming", date(2024, 4, 4)),
    ("qingming", date(2025, 4, 4)),
    ("winter-solstice", date(2024, 12, 21)),
    ("winter-solstice", date(2025, 12, 21)),
    ("winter-solstice", date(2026, 12, 22)),
    ("mothers-day", date(2025, 5, 11)),
    ("fathers-day", date(2025, 6, 15)),
    ("christmas", date(2025, 12, 25)),
    ("new-year", date(2026, 1, 1)),
]

# Where each dated festival may fall in the Gregorian year: (first, last) possible month.
MONTHS: dict[Festival, tuple[int, int]] = {
    "spring-festival": (1, 2),
    "lantern-festival": (2, 3),
    "qingming": (4, 4),
    "dragon-boat": (5, 6),
    "qixi": (7, 8),
    "mid-autumn": (9, 10),
    "double-ninth": (10, 11),
    "winter-solstice": (12, 12),
    "christmas": (12, 12),
    "new-year": (1, 1),
    "mothers-day": (5, 5),
    "fathers-day": (6, 6),
}


def _day(day: date | None) -> date:
    assert day is not None
    return day


@pytest.mark.parametrize(("festival", "day"), PUBLISHED, ids=lambda v: str(v))
def test_published_dates(festival: Festival, day: date) -> None:
    assert date_in_year(festival, day.year) == day
    assert next_date(festival, day) == day
    assert next_date(festival, day - timedelta(days=20)) == day
    if day.year < LAST_YEAR:
        assert _day(next_date(festival, day + timedelta(days=1))).year == day.year + 1


def test_the_festival_itself_is_still_next_on_its_day_and_the_next_year_after() -> None:
    assert next_date("mid-autumn", date(2025, 10, 6)) == date(2025, 10, 6)
    assert next_date("mid-autumn", date(2025, 10, 7)) == date(2026, 9, 25)
    assert next_date("spring-festival", date(2025, 12, 31)) == date(2026, 2, 17)
    assert next_date("christmas", date(2025, 12, 26)) == date(2026, 12, 25)


def test_every_year_dates_every_dated_festival_in_its_months() -> None:
    assert set(MONTHS) | {"birthday"} == set(FESTIVALS)
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        for festival, (first, last) in MONTHS.items():
            day = _day(date_in_year(festival, year))
            assert day.year == year and first <= day.month <= last, (festival, day)
        for festival, nth in (("mothers-day", 2), ("fathers-day", 3)):
            day = _day(date_in_year(festival, year))
            assert day.weekday() == 6 and 7 * (nth - 1) < day.day <= 7 * nth, (festival, day)
        spring, lantern = (
            _day(date_in_year(f, year)) for f in ("spring-festival", "lantern-festival")
        )
        assert lantern - spring == timedelta(days=14), year


def test_birthday_has_no_date() -> None:
    assert date_in_year("birthday", 2025) is None
    assert next_date("birthday", date(2025, 5, 1)) is None


def test_unknown_festival_and_years_outside_the_calendar_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown festival"):
        next_date("easter", date(2025, 1, 1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="1900-2100"):
        date_in_year("mid-autumn", 2101)
    with pytest.raises(ValueError, match="1900-2100"):
        next_date("mid-autumn", date(1899, 12, 31))
    # After the last Mid-Autumn the calendar knows, there is no next one to give.
    with pytest.raises(ValueError, match="1900-2100"):
        next_date("mid-autumn", date(2100, 12, 1))


def _festival_of(template_id: str) -> Festival:
    return template_festival(template_id)


def test_mid_autumn_leads_on_1_september_2026() -> None:
    order = upcoming(list_templates(), _festival_of, date(2026, 9, 1))
    assert order.soon == ["mid-autumn"]
    assert order.later[0] == "birthday"
    # The rest follow their next dates: Double Ninth (18 October 2026) comes next.
    assert order.later[1] == "double-ninth"
    assert sorted(order.soon + order.later) == list_templates()


def test_christmas_new_year_and_the_solstice_lead_on_4_december_2026() -> None:
    order = upcoming(list_templates(), _festival_of, date(2026, 12, 4))
    # Winter Solstice 22 December, Christmas 25 December, New Year 1 January 2027; Spring
    # Festival (6 February 2027) is 64 days away, outside the 45-day window.
    assert order.soon == ["winter-solstice", "christmas", "new-year"]
    assert order.later[:2] == ["birthday", "spring-festival"]
    assert order.later[2] == "lantern-festival"


def test_upcoming_order_ties_window_and_types() -> None:
    festivals: dict[str, Festival] = {
        "b-moon": "mid-autumn",
        "a-moon": "mid-autumn",
        "cake": "birthday",
        "tree": "christmas",
        "dragon": "dragon-boat",
    }
    order = upcoming(festivals, festivals.__getitem__, date(2025, 10, 6), window_days=0)
    assert isinstance(order, Upcoming)
    assert order == Upcoming(soon=["a-moon", "b-moon"], later=["cake", "tree", "dragon"])
    soon, later = upcoming(festivals, festivals.__getitem__, date(2025, 10, 7), window_days=80)
    assert soon == ["tree"]
    assert later == ["cake", "dragon", "a-moon", "b-moon"]
    with pytest.raises(ValueError, match="window_days"):
        upcoming(festivals, festivals.__getitem__, date(2025, 1, 1), window_days=-1)
    with pytest.raises(ValueError, match="unknown festival"):
        upcoming(["x"], lambda _: "easter", date(2025, 1, 1))  # type: ignore[arg-type,return-value]


def test_festivals_past_the_calendar_go_last() -> None:
    festivals: dict[str, Festival] = {"moon": "mid-autumn", "tree": "christmas", "cake": "birthday"}
    order = upcoming(festivals, festivals.__getitem__, date(2100, 12, 1))
    assert order == Upcoming(soon=["tree"], later=["cake", "moon"])


def test_every_template_names_its_festival() -> None:
    assert set(get_args(FestivalId)) == set(FESTIVALS)
    for template_id in list_templates():
        assert template_festival(template_id) == template_id
        assert load_template(template_id).festival in FESTIVALS


def test_a_template_without_a_festival_is_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "mid-autumn" / "template.json"
    target.parent.mkdir(parents=True)
    shutil.copy(templates_dir() / "mid-autumn" / "template.json", target)
    data = json.loads(target.read_text(encoding="utf-8"))
    del data["festival"]
    target.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("TUANYUAN_TEMPLATES_DIR", str(tmp_path))
    with pytest.raises(RenderError, match=r"festival: Field required"):
        load_template("mid-autumn")
    data["festival"] = "easter"
    target.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(RenderError, match=r"festival: "):
        load_template("mid-autumn")
