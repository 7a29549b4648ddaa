"""A partial newest day is neither scored nor shown as whole.

At 23:30 UTC a Berlin workspace's yesterday is over, but its New York account's last sync read
that day before it ended there (a twentieth of its delivery here): scoring it would report a collapse. Scoring stops at the newest
day that is whole in every account's zone, the forecast starts on the partial day instead, and the
insight pages say "Data through" that day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Membership
from insights.models import AnomalyFinding, ForecastPoint, Incident, Scope
from insights.services import score_workspace_nightly
from tests.insights.conftest import in_schema
from tests.insights.partial_day import ALL, DAY, EVENING_SYNC, NEW_YORK, NOW, land, make_partial, sync

pytestmark = pytest.mark.django_db


def test_scoring_stops_before_a_day_still_partial_in_one_account_zone(make_workspace: Callable[..., Any]) -> None:
    workspace = make_workspace("ins-partial", reporting_currency="EUR", time_zone="Europe/Berlin")
    with in_schema(workspace):
        land(days=120)
        make_partial(NEW_YORK)
        for which in ALL:
            sync(which, at=EVENING_SYNC)

        report = score_workspace_nightly(now=NOW, campaigns=10, forecast_campaigns=2, fit_budget=False)

        assert report.status == "ok"
        assert report.as_of == DAY - timedelta(days=1)
        assert not AnomalyFinding.objects.filter(date=DAY).exists()
        assert not Incident.objects.filter(date=DAY).exists()
        # the partial day is the forecast's first day, not a judged one
        first = ForecastPoint.objects.filter(scope=Scope.WORKSPACE).order_by("date").first()
        assert first is not None and first.date == DAY

        # what the old rule (yesterday in the workspace's zone) did with the same data
        judged = score_workspace_nightly(as_of=DAY, campaigns=10, forecast_campaigns=2, fit_budget=False)
        assert judged.as_of == DAY
        collapse = AnomalyFinding.objects.filter(date=DAY, direction="down", severity__in=("medium", "high"))
        assert collapse.filter(platform="google_ads").exists()
        assert Incident.objects.filter(date=DAY).exists()


def test_the_insight_pages_say_data_through_the_newest_complete_day(
    make_workspace: Callable[..., Any], workspace_client: Callable[..., Any]
) -> None:
    """The pages ask at the present moment: a New York sync 30 hours ago holds the date back."""
    workspace = make_workspace("ins-through", reporting_currency="EUR", time_zone="Europe/Berlin")
    synced_at = datetime.now(tz=UTC) - timedelta(hours=30)
    with in_schema(workspace):
        land(days=3)
        sync(NEW_YORK, at=synced_at)
    through = synced_at.astimezone(ZoneInfo("America/New_York")).date() - timedelta(days=1)
    yesterday_berlin = datetime.now(tz=ZoneInfo("Europe/Berlin")).date() - timedelta(days=1)
    assert through < yesterday_berlin  # what the page said before

    owner = Membership.objects.get(workspace=workspace, role="owner").user
    response = workspace_client(owner, workspace).get("/insights/anomalies/")

    assert response.status_code == 200
    page = response.content.decode()
    assert f"Data through {through:%b} {through.day}, {through.year}" in page
    assert f'max="{through:%Y-%m-%d}"' in page  # the date filters end there too
