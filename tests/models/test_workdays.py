from datetime import date

import pytest

from models.workdays import WorkCalendar, parse_days

NATIONAL_DAY = parse_days("2026-10-01..2026-10-07")


def test_weekends_are_skipped():
    cal = WorkCalendar()
    assert cal.add(date(2026, 11, 27), 1) == date(2026, 11, 30)  # Friday + 1 -> Monday
    assert cal.add(date(2026, 11, 23), 5) == date(2026, 11, 30)  # Monday + 5 -> next Monday
    assert cal.add(date(2026, 11, 28), 0) == date(2026, 11, 28)


def test_a_window_crossing_a_holiday():
    cal = WorkCalendar(NATIONAL_DAY, workdays=[date(2026, 10, 10)])  # a make-up Saturday
    # assigned Tuesday 29 September: 30 Sep, then 8, 9, 10 (Saturday, worked), 12 October
    assert cal.add(date(2026, 9, 29), 5) == date(2026, 10, 12)
    assert cal.between(date(2026, 9, 29), date(2026, 10, 12)) == 5
    assert not cal.is_workday(date(2026, 10, 5)) and cal.is_workday(date(2026, 10, 10))


def test_parse_days_and_its_errors():
    assert parse_days("2026-01-01, 2026-02-16..2026-02-18") == [date(2026, 1, 1), date(2026, 2, 16),
                                                               date(2026, 2, 17), date(2026, 2, 18)]
    assert parse_days("") == []
    with pytest.raises(ValueError, match="不是日期"):
        parse_days("2026-13-01")
    with pytest.raises(ValueError, match="早于"):
        parse_days("2026-02-18..2026-02-16")
