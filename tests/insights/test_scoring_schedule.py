"""When the nightly scoring's day is due: from the scoring hour on, once the day is complete in
every ad account's zone, once per day (pure: the fan-out's decision on a workspace's public row)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from insights.tasks import scoring_day_due

BERLIN = ZoneInfo("Europe/Berlin")
DAY = date(2026, 3, 28)  # a Saturday: Berlin moves to summer time the next night


def at(day: date, hour: int, minute: int = 25, zone: ZoneInfo = BERLIN) -> datetime:
    return datetime.combine(day, time(hour, minute), zone)


def due(now: datetime, *, complete: date | None, scored: date | None, zone: str = "Europe/Berlin") -> date | None:
    return scoring_day_due(time_zone=zone, complete_through=complete, scored_through=scored, now=now, hour=4)


def test_a_workspace_whose_accounts_share_its_zone_is_scored_at_the_scoring_hour_as_before() -> None:
    before = DAY - timedelta(days=1)
    assert due(at(DAY + timedelta(days=1), 3), complete=DAY, scored=before) is None
    assert due(at(DAY + timedelta(days=1), 4), complete=DAY, scored=before) == DAY
    # no synced account holds it back (uploads, synthetic data): the workspace's yesterday
    assert due(at(DAY + timedelta(days=1), 4), complete=None, scored=before) == DAY
    # a workspace never scored by the fan-out is scored at the same hour
    assert due(at(DAY + timedelta(days=1), 4), complete=None, scored=None) == DAY


def test_yesterday_waits_while_an_account_further_west_has_not_finished_it() -> None:
    next_day = DAY + timedelta(days=1)
    # 04:25 in Berlin: Los Angeles is still in DAY, its newest complete day is the one before
    assert due(at(next_day, 4), complete=DAY - timedelta(days=1), scored=DAY - timedelta(days=1)) is None
    assert due(at(next_day, 9), complete=DAY - timedelta(days=1), scored=DAY - timedelta(days=1)) is None
    # the first run after LA's midnight and its sync scores DAY, whatever the hour in Berlin
    assert due(at(next_day, 10), complete=DAY, scored=DAY - timedelta(days=1)) == DAY
    assert due(at(next_day, 23), complete=DAY, scored=DAY - timedelta(days=1)) == DAY


def test_a_day_is_due_once() -> None:
    next_day = DAY + timedelta(days=1)
    for hour in (4, 5, 12, 23):
        assert due(at(next_day, hour), complete=DAY, scored=DAY) is None
    # an account east of the workspace is whole beyond the workspace's yesterday: capped there
    assert due(at(next_day, 4), complete=next_day, scored=DAY) is None


def test_nothing_is_queued_before_the_scoring_hour_even_for_a_day_completed_late() -> None:
    # DAY became complete only after midnight of the day after next (a late sync)
    two_days_on = DAY + timedelta(days=2)
    assert due(at(two_days_on, 1), complete=DAY, scored=DAY - timedelta(days=1)) is None
    assert due(at(two_days_on, 4), complete=DAY, scored=DAY - timedelta(days=1)) == DAY


def test_local_time_follows_daylight_saving_and_an_unknown_zone_reads_as_utc() -> None:
    # 2026-03-29: Berlin moves from UTC+1 to UTC+2 at 01:00 UTC; 04:25 local is 02:25 UTC
    sunday = DAY + timedelta(days=1)
    utc = ZoneInfo("UTC")
    assert due(datetime.combine(sunday, time(1, 25), utc), complete=DAY, scored=None) is None  # 03:25 local
    assert due(datetime.combine(sunday, time(2, 25), utc), complete=DAY, scored=None) == DAY  # 04:25 local
    assert due(datetime.combine(sunday, time(3, 25), utc), complete=DAY, scored=None, zone="Mars/Base") is None
    assert due(datetime.combine(sunday, time(4, 25), utc), complete=DAY, scored=None, zone="Mars/Base") == DAY
