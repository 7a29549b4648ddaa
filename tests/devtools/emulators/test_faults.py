"""Every fault kind, as a connector meets it over HTTP."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import httpx
import pytest

from devtools.emulators import EmulatorServer

from .conftest import ADS, GOOGLE_CID, GOOGLE_USD, GRAPH, META_USD, gaql_daily, insights_params, meta_all, search_all

SEARCH = f"{ADS}/customers/{GOOGLE_CID}/googleAds:search"
STREAM = f"{ADS}/customers/{GOOGLE_CID}/googleAds:searchStream"
INSIGHTS = f"{GRAPH}/act_{META_USD}/insights"
QUERY = gaql_daily("2026-10-01", "2026-11-20")


def _fault(http: httpx.Client, **spec: object) -> dict[str, object]:
    resp = http.post("/_emulator/faults", json=spec)
    assert resp.status_code == 200, resp.text
    return resp.json()["faults"][0]  # type: ignore[no-any-return]


def test_google_rate_limit_is_429_resource_exhausted_with_retry_after(
    http: httpx.Client, google_headers: dict[str, str]
) -> None:
    _fault(http, platform="google_ads", endpoint="search", kind="rate_limit", retry_after=42)
    resp = http.post(SEARCH, headers=google_headers, json={"query": QUERY})
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "42"
    error = resp.json()["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    detail = error["details"][0]["errors"][0]
    assert detail["errorCode"] == {"quotaError": "RESOURCE_EXHAUSTED"}
    assert detail["details"]["quotaErrorDetails"]["retryDelay"] == "42s"
    assert http.post(SEARCH, headers=google_headers, json={"query": QUERY}).status_code == 200  # count=1


def test_meta_throttle_is_code_80000_with_time_to_regain_access(http: httpx.Client, meta_token: str) -> None:
    _fault(http, platform="meta", endpoint="insights", kind="rate_limit", retry_after=300)
    resp = http.get(INSIGHTS, params=insights_params(meta_token, "2026-11-01", "2026-11-20"))
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == 80000 and error["error_subcode"] == 2446079 and error["is_transient"] is True
    usage = json.loads(resp.headers["X-Business-Use-Case-Usage"])[META_USD][0]
    assert usage["estimated_time_to_regain_access"] == 5 and usage["call_count"] >= 100


@pytest.mark.parametrize(("code", "subcode"), [(17, 2446079), (4, None), (613, 1487742)])
def test_meta_other_throttle_codes(http: httpx.Client, meta_token: str, code: int, subcode: int | None) -> None:
    _fault(http, platform="meta", kind="rate_limit", code=code)
    error = http.get(f"{GRAPH}/act_{META_USD}/campaigns", params={"access_token": meta_token}).json()["error"]
    assert error["code"] == code and error.get("error_subcode") == subcode


def test_meta_enforced_budget_throttles_after_the_hourly_calls(
    srv: EmulatorServer, http: httpx.Client, meta_token: str
) -> None:
    srv.state.update_config(meta_calls_per_hour=3, meta_enforce_rate_limit=True)
    params = insights_params(meta_token, "2026-11-19", "2026-11-20")
    statuses = [http.get(INSIGHTS, params=params).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 400]
    http.post("/_emulator/clock", json={"advance_seconds": 3601})
    assert http.get(INSIGHTS, params=params).status_code == 200


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors(http: httpx.Client, google_headers: dict[str, str], meta_token: str, status: int) -> None:
    _fault(http, platform="google_ads", kind="server_error", status=status)
    _fault(http, platform="meta", kind="server_error", status=status)
    google = http.post(SEARCH, headers=google_headers, json={"query": QUERY})
    assert google.status_code == status and google.json()["error"]["status"] in ("INTERNAL", "UNAVAILABLE")
    meta = http.get(INSIGHTS, params=insights_params(meta_token, "2026-11-01", "2026-11-20"))
    assert meta.status_code == status and meta.json()["error"]["code"] in (1, 2)


def test_html_502(http: httpx.Client, google_headers: dict[str, str], meta_token: str) -> None:
    _fault(http, platform="google_ads", kind="html_502")
    _fault(http, platform="meta", kind="html_502")
    for resp in (
        http.post(STREAM, headers=google_headers, json={"query": QUERY}),
        http.get(INSIGHTS, params=insights_params(meta_token, "2026-11-01", "2026-11-20")),
    ):
        assert resp.status_code == 502 and resp.headers["content-type"].startswith("text/html")
        with pytest.raises(json.JSONDecodeError):
            resp.json()


def test_slow_response_still_answers(http: httpx.Client, google_headers: dict[str, str]) -> None:
    _fault(http, platform="google_ads", endpoint="search", kind="slow", delay=0.4)
    started = time.monotonic()
    resp = http.post(SEARCH, headers=google_headers, json={"query": QUERY})
    assert resp.status_code == 200 and time.monotonic() - started >= 0.4


def test_hang_outlasts_the_client_timeout(srv: EmulatorServer, google_headers: dict[str, str]) -> None:
    with httpx.Client(base_url=srv.base_url, timeout=0.3) as client:
        client.post("/_emulator/faults", json={"platform": "google_ads", "kind": "hang", "delay": 3})
        with pytest.raises(httpx.ReadTimeout):
            client.post(SEARCH, headers=google_headers, json={"query": QUERY})
        assert client.post(SEARCH, headers=google_headers, json={"query": QUERY}).status_code == 200


def test_truncated_json(http: httpx.Client, google_headers: dict[str, str], meta_token: str) -> None:
    _fault(http, platform="google_ads", endpoint="searchStream", kind="truncated_json", fraction=0.5)
    _fault(http, platform="meta", endpoint="insights", kind="truncated_json")
    google = http.post(STREAM, headers=google_headers, json={"query": QUERY})
    meta = http.get(INSIGHTS, params=insights_params(meta_token, "2026-11-01", "2026-11-20"))
    for resp in (google, meta):
        assert resp.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(resp.content)


def test_google_token_expiry_at_page_k_then_refresh_resumes(
    srv: EmulatorServer, http: httpx.Client, google_headers: dict[str, str]
) -> None:
    srv.state.update_config(google_page_size=40)
    expected, _ = search_all(http, google_headers, GOOGLE_CID, QUERY)
    tokens = srv.state.issue_tokens("google_ads")
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "developer-token": "x"}
    _fault(http, platform="google_ads", endpoint="search", kind="token_expiry", page=2)
    first = http.post(SEARCH, headers=headers, json={"query": QUERY}).json()
    second = http.post(SEARCH, headers=headers, json={"query": QUERY, "pageToken": first["nextPageToken"]})
    assert second.status_code == 401
    refreshed = http.post(
        "/google/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": srv.state.config.google_client_id,
            "client_secret": srv.state.config.google_client_secret,
        },
    ).json()
    headers["Authorization"] = f"Bearer {refreshed['access_token']}"
    rows = list(first["results"])
    body = {"query": QUERY, "pageToken": first["nextPageToken"]}
    while True:
        page = http.post(SEARCH, headers=headers, json=body).json()
        rows.extend(page.get("results", []))
        if "nextPageToken" not in page:
            break
        body["pageToken"] = page["nextPageToken"]
    assert rows == expected


def test_meta_token_expiry_at_page_k(http: httpx.Client, meta_token: str) -> None:
    _fault(http, platform="meta", endpoint="insights", kind="token_expiry", page=2)
    first = http.get(INSIGHTS, params=insights_params(meta_token, "2026-10-01", "2026-11-20", limit="10")).json()
    second = http.get(first["paging"]["next"])
    error = second.json()["error"]
    assert second.status_code == 400 and error["code"] == 190 and error["error_subcode"] == 463


def test_revoked_grant_makes_refresh_invalid_grant(srv: EmulatorServer, http: httpx.Client) -> None:
    tokens = srv.state.issue_tokens("google_ads")
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "developer-token": "x"}
    _fault(http, platform="google_ads", kind="revoked_grant", endpoint="search")
    assert http.post(SEARCH, headers=headers, json={"query": QUERY}).status_code == 401
    refresh = http.post(
        "/google/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": srv.state.config.google_client_id,
            "client_secret": srv.state.config.google_client_secret,
        },
    )
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


def test_revoked_grant_fault_on_the_token_endpoint(srv: EmulatorServer, http: httpx.Client) -> None:
    tokens = srv.state.issue_tokens("google_ads")
    _fault(http, platform="google_ads", endpoint="oauth.token", kind="revoked_grant")
    refresh = http.post(
        "/google/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": srv.state.config.google_client_id,
            "client_secret": srv.state.config.google_client_secret,
        },
    )
    assert refresh.json() == {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}


def test_empty_pages_do_not_end_paging(
    srv: EmulatorServer, http: httpx.Client, google_headers: dict[str, str], meta_token: str
) -> None:
    srv.state.update_config(google_page_size=40)
    expected, pages = search_all(http, google_headers, GOOGLE_CID, QUERY)
    _fault(http, platform="google_ads", endpoint="search", kind="empty_page", page=2)
    got, got_pages = search_all(http, google_headers, GOOGLE_CID, QUERY)
    assert got == expected and got_pages == pages + 1
    params = insights_params(meta_token, "2026-10-01", "2026-11-20", limit="20")
    meta_expected, meta_pages = meta_all(http, INSIGHTS, params)
    _fault(http, platform="meta", endpoint="insights", kind="empty_page", page=2)
    meta_got, meta_got_pages = meta_all(http, INSIGHTS, params)
    assert meta_got == meta_expected and meta_got_pages == meta_pages + 1


def test_empty_batch_in_a_stream(http: httpx.Client, google_headers: dict[str, str]) -> None:
    _fault(http, platform="google_ads", endpoint="searchStream", kind="empty_page")
    batches = http.post(STREAM, headers=google_headers, json={"query": QUERY}).json()
    assert "results" not in batches[0] and batches[1]["results"]


@pytest.mark.parametrize("mode", ["missing", "wrong_type", "null"])
def test_bad_row(http: httpx.Client, google_headers: dict[str, str], meta_token: str, mode: str) -> None:
    _fault(http, platform="google_ads", endpoint="search", kind="bad_row", field="metrics.clicks", mode=mode, row=1)
    _fault(http, platform="meta", endpoint="insights", kind="bad_row", field="spend", mode=mode)
    rows = http.post(SEARCH, headers=google_headers, json={"query": QUERY}).json()["results"]
    meta_rows = http.get(INSIGHTS, params=insights_params(meta_token, "2026-11-01", "2026-11-20")).json()["data"]
    broken, meta_broken = rows[1]["metrics"], meta_rows[0]
    if mode == "missing":
        assert "clicks" not in broken and "spend" not in meta_broken
    elif mode == "null":
        assert broken["clicks"] is None and meta_broken["spend"] is None
    else:
        assert isinstance(broken["clicks"], int) and isinstance(meta_broken["spend"], float | int)
    assert isinstance(rows[0]["metrics"]["clicks"], str)


def test_too_much_data(
    srv: EmulatorServer, http: httpx.Client, google_headers: dict[str, str], meta_token: str
) -> None:
    _fault(http, platform="google_ads", kind="too_much_data")
    google = http.post(STREAM, headers=google_headers, json={"query": QUERY})
    assert google.status_code == 504 and google.json()["error"]["status"] == "DEADLINE_EXCEEDED"
    _fault(http, platform="meta", kind="too_much_data")
    meta = http.get(INSIGHTS, params=insights_params(meta_token, "2026-11-01", "2026-11-20"))
    assert meta.status_code == 500 and meta.json()["error"]["code"] == 1
    assert "reduce the amount of data" in meta.json()["error"]["message"]


def test_size_thresholds_make_connectors_split(
    srv: EmulatorServer, http: httpx.Client, google_headers: dict[str, str], meta_token: str
) -> None:
    srv.state.update_config(google_max_rows_per_request=100, meta_max_rows_per_sync_request=100)
    assert http.post(STREAM, headers=google_headers, json={"query": QUERY}).status_code == 504
    assert (
        http.post(STREAM, headers=google_headers, json={"query": gaql_daily("2026-11-15", "2026-11-20")}).status_code
        == 200
    )
    big = http.get(INSIGHTS, params=insights_params(meta_token, "2026-08-01", "2026-11-20"))
    assert big.status_code == 500 and big.json()["error"]["code"] == 1
    assert http.get(INSIGHTS, params=insights_params(meta_token, "2026-11-15", "2026-11-20")).status_code == 200


def test_async_job_failure(http: httpx.Client, meta_token: str) -> None:
    _fault(http, platform="meta", endpoint="insights.async", kind="job_failed")
    params = insights_params(meta_token, "2026-10-01", "2026-11-20")
    run_id = http.post(INSIGHTS, data=params).json()["report_run_id"]
    statuses = [
        http.get(f"{GRAPH}/{run_id}", params={"access_token": meta_token}).json()["async_status"] for _ in range(6)
    ]
    assert statuses[-1] == "Job Failed" and "Job Completed" not in statuses
    assert http.get(f"{GRAPH}/{run_id}/insights", params={"access_token": meta_token}).json()["error"]["code"] == 2601


def test_faults_are_scoped_and_count_limited(http: httpx.Client, google_headers: dict[str, str]) -> None:
    fault = _fault(
        http, platform="google_ads", endpoint="search", account=GOOGLE_USD, kind="server_error", count=2, after=1
    )
    assert fault["remaining"] == 2
    usd = f"{ADS}/customers/{GOOGLE_USD}/googleAds:search"
    assert http.post(SEARCH, headers=google_headers, json={"query": QUERY}).status_code == 200  # other account
    codes = [http.post(usd, headers=google_headers, json={"query": QUERY}).status_code for _ in range(4)]
    assert codes == [200, 503, 503, 200]
    listed = http.get("/_emulator/faults").json()["faults"][0]
    assert listed["fired"] == 2 and listed["active"] is False
    assert http.request("DELETE", "/_emulator/faults").json() == {"faults": []}


def test_unlimited_fault_and_invalid_specs(http: httpx.Client, google_headers: dict[str, str]) -> None:
    _fault(http, platform="google_ads", endpoint="listAccessibleCustomers", kind="server_error", status=500, count=None)
    url = f"{ADS}/customers:listAccessibleCustomers"
    assert [http.get(url, headers=google_headers).status_code for _ in range(3)] == [500, 500, 500]
    for bad in (
        {"platform": "google_ads", "kind": "explode"},
        {"platform": "snapchat", "kind": "slow"},
        {"platform": "meta", "kind": "slow", "endpoint": "nope"},
        {"platform": "meta", "kind": "slow", "bogus": 1},
    ):
        resp = http.post("/_emulator/faults", json=bad)
        assert resp.status_code == 400 and "error" in resp.json()


def test_oauth_token_endpoint_faults(srv: EmulatorServer, http: httpx.Client) -> None:
    tokens = srv.state.issue_tokens("google_ads")
    _fault(http, platform="google_ads", endpoint="oauth.token", kind="rate_limit", retry_after=7)
    form = {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": srv.state.config.google_client_id,
        "client_secret": srv.state.config.google_client_secret,
    }
    limited = http.post("/google/token", data=form)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert http.post("/google/token", data=form).status_code == 200


def test_fault_stats_are_recorded(srv: EmulatorServer, http: httpx.Client, google_headers: dict[str, str]) -> None:
    _fault(http, platform="google_ads", kind="server_error")
    http.post(SEARCH, headers=google_headers, json={"query": QUERY})
    stats = http.get("/_emulator/stats").json()
    assert stats["faults_fired"] == {"server_error": 1}
    assert stats["statuses"]["503"] == 1
    assert stats["requests"] == {"google_ads.search": 1}


# ---------------------------------------------------------------------------------------------
# Faults added for the platform errors clients misread (issue 12)
def test_ads_error_carries_the_google_error_code_under_its_status(
    http: httpx.Client, google_headers: dict[str, str]
) -> None:
    _fault(http, platform="google_ads", endpoint="search", kind="ads_error")
    resp = http.post(SEARCH, headers=google_headers, json={"query": QUERY})
    assert resp.status_code == 401
    error = resp.json()["error"]
    assert error["status"] == "UNAUTHENTICATED"
    detail = error["details"][0]["errors"][0]
    assert detail["errorCode"] == {"authenticationError": "NOT_ADS_USER"}
    assert "not associated with a Google Ads account" in detail["message"]

    _fault(http, platform="google_ads", kind="ads_error", status=403, category="authorizationError", code="X_Y")
    resp = http.post(SEARCH, headers=google_headers, json={"query": QUERY})
    assert resp.status_code == 403 and resp.json()["error"]["status"] == "PERMISSION_DENIED"
    assert resp.json()["error"]["details"][0]["errors"][0]["errorCode"] == {"authorizationError": "X_Y"}


def test_meta_throttle_without_regain_sends_no_usage_header(http: httpx.Client, meta_token: str) -> None:
    _fault(http, platform="meta", endpoint="campaigns", kind="rate_limit", regain=False)
    resp = http.get(f"{GRAPH}/act_{META_USD}/campaigns", params={"access_token": meta_token})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == 80004
    assert "X-Business-Use-Case-Usage" not in resp.headers and "X-Ad-Account-Usage" not in resp.headers


def test_report_not_ready_answers_2601_until_the_job_is_polled_again(http: httpx.Client, meta_token: str) -> None:
    params = insights_params(meta_token, "2026-11-01", "2026-11-20")
    run_id = http.post(INSIGHTS, data=params).json()["report_run_id"]
    token = {"access_token": meta_token}
    for _ in range(10):
        if http.get(f"{GRAPH}/{run_id}", params=token).json()["async_status"] == "Job Completed":
            break
    _fault(http, platform="meta", endpoint="report_run.insights", kind="report_not_ready", polls=2)

    assert http.get(f"{GRAPH}/{run_id}/insights", params=token).json()["error"]["code"] == 2601
    assert http.get(f"{GRAPH}/{run_id}/insights", params=token).json()["error"]["code"] == 2601, "still not ready"
    statuses = [http.get(f"{GRAPH}/{run_id}", params=token).json()["async_status"] for _ in range(2)]
    assert statuses[-1] == "Job Completed"
    assert http.get(f"{GRAPH}/{run_id}/insights", params=token).status_code == 200


def test_duplicate_and_finer_rows_split_one_row_in_two_that_add_up(
    http: httpx.Client, google_headers: dict[str, str], meta_token: str
) -> None:
    clean = http.post(SEARCH, headers=google_headers, json={"query": QUERY}).json()["results"]
    _fault(http, platform="google_ads", endpoint="search", kind="finer_level", row=2)
    split = http.post(SEARCH, headers=google_headers, json={"query": QUERY}).json()["results"]
    assert len(split) == len(clean) + 1
    first, second = split[2], split[3]
    assert {first["segments"]["device"], second["segments"]["device"]} == {"MOBILE", "DESKTOP"}
    assert first["campaign"]["id"] == second["campaign"]["id"] == clean[2]["campaign"]["id"]
    total = int(first["metrics"]["costMicros"]) + int(second["metrics"]["costMicros"])
    assert total == int(clean[2]["metrics"]["costMicros"])

    meta_clean = http.get(INSIGHTS, params=insights_params(meta_token, "2026-11-01", "2026-11-20")).json()["data"]
    _fault(http, platform="meta", endpoint="insights", kind="duplicate_row", row=0)
    meta_split = http.get(INSIGHTS, params=insights_params(meta_token, "2026-11-01", "2026-11-20")).json()["data"]
    a, b = meta_split[0], meta_split[1]
    assert (a["campaign_id"], a["date_start"]) == (b["campaign_id"], b["date_start"]) and "ad_id" not in a
    assert Decimal(a["spend"]) + Decimal(b["spend"]) == Decimal(meta_clean[0]["spend"])


def test_invalid_client_fault_on_the_token_endpoint(http: httpx.Client) -> None:
    _fault(http, platform="google_ads", endpoint="oauth.token", kind="invalid_client")
    resp = http.post("/google/token", data={"grant_type": "refresh_token", "refresh_token": "x"})
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"
