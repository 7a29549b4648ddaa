"""Read the platform emulators over real HTTP the way a connector would and land what they send.

A minimal stand-in for the connectors (built in parallel): the same endpoints, wire shapes and
record keys the connectors hand to `raw_records_land`, so the warehouse is tested on what the
platforms really send rather than on hand-made rows.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import httpx

from warehouse.services.landing import RawRow, raw_records_land

ADS = "/googleads/v21"
GRAPH = "/meta/graph/v24.0"


def _land(stream: str, rows: list[RawRow], sync_run_id: int) -> None:
    raw_records_land(
        stream=stream,
        connection_id={"google_ads": 1, "meta": 2, "tiktok": 3}[stream.split(".")[0]],
        sync_run_id=sync_run_id,
        rows=rows,
    )


def _stream(http: httpx.Client, headers: dict[str, str], cid: str, query: str) -> list[dict[str, Any]]:
    resp = http.post(f"{ADS}/customers/{cid}/googleAds:searchStream", headers=headers, json={"query": query})
    resp.raise_for_status()
    return [row for batch in resp.json() for row in batch.get("results", [])]


def land_google(srv: Any, *, since: date, until: date, sync_run_id: int = 1) -> list[str]:
    """Customers, campaigns, ad groups and ad group × day metrics of every accessible customer."""
    tokens = srv.state.issue_tokens("google_ads")
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "developer-token": "dev-token"}
    with httpx.Client(base_url=srv.base_url, timeout=30) as http:
        names = http.get(f"{ADS}/customers:listAccessibleCustomers", headers=headers).json()["resourceNames"]
        customers = [n.split("/")[1] for n in names]
        for cid in customers:
            rows = _stream(
                http,
                headers,
                cid,
                "SELECT customer.id, customer.descriptive_name, customer.currency_code, customer.time_zone FROM customer",
            )
            _land("google_ads.customer", [RawRow(cid, cid, None, r) for r in rows], sync_run_id)
            rows = _stream(
                http,
                headers,
                cid,
                "SELECT campaign.id, campaign.name, campaign.status, campaign.advertising_channel_type FROM campaign",
            )
            _land(
                "google_ads.campaign", [RawRow(f"{cid}|{r['campaign']['id']}", cid, None, r) for r in rows], sync_run_id
            )
            rows = _stream(
                http, headers, cid, "SELECT ad_group.id, ad_group.name, ad_group.status, campaign.id FROM ad_group"
            )
            _land(
                "google_ads.ad_group", [RawRow(f"{cid}|{r['adGroup']['id']}", cid, None, r) for r in rows], sync_run_id
            )
            rows = _stream(
                http,
                headers,
                cid,
                "SELECT campaign.id, ad_group.id, metrics.cost_micros, metrics.impressions, metrics.clicks, "
                "metrics.conversions, metrics.conversions_value, segments.date FROM ad_group "
                f"WHERE segments.date BETWEEN '{since}' AND '{until}'",
            )
            _land(
                "google_ads.ad_group_daily",
                [
                    RawRow(
                        f"{cid}|{r['segments']['date']}|{r['campaign']['id']}|{r['adGroup']['id']}",
                        cid,
                        date.fromisoformat(r["segments"]["date"]),
                        r,
                    )
                    for r in rows
                ],
                sync_run_id,
            )
    return customers


def _meta_all(http: httpx.Client, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    resp = http.get(path, params=params)
    rows: list[dict[str, Any]] = []
    while True:
        resp.raise_for_status()
        data = resp.json()
        rows.extend(data["data"])
        nxt = data.get("paging", {}).get("next")
        if not nxt:
            return rows
        resp = http.get(nxt)


def land_meta(srv: Any, *, since: date, until: date, sync_run_id: int = 1) -> list[str]:
    """Ad accounts, campaigns, ad sets and ad set × day insights of every ad account."""
    token = srv.state.issue_tokens("meta")["access_token"]
    statuses = json.dumps(["ACTIVE", "PAUSED", "ARCHIVED", "DELETED", "CAMPAIGN_PAUSED", "ADSET_PAUSED"])
    with httpx.Client(base_url=srv.base_url, timeout=60) as http:
        accounts = _meta_all(
            http,
            f"{GRAPH}/me/adaccounts",
            {"access_token": token, "fields": "id,account_id,name,currency,timezone_name"},
        )
        _land("meta.ad_account", [RawRow(a["id"], a["id"], None, a) for a in accounts], sync_run_id)
        for account in accounts:
            act = account["id"]
            campaigns = _meta_all(
                http,
                f"{GRAPH}/{act}/campaigns",
                {
                    "access_token": token,
                    "fields": "id,name,status,objective",
                    "limit": "100",
                    "effective_status": statuses,
                },
            )
            _land("meta.campaign", [RawRow(f"{act}|{c['id']}", act, None, c) for c in campaigns], sync_run_id)
            adsets = _meta_all(
                http,
                f"{GRAPH}/{act}/adsets",
                {
                    "access_token": token,
                    "fields": "id,name,status,campaign_id",
                    "limit": "100",
                    "effective_status": statuses,
                },
            )
            _land("meta.adset", [RawRow(f"{act}|{a['id']}", act, None, a) for a in adsets], sync_run_id)
            insights = _meta_all(
                http,
                f"{GRAPH}/{act}/insights",
                {
                    "access_token": token,
                    "level": "adset",
                    "time_increment": "1",
                    "time_range": json.dumps({"since": since.isoformat(), "until": until.isoformat()}),
                    "fields": "account_id,campaign_id,adset_id,spend,impressions,clicks,actions,action_values,account_currency",
                    "limit": "500",
                },
            )
            _land(
                "meta.adset_daily",
                [
                    RawRow(
                        f"{act}|{r['date_start']}|{r['campaign_id']}|{r['adset_id']}",
                        act,
                        date.fromisoformat(r["date_start"]),
                        r,
                    )
                    for r in insights
                ],
                sync_run_id,
            )
    return [a["account_id"] for a in accounts]


TIKTOK = "/tiktok/open_api/v1.3"


def _tiktok_all(http: httpx.Client, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        resp = http.get(path, params={**params, "page": page, "page_size": 1000})
        resp.raise_for_status()
        body = resp.json()
        assert body["code"] == 0, body
        rows.extend(body["data"]["list"])
        if page >= body["data"]["page_info"]["total_page"]:
            return rows
        page += 1


def land_tiktok(srv: Any, *, since: date, until: date, sync_run_id: int = 1) -> list[str]:
    """Advertisers, campaigns, ad groups and ad group × day reports (30-day chunks) of every advertiser."""
    token = srv.state.issue_tokens("tiktok")["access_token"]
    config = srv.state.config
    with httpx.Client(base_url=srv.base_url + TIKTOK, headers={"Access-Token": token}, timeout=60) as http:
        listed = http.get(
            "/oauth2/advertiser/get/", params={"app_id": config.tiktok_app_id, "secret": config.tiktok_app_secret}
        ).json()["data"]["list"]
        ids = [a["advertiser_id"] for a in listed]
        info = http.get("/advertiser/info/", params={"advertiser_ids": json.dumps(ids)}).json()["data"]["list"]
        _land("tiktok.advertiser", [RawRow(a["advertiser_id"], a["advertiser_id"], None, a) for a in info], sync_run_id)
        for adv in ids:
            campaigns = _tiktok_all(http, "/campaign/get/", {"advertiser_id": adv})
            _land(
                "tiktok.campaign", [RawRow(f"{adv}|{c['campaign_id']}", adv, None, c) for c in campaigns], sync_run_id
            )
            groups = _tiktok_all(http, "/adgroup/get/", {"advertiser_id": adv})
            _land("tiktok.adgroup", [RawRow(f"{adv}|{g['adgroup_id']}", adv, None, g) for g in groups], sync_run_id)
            start = since
            while start <= until:
                end = min(until, date.fromordinal(start.toordinal() + 29))
                rows = _tiktok_all(
                    http,
                    "/report/integrated/get/",
                    {
                        "advertiser_id": adv,
                        "report_type": "BASIC",
                        "data_level": "AUCTION_ADGROUP",
                        "dimensions": json.dumps(["adgroup_id", "stat_time_day"]),
                        "metrics": json.dumps(
                            [
                                "campaign_id",
                                "spend",
                                "impressions",
                                "clicks",
                                "conversion",
                                "total_complete_payment_rate",
                                "currency",
                            ]
                        ),
                        "start_date": start.isoformat(),
                        "end_date": end.isoformat(),
                    },
                )
                landed = []
                for r in rows:
                    day = r["dimensions"]["stat_time_day"][:10]
                    key = f"{adv}|{day}|{r['metrics']['campaign_id']}|{r['dimensions']['adgroup_id']}"
                    landed.append(RawRow(key, adv, date.fromisoformat(day), r))
                _land("tiktok.adgroup_daily", landed, sync_run_id)
                start = date.fromordinal(end.toordinal() + 1)
    return ids
