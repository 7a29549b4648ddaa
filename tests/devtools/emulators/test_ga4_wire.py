"""The GA4 emulator over real HTTP: Admin API property list, Data API report shapes (the recorded
payloads' keys and types), paging, quota, processing delay, (other) rows, thresholding, errors in
Google's envelope, and sessions that follow the ad emulators' campaign clicks."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

import httpx
import pytest

from devtools.emulators import EmulatorServer

from .conftest import TODAY

DATA = "/ga4/data/v1beta/properties"
ADMIN = "/ga4/admin/v1beta"
US = "412345678"  # USD, America/New_York
EU = "498765432"  # EUR, Europe/Berlin
DIMS = ["date", "sessionDefaultChannelGroup", "sessionSource", "sessionMedium", "sessionCampaignName"]
METRICS = ["sessions", "engagedSessions", "totalUsers", "newUsers", "keyEvents", "purchaseRevenue"]
# ga4/error_403_permission_denied.json (googleapis/google-cloud-node#4780)
PERMISSION_DENIED = {
    "error": {
        "code": 403,
        "message": "User does not have sufficient permissions for this property. To learn more about Property ID, see "
        "https://developers.google.com/analytics/devguides/reporting/data/v1/property-id.",
        "status": "PERMISSION_DENIED",
    }
}


@pytest.fixture
def ga4(srv: EmulatorServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {srv.state.issue_tokens('ga4')['access_token']}"}


def report(days: int = 7, **extra: Any) -> dict[str, Any]:
    return {
        "dateRanges": [{"startDate": (TODAY - timedelta(days=days - 1)).isoformat(), "endDate": TODAY.isoformat()}],
        "dimensions": [{"name": d} for d in DIMS],
        "metrics": [{"name": m} for m in METRICS],
        **extra,
    }


def run(http: httpx.Client, headers: dict[str, str], body: dict[str, Any], prop: str = US) -> httpx.Response:
    return http.post(f"{DATA}/{prop}:runReport", headers=headers, json=body)


def test_property_list_and_property_details(http: httpx.Client, ga4: dict[str, str]) -> None:
    body = http.get(f"{ADMIN}/accountSummaries", headers=ga4).json()
    props = body["accountSummaries"][0]["propertySummaries"]
    assert [p["property"] for p in props] == [f"properties/{US}", f"properties/{EU}"]
    detail = http.get(f"{ADMIN}/properties/{EU}", headers=ga4).json()
    assert (detail["currencyCode"], detail["timeZone"], detail["displayName"]) == (
        "EUR",
        "Europe/Berlin",
        "Bosco Démo Boutique (EU)",
    )


def test_report_shape_matches_the_recorded_payload(http: httpx.Client, ga4: dict[str, str]) -> None:
    body = run(http, ga4, report(returnPropertyQuota=True)).json()
    # ga4/runreport_single_date_row.json: these keys, values as strings, headers by name
    assert body["kind"] == "analyticsData#runReport"
    assert [h["name"] for h in body["dimensionHeaders"]] == DIMS
    assert [(h["name"], h["type"]) for h in body["metricHeaders"]][-1] == ("purchaseRevenue", "TYPE_CURRENCY")
    assert body["metadata"] == {"currencyCode": "USD", "timeZone": "America/New_York"}
    row = body["rows"][0]
    assert all(isinstance(v["value"], str) for v in row["dimensionValues"] + row["metricValues"])
    assert len(row["dimensionValues"][0]["value"]) == 8 and row["dimensionValues"][0]["value"].isdigit()
    assert isinstance(body["rowCount"], int) and body["rowCount"] == len(body["rows"])
    quota = body["propertyQuota"]
    assert quota["tokensPerHour"]["consumed"] > 0 and quota["tokensPerDay"]["remaining"] > 0


def test_offset_paging_returns_every_row_once(http: httpx.Client, ga4: dict[str, str]) -> None:
    whole = run(http, ga4, report()).json()
    rows, offset = [], 0
    while True:
        page = run(http, ga4, report(limit="50", offset=str(offset))).json()
        assert page["rowCount"] == whole["rowCount"]
        rows += page.get("rows", [])
        offset += 50
        if offset >= page["rowCount"]:
            break
    assert rows == whole["rows"]


def test_paid_sessions_follow_the_ad_campaigns_clicks(
    srv: EmulatorServer, http: httpx.Client, ga4: dict[str, str]
) -> None:
    since = TODAY - timedelta(days=20)
    body = run(http, ga4, report(days=21)).json()
    sessions: dict[tuple[str, str], int] = defaultdict(int)
    for r in body["rows"]:
        dims = [v["value"] for v in r["dimensionValues"]]
        if dims[2] == "google" and dims[3] == "cpc":
            sessions[(dims[0], dims[4])] += int(r["metricValues"][0]["value"])
    clicks: dict[tuple[str, str], int] = defaultdict(int)
    for account in ("2345678901", "3456789012"):  # the USD and GBP Google accounts send to the US property
        model = srv.state.model("google_ads", account)
        names = {str(int(model.campaign_ids[c])): model.campaign_names[c] for c in range(model.n_campaigns)}
        for row in srv.state.truth("google_ads", account, "campaign", since, TODAY - timedelta(days=3))["rows"]:
            clicks[(row["date"].replace("-", ""), names[row["campaign_id"]])] += row["clicks"]
    assert clicks
    for key, n in clicks.items():
        if n >= 20:
            assert 0.65 * n <= sessions[key] <= 0.96 * n, (key, n, sessions[key])


def test_recent_days_grow_on_later_reads_older_days_never_change(
    srv: EmulatorServer, http: httpx.Client, ga4: dict[str, str]
) -> None:
    def totals() -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for r in run(http, ga4, report(days=6)).json()["rows"]:
            out[r["dimensionValues"][0]["value"]] += int(r["metricValues"][0]["value"])
        return out

    before = totals()
    srv.state.restate("ga4", steps=2)
    after = totals()
    recent = {(TODAY - timedelta(days=i)).strftime("%Y%m%d") for i in range(2)}
    assert all(after[d] > before[d] for d in recent)
    assert all(after[d] == before[d] for d in before if d not in recent)


def test_other_row_and_thresholding_are_flagged(srv: EmulatorServer, http: httpx.Client, ga4: dict[str, str]) -> None:
    srv.state.update_config(ga4_other_row_after=40, ga4_threshold_users=30)
    body = run(http, ga4, report()).json()
    assert body["metadata"]["dataLossFromOtherRow"] is True and body["metadata"]["subjectToThresholding"] is True
    other = [r for r in body["rows"] if r["dimensionValues"][4]["value"] == "(other)"]
    assert other and all(r["dimensionValues"][0]["value"] != "(other)" for r in other), "dates are kept"
    # without user metrics the report is not thresholded
    plain = run(http, ga4, {**report(), "metrics": [{"name": "sessions"}]}).json()
    assert "subjectToThresholding" not in plain["metadata"]


def test_batch_run_reports(http: httpx.Client, ga4: dict[str, str]) -> None:
    by_channel = {**report(), "dimensions": [{"name": "sessionDefaultChannelGroup"}]}
    body = http.post(f"{DATA}/{US}:batchRunReports", headers=ga4, json={"requests": [report(), by_channel]}).json()
    assert body["kind"] == "analyticsData#batchRunReports" and len(body["reports"]) == 2
    total = sum(int(r["metricValues"][0]["value"]) for r in body["reports"][0]["rows"])
    assert total == sum(int(r["metricValues"][0]["value"]) for r in body["reports"][1]["rows"])
    too_many = http.post(f"{DATA}/{US}:batchRunReports", headers=ga4, json={"requests": [report()] * 6})
    assert too_many.status_code == 400 and too_many.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_errors_use_googles_envelope(srv: EmulatorServer, http: httpx.Client, ga4: dict[str, str]) -> None:
    assert run(http, ga4, report(), prop="999999").json() == PERMISSION_DENIED
    ads_only = {"Authorization": f"Bearer {srv.state.issue_tokens('google_ads')['access_token']}"}
    scope = run(http, ads_only, report())
    assert scope.status_code == 403 and "scopes" in scope.json()["error"]["message"]
    assert run(http, {"Authorization": "Bearer nope"}, report()).json()["error"]["status"] == "UNAUTHENTICATED"
    bad = run(http, ga4, {**report(), "metrics": [{"name": "conversionz"}]})
    assert bad.status_code == 400 and "conversionz is not a valid metric" in bad.json()["error"]["message"]


def test_quota_runs_out_with_resource_exhausted(srv: EmulatorServer, http: httpx.Client, ga4: dict[str, str]) -> None:
    srv.state.update_config(ga4_tokens_per_hour=25)
    assert run(http, ga4, report()).status_code == 200
    assert run(http, ga4, report()).status_code == 200
    third = run(http, ga4, report())
    assert third.status_code == 429
    assert third.json()["error"]["status"] == "RESOURCE_EXHAUSTED" and "per hour" in third.json()["error"]["message"]
    srv.state.advance_clock(3600)
    fresh = {"Authorization": f"Bearer {srv.state.issue_tokens('ga4')['access_token']}"}  # the old one expired
    assert run(http, fresh, report()).status_code == 200, "a new hour has new tokens"


@pytest.mark.parametrize(
    ("fault", "check"),
    [
        ({"kind": "missing_headers"}, lambda b: "metricHeaders" not in b and "dimensionHeaders" in b),
        ({"kind": "sampled"}, lambda b: b["metadata"]["samplingMetadatas"][0]["samplesReadCount"]),
        ({"kind": "quota_exhausted", "scope": "daily"}, lambda b: "per day" in b["error"]["message"]),
        ({"kind": "permission_denied"}, lambda b: b == PERMISSION_DENIED),
    ],
)
def test_ga4_faults(
    srv: EmulatorServer, http: httpx.Client, ga4: dict[str, str], fault: dict[str, Any], check: Any
) -> None:
    srv.state.add_fault(platform="ga4", endpoint="runReport", **fault)
    assert check(run(http, ga4, report()).json())
    assert srv.state.stats()["faults_fired"] == {fault["kind"]: 1}


def test_a_batch_spoils_one_report_by_its_page_and_fails_whole_on_a_reports_quota(
    srv: EmulatorServer, http: httpx.Client, ga4: dict[str, str]
) -> None:
    pages = [report(limit=20, offset=20 * i, returnPropertyQuota=True) for i in range(3)]
    srv.state.add_fault(platform="ga4", endpoint="batchRunReports", page=2, kind="sampled")
    body = http.post(f"{DATA}/{US}:batchRunReports", headers=ga4, json={"requests": pages}).json()
    flags = ["samplingMetadatas" in r["metadata"] for r in body["reports"]]
    assert flags == [False, True, False], "only the report of page 2 is sampled"
    assert [r["rows"][0] for r in body["reports"]] != [body["reports"][0]["rows"][0]] * 3, "three pages"
    left = [r["propertyQuota"]["tokensPerHour"]["remaining"] for r in body["reports"]]
    assert left == sorted(left, reverse=True) and len(set(left)) == 3, "each report is charged"

    srv.state.add_fault(platform="ga4", endpoint="batchRunReports", page=3, kind="quota_exhausted")
    refused = http.post(f"{DATA}/{US}:batchRunReports", headers=ga4, json={"requests": pages})
    assert refused.status_code == 429 and "reports" not in refused.json()
    assert refused.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
