"""The /_emulator control API mirrors srv.state; the server and CLI start and stop cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from devtools.emulators import EmulatorConfig, EmulatorServer, start_emulator_server

from .conftest import ADS, GOOGLE_CID, META_USD, gaql_daily, stream_rows

REPO = Path(__file__).resolve().parents[3]


def test_index_lists_operations_and_accounts(http: httpx.Client) -> None:
    body = http.get("/_emulator/").json()
    assert "GET /_emulator/truth" in body["operations"]
    assert [a["account_id"] for a in body["accounts"]["meta"]] == [META_USD, "1020304050607082", "1030405060708093"]
    assert "rate_limit" in body["fault_kinds"] and "searchStream" in body["endpoints"]["google_ads"]


def test_config_round_trip_and_validation(http: httpx.Client) -> None:
    assert http.get("/_emulator/config").json()["config"]["google_page_size"] == 10_000
    updated = http.post("/_emulator/config", json={"google_page_size": 25, "today": "2026-11-21"}).json()["config"]
    assert updated["google_page_size"] == 25 and updated["today"] == "2026-11-21"
    assert http.post("/_emulator/config", json={"no_such_field": 1}).status_code == 400
    assert http.post("/_emulator/config", json={"today_fraction": 0}).status_code == 400


def test_reset_restores_the_start_config_and_forgets_tokens(
    srv: EmulatorServer, http: httpx.Client, google_headers: dict[str, str]
) -> None:
    http.post("/_emulator/config", json={"google_page_size": 3})
    http.post("/_emulator/restate", json={})
    assert http.post("/_emulator/reset", json={}).json()["config"]["google_page_size"] == 10_000
    assert srv.state.versions() == {"google_ads": 0, "meta": 0, "tiktok": 0, "ga4": 0}
    assert http.get(f"{ADS}/customers:listAccessibleCustomers", headers=google_headers).status_code == 401


def test_stats_count_requests_and_refreshes(
    srv: EmulatorServer, http: httpx.Client, google_headers: dict[str, str]
) -> None:
    stream_rows(http, google_headers, GOOGLE_CID, gaql_daily("2026-11-01", "2026-11-20"))
    tokens = srv.state.issue_tokens("google_ads")
    http.post(
        "/google/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": srv.state.config.google_client_id,
            "client_secret": srv.state.config.google_client_secret,
        },
    )
    stats = http.get("/_emulator/stats").json()
    assert stats["requests"]["google_ads.searchStream"] == 1
    assert stats["requests"]["google_ads.oauth.token"] == 1
    assert stats["token_refreshes"] == {"google_ads": 1}
    assert stats["rows_served"]["google_ads"] > 0 and stats["report_calls"] == {"google_ads": 1}


def test_truth_endpoint_shape_and_errors(http: httpx.Client) -> None:
    body = http.get(
        "/_emulator/truth",
        params={
            "platform": "google_ads",
            "account": GOOGLE_CID,
            "level": "ad_group",
            "since": "2026-11-19",
            "until": "2026-11-20",
        },
    ).json()
    assert body["currency"] == "EUR" and body["time_zone"] == "Europe/Berlin" and body["restatement_version"] == 0
    row = body["rows"][0]
    assert set(row) == {
        "date",
        "campaign_id",
        "ad_group_id",
        "cost_micros",
        "impressions",
        "clicks",
        "conversions",
        "conversions_value",
    }
    assert isinstance(row["cost_micros"], int) and isinstance(row["conversions"], str)
    meta = http.get(
        "/_emulator/truth", params={"platform": "meta", "account": f"act_{META_USD}", "level": "adset"}
    ).json()
    assert {"spend", "purchases", "purchase_value", "adset_id"} <= set(meta["rows"][0])
    assert http.get("/_emulator/truth", params={"platform": "meta", "account": "42"}).status_code == 400
    assert http.get("/_emulator/truth").status_code == 400


def test_tokens_expire_and_anomalies_operations(http: httpx.Client) -> None:
    minted = http.post("/_emulator/tokens", json={"platform": "google_ads"}).json()
    assert minted["access_token"].startswith("ya29.") and minted["refresh_token"]
    headers = {"Authorization": f"Bearer {minted['access_token']}", "developer-token": "x"}
    assert http.get(f"{ADS}/customers:listAccessibleCustomers", headers=headers).status_code == 200
    http.post("/_emulator/expire", json={"token": minted["access_token"]})
    assert http.get(f"{ADS}/customers:listAccessibleCustomers", headers=headers).status_code == 401
    anomalies = http.get("/_emulator/anomalies", params={"platform": "meta", "account": META_USD}).json()["anomalies"]
    assert all({"date", "campaign_id", "kind", "factor"} <= set(a) for a in anomalies)


def test_unknown_operation_and_wrong_method(http: httpx.Client) -> None:
    assert http.get("/_emulator/nope").status_code == 404
    assert http.get("/_emulator/restate").status_code == 405
    assert http.get("/nowhere").status_code == 404


def test_server_on_port_zero_shuts_down_cleanly() -> None:
    srv = start_emulator_server(config=EmulatorConfig(campaigns_per_account=2))
    assert srv.port > 0 and srv.base_url == f"http://127.0.0.1:{srv.port}"
    assert httpx.get(f"{srv.base_url}/_emulator/stats").status_code == 200
    srv.shutdown()
    try:
        httpx.get(f"{srv.base_url}/_emulator/stats", timeout=1)
        raise AssertionError("server still answering after shutdown")
    except httpx.TransportError:
        pass


def test_package_does_not_import_django() -> None:
    code = "import sys, devtools.emulators; print('django' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_serves_until_terminated() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devtools.emulators",
            "--port",
            "0",
            "--campaigns",
            "3",
            "--seed",
            "5",
            "--today",
            "2026-11-20",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        base = first.strip().rsplit(" ", 1)[-1]
        assert base.startswith("http://127.0.0.1:")
        config = httpx.get(f"{base}/_emulator/config", timeout=5).json()["config"]
        assert config["campaigns_per_account"] == 3 and config["seed"] == 5 and config["today"] == "2026-11-20"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0
