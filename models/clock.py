"""Today's date and local times in the office's time zone, not the server's.

Servers and containers usually run on UTC, while deadlines, overdue counts and 交办日期 are days in the office's
zone (``JIAOBAN_TIMEZONE``, default Asia/Shanghai): between 00:00 and 08:00 Beijing time a UTC server's
``date.today()`` is still yesterday, so an item due yesterday would not yet show as overdue. Timestamps stay in UTC
(ISO 8601 with offset) in the store and the API; :func:`local_stamp` turns them into the office's wall-clock time
for exports and reports. The service and the CLI call :func:`set_zone` with their settings at start-up.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_ZONE = "Asia/Shanghai"

_zone = ZoneInfo(DEFAULT_ZONE)


def load_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; raises ValueError (in Chinese) for an unknown one."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"未知时区“{name}”：应为 IANA 时区名，如 Asia/Shanghai、Asia/Urumqi") from None


def set_zone(name: str) -> None:
    """Use ``name`` for :func:`today` and :func:`local_stamp` from now on (process-wide, like the settings)."""
    global _zone
    _zone = load_zone(name)


def zone() -> ZoneInfo:
    return _zone


def now() -> datetime:
    """The current instant as an aware datetime in the office's zone."""
    return datetime.now(_zone)


def today() -> date:
    """Today in the office's zone."""
    return now().date()


def local_stamp(value: str | datetime | None, *, seconds: bool = False) -> str:
    """``"2026-12-01T20:30:00+00:00"`` -> ``"2026-12-02 04:30"`` in the office's zone; ``""`` for none.

    A naive timestamp is taken as UTC (how the store writes them); text that is not a timestamp is returned as it
    is, so nothing a user sees is dropped.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        instant = value
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(_zone).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def day_end_utc(day: date) -> str:
    """The first instant after ``day`` in the office's zone, as the store writes timestamps (UTC ISO 8601):
    ``stamp < day_end_utc(day)`` is "happened on or before ``day``, office time"."""
    midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=_zone)
    return midnight.astimezone(timezone.utc).isoformat(timespec="seconds")


def stamp() -> str:
    """Now as the office's wall clock, ``2026-12-02 09:30:12``: what log lines that staff read start with."""
    return now().strftime("%Y-%m-%d %H:%M:%S")
