"""The nightly journey build in a workspace: tracked events and store orders in PostgreSQL, paths
attributed and stored beside CSV imports, the platforms' claims for the same days, the API, and
the beat fan-out on a real Celery worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.result import AsyncResult
from django.db.models import Sum
from django_tenants.utils import schema_context

from bosco.beat import BEAT_SCHEDULE
from insights.models import AttributionImport, AttributionResult
from insights.services.journeys import journeys_attribute
from insights.tasks import attribute_journeys_due
from tests.insights.conftest import in_schema, land_history, yesterday_utc
from tests.insights.journey_data import hand_period, land_hand_journeys
from warehouse.models import AdPerformanceDaily

pytestmark = pytest.mark.django_db

# Shapley credit of the hand journeys (worked out in tests/insights/ml/test_journeys.py)
HAND_SHAPLEY = {"Meta Ads": 4 / 3, "Google Ads": 5 / 6, "Email": 11 / 6}
HAND_SHAPLEY_VALUE = {"Meta Ads": 100 / 3 + 50, "Google Ads": 100 / 3 + 40, "Email": 100 / 3 + 80}
HAND_MARKOV = {"Meta Ads": 768 / 709, "Google Ads": 880 / 709, "Email": 1188 / 709}


def _credit(record: AttributionImport, model: str, field: str = "conversions") -> dict[str, float]:
    return dict(AttributionResult.objects.filter(attribution_import=record, model=model).values_list("channel", field))


def test_nightly_build_attributes_the_hand_journeys_and_stores_them_as_journeys(make_workspace) -> None:
    workspace = make_workspace("jr-svc", reporting_currency="EUR", time_zone="UTC")
    as_of = yesterday_utc()
    with in_schema(workspace):
        land_history(as_of=as_of, days=20)
        land_hand_journeys(hand_period(as_of))

        report = journeys_attribute(as_of=as_of, period_days=7, lookback_days=30)

        assert report.status == "built" and report.conversions == 4 and report.journeys == 6
        record = AttributionImport.objects.get(pk=report.import_id)
        assert record.source == "journeys"
        assert (record.period_start, record.period_end) == (hand_period(as_of), as_of)
        assert record.conversions == 4 and record.conversion_value == pytest.approx(270.0)
        assert record.null_paths == 2
        assert _credit(record, "shapley") == pytest.approx(HAND_SHAPLEY)
        assert _credit(record, "shapley", "conversion_value") == pytest.approx(HAND_SHAPLEY_VALUE)
        assert _credit(record, "markov_1") == pytest.approx(HAND_MARKOV)
        # o3 (80) came from the store only and reached P4 through the identify; o9 (30) reached nobody
        details = record.details
        assert (details["orders"], details["matched_orders"], details["unmatched_orders"]) == (5, 4, 1)
        assert details["unmatched_value"] == pytest.approx(30.0)
        assert dict(details["touches_to_convert"])["3"] == 1
        # what the platforms claimed for the same seven days, straight from the ad fact
        claimed = (
            AdPerformanceDaily.objects.filter(
                platform="google_ads", date_day__range=(hand_period(as_of), as_of)
            ).aggregate(v=Sum("conversions_value_reporting_micros"))["v"]
            / 1e6
        )
        assert claimed > 0
        assert details["platform_claims"]["Google Ads"]["conversion_value"] == pytest.approx(claimed, abs=0.01)
        assert "Meta Ads" in details["platform_claims"]

        again = journeys_attribute(as_of=as_of, period_days=7, lookback_days=30)
        assert again.status == "unchanged" and again.import_id == record.pk
        assert AttributionImport.objects.filter(source="journeys").count() == 1


def test_a_workspace_without_tracked_conversions_stores_nothing(make_workspace) -> None:
    workspace = make_workspace("jr-empty", reporting_currency="EUR", time_zone="UTC")
    with in_schema(workspace):
        report = journeys_attribute(as_of=yesterday_utc(), period_days=7)

        assert report.status == "no_conversions" and report.import_id is None
        assert not AttributionImport.objects.exists()


def test_the_api_serves_journeys_with_their_paths_and_claims(make_workspace, workspace_client) -> None:
    workspace = make_workspace("jr-api", reporting_currency="EUR", time_zone="UTC")
    as_of = yesterday_utc()
    with in_schema(workspace):
        land_history(as_of=as_of, days=10)
        land_hand_journeys(hand_period(as_of))
        journeys_attribute(as_of=as_of, period_days=7, lookback_days=30)
    from accounts.models import User

    client = workspace_client(User.objects.get(email="owner@jr-api.example"), workspace)

    body = client.get("/api/v1/insights/attribution?source=journeys&model=shapley").json()
    assert [r["source"] for r in body["results"]] == ["journeys"]
    answer = body["results"][0]
    shapley = {c["channel"]: c["conversions"] for c in answer["models"][0]["channels"]}
    assert shapley == pytest.approx(HAND_SHAPLEY)
    assert answer["journeys"]["top_paths"][0]["path"] == "Meta Ads > Google Ads > Email"
    assert answer["journeys"]["unmatched_orders"] == 1
    assert {c["channel"] for c in answer["journeys"]["platform_claims"]} >= {"Google Ads", "Meta Ads"}
    assert client.get("/api/v1/insights/attribution?source=csv").json()["results"] == []
    assert client.get("/api/v1/insights/attribution?source=pixels").status_code == 400


@pytest.mark.celery_worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_beat_fan_out_builds_journeys_in_each_workspace_on_a_worker(celery_worker, make_workspace) -> None:
    as_of = yesterday_utc()
    tracked = make_workspace("jr-w-a", reporting_currency="EUR", time_zone="UTC")
    quiet = make_workspace("jr-w-b", reporting_currency="EUR", time_zone="UTC")
    with schema_context(tracked.schema_name):
        land_history(as_of=as_of, days=10)
        # the nightly default period is 90 days up to yesterday: the hand week sits at its end
        land_hand_journeys(as_of - timedelta(days=6))

    def run_all() -> dict[str, dict]:
        ids = attribute_journeys_due.delay(all_workspaces=True).get(timeout=60)
        reports = [AsyncResult(i).get(timeout=240) for i in ids]
        return {("tracked" if r.get("import_id") else r["status"]): r for r in reports}

    first = run_all()
    assert first["tracked"]["status"] == "built" and first["tracked"]["conversions"] == 4
    assert "no_conversions" in first
    with schema_context(tracked.schema_name):
        record = AttributionImport.objects.get(source="journeys")
        assert _credit(record, "shapley") == pytest.approx(HAND_SHAPLEY)
    with schema_context(quiet.schema_name):
        assert not AttributionImport.objects.exists()

    second = run_all()
    assert second["tracked"]["status"] == "unchanged" and second["tracked"]["import_id"] == record.pk


def test_beat_schedules_the_journeys_fan_out() -> None:
    entry = BEAT_SCHEDULE["insights.journeys-nightly"]
    assert entry["task"] == attribute_journeys_due.name == "insights.tasks.attribute_journeys_due"
    assert entry["options"]["expires"] <= 3600


def test_the_tracking_reader_returns_the_columns_the_build_expects() -> None:
    from insights.ml.journeys import EventRow
    from tracking.selectors.journey_events import JOURNEY_COLUMNS

    assert EventRow._fields == JOURNEY_COLUMNS
