"""Meta Marketing API wire format: string metrics, cursors, async report runs, usage headers."""

from __future__ import annotations

import json

import httpx

from devtools.emulators import EmulatorServer

from .conftest import GRAPH, META_JPY, META_USD, insights_params, meta_all

PURCHASE_ALIASES = ("purchase", "offsite_conversion.fb_pixel_purchase", "omni_purchase")


def test_ad_accounts_list(http: httpx.Client, meta_token: str) -> None:
    params = {"access_token": meta_token, "fields": "id,account_id,name,currency,timezone_name"}
    data = http.get(f"{GRAPH}/me/adaccounts", params=params).json()
    accounts = {a["id"]: a for a in data["data"]}
    assert set(accounts) == {"act_1010203040506071", "act_1020304050607082", "act_1030405060708093"}
    assert accounts["act_1030405060708093"] == {
        "id": "act_1030405060708093",
        "account_id": "1030405060708093",
        "name": "Bosco デモ JP",
        "currency": "JPY",
        "timezone_name": "Asia/Tokyo",
    }
    assert "next" not in data["paging"]


def test_default_fields_is_id_only_and_unknown_fields_fail(http: httpx.Client, meta_token: str) -> None:
    data = http.get(f"{GRAPH}/act_{META_USD}/campaigns", params={"access_token": meta_token}).json()
    assert all(set(c) == {"id"} for c in data["data"])
    resp = http.get(f"{GRAPH}/act_{META_USD}/campaigns", params={"access_token": meta_token, "fields": "id,bogus"})
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["code"] == 100 and error["type"] == "OAuthException" and error["fbtrace_id"]
    assert "bogus" in error["message"]


def test_campaigns_and_adsets_page_with_cursors(http: httpx.Client, meta_token: str) -> None:
    fields = "id,name,status,effective_status,objective,start_time"
    params = {
        "access_token": meta_token,
        "fields": fields,
        "limit": "2",
        "effective_status": '["ACTIVE","PAUSED","ARCHIVED"]',
    }
    campaigns, pages = meta_all(http, f"{GRAPH}/act_{META_USD}/campaigns", params)
    assert len(campaigns) == 6 and pages == 3
    assert len({c["id"] for c in campaigns}) == 6
    assert all(c["objective"].startswith("OUTCOME_") for c in campaigns)
    adsets, _ = meta_all(
        http,
        f"{GRAPH}/act_{META_USD}/adsets",
        {
            "access_token": meta_token,
            "fields": "id,campaign_id,effective_status",
            "limit": "5",
            "effective_status": '["ACTIVE","PAUSED","CAMPAIGN_PAUSED","ARCHIVED"]',
        },
    )
    assert {a["campaign_id"] for a in adsets} == {c["id"] for c in campaigns}


def test_insight_metrics_are_strings_with_dates_on_every_row(http: httpx.Client, meta_token: str) -> None:
    params = insights_params(
        meta_token, "2026-11-10", "2026-11-20", fields="campaign_id,spend,impressions,clicks,ctr,cpc,reach"
    )
    rows, _ = meta_all(http, f"{GRAPH}/act_{META_USD}/insights", params)
    assert rows
    for row in rows:
        for key in ("campaign_id", "spend", "impressions", "clicks", "reach"):
            assert isinstance(row[key], str)
        assert row["date_start"] == row["date_stop"]
        whole, _, cents = row["spend"].partition(".")
        assert whole.isdigit() and len(cents) == 2
        assert int(row["clicks"]) <= int(row["impressions"])


def test_zero_decimal_currency_spend_has_no_decimals(http: httpx.Client, meta_token: str) -> None:
    rows, _ = meta_all(
        http, f"{GRAPH}/act_{META_JPY}/insights", insights_params(meta_token, "2026-11-01", "2026-11-20")
    )
    assert rows and all(r["spend"].isdigit() and r["account_currency"] == "JPY" for r in rows)
    for row in rows:
        for item in row.get("action_values", []):
            assert item["value"].isdigit()


def test_purchase_aliases_carry_the_same_totals(http: httpx.Client, meta_token: str) -> None:
    rows, _ = meta_all(
        http, f"{GRAPH}/act_{META_USD}/insights", insights_params(meta_token, "2026-10-01", "2026-11-20")
    )
    with_purchases = 0
    for row in rows:
        actions = {a["action_type"]: a["value"] for a in row.get("actions", [])}
        values = {a["action_type"]: a["value"] for a in row.get("action_values", [])}
        assert len({actions.get(t) for t in PURCHASE_ALIASES}) == 1
        assert len({values.get(t) for t in PURCHASE_ALIASES}) == 1
        if "purchase" in actions:
            with_purchases += 1
            assert "purchase" in values
        for item in row.get("actions", []):
            assert set(item) == {"action_type", "value"} and item["value"].isdigit() and int(item["value"]) > 0
    assert with_purchases > 0


def test_attribution_windows_add_per_window_values(http: httpx.Client, meta_token: str) -> None:
    params = insights_params(
        meta_token, "2026-11-01", "2026-11-20", action_attribution_windows='["7d_click","1d_view"]'
    )
    rows, _ = meta_all(http, f"{GRAPH}/act_{META_USD}/insights", params)
    item = next(a for r in rows for a in r.get("actions", []) if a["action_type"] == "link_click")
    assert int(item["7d_click"]) + int(item["1d_view"]) == int(item["value"])
    resp = http.get(f"{GRAPH}/act_{META_USD}/insights", params={**params, "action_attribution_windows": '["28d_view"]'})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == 100


def test_insights_paging_returns_every_row_once_and_next_disappears(http: httpx.Client, meta_token: str) -> None:
    params = insights_params(meta_token, "2026-09-01", "2026-11-20", limit="17")
    rows, pages = meta_all(http, f"{GRAPH}/act_{META_USD}/insights", params)
    everything = http.get(f"{GRAPH}/act_{META_USD}/insights", params={**params, "limit": "100000"}).json()
    assert rows == everything["data"] and "next" not in everything["paging"]
    assert pages == -(-len(rows) // 17) > 3
    keys = [(r["campaign_id"], r["date_start"]) for r in rows]
    assert len(keys) == len(set(keys))


def test_all_days_aggregates_the_range(http: httpx.Client, meta_token: str) -> None:
    daily, _ = meta_all(
        http, f"{GRAPH}/act_{META_USD}/insights", insights_params(meta_token, "2026-11-01", "2026-11-20")
    )
    total, _ = meta_all(
        http,
        f"{GRAPH}/act_{META_USD}/insights",
        insights_params(meta_token, "2026-11-01", "2026-11-20", time_increment="all_days"),
    )
    per_campaign: dict[str, int] = {}
    for r in daily:
        per_campaign[r["campaign_id"]] = per_campaign.get(r["campaign_id"], 0) + int(r["impressions"])
    assert {r["campaign_id"]: int(r["impressions"]) for r in total} == per_campaign
    assert all(r["date_start"] == "2026-11-01" and r["date_stop"] == "2026-11-20" for r in total)


def test_usage_headers_hold_json(http: httpx.Client, meta_token: str) -> None:
    resp = http.get(f"{GRAPH}/act_{META_USD}/insights", params=insights_params(meta_token, "2026-11-19", "2026-11-20"))
    buc = json.loads(resp.headers["X-Business-Use-Case-Usage"])
    entry = buc[META_USD][0]
    assert entry["type"] == "ads_insights"
    assert {"call_count", "total_cputime", "total_time", "estimated_time_to_regain_access"} <= set(entry)
    assert "acc_id_util_pct" in json.loads(resp.headers["X-Ad-Account-Usage"])
    assert set(json.loads(resp.headers["X-FB-Ads-Insights-Throttle"])) >= {"app_id_util_pct", "acc_id_util_pct"}


def test_async_report_run_lifecycle(srv: EmulatorServer, http: httpx.Client, meta_token: str) -> None:
    params = insights_params(meta_token, "2026-10-01", "2026-11-20", limit="25")
    body = {k: v for k, v in params.items() if k != "limit"}
    run_id = http.post(f"{GRAPH}/act_{META_USD}/insights", data=body).json()["report_run_id"]
    too_early = http.get(f"{GRAPH}/{run_id}/insights", params={"access_token": meta_token})
    assert too_early.status_code == 400 and too_early.json()["error"]["code"] == 2601
    seen = []
    for _ in range(10):
        status = http.get(f"{GRAPH}/{run_id}", params={"access_token": meta_token}).json()
        seen.append((status["async_status"], status["async_percent_completion"]))
        if status["async_status"] == "Job Completed":
            break
    assert seen[0] == ("Job Not Started", 0)
    assert ("Job Running", 100) in seen  # 100 % is not done yet
    assert seen[-1] == ("Job Completed", 100)
    assert status["id"] == run_id and status["account_id"] == META_USD and status["date_start"] == "2026-10-01"
    rows, pages = meta_all(http, f"{GRAPH}/{run_id}/insights", {"access_token": meta_token, "limit": "25"})
    sync_rows, _ = meta_all(http, f"{GRAPH}/act_{META_USD}/insights", params)
    assert rows == sync_rows and pages > 1


def test_history_older_than_37_months_is_refused(http: httpx.Client, meta_token: str) -> None:
    resp = http.get(f"{GRAPH}/act_{META_USD}/insights", params=insights_params(meta_token, "2023-01-01", "2023-01-31"))
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == 3018


def test_unknown_ad_account_is_code_100_subcode_33(http: httpx.Client, meta_token: str) -> None:
    resp = http.get(f"{GRAPH}/act_42/insights", params={"access_token": meta_token})
    error = resp.json()["error"]
    assert resp.status_code == 400 and error["code"] == 100 and error["error_subcode"] == 33


def test_missing_and_invalid_tokens(http: httpx.Client) -> None:
    missing = http.get(f"{GRAPH}/act_{META_USD}/campaigns")
    assert missing.json()["error"]["code"] == 104
    invalid = http.get(f"{GRAPH}/act_{META_USD}/campaigns", params={"access_token": "EAAnope"})
    assert invalid.json()["error"]["code"] == 190
    assert "invalid_token" in invalid.headers["WWW-Authenticate"]


def test_bearer_header_works_like_the_query_parameter(http: httpx.Client, meta_token: str) -> None:
    resp = http.get(f"{GRAPH}/me", headers={"Authorization": f"Bearer {meta_token}"}, params={"fields": "id,name"})
    assert resp.status_code == 200 and resp.json()["name"] == "Bosco Demo User"


def test_filtering_by_campaign_id(http: httpx.Client, meta_token: str) -> None:
    rows, _ = meta_all(
        http, f"{GRAPH}/act_{META_USD}/insights", insights_params(meta_token, "2026-11-01", "2026-11-20")
    )
    target = rows[0]["campaign_id"]
    filtering = json.dumps([{"field": "campaign.id", "operator": "IN", "value": [target]}])
    only, _ = meta_all(
        http,
        f"{GRAPH}/act_{META_USD}/insights",
        insights_params(meta_token, "2026-11-01", "2026-11-20", filtering=filtering),
    )
    assert only == [r for r in rows if r["campaign_id"] == target]


def test_adset_level_rows_sum_to_campaign_rows(http: httpx.Client, meta_token: str) -> None:
    fields = "campaign_id,adset_id,spend,impressions,clicks,actions"
    camp, _ = meta_all(
        http, f"{GRAPH}/act_{META_USD}/insights", insights_params(meta_token, "2026-11-01", "2026-11-20", fields=fields)
    )
    adsets, _ = meta_all(
        http,
        f"{GRAPH}/act_{META_USD}/insights",
        insights_params(meta_token, "2026-11-01", "2026-11-20", fields=fields, level="adset"),
    )
    assert all("adset_id" in r for r in adsets) and all("adset_id" not in r for r in camp)

    def cents(value: str) -> int:
        whole, _, frac = value.partition(".")
        return int(whole) * 100 + int(frac or 0)

    summed: dict[tuple[str, str], list[int]] = {}
    for r in adsets:
        acc = summed.setdefault((r["campaign_id"], r["date_start"]), [0, 0])
        acc[0] += cents(r["spend"])
        acc[1] += int(r["impressions"])
    assert {(r["campaign_id"], r["date_start"]): [cents(r["spend"]), int(r["impressions"])] for r in camp} == summed
