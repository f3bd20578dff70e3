from datetime import date, datetime, timezone

import pytest

from models import clock


@pytest.fixture
def zone():
    yield clock.set_zone
    clock.set_zone(clock.DEFAULT_ZONE)


def test_local_stamp_is_beijing_time_by_default():
    assert clock.local_stamp("2026-12-01T20:30:00+00:00") == "2026-12-02 04:30"
    assert clock.local_stamp("2026-12-01T20:30:15+00:00", seconds=True) == "2026-12-02 04:30:15"
    assert clock.local_stamp("2026-12-01T20:30:00") == "2026-12-02 04:30"  # naive: the store's UTC
    assert clock.local_stamp(datetime(2026, 6, 30, 16, 0, tzinfo=timezone.utc)) == "2026-07-01 00:00"


def test_local_stamp_keeps_what_is_not_a_time():
    assert clock.local_stamp(None) == "" and clock.local_stamp("") == ""
    assert clock.local_stamp("待定") == "待定"


def test_today_is_the_offices_day_not_the_servers(zone, monkeypatch):
    late_evening_utc = datetime(2026, 12, 1, 17, 0, tzinfo=timezone.utc)  # 01:00 on 2 December in Beijing
    monkeypatch.setattr(clock, "datetime", _Frozen(late_evening_utc))
    assert clock.today() == date(2026, 12, 2)
    zone("UTC")
    assert clock.today() == date(2026, 12, 1)
    zone("Asia/Urumqi")  # UTC+6
    assert clock.today() == date(2026, 12, 1) and clock.local_stamp("2026-12-01T17:00:00Z") == "2026-12-01 23:00"


def test_unknown_zone_is_refused_in_chinese():
    with pytest.raises(ValueError, match="未知时区“Beijing”"):
        clock.load_zone("Beijing")


class _Frozen:
    """Stands in for the datetime class inside models.clock: ``now(tz)`` is a fixed instant."""

    def __init__(self, instant: datetime):
        self.instant = instant

    def now(self, tz=None):
        return self.instant.astimezone(tz)

    def __getattr__(self, name):
        return getattr(datetime, name)


def test_a_day_ends_at_the_offices_midnight(zone):
    assert clock.day_end_utc(date(2026, 12, 2)) == "2026-12-02T16:00:00+00:00"
    # The store's stamps compare as text: sent at 01:00 on 3 December in Beijing is after 2 December there.
    assert not "2026-12-02T17:00:00+00:00" < clock.day_end_utc(date(2026, 12, 2))
    zone("UTC")
    assert clock.day_end_utc(date(2026, 12, 2)) == "2026-12-03T00:00:00+00:00"


def test_log_lines_carry_the_offices_time(monkeypatch):
    from training.cli.progress import stamped

    monkeypatch.setattr(clock, "datetime", _Frozen(datetime(2026, 12, 1, 17, 0, 5, tzinfo=timezone.utc)))
    assert clock.stamp() == "2026-12-02 01:00:05"
    assert stamped("编码开始") == "2026-12-02 01:00:05 编码开始"
