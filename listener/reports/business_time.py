"""Business time for reports: a cumulative index over working hours (one binary search per timestamp)."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from listener.queue.business_hours import BusinessClock

# --- business time -----------------------------------------------------------------------


class BusinessTimeline:
    """Business seconds between many pairs of moments, one binary search per moment.

    For each local day in range it keeps the UTC times (epoch seconds) of midnight, opening and
    closing, and the running total of open seconds before the day. ``elapsed(t)`` is that total
    plus the open seconds of ``t``'s own day up to ``t``; business seconds from ``a`` to ``b``
    are ``elapsed(b) - elapsed(a)`` — what ``BusinessClock.seconds_between`` gives, without
    walking the days for every item.
    """

    def __init__(self, clock: BusinessClock) -> None:
        self.clock = clock
        self._first: date | None = None
        self._last: date | None = None
        self._starts: list[float] = []  # local midnight of each day, as UTC epoch seconds
        self._opens: list[float] = []  # opening time (midnight on a closed day)
        self._closes: list[float] = []  # closing time (the same as opening on a closed day)
        self._before: list[float] = []  # open seconds from the first day's midnight to this day's
        self._end = 0.0  # the midnight after the last day

    def cover(self, first: date, last: date) -> None:
        """Make sure the index spans local days ``first`` to ``last`` (it only ever grows)."""
        if self._first is not None and self._last is not None:
            if self._first <= first and last <= self._last:
                return
            first, last = min(first, self._first), max(last, self._last)
        zone, hours = self.clock.zone, self.clock.hours
        self._first, self._last = first, last
        self._starts, self._opens, self._closes, self._before = [], [], [], []
        total = 0.0
        day = first
        while day <= last:
            midnight = datetime.combine(day, time(0), zone).timestamp()
            opens = closes = midnight
            if self.clock.is_business_day(day):
                opens = datetime.combine(day, hours.start, zone).timestamp()
                closes = max(opens, datetime.combine(day, hours.end, zone).timestamp())
            self._starts.append(midnight)
            self._opens.append(opens)
            self._closes.append(closes)
            self._before.append(total)
            total += closes - opens
            day += timedelta(days=1)
        self._end = datetime.combine(day, time(0), zone).timestamp()

    def _cover_moment(self, moment: float) -> None:
        if not self._starts or moment < self._starts[0] or moment >= self._end:
            day = datetime.fromtimestamp(moment, self.clock.zone).date()
            self.cover(day, day)

    def elapsed(self, moment: float) -> float:
        """Open seconds from the index's first midnight to ``moment`` (epoch seconds, inside the index)."""
        i = bisect_right(self._starts, moment) - 1
        opens = self._opens[i]
        return self._before[i] + min(max(moment, opens), self._closes[i]) - opens

    def seconds(self, start: float, end: float) -> float:
        """Business seconds between two epoch times (0 when ``end`` is not after ``start``)."""
        if end <= start:
            return 0.0
        if not self._starts or start < self._starts[0] or end >= self._end:
            self._cover_moment(start)
            self._cover_moment(end)
        return self.elapsed(end) - self.elapsed(start)

    def seconds_between(self, start: datetime, end: datetime) -> float:
        return self.seconds(start.timestamp(), end.timestamp())


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-quantile (0..1) by linear interpolation between closest ranks (numpy's default method)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
