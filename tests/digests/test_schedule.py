"""When digests are due, in each member's own time zone, across the DST changes of 2026
(Europe/Berlin: 29 March and 25 October; America/New_York: 8 March and 1 November)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from digests.schedule import Period, due_period, next_delivery, period_for_delivery_day


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def due(now: datetime, *, frequency: str = "weekly", weekday: int = 0, hour: int = 8, tz: str) -> Period | None:
    return due_period(frequency=frequency, weekday=weekday, hour=hour, time_zone=tz, now=now)


def test_a_berlin_monday_8am_digest_moves_one_utc_hour_earlier_after_the_spring_change() -> None:
    # Monday 23 March 2026 (CET, UTC+1): 08:00 local is 07:00 UTC
    assert due(utc(2026, 3, 23, 6, 59), tz="Europe/Berlin") is None
    assert due(utc(2026, 3, 23, 7, 0), tz="Europe/Berlin") == Period("weekly", date(2026, 3, 16), date(2026, 3, 22))
    # Monday 30 March 2026 (CEST, UTC+2, the day after the change): 08:00 local is 06:00 UTC
    assert due(utc(2026, 3, 30, 5, 59), tz="Europe/Berlin") is None
    assert due(utc(2026, 3, 30, 6, 0), tz="Europe/Berlin") == Period("weekly", date(2026, 3, 23), date(2026, 3, 29))


def test_a_new_york_monday_digest_follows_the_us_change_two_weeks_before_europe() -> None:
    # Monday 2 March 2026 (EST, UTC−5): 08:00 is 13:00 UTC; Monday 9 March (EDT, UTC−4): 12:00 UTC
    assert due(utc(2026, 3, 2, 12, 59), tz="America/New_York") is None
    assert due(utc(2026, 3, 2, 13, 0), tz="America/New_York") is not None
    assert due(utc(2026, 3, 9, 11, 59), tz="America/New_York") is None
    assert due(utc(2026, 3, 9, 12, 0), tz="America/New_York") == Period("weekly", date(2026, 3, 2), date(2026, 3, 8))
    # The same UTC instant is Monday 13:00 in Berlin: a Berlin member's digest was due hours ago.
    assert due(utc(2026, 3, 9, 12, 0), tz="Europe/Berlin") is not None


def test_autumn_change_moves_the_digest_one_utc_hour_later() -> None:
    # Monday 26 October 2026, the day after Berlin's change (CET again): 08:00 is 07:00 UTC
    assert due(utc(2026, 10, 26, 6, 30), tz="Europe/Berlin") is None
    assert due(utc(2026, 10, 26, 7, 0), tz="Europe/Berlin") is not None
    # Monday 2 November 2026, the day after New York's change (EST): 08:00 is 13:00 UTC
    assert due(utc(2026, 11, 2, 12, 59), tz="America/New_York") is None
    assert due(utc(2026, 11, 2, 13, 0), tz="America/New_York") is not None


def test_an_hour_the_clocks_skip_is_due_at_the_first_instant_after_it() -> None:
    # 29 March 2026 in Berlin: 02:00–03:00 local does not exist; 01:00 UTC is 03:00 CEST
    assert due(utc(2026, 3, 29, 0, 59), frequency="daily", hour=2, tz="Europe/Berlin") is None
    assert due(utc(2026, 3, 29, 1, 0), frequency="daily", hour=2, tz="Europe/Berlin") == Period(
        "daily", date(2026, 3, 28), date(2026, 3, 28)
    )
    moment = next_delivery(frequency="daily", weekday=0, hour=2, time_zone="Europe/Berlin", now=utc(2026, 3, 28, 23))
    assert moment is not None and moment.astimezone(UTC) == utc(2026, 3, 29, 1, 0)


def test_an_hour_that_happens_twice_is_due_from_its_first_occurrence() -> None:
    # 25 October 2026 in Berlin: 02:00–03:00 happens twice (00:00 UTC as CEST, 01:00 UTC as CET)
    assert due(utc(2026, 10, 24, 23, 59), frequency="daily", hour=2, tz="Europe/Berlin") is None
    first = due(utc(2026, 10, 25, 0, 0), frequency="daily", hour=2, tz="Europe/Berlin")
    second = due(utc(2026, 10, 25, 1, 0), frequency="daily", hour=2, tz="Europe/Berlin")
    assert first == second == Period("daily", date(2026, 10, 24), date(2026, 10, 24))  # one period: one send record


def test_a_missed_hour_is_still_due_later_that_local_day_but_not_the_next() -> None:
    assert due(utc(2026, 3, 23, 22, 30), tz="Europe/Berlin") is not None  # 23:30 Monday in Berlin
    assert due(utc(2026, 3, 23, 23, 30), tz="Europe/Berlin") is None  # already Tuesday there


def test_monthly_digests_arrive_on_the_first_and_cover_the_previous_calendar_month() -> None:
    assert due(utc(2026, 3, 1, 9), frequency="monthly", tz="Europe/Berlin") == Period(
        "monthly", date(2026, 2, 1), date(2026, 2, 28)
    )
    assert due(utc(2026, 3, 2, 9), frequency="monthly", tz="Europe/Berlin") is None
    # 1 March 00:30 in Berlin is still 28 February in New York: not due there yet
    assert due(utc(2026, 2, 28, 23, 30), frequency="monthly", hour=0, tz="Europe/Berlin") is not None
    assert due(utc(2026, 2, 28, 23, 30), frequency="monthly", hour=0, tz="America/New_York") is None
    period = period_for_delivery_day("monthly", date(2026, 3, 1))
    assert period.previous() == Period("monthly", date(2026, 1, 1), date(2026, 1, 31))
    assert period.following() == Period("monthly", date(2026, 3, 1), date(2026, 3, 31))


def test_daily_and_weekly_periods_compare_with_the_same_length_just_before() -> None:
    weekly = period_for_delivery_day("weekly", date(2026, 3, 30))
    assert (weekly.start, weekly.end, weekly.days) == (date(2026, 3, 23), date(2026, 3, 29), 7)
    assert weekly.previous() == Period("weekly", date(2026, 3, 16), date(2026, 3, 22))
    assert weekly.following() == Period("weekly", date(2026, 3, 30), date(2026, 4, 5))
    daily = period_for_delivery_day("daily", date(2026, 3, 30))
    assert daily.previous() == Period("daily", date(2026, 3, 28), date(2026, 3, 28))


def test_an_unknown_time_zone_reads_as_utc_and_off_has_no_next_digest() -> None:
    assert due(utc(2026, 3, 23, 8), tz="Mars/Olympus") is not None
    assert due(utc(2026, 3, 23, 7, 59), tz="Mars/Olympus") is None
    assert next_delivery(frequency="off", weekday=0, hour=8, time_zone="UTC", now=utc(2026, 3, 23)) is None
