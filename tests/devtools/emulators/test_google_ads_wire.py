"""Google Ads REST wire format: shapes, paging, streaming, headers and errors."""

from __future__ import annotations

import httpx

from devtools.emulators import EmulatorServer

from .conftest import ADS, GOOGLE_CID, gaql_daily, search_all, stream_rows


def test_list_accessible_customers_returns_resource_names(http: httpx.Client, google_headers: dict[str, str]) -> None:
    resp = http.get(f"{ADS}/customers:listAccessibleCustomers", headers=google_headers)
    assert resp.status_code == 200
    assert resp.json() == {"resourceNames": ["customers/1234567890", "customers/2345678901", "customers/3456789012"]}


def test_any_api_version_is_accepted(http: httpx.Client, google_headers: dict[str, str]) -> None:
    for version in ("v19", "v21", "v23"):
        resp = http.get(f"/googleads/{version}/customers:listAccessibleCustomers", headers=google_headers)
        assert resp.status_code == 200


def test_customer_row_uses_camel_case_and_string_int64(http: httpx.Client, google_headers: dict[str, str]) -> None:
    query = "SELECT customer.id, customer.descriptive_name, customer.currency_code, customer.time_zone FROM customer"
    resp = http.post(f"{ADS}/customers/{GOOGLE_CID}/googleAds:search", headers=google_headers, json={"query": query})
    data = resp.json()
    assert data["results"] == [
        {
            "customer": {
                "resourceName": "customers/1234567890",
                "id": "1234567890",
                "descriptiveName": "Bosco Demo DE",
                "currencyCode": "EUR",
                "timeZone": "Europe/Berlin",
            }
        }
    ]
    assert data["fieldMask"] == "customer.id,customer.descriptiveName,customer.currencyCode,customer.timeZone"
    assert isinstance(data["requestId"], str) and data["requestId"]
    assert "nextPageToken" not in data


def test_daily_metrics_types_follow_the_rest_mapping(http: httpx.Client, google_headers: dict[str, str]) -> None:
    query = (
        "SELECT campaign.id, campaign.name, campaign.status, campaign.advertising_channel_type, "
        "metrics.cost_micros, metrics.impressions, metrics.clicks, metrics.conversions, "
        "metrics.conversions_value, segments.date FROM campaign "
        "WHERE segments.date BETWEEN '2026-11-01' AND '2026-11-07'"
    )
    rows = stream_rows(http, google_headers, GOOGLE_CID, query)
    assert rows
    for row in rows:
        campaign, metrics = row["campaign"], row["metrics"]
        assert campaign["resourceName"] == f"customers/{GOOGLE_CID}/campaigns/{campaign['id']}"
        assert isinstance(campaign["id"], str) and campaign["id"].isdigit()
        assert campaign["status"] in ("ENABLED", "PAUSED", "REMOVED")
        assert campaign["advertisingChannelType"] in ("SEARCH", "PERFORMANCE_MAX", "SHOPPING", "DISPLAY", "VIDEO")
        for key in ("costMicros", "impressions", "clicks"):
            assert isinstance(metrics[key], str) and metrics[key].isdigit()
        for key in ("conversions", "conversionsValue"):  # doubles: JSON numbers (whole ones print as 3)
            assert type(metrics[key]) in (int, float)
        assert int(metrics["clicks"]) <= int(metrics["impressions"])
        assert "2026-11-01" <= row["segments"]["date"] <= "2026-11-07"


def test_ad_group_rows_carry_both_resources(http: httpx.Client, google_headers: dict[str, str]) -> None:
    query = "SELECT ad_group.id, ad_group.name, ad_group.status, campaign.id FROM ad_group"
    rows = stream_rows(http, google_headers, GOOGLE_CID, query)
    assert len(rows) >= 12  # 6 campaigns x 2-4 ad groups
    for row in rows:
        assert row["adGroup"]["resourceName"] == f"customers/{GOOGLE_CID}/adGroups/{row['adGroup']['id']}"
        assert row["campaign"]["resourceName"].endswith(f"/campaigns/{row['campaign']['id']}")


def test_search_pages_return_every_row_exactly_once(
    srv: EmulatorServer, http: httpx.Client, google_headers: dict[str, str]
) -> None:
    query = gaql_daily("2026-10-01", "2026-11-20")
    streamed = stream_rows(http, google_headers, GOOGLE_CID, query)
    srv.state.update_config(google_page_size=37)
    paged, pages = search_all(http, google_headers, GOOGLE_CID, query)
    assert pages == -(-len(streamed) // 37) > 3
    assert paged == streamed
    keys = [(r["campaign"]["id"], r["segments"]["date"]) for r in paged]
    assert len(keys) == len(set(keys))


def test_search_stream_is_an_array_of_batches(
    srv: EmulatorServer, http: httpx.Client, google_headers: dict[str, str]
) -> None:
    srv.state.update_config(google_stream_batch_size=50)
    resp = http.post(
        f"{ADS}/customers/{GOOGLE_CID}/googleAds:searchStream",
        headers=google_headers,
        json={"query": gaql_daily("2026-10-01", "2026-11-20")},
    )
    batches = resp.json()
    assert isinstance(batches, list) and len(batches) > 2
    assert all(len(b["results"]) <= 50 and b["fieldMask"] and b["requestId"] for b in batches)
    assert "queryResourceConsumption" in batches[-1]


def test_stream_without_rows_is_one_batch_without_results(http: httpx.Client, google_headers: dict[str, str]) -> None:
    query = gaql_daily("2020-01-01", "2020-01-31")  # before the 37-month history
    resp = http.post(
        f"{ADS}/customers/{GOOGLE_CID}/googleAds:searchStream", headers=google_headers, json={"query": query}
    )
    batches = resp.json()
    assert len(batches) == 1
    assert "results" not in batches[0]
    assert batches[0]["fieldMask"].startswith("campaign.id,metrics.costMicros")


def test_search_settings_total_results_count(http: httpx.Client, google_headers: dict[str, str]) -> None:
    query = gaql_daily("2026-11-01", "2026-11-20")
    body = {"query": query, "searchSettings": {"returnTotalResultsCount": True}}
    data = http.post(f"{ADS}/customers/{GOOGLE_CID}/googleAds:search", headers=google_headers, json=body).json()
    assert data["totalResultsCount"] == str(len(data["results"]))


def test_page_size_is_rejected_like_v17_and_later(http: httpx.Client, google_headers: dict[str, str]) -> None:
    body = {"query": "SELECT campaign.id FROM campaign", "pageSize": 100}
    resp = http.post(f"{ADS}/customers/{GOOGLE_CID}/googleAds:search", headers=google_headers, json=body)
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["details"][0]["errors"][0]["errorCode"] == {"requestError": "PAGE_SIZE_NOT_SUPPORTED"}


def test_invalid_page_token_is_rejected(http: httpx.Client, google_headers: dict[str, str]) -> None:
    body = {"query": "SELECT campaign.id FROM campaign", "pageToken": "bm9wZTo1"}
    resp = http.post(f"{ADS}/customers/{GOOGLE_CID}/googleAds:search", headers=google_headers, json=body)
    assert resp.status_code == 400
    assert resp.json()["error"]["details"][0]["errors"][0]["errorCode"] == {"requestError": "INVALID_PAGE_TOKEN"}


def test_missing_bearer_token_is_401_without_details(http: httpx.Client) -> None:
    resp = http.get(f"{ADS}/customers:listAccessibleCustomers", headers={"developer-token": "x"})
    assert resp.status_code == 401
    error = resp.json()["error"]
    assert error["status"] == "UNAUTHENTICATED" and error["code"] == 401
    assert "details" not in error


def test_unknown_token_is_401_unauthenticated(http: httpx.Client) -> None:
    headers = {"Authorization": "Bearer ya29.not-a-token", "developer-token": "x"}
    resp = http.get(f"{ADS}/customers:listAccessibleCustomers", headers=headers)
    assert resp.status_code == 401
    assert resp.json()["error"]["message"].startswith("Request had invalid authentication credentials.")
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]


def test_developer_token_is_required(http: httpx.Client, google_headers: dict[str, str]) -> None:
    headers = {"Authorization": google_headers["Authorization"]}
    resp = http.get(f"{ADS}/customers:listAccessibleCustomers", headers=headers)
    assert resp.status_code == 400
    failure = resp.json()["error"]["details"][0]
    assert failure["@type"] == "type.googleapis.com/google.ads.googleads.v21.errors.GoogleAdsFailure"
    assert failure["errors"][0]["errorCode"] == {"requestError": "DEVELOPER_TOKEN_PARAMETER_MISSING"}


def test_unknown_customer_is_permission_denied(http: httpx.Client, google_headers: dict[str, str]) -> None:
    resp = http.post(
        f"{ADS}/customers/9999999999/googleAds:search",
        headers=google_headers,
        json={"query": "SELECT campaign.id FROM campaign"},
    )
    assert resp.status_code == 403
    assert resp.json()["error"]["details"][0]["errors"][0]["errorCode"] == {
        "authorizationError": "USER_PERMISSION_DENIED"
    }


def test_login_customer_id_header_is_accepted(http: httpx.Client, google_headers: dict[str, str]) -> None:
    headers = {**google_headers, "login-customer-id": GOOGLE_CID}
    resp = http.post(
        f"{ADS}/customers/{GOOGLE_CID}/googleAds:search",
        headers=headers,
        json={"query": "SELECT campaign.id FROM campaign"},
    )
    assert resp.status_code == 200


def test_error_type_url_carries_the_called_version(http: httpx.Client, google_headers: dict[str, str]) -> None:
    resp = http.post(
        f"/googleads/v23/customers/{GOOGLE_CID}/googleAds:search",
        headers=google_headers,
        json={"query": "SELECT nope FROM campaign"},
    )
    assert resp.json()["error"]["details"][0]["@type"].endswith("googleads.v23.errors.GoogleAdsFailure")


def test_enum_and_id_filters_select_entities(http: httpx.Client, google_headers: dict[str, str]) -> None:
    everything = stream_rows(http, google_headers, GOOGLE_CID, "SELECT campaign.id, campaign.status FROM campaign")
    enabled = stream_rows(
        http,
        google_headers,
        GOOGLE_CID,
        "SELECT campaign.id, campaign.status FROM campaign WHERE campaign.status = 'ENABLED'",
    )
    assert enabled == [r for r in everything if r["campaign"]["status"] == "ENABLED"]
    first = everything[0]["campaign"]["id"]
    one = stream_rows(
        http, google_headers, GOOGLE_CID, f"SELECT campaign.id FROM campaign WHERE campaign.id IN ({first})"
    )
    assert [r["campaign"]["id"] for r in one] == [first]


def test_aggregate_query_without_date_segment_sums_the_range(
    http: httpx.Client, google_headers: dict[str, str]
) -> None:
    daily = stream_rows(http, google_headers, GOOGLE_CID, gaql_daily("2026-11-01", "2026-11-20"))
    totals = stream_rows(
        http,
        google_headers,
        GOOGLE_CID,
        "SELECT campaign.id, metrics.cost_micros FROM campaign WHERE segments.date BETWEEN '2026-11-01' AND '2026-11-20'",
    )
    expected: dict[str, int] = {}
    for r in daily:
        expected[r["campaign"]["id"]] = expected.get(r["campaign"]["id"], 0) + int(r["metrics"]["costMicros"])
    assert {r["campaign"]["id"]: int(r["metrics"]["costMicros"]) for r in totals} == expected


def test_order_by_and_limit(http: httpx.Client, google_headers: dict[str, str]) -> None:
    query = gaql_daily("2026-11-01", "2026-11-20") + " ORDER BY metrics.cost_micros DESC LIMIT 5"
    rows = stream_rows(http, google_headers, GOOGLE_CID, query)
    costs = [int(r["metrics"]["costMicros"]) for r in rows]
    assert len(rows) == 5 and costs == sorted(costs, reverse=True)
