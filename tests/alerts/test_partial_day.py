"""Alerts judge whole days only: a day still partial in one ad account's zone is not evaluated.

The scenario (tests/insights/partial_day.py): a Berlin workspace at 23:30 UTC, whose New York
Google Ads account was last read at 18:05 local with a twentieth of the day's delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from alerts import services
from alerts.models import AlertIncident
from tests.alerts.conftest import make_rule
from tests.insights.conftest import in_schema
from tests.insights.partial_day import (
    ALL,
    DAY,
    EVENING_SYNC,
    LONDON,
    NEW_YORK,
    NEXT_MORNING,
    NIGHT_SYNC,
    NOW,
    land,
    make_partial,
    sync,
)
from warehouse.selectors import MetricsQuery, metrics_query

pytestmark = pytest.mark.django_db


def google_spend(day: date) -> float:
    result = metrics_query(
        MetricsQuery(metrics=("spend",), date_from=day, date_to=day, filters={"platform": ("google_ads",)})
    )
    return float(result.rows[0]["spend"])


def test_a_partial_day_is_not_evaluated_until_it_is_whole_everywhere(make_workspace: Callable[..., Any]) -> None:
    workspace = make_workspace("alrt-partial", reporting_currency="EUR", time_zone="Europe/Berlin")
    with in_schema(workspace):
        land(days=14)
        make_partial(NEW_YORK)
        for which in ALL:
            sync(which, at=EVENING_SYNC)
        usual = google_spend(DAY - timedelta(days=1))
        assert google_spend(DAY) < usual * 0.6, "the partial day looks like a collapse"
        dropped = make_rule(
            name="Google spend dropped",
            comparison="below",
            threshold=round(usual * 0.6, 2),
            scope_kind="platform",
            scope_value="google_ads",
        )
        any_spend = make_rule(name="Any spend", comparison="above", threshold=0)

        # 23:30 UTC: DAY is over in Berlin but not in New York or London, so alerts look at the day before
        assert services.rule_evaluate(rule=dropped, workspace=workspace, now=NOW).opened == 0
        assert services.rule_evaluate(rule=any_spend, workspace=workspace, now=NOW).opened == 1
        assert AlertIncident.objects.get(rule=any_spend).window_to == DAY - timedelta(days=1)
        assert not AlertIncident.objects.filter(rule=dropped).exists()

        # syncs after midnight there read DAY whole; if the platform still reports it this low, it is news
        sync(LONDON, at=NIGHT_SYNC - timedelta(hours=5))
        sync(NEW_YORK, at=NIGHT_SYNC)
        report = services.rule_evaluate(rule=dropped, workspace=workspace, now=NEXT_MORNING)
        assert (report.opened, report.deliveries) == (1, 1)
        incident = AlertIncident.objects.get(rule=dropped)
        assert incident.window_from == incident.window_to == DAY
        assert incident.value == pytest.approx(google_spend(DAY))
