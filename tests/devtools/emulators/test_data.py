"""The data is deterministic, internally consistent, and restates only inside the window."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import httpx
import numpy as np

from devtools.emulators import EmulatorConfig, EmulatorServer, start_emulator_server
from devtools.emulators.datagen import DayWindow, build_account_model, daily_frame, selected_ad_groups, to_ordinal
from devtools.emulators.state import EmulatorState

from .conftest import (
    ADS,
    BASE_CONFIG,
    GOOGLE_CID,
    GRAPH,
    META_JPY,
    META_USD,
    TODAY,
    gaql_daily,
    insights_params,
    meta_all,
    stream_rows,
)


def _google_bytes(srv: EmulatorServer) -> bytes:
    token = srv.state.issue_tokens("google_ads")["access_token"]
    with httpx.Client(base_url=srv.base_url) as client:
        resp = client.post(
            f"{ADS}/customers/{GOOGLE_CID}/googleAds:searchStream",
            headers={"Authorization": f"Bearer {token}", "developer-token": "x"},
            json={"query": gaql_daily("2026-08-01", "2026-11-20", "ad_group")},
        )
        return resp.content


def _meta_bytes(srv: EmulatorServer) -> bytes:
    token = srv.state.issue_tokens("meta")["access_token"]
    with httpx.Client(base_url=srv.base_url) as client:
        params = insights_params(token, "2026-08-01", "2026-11-20", limit="1000")
        return client.get(f"{GRAPH}/act_{META_JPY}/insights", params=params).content


def test_same_config_serves_the_same_bytes() -> None:
    a = start_emulator_server(config=BASE_CONFIG)
    b = start_emulator_server(config=BASE_CONFIG)
    c = start_emulator_server(config=EmulatorConfig(seed=8, today=TODAY, campaigns_per_account=6))
    try:
        assert _google_bytes(a) == _google_bytes(b) != _google_bytes(c)
        meta_a, meta_b = _meta_bytes(a), _meta_bytes(b)
        assert meta_a.split(b'"paging"')[0] == meta_b.split(b'"paging"')[0]  # next URLs carry tokens
    finally:
        for s in (a, b, c):
            s.shutdown()


def test_a_day_has_the_same_values_whatever_range_is_requested(
    http: httpx.Client, google_headers: dict[str, str]
) -> None:
    wide = stream_rows(http, google_headers, GOOGLE_CID, gaql_daily("2026-01-01", "2026-11-20"))
    narrow = stream_rows(http, google_headers, GOOGLE_CID, gaql_daily("2026-06-15", "2026-06-15"))
    assert narrow == [r for r in wide if r["segments"]["date"] == "2026-06-15"]


def test_campaign_totals_equal_the_sum_of_ad_groups(http: httpx.Client, google_headers: dict[str, str]) -> None:
    campaigns = stream_rows(http, google_headers, GOOGLE_CID, gaql_daily("2026-09-01", "2026-11-20"))
    ad_groups = stream_rows(http, google_headers, GOOGLE_CID, gaql_daily("2026-09-01", "2026-11-20", "ad_group"))
    summed: dict[tuple[str, str], list[Decimal]] = {}
    for r in ad_groups:
        m = r["metrics"]
        acc = summed.setdefault((r["campaign"]["id"], r["segments"]["date"]), [Decimal(0)] * 5)
        for i, key in enumerate(("costMicros", "impressions", "clicks", "conversions", "conversionsValue")):
            acc[i] += Decimal(str(m[key]))
    for r in campaigns:
        m = r["metrics"]
        got = [Decimal(str(m[k])) for k in ("costMicros", "impressions", "clicks", "conversions", "conversionsValue")]
        assert got == summed[(r["campaign"]["id"], r["segments"]["date"])]
    assert len(campaigns) == len(summed)


def test_money_is_exact(http: httpx.Client, google_headers: dict[str, str], meta_token: str) -> None:
    rows = stream_rows(http, google_headers, GOOGLE_CID, gaql_daily("2026-10-01", "2026-11-20"))
    assert all(r["metrics"]["costMicros"].isdigit() for r in rows)
    assert any(int(r["metrics"]["costMicros"]) % 10_000 for r in rows)  # sub-cent micros occur, as on Google
    assert all(Decimal(str(r["metrics"]["conversionsValue"])).as_tuple().exponent >= -6 for r in rows)
    # Whole doubles print without ".0" like Google's front end, fractional ones as numbers.
    assert any(type(r["metrics"]["conversions"]) is int for r in rows)
    assert any(type(r["metrics"]["conversions"]) is float for r in rows)
    truth = http.get(
        "/_emulator/truth",
        params={"platform": "google_ads", "account": GOOGLE_CID, "since": "2026-10-01", "until": "2026-11-20"},
    ).json()
    served = {
        (r["campaign"]["id"], r["segments"]["date"]): Decimal(str(r["metrics"]["conversionsValue"])) for r in rows
    }
    assert served == {(t["campaign_id"], t["date"]): Decimal(t["conversions_value"]) for t in truth["rows"]}
    jpy = http.get(
        "/_emulator/truth",
        params={"platform": "meta", "account": META_JPY, "since": "2026-11-01", "until": "2026-11-20"},
    ).json()
    assert jpy["currency"] == "JPY" and all(r["spend"].isdigit() for r in jpy["rows"])


def test_served_rows_equal_truth(http: httpx.Client, google_headers: dict[str, str], meta_token: str) -> None:
    rows = stream_rows(http, google_headers, GOOGLE_CID, gaql_daily("2026-11-01", "2026-11-20"))
    truth = http.get(
        "/_emulator/truth",
        params={"platform": "google_ads", "account": GOOGLE_CID, "since": "2026-11-01", "until": "2026-11-20"},
    ).json()
    served = {
        (r["campaign"]["id"], r["segments"]["date"]): (
            int(r["metrics"]["costMicros"]),
            Decimal(str(r["metrics"]["conversions"])),
        )
        for r in rows
    }
    expected = {(t["campaign_id"], t["date"]): (t["cost_micros"], Decimal(t["conversions"])) for t in truth["rows"]}
    assert served == expected
    meta_rows, _ = meta_all(
        http, f"{GRAPH}/act_{META_USD}/insights", insights_params(meta_token, "2026-11-01", "2026-11-20")
    )
    meta_truth = http.get(
        "/_emulator/truth",
        params={"platform": "meta", "account": META_USD, "since": "2026-11-01", "until": "2026-11-20"},
    ).json()
    assert {(r["campaign_id"], r["date_start"]): r["spend"] for r in meta_rows} == {
        (t["campaign_id"], t["date"]): t["spend"] for t in meta_truth["rows"]
    }


def _truth_by_key(
    http: httpx.Client, platform: str, account: str, since: str, until: str
) -> dict[tuple[str, str], dict[str, object]]:
    body = http.get(
        "/_emulator/truth",
        params={"platform": platform, "account": account, "since": since, "until": until, "level": "ad_group"},
    ).json()
    key = "ad_group_id" if platform == "google_ads" else "adset_id"
    return {(str(r[key]), str(r["date"])): r for r in body["rows"]}


def test_restatement_changes_only_days_inside_the_window(
    srv: EmulatorServer, http: httpx.Client, google_headers: dict[str, str]
) -> None:
    since = (TODAY - timedelta(days=60)).isoformat()
    before = _truth_by_key(http, "google_ads", GOOGLE_CID, since, TODAY.isoformat())
    served_before = stream_rows(http, google_headers, GOOGLE_CID, gaql_daily(since, TODAY.isoformat()))
    assert (
        http.post("/_emulator/restate", json={"platform": "google_ads"}).json()["restatement_versions"]["google_ads"]
        == 1
    )
    after = _truth_by_key(http, "google_ads", GOOGLE_CID, since, TODAY.isoformat())
    assert before.keys() == after.keys()
    window_start = (TODAY - timedelta(days=29)).isoformat()
    changed = {k for k in before if before[k] != after[k]}
    assert changed and all(day >= window_start for _, day in changed)
    up = sum(Decimal(str(after[k]["conversions"])) - Decimal(str(before[k]["conversions"])) for k in changed)
    assert up > 0  # mostly upward
    for k in before:  # spend, impressions and clicks never restate
        assert (before[k]["cost_micros"], before[k]["clicks"]) == (after[k]["cost_micros"], after[k]["clicks"])
    served_after = stream_rows(http, google_headers, GOOGLE_CID, gaql_daily(since, TODAY.isoformat()))
    assert served_after != served_before
    truth_campaigns = http.get(
        "/_emulator/truth",
        params={"platform": "google_ads", "account": GOOGLE_CID, "since": since, "until": TODAY.isoformat()},
    ).json()
    assert {
        (r["campaign"]["id"], r["segments"]["date"]): Decimal(str(r["metrics"]["conversions"])) for r in served_after
    } == {(t["campaign_id"], t["date"]): Decimal(t["conversions"]) for t in truth_campaigns["rows"]}


def test_meta_restatement_window_is_28_days(http: httpx.Client) -> None:
    since = (TODAY - timedelta(days=45)).isoformat()
    before = _truth_by_key(http, "meta", META_USD, since, TODAY.isoformat())
    http.post("/_emulator/restate", json={"platform": "meta", "steps": 2})
    after = _truth_by_key(http, "meta", META_USD, since, TODAY.isoformat())
    changed_days = {day for (_, day), row in before.items() if row != after[(_, day)]}
    assert changed_days and min(changed_days) >= (TODAY - timedelta(days=27)).isoformat()


def test_auto_restatement_every_n_report_calls(
    srv: EmulatorServer, http: httpx.Client, google_headers: dict[str, str]
) -> None:
    srv.state.update_config(auto_restate_every_n_report_calls=2)
    query = gaql_daily("2026-11-10", "2026-11-20")
    stream_rows(http, google_headers, GOOGLE_CID, query)
    assert srv.state.versions()["google_ads"] == 0
    stream_rows(http, google_headers, GOOGLE_CID, query)
    assert srv.state.versions()["google_ads"] == 1


def test_today_is_partial_and_nothing_exists_after_it(http: httpx.Client, google_headers: dict[str, str]) -> None:
    rows = stream_rows(http, google_headers, GOOGLE_CID, gaql_daily("2026-11-13", "2026-11-25"))
    days = {r["segments"]["date"] for r in rows}
    assert max(days) == "2026-11-20"
    spend = {d: sum(int(r["metrics"]["costMicros"]) for r in rows if r["segments"]["date"] == d) for d in days}
    assert spend["2026-11-20"] < 0.75 * spend["2026-11-13"]  # same weekday, half a day served


def test_clicks_never_exceed_impressions_and_entities_have_gaps() -> None:
    today = date(2026, 11, 20)
    model = build_account_model("google_ads", BASE_CONFIG.google_accounts[0], 0, 3, today, 200, 2, 4, 37)
    window = DayWindow(to_ordinal(today), to_ordinal(date(2023, 10, 20)), 0, 30, 0.5)
    frame = daily_frame(
        model, "ad_group", window.history_start, window.today, window, selected_ad_groups(model, None, None)
    )
    assert np.all(frame.cols["clicks"] <= frame.cols["impressions"])
    assert np.all(frame.cols["spend_micros"] >= 0)
    assert set(model.campaign_state) == {"ENABLED", "PAUSED", "REMOVED"}
    ended = np.nonzero(model.campaign_state != "ENABLED")[0]
    camp_rows = daily_frame(
        model, "campaign", window.history_start, window.today, window, selected_ad_groups(model, None, None)
    )
    for c in ended[:5]:
        days = camp_rows.day_start[camp_rows.entity == c]
        assert days.size == 0 or days.max() <= model.campaign_end[c]
    ad_groups = np.bincount(model.ag_campaign)
    assert ad_groups.min() >= 2 and ad_groups.max() <= 4


def test_weekly_seasonality_and_anomalies_exist() -> None:
    state = EmulatorState(EmulatorConfig(seed=7, today=TODAY, campaigns_per_account=60))
    truth = state.truth("google_ads", GOOGLE_CID, "account", "2025-11-21", "2026-11-20")
    by_weekday = [0] * 7
    for row in truth["rows"]:
        by_weekday[date.fromisoformat(row["date"]).weekday()] += row["cost_micros"]
    assert max(by_weekday[:5]) > by_weekday[5]  # search spends less on Saturdays
    anomalies = state.anomalies("google_ads", GOOGLE_CID, "2025-11-21", "2026-11-20")
    assert {a["kind"] for a in anomalies} >= {"spike", "drop"}
    assert state.anomalies("google_ads", GOOGLE_CID, "2025-11-21", "2026-11-20") == anomalies


def test_more_campaigns_keep_the_existing_ones(http: httpx.Client) -> None:
    small = EmulatorState(EmulatorConfig(seed=7, today=TODAY, campaigns_per_account=4))
    big = EmulatorState(EmulatorConfig(seed=7, today=TODAY, campaigns_per_account=40))
    rows_small = small.truth("meta", META_USD, "campaign", "2026-10-01", "2026-11-20")["rows"]
    ids = {r["campaign_id"] for r in rows_small}
    rows_big = [
        r
        for r in big.truth("meta", META_USD, "campaign", "2026-10-01", "2026-11-20")["rows"]
        if r["campaign_id"] in ids
    ]
    assert rows_small == rows_big
