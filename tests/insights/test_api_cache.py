"""The insights API's answers are cached per workspace and go stale exactly when new results are
committed: a scoring run, a CSV import or its deletion, a mark on an incident. Real commits
(transactional_db), because the invalidation waits for the writer's commit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from accounts.models import Membership
from tests.conftest import host_of
from tests.insights.conftest import yesterday_utc

pytestmark = pytest.mark.django_db(transaction=True)


def _client(workspace: Any) -> Client:
    from accounts import services

    owner = Membership.objects.get(workspace=workspace, role="owner")
    _, secret = services.api_key_create(workspace=workspace, actor=owner, name="read", scope="read")
    return Client(HTTP_HOST=host_of(workspace), HTTP_AUTHORIZATION=f"Bearer {secret}")


def _get(client: Client, url: str, table: str) -> tuple[dict[str, Any], bool]:
    """The answer, and whether the endpoint read `table` (a cache miss)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return response.json(), any(table in q["sql"] for q in queries.captured_queries)


def test_forecasts_and_anomalies_are_cached_until_the_next_scoring_run(data_workspace: Any) -> None:
    from insights.services import score_workspace_nightly

    workspace = data_workspace("ins-apicache", days=70)
    first_day = yesterday_utc() - timedelta(days=4)
    with schema_context(workspace.schema_name):
        assert score_workspace_nightly(as_of=first_day, campaigns=2, forecast_campaigns=0).status == "ok"
    client = _client(workspace)
    url = "/api/v1/insights/forecasts?metric=spend&scope=workspace"

    before, missed = _get(client, url, "ins_forecast_point")
    assert missed and before["count"] == 1
    assert before["results"][0]["points"][0]["date"] == (first_day + timedelta(days=1)).isoformat()
    again, missed = _get(client, url, "ins_forecast_point")
    assert not missed and again == before, "the second identical question is answered from the cache"
    assert _get(client, url + "&page=1", "ins_forecast_point")[1], "another question is another entry"
    _, missed = _get(client, "/api/v1/insights/anomalies", "ins_anomaly_finding")
    assert missed and not _get(client, "/api/v1/insights/anomalies", "ins_anomaly_finding")[1]

    with schema_context(workspace.schema_name):
        # Rows changed under the cache (no real path does this): the cached answer still shows.
        with connection.cursor() as cursor:
            cursor.execute("UPDATE ins_forecast_point SET yhat = yhat + 1")
        assert _get(client, url, "ins_forecast_point") == (before, False)
        # The next night scores up to yesterday and commits new forecasts.
        assert score_workspace_nightly(campaigns=2, forecast_campaigns=0).status == "ok"
    after, missed = _get(client, url, "ins_forecast_point")
    assert missed, "a scoring run must invalidate the workspace's cached answers"
    assert after["results"][0]["points"][0]["date"] == (yesterday_utc() + timedelta(days=1)).isoformat()
    assert _get(client, "/api/v1/insights/anomalies", "ins_anomaly_finding")[1]


def test_attribution_is_cached_until_paths_are_imported_or_deleted(make_workspace: Any) -> None:
    from insights.services import attribution_import_delete, import_attribution_csv
    from insights.services.paths_csv import SAMPLE_CSV

    workspace = make_workspace("ins-apiattr")
    client = _client(workspace)
    url = "/api/v1/insights/attribution"
    empty, missed = _get(client, url, "ins_attribution_import")
    assert missed and empty["count"] == 0
    assert _get(client, url, "ins_attribution_import") == (empty, False)

    with schema_context(workspace.schema_name):
        record, created = import_attribution_csv(data=SAMPLE_CSV.encode(), filename="paths.csv", name="October")
    assert created
    body, missed = _get(client, url, "ins_attribution_import")
    assert missed and [r["id"] for r in body["results"]] == [record.pk]
    assert _get(client, url, "ins_attribution_import") == (body, False)

    with schema_context(workspace.schema_name):
        attribution_import_delete(pk=record.pk)
    body, missed = _get(client, url, "ins_attribution_import")
    assert missed and body["count"] == 0


def test_bad_input_is_never_cached_and_a_mark_on_an_incident_moves_the_version(make_workspace: Any) -> None:
    from insights.models import Incident, ModelVersion, Scope
    from insights.results_version import results_version
    from insights.services.incidents import mark_incident

    workspace = make_workspace("ins-apimark")
    client = _client(workspace)
    for _ in range(2):
        response = client.get("/api/v1/insights/anomalies?severity=huge")
        assert response.status_code == 400 and response["Content-Type"] == "application/problem+json"
    with schema_context(workspace.schema_name):
        version = ModelVersion.objects.create(
            kind=ModelVersion.Kind.ANOMALY,
            name="Nightly scoring",
            algorithm="test-1",
            code_version="test",
            training_start=yesterday_utc() - timedelta(days=30),
            training_end=yesterday_utc(),
            fingerprint="mark",
        )
        incident = Incident.objects.create(
            version=version, scope=Scope.WORKSPACE, date=yesterday_utc(), severity="medium", score=4.0
        )
        seen = results_version()
        assert results_version() == seen, "reading does not move it"
        mark_incident(incident, feedback=Incident.Feedback.EXPECTED, user_id=None)
        assert results_version() > seen
