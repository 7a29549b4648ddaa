"""TikTok Business API emulator over real HTTP: OAuth, entities, paged daily reports, errors."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlparse

import httpx

from devtools.emulators import EmulatorConfig, EmulatorServer, start_emulator_server

from .conftest import BASE_CONFIG, TIKTOK_API, TIKTOK_USD, tiktok_all, tiktok_report_params

REPORT = "/report/integrated/get/"


def _authorize(srv: EmulatorServer, http: httpx.Client, button: str = "allow") -> dict[str, list[str]]:
    """Open TikTok's authorisation page, click Allow or Deny, parse the redirect back to the app."""
    page = http.get(
        "/tiktok/portal/auth",
        params={"app_id": srv.state.config.tiktok_app_id, "redirect_uri": "http://app.test/cb", "state": "s1"},
    )
    assert page.status_code == 200
    href = re.search(rf'id={button} href="([^"]+)"', page.text)
    assert href, page.text
    resp = http.get(href.group(1).replace("&amp;", "&"))
    assert resp.status_code == 302
    location = urlparse(resp.headers["Location"])
    assert location.netloc == "app.test"
    return parse_qs(location.query)


def test_auth_code_becomes_a_long_lived_token_with_its_advertisers(srv: EmulatorServer, http: httpx.Client) -> None:
    query = _authorize(srv, http)
    assert query["state"] == ["s1"] and query["auth_code"] == query["code"]
    config = srv.state.config
    body = {"app_id": config.tiktok_app_id, "secret": config.tiktok_app_secret, "auth_code": query["auth_code"][0]}
    resp = http.post(f"{TIKTOK_API}/oauth2/access_token/", json=body).json()
    assert resp["code"] == 0 and resp["message"] == "OK" and resp["request_id"]
    assert resp["data"]["advertiser_ids"] == [a.account_id for a in config.tiktok_accounts]
    token = resp["data"]["access_token"]
    assert len(token) == 40 and "refresh_token" not in resp["data"]
    listed = http.get(
        f"{TIKTOK_API}/oauth2/advertiser/get/",
        params={"app_id": config.tiktok_app_id, "secret": config.tiktok_app_secret},
        headers={"Access-Token": token},
    ).json()
    assert [a["advertiser_id"] for a in listed["data"]["list"]] == resp["data"]["advertiser_ids"]
    # Codes are single use; a wrong secret is refused with the app error.
    again = http.post(f"{TIKTOK_API}/oauth2/access_token/", json=body).json()
    assert again["code"] == 40110 and again["data"] == {}
    wrong = http.post(f"{TIKTOK_API}/oauth2/access_token/", json={**body, "secret": "nope"}).json()
    assert wrong["code"] == 40108


def test_denied_consent_redirects_without_a_code(srv: EmulatorServer, http: httpx.Client) -> None:
    query = _authorize(srv, http, "deny")
    assert query["error"] == ["access_denied"] and "auth_code" not in query


def test_advertiser_info_gives_currency_and_time_zone(tiktok: httpx.Client) -> None:
    body = tiktok.get("/advertiser/info/", params={"advertiser_ids": json.dumps([TIKTOK_USD])}).json()
    (info,) = body["data"]["list"]
    assert (info["currency"], info["timezone"]) == ("USD", "America/New_York")
    unknown = tiktok.get("/advertiser/info/", params={"advertiser_ids": '["42"]'}).json()
    assert unknown["code"] == 40001


def test_campaigns_and_ad_groups_page_and_filter(srv: EmulatorServer, tiktok: httpx.Client) -> None:
    campaigns, pages = tiktok_all(tiktok, "/campaign/get/", {"advertiser_id": TIKTOK_USD, "page_size": "4"})
    assert pages == 2 and len(campaigns) == BASE_CONFIG.campaigns_per_account
    assert len({c["campaign_id"] for c in campaigns}) == len(campaigns)
    assert {c["objective_type"] for c in campaigns} <= {"WEB_CONVERSIONS", "TRAFFIC", "LEAD_GENERATION", "REACH"}
    first = campaigns[0]["campaign_id"]
    groups, _ = tiktok_all(
        tiktok,
        "/adgroup/get/",
        {"advertiser_id": TIKTOK_USD, "page_size": "100", "filtering": json.dumps({"campaign_ids": [first]})},
    )
    assert groups and {g["campaign_id"] for g in groups} == {first}


def test_paged_daily_report_equals_the_truth_and_numbers_are_strings(srv: EmulatorServer, tiktok: httpx.Client) -> None:
    rows, pages = tiktok_all(tiktok, REPORT, tiktok_report_params("2026-11-01", "2026-11-20"))
    assert pages > 1
    truth = srv.state.truth("tiktok", TIKTOK_USD, "campaign", "2026-11-01", "2026-11-20")["rows"]
    served = [
        {
            "date": r["dimensions"]["stat_time_day"][:10],
            "campaign_id": r["dimensions"]["campaign_id"],
            "spend": r["metrics"]["spend"],
            "impressions": int(r["metrics"]["impressions"]),
            "clicks": int(r["metrics"]["clicks"]),
            "conversion": int(r["metrics"]["conversion"]),
            "complete_payment_value": r["metrics"]["total_complete_payment_rate"],
        }
        for r in rows
    ]
    assert served == truth
    assert all(isinstance(v, str) for r in rows for v in r["metrics"].values())
    assert all(r["dimensions"]["stat_time_day"].endswith(" 00:00:00") for r in rows)


def test_realistic_tiktok_cpm_and_ctr(tiktok: httpx.Client) -> None:
    rows, _ = tiktok_all(
        tiktok, REPORT, tiktok_report_params("2026-10-22", "2026-11-20", "AUCTION_ADVERTISER", page_size="100")
    )
    spend = sum(float(r["metrics"]["spend"]) for r in rows)
    impressions = sum(int(r["metrics"]["impressions"]) for r in rows)
    clicks = sum(int(r["metrics"]["clicks"]) for r in rows)
    assert 2.0 <= spend / impressions * 1000 <= 12.0  # CPM in USD
    assert 0.003 <= clicks / impressions <= 0.02  # CTR


def test_restatement_moves_only_the_attribution_window(srv: EmulatorServer, tiktok: httpx.Client) -> None:
    params = tiktok_report_params("2026-10-22", "2026-11-20", page_size="1000")
    before, _ = tiktok_all(tiktok, REPORT, params)
    srv.state.restate("tiktok", steps=3)
    after, _ = tiktok_all(tiktok, REPORT, params)
    assert [r["dimensions"] for r in before] == [r["dimensions"] for r in after]
    changed = {b["dimensions"]["stat_time_day"][:10] for b, a in zip(before, after, strict=True) if b != a}
    assert changed and min(changed) >= "2026-11-14"  # the last 7 days
    # Spend and delivery never restate: only conversions and their value do.
    assert [r["metrics"]["spend"] for r in before] == [r["metrics"]["spend"] for r in after]


def test_same_config_serves_the_same_bytes(srv: EmulatorServer, tiktok: httpx.Client) -> None:
    params = {**tiktok_report_params("2026-11-10", "2026-11-20"), "page": "1"}
    with start_emulator_server(config=EmulatorConfig(seed=7, today=BASE_CONFIG.today, campaigns_per_account=6)) as two:
        token = two.state.issue_tokens("tiktok")["access_token"]
        other = httpx.get(f"{two.base_url}{TIKTOK_API}{REPORT}", params=params, headers={"Access-Token": token})
    mine = tiktok.get(REPORT, params=params)
    assert other.json()["data"] == mine.json()["data"]


def _error(client: httpx.Client, path: str, params: dict[str, str]) -> tuple[int, int, str]:
    resp = client.get(path, params=params)
    body = resp.json()
    assert set(body) == {"code", "message", "request_id", "data"}
    return resp.status_code, body["code"], body["message"]


def test_bad_report_requests_get_code_40002(tiktok: httpx.Client) -> None:
    good = tiktok_report_params("2026-11-01", "2026-11-20")
    for change in (
        {"report_type": "AUDIENCE"},
        {"data_level": "AUCTION_AD"},
        {"dimensions": '["campaign_id","stat_time_hour"]'},
        {"dimensions": "not json"},
        {"metrics": '["spend","bogus"]'},
        {"start_date": "2026-13-01"},
        {"start_date": "2026-11-21"},
        {"start_date": "2026-09-01"},  # more than 30 days
        {"page_size": "1001"},
        {"page": "0"},
    ):
        status, code, message = _error(tiktok, REPORT, {**good, **change})
        assert (status, code) == (200, 40002), (change, message)


def test_auth_errors_missing_revoked_and_expired_tokens(srv: EmulatorServer, tiktok: httpx.Client) -> None:
    params = tiktok_report_params("2026-11-01", "2026-11-20")
    bare = httpx.get(f"{srv.base_url}{TIKTOK_API}{REPORT}", params=params)
    assert bare.json()["code"] == 40104
    token = tiktok.headers["Access-Token"]
    srv.state.expire_token(token)
    assert _error(tiktok, REPORT, params)[1] == 40102
    srv.state.revoke(token=token)
    assert _error(tiktok, REPORT, params)[1] == 40105


def test_faults_rate_limit_revoke_and_too_much_data(srv: EmulatorServer, tiktok: httpx.Client) -> None:
    params = tiktok_report_params("2026-11-01", "2026-11-20")
    srv.state.add_fault(platform="tiktok", endpoint="report", kind="rate_limit", count=2)
    codes = [_error(tiktok, REPORT, params)[:2] for _ in range(3)]
    assert codes[:2] == [(200, 40100), (200, 40100)] and codes[2] == (200, 0)
    srv.state.add_fault(platform="tiktok", endpoint="report", kind="too_much_data")
    assert _error(tiktok, REPORT, params)[1] == 40067
    srv.state.add_fault(platform="tiktok", endpoint="report", kind="server_error", status=502)
    gateway = tiktok.get(REPORT, params=params)
    assert gateway.status_code == 502 and "html" in gateway.headers["content-type"]
    srv.state.add_fault(platform="tiktok", endpoint="report", kind="truncated_json")
    cut = tiktok.get(REPORT, params=params)
    assert cut.status_code == 200 and cut.text and not cut.text.endswith("}")
    srv.state.add_fault(platform="tiktok", endpoint="report", kind="revoked_grant", page=2)
    assert tiktok.get(REPORT, params={**params, "page": "1"}).json()["code"] == 0
    assert tiktok.get(REPORT, params={**params, "page": "2"}).json()["code"] == 40105


def test_row_faults_break_one_row(srv: EmulatorServer, tiktok: httpx.Client) -> None:
    params = {**tiktok_report_params("2026-11-01", "2026-11-20"), "page": "1"}
    clean = tiktok.get(REPORT, params=params).json()["data"]["list"]
    srv.state.add_fault(platform="tiktok", endpoint="report", kind="bad_row", row=1, field="clicks")
    broken = tiktok.get(REPORT, params=params).json()["data"]["list"]
    assert broken[1]["metrics"]["clicks"] == "not-a-number" and broken[0] == clean[0]
    srv.state.add_fault(platform="tiktok", endpoint="report", kind="duplicate_row", row=0)
    doubled = tiktok.get(REPORT, params=params).json()["data"]["list"]
    assert doubled[0]["dimensions"] == doubled[1]["dimensions"] and len(doubled) == len(clean) + 1
    srv.state.add_fault(platform="tiktok", endpoint="report", kind="empty_page")
    empty = tiktok.get(REPORT, params=params).json()["data"]
    assert empty["list"] == [] and empty["page_info"]["total_number"] > 0


def _create_task(tiktok: httpx.Client, since: str, until: str) -> str:
    params = tiktok_report_params(since, until, "AUCTION_ADGROUP")
    params.pop("page_size")
    body = {k: json.loads(v) if k in ("dimensions", "metrics") else v for k, v in params.items()}
    created = tiktok.post("/report/task/create/", json=body).json()
    assert created["code"] == 0 and created["request_id"], created
    return str(created["data"]["task_id"])


def test_report_task_goes_queuing_processing_success_and_downloads_the_sync_rows_as_csv(
    srv: EmulatorServer, tiktok: httpx.Client
) -> None:
    # A year in one task: longer than the 30 days a synchronous report may span.
    task = _create_task(tiktok, "2025-11-21", "2026-11-20")
    ids = {"advertiser_id": TIKTOK_USD, "task_id": task}
    early = tiktok.get("/report/task/download/", params=ids).json()
    assert early["code"] == 40002 and "not finished" in early["message"]
    statuses = [tiktok.get("/report/task/check/", params=ids).json()["data"]["status"] for _ in range(4)]
    assert statuses == ["QUEUING", "PROCESSING", "SUCCESS", "SUCCESS"]
    resp = tiktok.get("/report/task/download/", params=ids)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    lines = resp.text.splitlines()
    assert lines[0] == "adgroup_id,stat_time_day,spend,impressions,clicks,conversion,total_complete_payment_rate"
    # The same rows, as strings, as the synchronous report serves for a part of the span.
    synced, _ = tiktok_all(tiktok, REPORT, tiktok_report_params("2026-11-01", "2026-11-20", "AUCTION_ADGROUP"))
    as_csv = {",".join([*r["dimensions"].values(), *r["metrics"].values()]) for r in synced}
    assert as_csv and as_csv <= set(lines[1:])
    assert len(lines) - 1 > len(synced) * 10


def test_report_task_faults_fail_expire_and_unknown(srv: EmulatorServer, tiktok: httpx.Client) -> None:
    srv.state.add_fault(kind="job_failed", platform="tiktok", endpoint="report.task.check")
    failed = _create_task(tiktok, "2026-11-01", "2026-11-20")
    check = tiktok.get("/report/task/check/", params={"advertiser_id": TIKTOK_USD, "task_id": failed}).json()
    assert check["data"]["status"] == "FAILED" and check["data"]["message"]
    task = _create_task(tiktok, "2026-11-01", "2026-11-20")
    ids = {"advertiser_id": TIKTOK_USD, "task_id": task}
    for _ in range(3):
        tiktok.get("/report/task/check/", params=ids)
    srv.state.advance_clock(srv.state.config.tiktok_async_task_ttl_seconds + 1)
    expired = tiktok.get("/report/task/download/", params=ids).json()
    assert expired["code"] == 40002 and "expired" in expired["message"]
    unknown = tiktok.get("/report/task/check/", params={**ids, "task_id": "123"}).json()
    assert unknown["code"] == 40002 and "does not exist" in unknown["message"]
    too_long = tiktok.post(
        "/report/task/create/",
        json={
            "advertiser_id": TIKTOK_USD,
            "report_type": "BASIC",
            "data_level": "AUCTION_ADGROUP",
            "dimensions": ["adgroup_id", "stat_time_day"],
            "start_date": "2024-01-01",
            "end_date": "2026-11-20",
        },
    ).json()
    assert too_long["code"] == 40002 and "365 days" in too_long["message"]
