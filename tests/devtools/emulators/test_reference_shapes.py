"""The emulator's bodies match published real payloads (shared/reference/payloads, developer set).

The samples are quoted inline so the tests do not depend on files outside the repository.
"""

from __future__ import annotations

import json

import httpx

from devtools.emulators import EmulatorServer

from .conftest import ADS, GOOGLE_CID, GRAPH, META_USD, TIKTOK_API, insights_params, tiktok_report_params

# google_ads/error_401_unauthenticated.json (googleads/googleads-php-lib#671)
GOOGLE_401 = {
    "error": {
        "code": 401,
        "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
        "other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        "status": "UNAUTHENTICATED",
    }
}
# google_oauth/error_invalid_grant_expired_or_revoked.json
GOOGLE_INVALID_GRANT = {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
# google_oauth/token_authorization_code_exchange.json (keys and types)
GOOGLE_CODE_EXCHANGE_KEYS = {"access_token", "expires_in", "token_type", "scope", "refresh_token"}
# meta/report_run_status_running.json (keys)
META_REPORT_RUN_KEYS = {
    "id",
    "account_id",
    "time_ref",
    "async_status",
    "async_percent_completion",
    "is_running",
    "date_start",
    "date_stop",
}
# meta/error_4_application_request_limit.json
META_ERROR_4 = {
    "message": "(#4) Application request limit reached",
    "type": "OAuthException",
    "is_transient": True,
    "code": 4,
}


def test_google_401_body_is_the_recorded_one(http: httpx.Client) -> None:
    resp = http.get(
        f"{ADS}/customers:listAccessibleCustomers", headers={"Authorization": "Bearer expired", "developer-token": "x"}
    )
    assert resp.status_code == 401 and resp.json() == GOOGLE_401


def test_google_invalid_grant_body_is_the_recorded_one(srv: EmulatorServer, http: httpx.Client) -> None:
    config = srv.state.config
    resp = http.post(
        "/google/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "1//0-unknown",
            "client_id": config.google_client_id,
            "client_secret": config.google_client_secret,
        },
    )
    assert resp.status_code == 400 and resp.json() == GOOGLE_INVALID_GRANT


def test_google_customer_row_has_the_recorded_keys(http: httpx.Client, google_headers: dict[str, str]) -> None:
    query = "SELECT customer.id, customer.descriptive_name, customer.time_zone FROM customer"
    row = http.post(
        f"{ADS}/customers/{GOOGLE_CID}/googleAds:search", headers=google_headers, json={"query": query}
    ).json()["results"][0]
    # google_ads/row_customer_timezone.json: {"customer": {"resourceName", "id", "descriptiveName", "timeZone", ...}}
    assert list(row) == ["customer"]
    assert list(row["customer"]) == ["resourceName", "id", "descriptiveName", "timeZone"]


def test_meta_report_run_has_the_recorded_keys(http: httpx.Client, meta_token: str) -> None:
    params = insights_params(meta_token, "2026-11-01", "2026-11-20")
    run_id = http.post(f"{GRAPH}/act_{META_USD}/insights", data=params).json()["report_run_id"]
    status = http.get(f"{GRAPH}/{run_id}", params={"access_token": meta_token}).json()
    assert set(status) == META_REPORT_RUN_KEYS
    assert isinstance(status["async_percent_completion"], int) and isinstance(status["time_ref"], int)


def test_meta_error_4_body_is_the_recorded_one(http: httpx.Client, meta_token: str) -> None:
    http.post("/_emulator/faults", json={"platform": "meta", "kind": "rate_limit", "code": 4})
    error = http.get(f"{GRAPH}/act_{META_USD}/campaigns", params={"access_token": meta_token}).json()["error"]
    assert {k: v for k, v in error.items() if k != "fbtrace_id"} == META_ERROR_4
    assert isinstance(error["fbtrace_id"], str) and error["fbtrace_id"]


def test_google_code_exchange_has_the_documented_keys(srv: EmulatorServer, http: httpx.Client) -> None:
    from .test_oauth import _exchange, _google_consent

    body = _exchange(http, srv, _google_consent(http, srv)["code"][0]).json()
    assert set(body) == GOOGLE_CODE_EXCHANGE_KEYS
    assert isinstance(body["expires_in"], int) and " " not in body["token_type"]


# tiktok/report_adgroup_hourly.json (airbytehq/airbyte source-tiktok-marketing fixture): the
# envelope, a row's keys and the metric names among its 52 that Bosco asks for (values as served).
TIKTOK_ENVELOPE_KEYS = {"code", "message", "data"}
TIKTOK_ROW_KEYS = {"dimensions", "metrics"}
TIKTOK_RECORDED_METRICS = {
    "spend": "20.00",
    "impressions": "5830",
    "clicks": "69",
    "ctr": "1.18",
    "cpc": "0.29",
    "cpm": "3.43",
    "conversion": "0",
    "cost_per_conversion": "0.00",
    "conversion_rate": "0.00",
    "campaign_name": "Website Traffic20211020010104",
    "adgroup_name": "Ad Group20211020010107",
}
# tiktok/report_audience_lifetime.json: the same metrics at another level, also strings.
TIKTOK_AUDIENCE_METRICS = {
    "cpm": "4.58",
    "cpc": "0.36",
    "spend": "31.56",
    "ctr": "1.26",
    "clicks": "87",
    "impressions": "6897",
}


def test_tiktok_report_shapes_match_the_recorded_ones(srv: EmulatorServer, http: httpx.Client) -> None:
    token = srv.state.issue_tokens("tiktok")["access_token"]
    params = tiktok_report_params("2026-11-10", "2026-11-20", "AUCTION_ADGROUP")
    params["metrics"] = json.dumps(sorted(TIKTOK_RECORDED_METRICS))
    body = http.get(f"{TIKTOK_API}/report/integrated/get/", params=params, headers={"Access-Token": token}).json()
    assert set(body) >= TIKTOK_ENVELOPE_KEYS and body["code"] == 0 and body["message"] == "OK"
    row = body["data"]["list"][0]
    assert set(row) == TIKTOK_ROW_KEYS
    assert set(row["metrics"]) == set(TIKTOK_RECORDED_METRICS)
    for name, recorded in {**TIKTOK_RECORDED_METRICS, **TIKTOK_AUDIENCE_METRICS}.items():
        served = row["metrics"][name]
        assert type(served) is type(recorded), name
        if name.endswith("_name"):
            continue
        # Same number format: integers for counts, two decimals for money and rates.
        assert ("." in served) == ("." in recorded), name
        if "." in recorded:
            assert len(served.split(".")[1]) == len(recorded.split(".")[1]), name
