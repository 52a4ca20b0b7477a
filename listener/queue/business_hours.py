"""Business time: SLA due times and response times count only working hours, not nights,
weekends or England's bank holidays (the holidays package)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from listener.settings import BusinessHours

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@lru_cache(maxsize=16)
def _bank_holidays(subdivision: str, year: int) -> frozenset[date]:
    # holidays' GB calendar knows England as subdivision "ENG"; "England" is accepted for readability.
    subdiv = {"england": "ENG", "wales": "WLS", "scotland": "SCT", "northern ireland": "NIR"}.get(
        subdivision.lower(), subdivision
    )
    return frozenset(holidays.country_holidays("GB", subdiv=subdiv, years=year))


class BusinessClock:
    """Converts between wall-clock spans and business seconds for one set of working hours."""

    def __init__(self, hours: BusinessHours, timezone: str = "Europe/London") -> None:
        self.hours = hours
        self.zone = ZoneInfo(timezone)
        self._days = {_WEEKDAYS.index(d) for d in hours.days}

    def is_business_day(self, day: date) -> bool:
        return day.weekday() in self._days and day not in _bank_holidays(self.hours.bank_holidays, day.year)

    def _window(self, day: date) -> tuple[datetime, datetime]:
        start = datetime.combine(day, self.hours.start, self.zone).astimezone(UTC)
        end = datetime.combine(day, self.hours.end, self.zone).astimezone(UTC)
        return start, end

    def add(self, start: datetime, minutes: float) -> datetime:
        """The moment ``minutes`` of business time after ``start`` (aware datetimes, UTC out)."""
        remaining = timedelta(minutes=minutes)
        day = start.astimezone(self.zone).date()
        for _ in range(3700):  # ten years of days: a bound, never reached with sane settings
            if self.is_business_day(day):
                open_at, close_at = self._window(day)
                begin = max(open_at, start)
                if begin < close_at:
                    available = close_at - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            day += timedelta(days=1)
        raise ValueError("business hours never open: check sla.business_hours")

    def seconds_between(self, start: datetime, end: datetime) -> float:
        """Business seconds from ``start`` to ``end`` (0 when end is not after start)."""
        if end <= start:
            return 0.0
        total = 0.0
        day = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        while day <= last:
            if self.is_business_day(day):
                open_at, close_at = self._window(day)
                begin, finish = max(open_at, start), min(close_at, end)
                if finish > begin:
                    total += (finish - begin).total_seconds()
            day += timedelta(days=1)
        return total
