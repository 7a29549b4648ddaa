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
        stream=stream, connection_id=1 if stream.startswith("google") else 2, sync_run_id=sync_run_id, rows=rows
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
