"""The newest complete day: over in every active ad account's zone and synced after it ended there."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from tests.insights.conftest import in_schema
from tests.insights.partial_day import (
    ALL,
    BERLIN,
    DAY,
    EVENING_SYNC,
    LONDON,
    NEW_YORK,
    NEXT_MORNING,
    NIGHT_SYNC,
    NOW,
    TOKYO,
    land,
    sync,
)
from warehouse.selectors.freshness import ACTIVE_SYNC_DAYS, account_whole_days, newest_complete_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def berlin(make_workspace: Callable[..., Any]) -> Any:
    """A Berlin workspace with a few days of data for its four accounts, none of them synced yet."""
    workspace = make_workspace("fresh", reporting_currency="EUR", time_zone="Europe/Berlin")
    with in_schema(workspace):
        land(days=4)
        yield workspace


def whole_days(time_zone: str = "Europe/Berlin", **kwargs: Any) -> dict[str, date]:
    return {a.time_zone: a.last_whole_day for a in account_whole_days(time_zone=time_zone, **kwargs)}


def test_the_newest_day_waits_until_it_ended_and_was_synced_in_every_account_zone(berlin: Any) -> None:
    for which in ALL:
        sync(which, at=EVENING_SYNC)

    # 23:05 UTC: already Jan 21 in Berlin and Tokyo, still Jan 20 in London and New York
    assert whole_days(now=NOW) == {
        "Europe/Berlin": DAY,
        "Asia/Tokyo": DAY,
        "Europe/London": DAY - timedelta(days=1),
        "America/New_York": DAY - timedelta(days=1),
    }
    assert newest_complete_day(time_zone="Europe/Berlin", now=NOW) == DAY - timedelta(days=1)

    # the night's syncs begin after midnight in London, then in New York: DAY is whole everywhere
    sync(LONDON, at=NIGHT_SYNC - timedelta(hours=5))
    assert newest_complete_day(time_zone="Europe/Berlin", now=NEXT_MORNING) == DAY - timedelta(days=1)
    sync(NEW_YORK, at=NIGHT_SYNC)
    assert newest_complete_day(time_zone="Europe/Berlin", now=NEXT_MORNING) == DAY
    # …and a moment before those syncs nothing of them is known yet
    assert newest_complete_day(time_zone="Europe/Berlin", now=NOW) == DAY - timedelta(days=1)


def test_a_sync_that_began_before_the_day_ended_does_not_make_it_whole(berlin: Any) -> None:
    # New York's sync started at 23:59 local and finished (its transform ran) after midnight:
    # the day's last minute may be missing, so the day is not whole
    sync(NEW_YORK, at=NIGHT_SYNC - timedelta(minutes=11))
    assert whole_days(now=NEXT_MORNING) == {"America/New_York": DAY - timedelta(days=1)}
    assert newest_complete_day(time_zone="Europe/Berlin", now=NEXT_MORNING) == DAY - timedelta(days=1)


def test_never_later_than_yesterday_in_the_workspace_zone(berlin: Any) -> None:
    # Tokyo is whole through DAY at 05:10 UTC, but in Los Angeles DAY is not over yet
    sync(TOKYO, at=NIGHT_SYNC)
    assert whole_days(now=NEXT_MORNING) == {"Asia/Tokyo": DAY}
    assert newest_complete_day(time_zone="America/Los_Angeles", now=NEXT_MORNING) == DAY - timedelta(days=1)


def test_accounts_never_synced_or_not_synced_for_days_hold_nothing_back(berlin: Any) -> None:
    # data transformed without a sync moment (synthetic here, uploads in production): no account counts
    assert account_whole_days(time_zone="Europe/Berlin", now=NOW) == []
    assert newest_complete_day(time_zone="Europe/Berlin", now=NOW) == DAY

    # New York's connection was paused ACTIVE_SYNC_DAYS ago: it stops holding Berlin back
    sync(NEW_YORK, at=NOW - timedelta(days=ACTIVE_SYNC_DAYS, minutes=1))
    sync(BERLIN, at=EVENING_SYNC)
    assert set(whole_days(now=NOW)) == {"Europe/Berlin"}
    assert newest_complete_day(time_zone="Europe/Berlin", now=NOW) == DAY
    # a day earlier it was still active and held the workspace back
    earlier = NOW - timedelta(days=1)
    assert whole_days(now=earlier)["America/New_York"] == DAY - timedelta(days=ACTIVE_SYNC_DAYS + 1)
    assert newest_complete_day(time_zone="Europe/Berlin", now=earlier) == DAY - timedelta(days=ACTIVE_SYNC_DAYS + 1)


def test_a_failed_transform_does_not_count_as_synced(berlin: Any) -> None:
    from warehouse.models import TransformRun

    sync(NEW_YORK, at=EVENING_SYNC)
    sync(NEW_YORK, at=NIGHT_SYNC)
    TransformRun.objects.filter(synced_from=NIGHT_SYNC).update(status=TransformRun.Status.FAILED)
    assert whole_days(now=NEXT_MORNING) == {"America/New_York": DAY - timedelta(days=1)}


def test_an_account_without_a_zone_uses_the_workspace_zone_and_a_bad_zone_reads_as_utc(berlin: Any) -> None:
    sync(NEW_YORK, at=EVENING_SYNC)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE dim_ad_account SET time_zone = NULL WHERE account_id = %s", [NEW_YORK[1]])
    # 23:05 UTC is Jan 21 in Berlin: the zoneless account's DAY counts as over
    assert whole_days(now=NOW) == {"Europe/Berlin": DAY}
    # an unknown workspace zone reads as UTC: 23:05 UTC is still DAY, and UTC's yesterday caps too
    assert whole_days(time_zone="Mars/Olympus_Mons", now=NOW) == {"UTC": DAY - timedelta(days=1)}
    assert newest_complete_day(time_zone="Mars/Olympus_Mons", now=NOW) == DAY - timedelta(days=1)


def test_a_sync_that_changed_nothing_still_counts_unless_a_transform_is_behind(berlin: Any) -> None:
    from warehouse.models import PendingWindow
    from warehouse.services.pipeline import sync_read_record

    sync(NEW_YORK, at=EVENING_SYNC)

    def read_whole(at: Any) -> Any:
        return sync_read_record(
            connection_id=7,
            platform=NEW_YORK[0],
            account_ids=[NEW_YORK[1]],
            date_from=DAY - timedelta(days=2),
            date_to=DAY,
            sync_run_id=999,
            synced_from=at,
        )

    # an earlier transform failed and left its window: the facts may lag, so the read is not recorded
    PendingWindow.objects.create(
        model="fct_ad_performance_daily",
        platforms=["google_ads"],
        date_from=DAY,
        date_to=DAY,
        run_id=0,
        created_at=NOW,
    )
    assert read_whole(NIGHT_SYNC) is None
    assert whole_days(now=NEXT_MORNING) == {"America/New_York": DAY - timedelta(days=1)}

    PendingWindow.objects.all().delete()
    assert read_whole(NIGHT_SYNC) is not None
    assert whole_days(now=NEXT_MORNING) == {"America/New_York": DAY}


def _row(workspace: Any) -> date | None:
    from accounts.models import Workspace

    return Workspace.objects.get(pk=workspace.pk).complete_through


def test_the_workspace_row_keeps_the_newest_complete_day_for_the_scoring_fan_out(berlin: Any) -> None:
    from warehouse.services.freshness import complete_through_publish

    assert complete_through_publish(now=NOW) is None and _row(berlin) is None  # no account synced yet
    for which in ALL:
        sync(which, at=EVENING_SYNC)
    assert complete_through_publish(now=NOW) == DAY - timedelta(days=1) == _row(berlin)  # London, New York
    sync(LONDON, at=NIGHT_SYNC - timedelta(hours=5))
    sync(NEW_YORK, at=NIGHT_SYNC)
    assert complete_through_publish(now=NEXT_MORNING) == DAY == _row(berlin)
    # not capped at the workspace's yesterday: the fan-out caps it with the zone at its own moment
    sync(TOKYO, at=NIGHT_SYNC + timedelta(days=1))
    sync(BERLIN, at=NIGHT_SYNC + timedelta(days=1))
    assert complete_through_publish(now=NIGHT_SYNC + timedelta(days=1, minutes=5)) == DAY
    # once every account's newest sync is older than ACTIVE_SYNC_DAYS, nothing holds it back
    assert complete_through_publish(now=NIGHT_SYNC + timedelta(days=ACTIVE_SYNC_DAYS + 2)) is None
    assert _row(berlin) is None


def test_a_sync_moment_and_the_nightly_checks_publish_it(berlin: Any, django_capture_on_commit_callbacks: Any) -> None:
    """The hooks run with the real clock: a window transform with a sync moment, a recorded read
    (once its transaction commits) and the nightly checks each bring the row up to date."""
    from accounts.models import Workspace
    from warehouse.services.checks import scheduled_checks_run
    from warehouse.services.pipeline import sync_read_record

    stale = date(2000, 1, 1)
    now = datetime.now(tz=UTC)
    new_york_day = (now - timedelta(hours=1)).astimezone(ZoneInfo("America/New_York")).date() - timedelta(days=1)

    sync(NEW_YORK, at=now - timedelta(hours=1))
    assert _row(berlin) == new_york_day

    Workspace.objects.filter(pk=berlin.pk).update(complete_through=stale)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        sync_read_record(
            connection_id=7,
            platform=NEW_YORK[0],
            account_ids=[NEW_YORK[1]],
            date_from=DAY,
            date_to=DAY,
            sync_run_id=998,
            synced_from=now - timedelta(minutes=30),
        )
        assert _row(berlin) == stale  # not before the read is committed
    assert len(callbacks) == 1
    newest = (now - timedelta(minutes=30)).astimezone(ZoneInfo("America/New_York")).date() - timedelta(days=1)
    assert _row(berlin) == newest

    Workspace.objects.filter(pk=berlin.pk).update(complete_through=stale)
    scheduled_checks_run()
    assert _row(berlin) == newest
