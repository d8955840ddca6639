"""The local days of an analytics range and their UTC bounds (usage reads
each day as its own index range): 23 and 25 hours across DST changes."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from analytics.selectors import Range, _local_days

MADRID = ZoneInfo("Europe/Madrid")


def _range(first: date, last: date) -> Range:
    start = datetime.combine(first, datetime.min.time(), MADRID).astimezone(timezone.utc)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), MADRID).astimezone(timezone.utc)
    return Range("a" * 32, MADRID, first, last, start, end)


def _hours(start: datetime, end: datetime) -> float:
    return (end.astimezone(timezone.utc) - start.astimezone(timezone.utc)).total_seconds() / 3600


def test_days_cover_the_range_without_gap_or_overlap_across_both_dst_changes():
    for first, last, short_or_long in ((date(2026, 3, 27), date(2026, 3, 31), date(2026, 3, 29)),
                                       (date(2026, 10, 23), date(2026, 10, 27), date(2026, 10, 25))):
        rng = _range(first, last)
        days = _local_days(rng)
        assert [d for d, _, _ in days] == [first + timedelta(days=i) for i in range((last - first).days + 1)]
        assert days[0][1] == rng.start and days[-1][2] == rng.end
        for (_, _, end), (_, start, _) in zip(days, days[1:]):
            assert end == start
        hours = {d: _hours(s, e) for d, s, e in days}
        assert hours[short_or_long] == (23 if short_or_long.month == 3 else 25)
        assert all(h == 24 for d, h in hours.items() if d != short_or_long)


def test_each_bound_is_local_midnight():
    for day, start, end in _local_days(_range(date(2026, 10, 24), date(2026, 10, 26))):
        assert start.astimezone(MADRID).time() == end.astimezone(MADRID).time() == datetime.min.time()
        assert start.astimezone(MADRID).date() == day
