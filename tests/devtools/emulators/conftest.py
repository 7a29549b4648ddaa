"""Fixtures for the emulator tests: one real HTTP server per session, reset before every test.

No database, no Django: the emulator package is plain Python and is exercised over real HTTP with
httpx, exactly as connectors will use it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from devtools.emulators import EmulatorConfig, EmulatorServer, start_emulator_server

TODAY = date(2026, 11, 20)
GOOGLE_CID = "1234567890"  # EUR, Europe/Berlin
GOOGLE_USD = "2345678901"
META_USD = "1010203040506071"
META_JPY = "1030405060708093"
GRAPH = "/meta/graph/v24.0"
ADS = "/googleads/v21"

BASE_CONFIG = EmulatorConfig(seed=7, today=TODAY, campaigns_per_account=6)


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    srv = start_emulator_server(host="127.0.0.1", port=0, config=BASE_CONFIG)
    yield srv
    srv.shutdown()


@pytest.fixture
def srv(emulator: EmulatorServer) -> EmulatorServer:
    """The shared server, returned to its start config, clock and tokens for this test."""
    emulator.state.reset()
    return emulator


@pytest.fixture
def http(srv: EmulatorServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=srv.base_url, timeout=30) as client:
        yield client


@pytest.fixture
def google_headers(srv: EmulatorServer) -> dict[str, str]:
    tokens = srv.state.issue_tokens("google_ads")
    return {"Authorization": f"Bearer {tokens['access_token']}", "developer-token": "dev-token"}


@pytest.fixture
def meta_token(srv: EmulatorServer) -> str:
    return str(srv.state.issue_tokens("meta")["access_token"])


def gaql_daily(since: str, until: str, resource: str = "campaign") -> str:
    fields = "campaign.id" if resource == "campaign" else "campaign.id, ad_group.id"
    return (
        f"SELECT {fields}, metrics.cost_micros, metrics.impressions, metrics.clicks, "
        f"metrics.conversions, metrics.conversions_value, segments.date FROM {resource} "
        f"WHERE segments.date BETWEEN '{since}' AND '{until}'"
    )


def stream_rows(http: httpx.Client, headers: dict[str, str], cid: str, query: str) -> list[dict[str, Any]]:
    resp = http.post(f"{ADS}/customers/{cid}/googleAds:searchStream", headers=headers, json={"query": query})
    assert resp.status_code == 200, resp.text
    return [row for batch in resp.json() for row in batch.get("results", [])]


def search_all(http: httpx.Client, headers: dict[str, str], cid: str, query: str) -> tuple[list[dict[str, Any]], int]:
    """Page through googleAds:search; returns (rows, pages)."""
    rows: list[dict[str, Any]] = []
    body: dict[str, Any] = {"query": query}
    pages = 0
    while True:
        resp = http.post(f"{ADS}/customers/{cid}/googleAds:search", headers=headers, json=body)
        assert resp.status_code == 200, resp.text
        data = resp.json()
        pages += 1
        rows.extend(data.get("results", []))
        if "nextPageToken" not in data:
            return rows, pages
        body = {"query": query, "pageToken": data["nextPageToken"]}


def insights_params(token: str, since: str, until: str, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "access_token": token,
        "level": "campaign",
        "time_increment": "1",
        "time_range": json.dumps({"since": since, "until": until}),
        "fields": "account_id,campaign_id,campaign_name,spend,impressions,clicks,actions,action_values,account_currency",
        "limit": "50",
    }
    params.update(extra)
    return params


def meta_all(http: httpx.Client, path: str, params: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """Follow `paging.next` until it is absent; returns (rows, pages)."""
    resp = http.get(path, params=params)
    rows: list[dict[str, Any]] = []
    pages = 0
    while True:
        assert resp.status_code == 200, resp.text
        data = resp.json()
        pages += 1
        rows.extend(data["data"])
        nxt = data.get("paging", {}).get("next")
        if not nxt:
            return rows, pages
        resp = http.get(nxt)


TIKTOK_API = "/tiktok/open_api/v1.3"
TIKTOK_USD = "7301000000000000011"  # USD, America/New_York


@pytest.fixture
def tiktok(srv: EmulatorServer) -> Iterator[httpx.Client]:
    """A client on the TikTok API base with a live advertiser token in `Access-Token`."""
    token = srv.state.issue_tokens("tiktok")["access_token"]
    with httpx.Client(base_url=srv.base_url + TIKTOK_API, headers={"Access-Token": token}, timeout=30) as client:
        yield client


def tiktok_report_params(since: str, until: str, level: str = "AUCTION_CAMPAIGN", **extra: Any) -> dict[str, Any]:
    dim = {"AUCTION_CAMPAIGN": "campaign_id", "AUCTION_ADGROUP": "adgroup_id", "AUCTION_ADVERTISER": "advertiser_id"}
    params: dict[str, Any] = {
        "advertiser_id": TIKTOK_USD,
        "report_type": "BASIC",
        "data_level": level,
        "dimensions": json.dumps([dim[level], "stat_time_day"]),
        "metrics": json.dumps(["spend", "impressions", "clicks", "conversion", "total_complete_payment_rate"]),
        "start_date": since,
        "end_date": until,
        "page_size": "20",
    }
    params.update(extra)
    return params


def tiktok_all(client: httpx.Client, path: str, params: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """Page with `page` until `page_info.total_page`; returns (rows, pages)."""
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        body = client.get(path, params={**params, "page": str(page)}).json()
        assert body["code"] == 0, body
        rows.extend(body["data"]["list"])
        if page >= body["data"]["page_info"]["total_page"]:
            return rows, page
        page += 1
