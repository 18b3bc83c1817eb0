"""Dates, times and fixed-offset zones.

Takes the text of a zone (`UTC+8`, `UTC-05:30`, `UTC`) or of a moment (`2026-04-08`,
`2026-04-08T00:00+08:00`, `...Z`) and gives a `timezone` or an aware `datetime`.
A moment written without an offset is read in the zone it is given (the book's
billing zone), so `trial until 2026-04-08` means midnight UTC+8 in a UTC+8 book.
Also gives instants: exact integer microseconds since the epoch, and clock windows
(`16:30 to 00:30`, `sat 00:00 to mon 00:00`) that say whether an instant falls in them.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo

import attrs

_ZONE = re.compile(r"UTC(?:([+-])([0-9]{1,2})(?::([0-9]{2}))?)?$")


def parse_zone(text: str) -> timezone:
    """`UTC+8` -> timezone(+8h). Raises ValueError with a readable message."""
    match = _ZONE.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a zone; write UTC, UTC+8 or UTC-05:30")
    sign, hours, minutes = match.groups()
    if sign is None:
        return timezone.utc
    offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if offset > timedelta(hours=14):
        raise ValueError(f"'{text}' is more than 14 hours from UTC")
    return timezone(-offset if sign == "-" else offset)


def parse_moment(text: str, zone: tzinfo) -> datetime:
    """An aware datetime; a date means its midnight in `zone`, a naive time is read in `zone`."""
    moment = datetime.fromisoformat(text.strip())  # a date alone gives midnight
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def instant_of(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (no float on the way): cheap to compare and to bucket."""
    return (moment - _EPOCH) // _MICROSECOND


def from_instant(instant: int, zone: tzinfo = timezone.utc) -> datetime:
    return (_EPOCH + timedelta(microseconds=instant)).astimezone(zone)


def format_zone(zone: tzinfo) -> str:
    offset = zone.utcoffset(None) or timedelta(0)
    if not offset:
        return "UTC"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    hours, minutes = divmod(minutes, 60)
    return f"UTC{sign}{hours}" + (f":{minutes:02d}" if minutes else "")


def add_months(moment: datetime, months: int) -> datetime:
    """The same wall-clock time `months` later, clamped to the month's last day."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month, day=min(moment.day, 28))


DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WINDOW_FIELD = "window"  # the variant field whose value the time of a request chooses
DAY_MINUTES, WEEK_MINUTES = 1_440, 10_080
MINUTE_US = 60_000_000
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday


def parse_clock(text: str) -> int:
    """`16:30` -> minutes after midnight. Raises ValueError with a readable message."""
    hours, _, minutes = text.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) <= 23 and int(minutes) <= 59):
        raise ValueError(f"'{text}' is not a time of day; write 00:00 to 23:59")
    return int(hours) * 60 + int(minutes)


@attrs.frozen(slots=True)
class ClockWindow:
    """Every day from `start` to `end` (minutes after local midnight), or every week (minutes after local Monday
    00:00), in a fixed-offset zone; a window whose end is not after its start runs past midnight (or Sunday)."""

    start: int
    end: int
    period: int  # DAY_MINUTES or WEEK_MINUTES
    offset: int  # minutes east of UTC

    @property
    def shift(self) -> int:
        """Minutes to add to a count of minutes since the epoch before taking it modulo the period: the zone's
        offset and, for a weekly window, the days from a Monday to the epoch's Thursday."""
        return self.offset + (_EPOCH_WEEKDAY * DAY_MINUTES if self.period == WEEK_MINUTES else 0)

    def local_minute(self, utc_minute: int) -> int:
        return (utc_minute + self.shift) % self.period

    def contains(self, instant: int) -> bool:
        """Is the instant (microseconds since the epoch) in the window? From its start, up to but not its end."""
        local = self.local_minute(instant // MINUTE_US)
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    @property
    def every(self) -> str:
        return "every day" if self.period == DAY_MINUTES else "every week"

    def describe(self) -> str:
        """As a book writes it: `16:30 to 00:30 in UTC`, `sun 09:00 to mon 00:00 in UTC+8`."""
        def edge(minute: int) -> str:
            clock = f"{minute % DAY_MINUTES // 60:02d}:{minute % 60:02d}"
            return clock if self.period == DAY_MINUTES else f"{DAYS[minute // DAY_MINUTES]} {clock}"
        return f"{edge(self.start)} to {edge(self.end)} in {format_zone(timezone(timedelta(minutes=self.offset)))}"

    def week_minutes(self) -> set[int]:
        """The minutes of a UTC week (0: Thursday 1970-01-01 00:00 UTC, mod 7 days) the window covers."""
        return {minute for minute in range(WEEK_MINUTES) if self.contains(minute * MINUTE_US)}
