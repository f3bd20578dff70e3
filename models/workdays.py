"""Working-day arithmetic for deadlines such as the 退办/改办 window: weekends and a configurable holiday list are not
working days; a configured make-up working day (调休上班, e.g. a Saturday) is one."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta


class WorkCalendar:
    def __init__(self, holidays: Iterable[date] = (), workdays: Iterable[date] = ()):
        self.holidays = frozenset(holidays)
        self.workdays = frozenset(workdays)

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (``start`` itself not counted); ``days`` ≥ 0."""
        if days < 0:
            raise ValueError("days must be zero or more")
        day = start
        left = days
        while left:
            day += timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        return day

    def between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when ``end`` ≤ ``start``)."""
        n, day = 0, start
        while day < end:
            day += timedelta(days=1)
            n += self.is_workday(day)
        return n


def parse_days(text: str) -> list[date]:
    """``2026-10-01,2026-10-02`` or ranges ``2026-10-01..2026-10-07``, comma- or space-separated.

    Raises:
        ValueError: naming the piece that is not a date or a range.
    """
    out: list[date] = []
    for piece in text.replace("，", ",").replace(" ", ",").split(","):
        piece = piece.strip()
        if not piece:
            continue
        first, sep, last = piece.partition("..")
        try:
            a = date.fromisoformat(first)
            b = date.fromisoformat(last) if sep else a
        except ValueError:
            raise ValueError(f"“{piece}”不是日期 YYYY-MM-DD 或日期范围 YYYY-MM-DD..YYYY-MM-DD") from None
        if b < a:
            raise ValueError(f"“{piece}”的结束日期早于开始日期")
        out += [a + timedelta(days=i) for i in range((b - a).days + 1)]
    return out
