"""The insights endpoints on a workspace with stored findings, forecasts, attribution and real
warehouse history (the budget planner fits its curves on it): happy paths, filters, bad input
as 400 problem documents, and another workspace's key refused."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django_tenants.utils import schema_context

from insights.models import AnomalyFinding, ForecastPoint, ModelVersion
from tests.api.conftest import Tenant

ANOMALIES = "/api/v1/insights/anomalies"
FORECASTS = "/api/v1/insights/forecasts"
ATTRIBUTION = "/api/v1/insights/attribution"
PLAN = "/api/v1/insights/budget/plan"
PROBLEM = "application/problem+json"


def _version(kind: str, name: str) -> ModelVersion:
    return ModelVersion.objects.create(
        kind=kind,
        name=name,
        algorithm="test-1",
        code_version="test",
        training_start=date(2026, 7, 1),
        training_end=date(2026, 10, 31),
        fingerprint=f"{kind}-{name}",
    )


def _finding(version: ModelVersion, tenant: Tenant, **fields: Any) -> AnomalyFinding:
    values = {
        "metric": "spend",
        "scope": "platform",
        "key": "meta",
        "label": f"Meta {tenant.canaries[0]}",
        "platform": "meta",
        "date": date(2026, 10, 20),
        "value": 900.0,
        "expected": 300.0,
        "lower": 200.0,
        "upper": 400.0,
        "score": 7.5,
        "z": 6.0,
        "severity": "high",
        "direction": "up",
        "explanation": "Spend was 3× the usual for a Tuesday.",
        **fields,
    }
    return AnomalyFinding.objects.create(version=version, **values)


@pytest.fixture
def insights_a(a: Tenant) -> dict[str, Any]:
    """Workspace A's stored findings and forecasts (rolled back after each test)."""
    campaign = a.campaign_ids[0]
    with schema_context(a.workspace.schema_name):
        scoring = _version(ModelVersion.Kind.ANOMALY, "nightly")
        findings = [
            _finding(scoring, a),
            _finding(scoring, a, metric="clicks", severity="low", date=date(2026, 10, 21), direction="down"),
            _finding(scoring, a, scope="workspace", key="", label="All channels", severity="medium", platform=""),
            _finding(
                scoring,
                a,
                scope="campaign",
                key=campaign,
                platform=campaign.split(":")[0],
                metric="roas",
                date=date(2026, 9, 2),
                value=float("nan"),  # a value the model could not compute must come out as null
            ),
        ]
        forecast = _version(ModelVersion.Kind.FORECAST, "spend / platform / meta")
        for key in ("meta", "google_ads"):
            for day in range(14):
                ForecastPoint.objects.create(
                    version=forecast,
                    metric="spend",
                    scope="platform",
                    key=key,
                    label=f"{key} {a.canaries[0]}",
                    platform=key,
                    date=date(2026, 11, 1) + timedelta(days=day),
                    yhat=100.0 + day,
                    lower_80=80.0,
                    upper_80=120.0 + day,
                    lower_95=70.0,
                    upper_95=130.0 + day,
                )
    return {"findings": findings, "campaign": campaign, "forecast_version": forecast}


def _problem(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == PROBLEM
    return response.json()


# --------------------------------------------------------------------------- anomalies


def test_anomalies_list_newest_first_with_their_model_version(a: Tenant, insights_a: dict[str, Any]) -> None:
    body = a.client(a.read_key).get(ANOMALIES).json()
    assert body["count"] == 4 and body["page"] == 1
    dates = [row["date"] for row in body["results"]]
    assert dates == sorted(dates, reverse=True)
    high = next(r for r in body["results"] if r["metric"] == "spend" and r["scope"] == "platform")
    assert high["severity"] == "high" and high["value"] == 900.0 and (high["lower"], high["upper"]) == (200.0, 400.0)
    assert high["model_version"]["kind"] == "anomaly" and high["model_version"]["algorithm"] == "test-1"
    nan = next(r for r in body["results"] if r["metric"] == "roas")
    assert nan["value"] is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("severity=high", {("spend", "platform"), ("roas", "campaign")}),
        ("severity=low,medium", {("clicks", "platform"), ("spend", "workspace")}),
        ("metric=clicks", {("clicks", "platform")}),
        ("platform=meta&severity=high", {("spend", "platform")}),
        ("date_from=2026-10-01&date_to=2026-10-20", {("spend", "platform"), ("spend", "workspace")}),
        ("scope=workspace", {("spend", "workspace")}),
        ("direction=down", {("clicks", "platform")}),
        ("campaign={campaign}", {("roas", "campaign")}),
        ("campaign={campaign}&scope=platform", set()),
    ],
)
def test_anomalies_filters(a: Tenant, insights_a: dict[str, Any], query: str, expected: set) -> None:
    url = f"{ANOMALIES}?{query.format(campaign=insights_a['campaign'])}"
    rows = a.client(a.read_key).get(url).json()["results"]
    assert {(r["metric"], r["scope"]) for r in rows} == expected


def test_anomalies_page_through(a: Tenant, insights_a: dict[str, Any]) -> None:
    client = a.client(a.read_key)
    first = client.get(f"{ANOMALIES}?page_size=3").json()
    second = client.get(f"{ANOMALIES}?page_size=3&page=2").json()
    assert len(first["results"]) == 3 and len(second["results"]) == 1 and "page=2" in first["next"]
    ids = [r["id"] for r in first["results"] + second["results"]]
    assert sorted(ids) == sorted(f.pk for f in insights_a["findings"])
    _problem(client.get(f"{ANOMALIES}?page_size=3&page=3"), 404)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("severity=critical", "severity"),
        ("metric=spend,spend", "metric"),
        ("date_from=2026-10-21&date_to=2026-10-01", "date_from"),
        ("date_from=2026-13-01", "date_from"),
        ("campaign=bad%20id", "campaign"),
        ("platfrom=meta", "platfrom"),
        ("scope=galaxy", "scope"),
        ("page_size=0", "page_size"),
    ],
)
def test_anomalies_bad_input_is_a_400_problem_naming_the_parameter(
    a: Tenant, insights_a: dict[str, Any], query: str, field: str
) -> None:
    body = _problem(a.client(a.read_key).get(f"{ANOMALIES}?{query}"))
    assert body["type"].endswith("/invalid-request") and field in {e["field"] for e in body["errors"]}


# --------------------------------------------------------------------------- forecasts


def test_forecasts_per_series_with_bands_and_version(a: Tenant, insights_a: dict[str, Any]) -> None:
    body = a.client(a.read_key).get(FORECASTS).json()
    assert body["count"] == 2
    series = {s["key"]: s for s in body["results"]}
    meta = series["meta"]
    assert meta["metric"] == "spend" and meta["scope"] == "platform"
    assert (meta["first_day"], meta["last_day"]) == ("2026-11-01", "2026-11-14") and len(meta["points"]) == 14
    point = meta["points"][3]
    assert point["lower_95"] <= point["lower_80"] <= point["yhat"] <= point["upper_80"] <= point["upper_95"]
    assert meta["model_version"]["id"] == insights_a["forecast_version"].pk


@pytest.mark.parametrize(
    ("query", "keys"),
    [
        ("key=google_ads", ["google_ads"]),
        ("scope=campaign", []),
        ("metric=conversions", []),
        ("", ["google_ads", "meta"]),
    ],
)
def test_forecasts_filters(a: Tenant, insights_a: dict[str, Any], query: str, keys: list[str]) -> None:
    rows = a.client(a.read_key).get(f"{FORECASTS}?{query}").json()["results"]
    assert [r["key"] for r in rows] == keys


@pytest.mark.parametrize(("query", "field"), [("metric=roas", "metric"), ("key=", "key"), ("scope=x", "scope")])
def test_forecasts_bad_input(a: Tenant, query: str, field: str) -> None:
    body = _problem(a.client(a.read_key).get(f"{FORECASTS}?{query}"))
    assert field in {e["field"] for e in body["errors"]}


# --------------------------------------------------------------------------- attribution


@pytest.fixture
def paths_a(a: Tenant) -> Any:
    from insights.services import import_attribution_csv
    from insights.services.paths_csv import SAMPLE_CSV

    with schema_context(a.workspace.schema_name):
        record, _ = import_attribution_csv(data=SAMPLE_CSV.encode(), filename="paths.csv", name="October")
    return record


def test_attribution_per_model_over_the_stored_paths(a: Tenant, paths_a: Any) -> None:
    body = a.client(a.read_key).get(ATTRIBUTION).json()
    assert body["count"] == 1
    [record] = body["results"]
    assert record["id"] == paths_a.pk and record["paths"] == 10 and record["conversions"] == 655.0
    models = {m["model"]: m["channels"] for m in record["models"]}
    # time decay needs touch times, which this file does not carry
    assert {"first_touch", "last_touch", "linear", "position_based", "shapley"} <= set(models)
    assert "time_decay" not in models
    assert any(name.startswith("markov") for name in models)
    for channels in models.values():
        assert sum(c["conversions"] for c in channels) == pytest.approx(655.0, rel=1e-6)
        assert sum(c["share"] for c in channels) == pytest.approx(1.0)
    last = {c["channel"]: c["conversions"] for c in models["last_touch"]}
    assert last["Direct"] == pytest.approx(195.0)  # "Direct" and "Meta Ads > Direct" end there


def test_attribution_filters_models_and_imports(a: Tenant, paths_a: Any) -> None:
    client = a.client(a.read_key)
    [record] = client.get(f"{ATTRIBUTION}?model=linear,shapley&import={paths_a.pk}").json()["results"]
    assert [m["model"] for m in record["models"]] == ["linear", "shapley"]
    assert client.get(f"{ATTRIBUTION}?import={paths_a.pk + 1000}").json()["count"] == 0


@pytest.mark.parametrize(("query", "field"), [("model=last_click", "model"), ("import=abc", "import")])
def test_attribution_bad_input(a: Tenant, query: str, field: str) -> None:
    body = _problem(a.client(a.read_key).get(f"{ATTRIBUTION}?{query}"))
    assert field in {e["field"] for e in body["errors"]}


# --------------------------------------------------------------------------- budget planner


@pytest.fixture
def planner_settings(settings: Any) -> None:
    settings.INSIGHTS_BUDGET_BOOTSTRAP = 4  # fewer refits: the same code path, seconds faster


def _plan(tenant: Tenant, body: Any, *, key: str | None = None) -> Any:
    client = tenant.client(key or tenant.write_key)
    return client.post(PLAN, body, content_type="application/json")


def test_budget_plan_allocates_the_budget_with_an_outcome_band(a: Tenant, planner_settings: None) -> None:
    response = _plan(a, {"budget": 20000, "period": "month"})
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert body["currency"] == "EUR" and body["scope"] == "platform" and body["warning"] is None
    assert {c["channel"] for c in body["channels"]} == {"google_ads", "meta"}
    assert sum(c["spend"] for c in body["channels"]) == pytest.approx(20000, rel=1e-3)
    for channel in body["channels"]:
        assert channel["min"] <= channel["spend"] <= channel["max"] + 1e-6
        assert channel["expected_low"] <= channel["expected"] * 1.000001 + 1e-9
    outcome = body["outcome"]
    assert outcome["low"] <= outcome["high"] and outcome["expected"] > 0
    assert body["model_version"]["kind"] == "budget"


def test_budget_plan_respects_bounds(a: Tenant, planner_settings: None) -> None:
    body = _plan(a, {"budget": 20000, "bounds": {"meta": {"min": 15000, "max": 16000}}}).json()
    meta = next(c for c in body["channels"] if c["channel"] == "meta")
    assert 15000 - 1e-3 <= meta["spend"] <= 16000 + 1e-3 and (meta["min"], meta["max"]) == pytest.approx((15000, 16000))


def test_budget_far_beyond_history_is_planned_with_a_warning(a: Tenant, planner_settings: None) -> None:
    modest = _plan(a, {}).json()
    big = modest["max_seen_budget"] * 4
    response = _plan(a, {"budget": big})
    assert response.status_code == 200, response.content[:500]
    body = response.json()
    assert "extrapolated" in body["warning"]
    assert sum(c["spend"] for c in body["channels"]) == pytest.approx(big, rel=1e-3)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"budget": 0}, "budget"),
        ({"budget": -100}, "budget"),
        ({"budget": "1000"}, "budget"),
        ({"budget": True}, "budget"),
        ({"budget": 1e13}, "budget"),
        ({"period": "year"}, "period"),
        ({"scope": "workspace"}, "scope"),
        ({"budgte": 1000}, "budgte"),
        ({"budget": 1000, "bounds": {"meta": {"min": 10, "max": 5}}}, "bounds.meta.max"),
        ({"budget": 1000, "bounds": {"meta": {"min": -1}}}, "bounds.meta.min"),
        ({"budget": 1000, "bounds": {"tiktok": {"max": 5}}}, "bounds"),
        ({"budget": 1000, "bounds": {"meta": {"min": 800}, "google_ads": {"min": 800}}}, "bounds"),
        ({"budget": 1000, "bounds": {"meta": {"max": 10}, "google_ads": {"max": 10}}}, "bounds"),
        ([1, 2], "non_field_errors"),
    ],
)
def test_budget_plan_bad_input_is_a_400_problem(a: Tenant, planner_settings: None, body: Any, field: str) -> None:
    problem = _problem(_plan(a, body))
    assert problem["type"].endswith("/invalid-request")
    assert field in {e["field"] for e in problem["errors"]}, problem


def test_budget_plan_bounds_that_cannot_hold_the_budget_say_why(a: Tenant, planner_settings: None) -> None:
    problem = _problem(_plan(a, {"budget": 1000, "bounds": {"meta": {"min": 800}, "google_ads": {"min": 800}}}))
    assert "minimums add up to" in problem["detail"] and "€" in problem["detail"]


def test_budget_plan_malformed_json_is_a_400_and_a_form_body_a_415(a: Tenant) -> None:
    client = a.client(a.write_key)
    _problem(client.post(PLAN, "{budget: 1", content_type="application/json"))
    _problem(client.post(PLAN, "budget=1", content_type="application/x-www-form-urlencoded"), 415)


def test_budget_plan_needs_a_read_write_key(a: Tenant) -> None:
    _problem(_plan(a, {"budget": 1000}, key=a.read_key), 403)


def test_budget_plan_without_enough_history_is_a_409(make_workspace: Any, settings: Any) -> None:
    from django.test import Client

    from accounts import services
    from accounts.models import Membership
    from tests.conftest import host_of

    workspace = make_workspace("emptyplan")
    owner = Membership.objects.get(workspace=workspace, role="owner")
    _, key = services.api_key_create(workspace=workspace, actor=owner, name="w", scope="read_write")
    client = Client(HTTP_HOST=host_of(workspace), HTTP_AUTHORIZATION=f"Bearer {key}")
    problem = _problem(client.post(PLAN, {"budget": 1000}, content_type="application/json"), 409)
    assert "no spend to plan with" in problem["detail"]


# --------------------------------------------------------------------------- isolation


@pytest.mark.parametrize("path", [ANOMALIES, FORECASTS, ATTRIBUTION])
def test_another_workspaces_key_gets_401_and_its_own_host_shows_none_of_a(
    a: Tenant, b: Tenant, insights_a: dict[str, Any], paths_a: Any, path: str
) -> None:
    foreign = b.client(b.read_key)
    foreign.defaults["HTTP_HOST"] = a.host
    _problem(foreign.get(path), 401)
    own = b.client(b.read_key).get(path)
    assert own.status_code == 200 and own.json()["count"] == 0
    assert not any(c in own.content.decode() for c in a.canaries)


def test_another_workspaces_key_cannot_plan_on_its_host(a: Tenant, b: Tenant) -> None:
    foreign = b.client(b.write_key)
    foreign.defaults["HTTP_HOST"] = a.host
    _problem(foreign.post(PLAN, {"budget": 1000}, content_type="application/json"), 401)


# --------------------------------------------------------------------------- throttle


@pytest.fixture
def two_per_minute(plan_rate_limit: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    from billing import plans

    for plan, entitlements in list(plans.ENTITLEMENTS.items()):
        monkeypatch.setitem(plans.ENTITLEMENTS, plan, replace(entitlements, api_requests_per_minute=2))


def test_insights_endpoints_count_against_the_plans_rate(a: Tenant, two_per_minute: None) -> None:
    client = a.client(a.read_key)
    codes = [client.get(path).status_code for path in (ANOMALIES, FORECASTS, ATTRIBUTION)]
    assert codes == [200, 200, 429]
    assert _problem(client.get(ANOMALIES), 429)["type"].endswith("/throttled")
