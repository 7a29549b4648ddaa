"""Metric answers are cached per workspace until new data lands; requests are throttled per
key (or member) at the workspace plan's rate."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import schema_context

from tests.api.conftest import Tenant

URL = "/api/v1/metrics?metrics=spend,conversions&date_from=2026-10-01&date_to=2026-10-31&dimensions=platform"


def _get(client, url: str = URL) -> tuple[dict, bool]:
    """The answer, and whether the metrics SQL ran (a cache miss)."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return response.json(), any("WITH cur AS" in q["sql"] for q in queries.captured_queries)


def test_second_identical_question_is_answered_from_the_cache(a: Tenant) -> None:
    client = a.client(a.read_key)
    first, missed = _get(client)
    assert missed
    second, missed_again = _get(client)
    assert not missed_again and second == first
    # Another key or a member's session of the same workspace shares the workspace's cache.
    assert _get(a.session(a.owner)) == (first, False)
    # A different question is a different entry.
    assert _get(client, URL + "&compare=previous_period")[1]


def test_cache_is_per_workspace(a: Tenant, b: Tenant) -> None:
    answer_a, _ = _get(a.client(a.read_key))
    answer_b, missed = _get(b.client(b.read_key))
    assert missed and answer_b != answer_a


def test_new_data_landing_invalidates_the_workspaces_cached_answers(a: Tenant, b: Tenant) -> None:
    from devtools.synthetic import synthetic_restate
    from warehouse.services.transform import run_window

    client = a.client(a.read_key)
    before, _ = _get(client)
    _get(b.client(b.read_key))
    with schema_context(a.workspace.schema_name):
        # The rollup changes under the cache (as no real path does): the cached answer still shows.
        with connection.cursor() as cursor:
            cursor.execute("UPDATE rollup_day_platform SET clicks = clicks + 1 WHERE date_day = '2026-10-31'")
        assert _get(client) == (before, False)
        # A platform restates conversions; the sync lands them and the warehouse run finishes.
        changed = synthetic_restate(
            stream="google_ads.ad_group_daily", date_from=date(2026, 10, 20), date_to=date(2026, 10, 31), variant=3
        )
        assert changed > 0
        accounts = [acc.split(":")[1] for acc in a.account_ids if acc.startswith("google_ads:")]
        run_window(
            connection_id=1,
            platform="google_ads",
            account_ids=accounts,
            date_from=date(2026, 10, 20),
            date_to=date(2026, 10, 31),
            sync_run_id=2,
        )
    after, missed = _get(client)
    assert missed, "a finished warehouse run must invalidate the workspace's cached answers"
    google = {r["platform"]: r for r in after["rows"]}["google_ads"]
    old_google = {r["platform"]: r for r in before["rows"]}["google_ads"]
    assert google["conversions"] != old_google["conversions"] and google["spend"] == old_google["spend"]
    # The other workspace's cached answers are untouched.
    assert not _get(b.client(b.read_key))[1]


def test_a_failed_warehouse_run_also_invalidates(a: Tenant) -> None:
    """Each model of a run commits on its own: a run that failed late may still have changed facts."""
    from warehouse.models import TransformRun

    client = a.client(a.read_key)
    _get(client)
    with schema_context(a.workspace.schema_name):
        now = timezone.now()
        TransformRun.objects.create(
            kind=TransformRun.Kind.WINDOW,
            platforms=["meta"],
            date_from=date(2026, 10, 1),
            date_to=date(2026, 10, 31),
            started_at=now,
            finished_at=now,
            status=TransformRun.Status.FAILED,
            error="rollup_day_platform: simulated failure",
        )
    assert _get(client)[1]


# --------------------------------------------------------------------------- throttling


@pytest.fixture
def tight_plans(plan_rate_limit: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from billing import plans

    for plan, per_minute in ((plans.Plan.TRIAL, 3), (plans.Plan.GROWTH, 6)):
        monkeypatch.setitem(
            plans.ENTITLEMENTS, plan, replace(plans.ENTITLEMENTS[plan], api_requests_per_minute=per_minute)
        )


def test_each_key_gets_the_plans_rate_then_429_with_retry_after(a: Tenant, tight_plans: None) -> None:
    client = a.client(a.read_key)
    codes = [client.get(URL).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = client.get(URL)
    assert response["Content-Type"] == "application/problem+json"
    # a sliding minute: room comes back within two minutes at the latest (the previous minute still weighs)
    assert 0 < int(response["Retry-After"]) <= 120
    assert response.json()["type"].endswith("/throttled")
    # Throttled per key: the workspace's other key and a member's session have their own budget.
    assert a.client(a.write_key).get(URL).status_code == 200
    assert a.session(a.owner).get(URL).status_code == 200


def test_rate_follows_the_workspaces_plan(a: Tenant, tight_plans: None) -> None:
    from accounts.models import Workspace

    Workspace.objects.filter(pk=a.workspace.pk).update(plan="growth")
    client = a.client(a.read_key)
    codes = [client.get("/api/v1/workspace").status_code for _ in range(7)]
    assert codes == [200] * 6 + [429]


def test_throttled_requests_never_reach_the_work(a: Tenant, tight_plans: None) -> None:
    client = a.client(a.read_key)
    for _ in range(3):
        client.get("/api/v1/workspace")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL).status_code == 429
    assert not any("WITH cur AS" in q["sql"] for q in queries.captured_queries)


# The counter itself, on the real Redis cache: requests from many workers at once, and the window.


def _bare_request(ip: str, plan: str = "trial") -> object:
    from types import SimpleNamespace

    from django.test import RequestFactory
    from rest_framework.request import Request

    request = Request(RequestFactory().get("/api/v1/workspace", REMOTE_ADDR=ip))
    request._request.tenant = SimpleNamespace(plan=plan)  # type: ignore[attr-defined]
    return request


def test_concurrent_requests_never_get_past_the_limit(tight_plans: None) -> None:
    """Twenty requests on twenty threads at once (each its own Redis connection): exactly the
    plan's three get through. A read-modify-write history would let several racers through."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    from bosco.api.throttling import PlanRateThrottle

    def round_of_twenty(ip: str) -> int:
        request = _bare_request(ip)
        start = Barrier(20)

        def attempt(_: int) -> bool:
            start.wait()
            return PlanRateThrottle().allow_request(request, None)  # type: ignore[arg-type]

        with ThreadPoolExecutor(20) as pool:
            return list(pool.map(attempt, range(20))).count(True)

    assert [round_of_twenty(f"203.0.113.{i}") for i in range(10, 15)] == [3] * 5


def test_the_window_slides_over_the_previous_minute(tight_plans: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from bosco.api import throttling

    request = _bare_request("203.0.113.8")
    now = [60.0 * 29_000_000 + 30.0]  # half-way through a minute
    monkeypatch.setattr(throttling.time, "time", lambda: now[0])

    def allowed() -> bool:
        return throttling.PlanRateThrottle().allow_request(request, None)  # type: ignore[arg-type]

    assert [allowed() for _ in range(4)] == [True, True, True, False]
    refused = throttling.PlanRateThrottle()
    assert not refused.allow_request(request, None)  # type: ignore[arg-type]
    # this minute is full: room comes in the next minute once the previous 3 weigh ≤ 2
    assert refused.wait() == 30 + 20
    # half-way through the next minute the previous three still weigh 1.5: one more fits
    now[0] += 60.0
    assert [allowed() for _ in range(2)] == [True, False]
    # a minute later only the one request of the last minute weighs (half): two more fit
    now[0] += 60.0
    assert [allowed() for _ in range(3)] == [True, True, False]
