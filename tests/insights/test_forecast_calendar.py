"""The nightly forecasts get their calendar: the holiday country setting and workspace events."""

from __future__ import annotations

from datetime import timedelta

import pytest

from insights import selectors
from insights.models import Scope, WorkspaceEvent
from insights.services import InsightsError, score_workspace_nightly, workspace_event_add, workspace_event_delete
from tests.insights.conftest import yesterday_utc

pytestmark = pytest.mark.django_db


def test_events_and_the_holiday_country_reach_every_nightly_forecast(in_scored, settings) -> None:
    as_of = yesterday_utc()
    settings.INSIGHTS_HOLIDAY_COUNTRY = "US"
    workspace_event_add(name="Spring sale", start=as_of - timedelta(days=40), end=as_of - timedelta(days=38))
    workspace_event_add(name="Spring sale", start=as_of - timedelta(days=12), end=as_of - timedelta(days=10))
    workspace_event_add(name="Spring sale", start=as_of + timedelta(days=3))

    report = score_workspace_nightly(as_of=as_of, campaigns=10, forecast_campaigns=2)

    assert report.status == "ok"
    band = selectors.forecasts_for(metric="revenue", scope=Scope.WORKSPACE)
    assert band is not None
    params = band.version.params
    assert params["country"] == "US" and params["events"] == 3
    assert "event: Spring sale" in params["calendar"]["special_days"]
    assert band.version.algorithm.startswith("forecast-ets-aad-calendar/")


def test_an_unknown_holiday_country_is_ignored_not_fatal(in_scored, settings) -> None:
    settings.INSIGHTS_HOLIDAY_COUNTRY = "XX"
    report = score_workspace_nightly(as_of=yesterday_utc(), campaigns=10, forecast_campaigns=2)
    assert report.status == "ok"
    band = selectors.forecasts_for(metric="spend", scope=Scope.WORKSPACE)
    assert band is not None and band.version.params["country"] is None


def test_event_service_rejects_bad_events_and_deletes(in_scored) -> None:
    day = yesterday_utc()
    with pytest.raises(InsightsError, match="end before it starts"):
        workspace_event_add(name="Sale", start=day, end=day - timedelta(days=1))
    with pytest.raises(InsightsError, match="needs a name"):
        workspace_event_add(name="  ", start=day)
    with pytest.raises(InsightsError, match="at most 92 days"):
        workspace_event_add(name="Sale", start=day, end=day + timedelta(days=120))
    assert not WorkspaceEvent.objects.exists()
    event = workspace_event_add(name=" Black Friday ", start=day)
    assert (event.name, event.end) == ("Black Friday", day)
    assert workspace_event_delete(event_id=event.pk) and not workspace_event_delete(event_id=event.pk)
