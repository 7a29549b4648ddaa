"""Every endpoint's happy path on real warehouse data, and who may call what."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
from django.db import connection
from django_tenants.utils import schema_context

from tests.api.conftest import Tenant

AUG = "date_from=2026-08-01&date_to=2026-08-31"


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _sql(tenant: Tenant, sql: str, params: list | None = None) -> list[tuple]:
    with schema_context(tenant.workspace.schema_name), connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


# --------------------------------------------------------------------------- workspace


def test_workspace_endpoint_describes_the_keys_workspace(a: Tenant) -> None:
    body = a.client(a.read_key).get("/api/v1/workspace").json()
    assert body == {
        "slug": "northwind",
        "name": a.workspace.name,
        "reporting_currency": "EUR",
        "time_zone": a.workspace.time_zone,
        "plan": a.workspace.plan,
    }


# --------------------------------------------------------------------------- campaigns


def test_campaigns_list_pages_through_every_campaign_with_lifetime_totals(a: Tenant) -> None:
    client = a.client(a.read_key)
    first = client.get("/api/v1/campaigns?page_size=5").json()
    assert first["count"] == len(a.campaign_ids) == 12
    assert first["page"] == 1 and first["page_size"] == 5 and first["previous"] is None
    assert "page=2" in first["next"]
    seen = [c["id"] for c in first["results"]]
    page = 2
    while len(seen) < first["count"]:
        seen += [c["id"] for c in client.get(f"/api/v1/campaigns?page_size=5&page={page}").json()["results"]]
        page += 1
    assert sorted(seen) == a.campaign_ids  # every campaign exactly once
    campaign = first["results"][0]
    platform, account_id, campaign_id = campaign["id"].split(":")
    [(spend, clicks)] = _sql(
        a,
        "SELECT sum(spend_reporting_micros), sum(clicks) FROM fct_ad_performance_daily"
        " WHERE platform = %s AND account_id = %s AND campaign_id = %s",
        [platform, account_id, campaign_id],
    )
    assert Decimal(campaign["lifetime"]["spend"]) == Decimal(spend) / 1_000_000
    assert campaign["lifetime"]["clicks"] == clicks
    assert campaign["currency"] == "EUR" and campaign["account"] == f"{platform}:{account_id}"
    assert campaign["lifetime"]["first_day"] == "2026-07-01" and campaign["lifetime"]["last_day"] == "2026-10-31"


def test_campaigns_filter_and_sort(a: Tenant) -> None:
    client = a.client(a.read_key)
    meta = client.get("/api/v1/campaigns?platform=meta&sort=-spend").json()["results"]
    assert meta and {c["platform"] for c in meta} == {"meta"}
    spends = [Decimal(c["lifetime"]["spend"]) for c in meta]
    assert spends == sorted(spends, reverse=True)
    account = meta[0]["account"]
    by_account = client.get(f"/api/v1/campaigns?account={account}&sort=name").json()["results"]
    assert {c["account"] for c in by_account} == {account} and len(by_account) == 3
    assert [c["name"] for c in by_account] == sorted(c["name"] for c in by_account)
    search = client.get("/api/v1/campaigns?search=prospecting").json()["results"]
    assert search and all("Prospecting" in c["name"] for c in search)
    assert client.get("/api/v1/campaigns?status=paused").json()["count"] == 0
    assert client.get("/api/v1/campaigns?account=meta:000").json()["count"] == 0


def test_campaign_detail_by_its_metrics_id_with_ad_groups(a: Tenant) -> None:
    campaign_id = a.campaign_ids[0]
    body = a.client(a.read_key).get(f"/api/v1/campaigns/{campaign_id}").json()
    assert body["id"] == campaign_id
    assert len(body["ad_groups"]) == 2
    assert all(g["id"].startswith(f"{campaign_id}:") for g in body["ad_groups"])
    # The same id filters the metrics endpoint, and names the campaign in its rows.
    rows = (
        a.client(a.read_key)
        .get(f"/api/v1/metrics?metrics=spend&{AUG}&dimensions=campaign&campaign={campaign_id}")
        .json()["rows"]
    )
    assert [r["campaign"] for r in rows] == [campaign_id]


# --------------------------------------------------------------------------- metrics


def test_metrics_totals_by_platform_match_the_facts_with_money_as_exact_strings(a: Tenant) -> None:
    body = (
        a.client(a.read_key)
        .get(f"/api/v1/metrics?metrics=spend,clicks,conversions,roas&{AUG}&dimensions=platform")
        .json()
    )
    assert body["currency"] == "EUR" and body["granularity"] == "total" and body["dimensions"] == ["platform"]
    assert [c["type"] for c in body["metrics"]] == ["decimal", "integer", "decimal", "number"]
    assert body["row_count"] == 2 and body["compare"] is None
    facts = {
        p: (s, c, v)
        for p, s, c, v in _sql(
            a,
            "SELECT platform, sum(spend_reporting_micros), sum(clicks), sum(conversions_value_reporting_micros)"
            " FROM fct_ad_performance_daily WHERE date_day BETWEEN '2026-08-01' AND '2026-08-31' GROUP BY 1",
        )
    }
    for row in body["rows"]:
        spend, clicks, value = facts[row["platform"]]
        assert isinstance(row["spend"], str) and Decimal(row["spend"]) == Decimal(spend) / 1_000_000
        assert row["clicks"] == clicks
        assert row["roas"] == pytest.approx(float(value) / float(spend))  # a ratio of sums, not an average


def test_metrics_daily_series_with_compare_to_previous_period(a: Tenant) -> None:
    body = (
        a.client(a.read_key)
        .get(f"/api/v1/metrics?metrics=spend,ctr&{AUG}&granularity=day&compare=previous_period")
        .json()
    )
    assert body["compare"] == {"period": "previous_period", "date_from": "2026-07-01", "date_to": "2026-07-31"}
    assert [r["day"] for r in body["rows"]] == [f"2026-08-{d:02d}" for d in range(1, 32)]
    first = body["rows"][0]
    assert {"spend_previous", "spend_change", "ctr_previous", "ctr_change"} <= set(first)
    previous = Decimal(first["spend_previous"])
    assert first["spend_change"] == pytest.approx(float((Decimal(first["spend"]) - previous) / previous))


def test_metrics_top_campaigns_by_week_sorted_and_limited(a: Tenant) -> None:
    body = (
        a.client(a.read_key)
        .get(
            f"/api/v1/metrics?metrics=spend,revenue&{AUG}&granularity=week&dimensions=campaign&platform=meta&sort=-spend&limit=4"
        )
        .json()
    )
    assert body["row_count"] == 4
    spends = [Decimal(r["spend"]) for r in body["rows"]]
    assert spends == sorted(spends, reverse=True)
    assert all(r["campaign"].startswith("meta:") and "revenue" in r for r in body["rows"])


def test_metrics_answer_of_an_empty_range_is_zeros_not_an_error(a: Tenant) -> None:
    body = a.client(a.read_key).get("/api/v1/metrics?metrics=spend,roas&date_from=2024-01-01&date_to=2024-01-31").json()
    assert body["rows"] == [{"spend": "0.000000", "roas": None}]


def test_metrics_answer_larger_than_the_row_cap_is_refused_unless_limited(a: Tenant, monkeypatch) -> None:
    from warehouse.api import serializers

    monkeypatch.setattr(serializers, "MAX_ROWS", 10)
    client = a.client(a.read_key)
    url = f"/api/v1/metrics?metrics=spend&{AUG}&granularity=day"
    response = client.get(url)
    assert response.status_code == 400
    assert "more than 10 rows" in response.json()["detail"]
    assert client.get(url + "&limit=5&sort=-spend").json()["row_count"] == 5


# --------------------------------------------------------------------------- exports


def test_csv_export_streams_every_fact_row_of_the_range(a: Tenant) -> None:
    response = a.client(a.read_key).get(f"/api/v1/exports/facts.csv?{AUG}&platform=google_ads")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="northwind-facts-2026-08-01-2026-08-31.csv"'
    rows = list(csv.DictReader(io.StringIO(_body(response).decode())))
    [(count, spend)] = _sql(
        a,
        "SELECT count(*), sum(spend_reporting_micros) FROM fct_ad_performance_daily"
        " WHERE platform = 'google_ads' AND date_day BETWEEN '2026-08-01' AND '2026-08-31'",
    )
    assert len(rows) == count > 0
    assert sum(Decimal(r["spend_reporting"]) for r in rows) == Decimal(spend) / 1_000_000


def test_parquet_export_is_a_readable_file_with_exact_money(a: Tenant) -> None:
    response = a.client(a.read_key).get(f"/api/v1/exports/facts.parquet?{AUG}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apache.parquet"
    table = pq.read_table(io.BytesIO(_body(response)))
    [(count, spend)] = _sql(
        a,
        "SELECT count(*), sum(spend_reporting_micros) FROM fct_ad_performance_daily"
        " WHERE date_day BETWEEN '2026-08-01' AND '2026-08-31'",
    )
    assert table.num_rows == count
    assert sum(table.column("spend_reporting").to_pylist()) == Decimal(spend) / 1_000_000


def test_exports_need_the_export_permission_for_members(a: Tenant) -> None:
    assert a.session(a.viewer).get(f"/api/v1/exports/facts.csv?{AUG}").status_code == 403
    assert a.session(a.owner).get(f"/api/v1/exports/facts.csv?{AUG}").status_code == 200


# --------------------------------------------------------------------------- connections


def test_connections_list_and_detail_show_status_accounts_and_runs(a: Tenant) -> None:
    client = a.client(a.read_key)
    listing = client.get("/api/v1/connections").json()
    assert [c["id"] for c in listing["results"]] == a.connection_ids
    google = client.get(f"/api/v1/connections/{a.connection_ids[0]}").json()
    assert google["platform"] == "google_ads" and google["status"] == "active"
    assert google["accounts"][0]["id"] == "123-456-7890" and google["accounts"][0]["account"] == "google_ads:1234567890"
    assert google["active_run"] is None
    assert google["last_run"]["id"] == a.run_ids[a.connection_ids[0]][0]


def test_connection_runs_are_paginated_newest_first(a: Tenant) -> None:
    conn = a.connection_ids[0]
    client = a.client(a.read_key)
    page = client.get(f"/api/v1/connections/{conn}/runs?page_size=2").json()
    assert page["count"] == 3 and [r["id"] for r in page["results"]] == a.run_ids[conn][:2]
    run = client.get(f"/api/v1/connections/{conn}/runs/{a.run_ids[conn][-1]}").json()
    assert run["status"] == "succeeded" and run["connection"] == conn and run["progress_percent"] == 100.0


def test_sync_request_queues_a_run_then_answers_409_while_it_is_active(a: Tenant) -> None:
    conn = a.connection_ids[1]
    client = a.client(a.write_key)
    response = client.post(f"/api/v1/connections/{conn}/sync")
    assert response.status_code == 202
    run = response.json()
    assert run["status"] == "queued" and run["kind"] == "manual" and run["connection"] == conn
    assert response["Location"] == f"/api/v1/connections/{conn}/runs/{run['id']}"
    assert client.get(response["Location"]).json()["id"] == run["id"]
    assert client.get(f"/api/v1/connections/{conn}").json()["active_run"]["id"] == run["id"]
    again = client.post(f"/api/v1/connections/{conn}/sync")
    assert again.status_code == 409
    problem = again.json()
    assert problem["type"].endswith("/sync-already-running") and problem["sync_run"] == run["id"]


def test_sync_of_a_paused_connection_is_a_409_saying_why(a: Tenant) -> None:
    from connectors.models import Connection

    with schema_context(a.workspace.schema_name):
        Connection.objects.filter(pk=a.connection_ids[0]).update(status=Connection.Status.PAUSED)
    response = a.client(a.write_key).post(f"/api/v1/connections/{a.connection_ids[0]}/sync")
    assert response.status_code == 409
    assert "paused" in response.json()["detail"]


def test_sync_needs_a_read_write_key_or_the_manage_connections_role(a: Tenant) -> None:
    url = f"/api/v1/connections/{a.connection_ids[0]}/sync"
    read_only = a.client(a.read_key).post(url)
    assert read_only.status_code == 403 and "read-only" in read_only.json()["detail"]
    viewer = a.session(a.viewer).post(url)
    assert viewer.status_code == 403 and "role" in viewer.json()["detail"]
    owner = a.session(a.owner).post(url)
    assert owner.status_code == 202
    from connectors.models import SyncRun

    with schema_context(a.workspace.schema_name):
        assert SyncRun.objects.get(pk=owner.json()["id"]).requested_by_id == a.owner.pk


def test_no_response_ever_contains_a_token(a: Tenant) -> None:
    client = a.client(a.read_key)
    conn = a.connection_ids[0]
    urls = ["/api/v1/connections", f"/api/v1/connections/{conn}", f"/api/v1/connections/{conn}/runs"]
    for url in urls:
        body = client.get(url).content.decode()
        assert "tok-" not in body and "access_token" not in body and "refresh_token" not in body
