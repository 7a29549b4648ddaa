"""Bad input: rows failing a hard data test are quarantined with a reason, never dropped and never
in the facts; warnings keep the row; every test result is stored per run."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection

from warehouse.models import DataTestResult, QuarantinedRow, RawRecord
from warehouse.services.transform import run_window

from .conftest import google_customer, google_daily, meta_account, meta_daily

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 10)
CID = "1112223333"


def _fact_keys() -> set[tuple[str, str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT platform, account_id, campaign_id, ad_group_id FROM fct_ad_performance_daily")
        return set(cursor.fetchall())


def _window(platform: str, accounts: list[str], date_from: date = DAY - timedelta(days=3), date_to: date = DAY) -> Any:
    return run_window(
        connection_id=1, platform=platform, account_ids=accounts, date_from=date_from, date_to=date_to, sync_run_id=1
    )


def test_google_rows_with_impossible_values_are_quarantined_with_reasons(with_rates: Any, land: Any) -> None:
    land("google_ads.customer", [google_customer(CID, "USD")])
    land(
        "google_ads.ad_group_daily",
        [
            google_daily(CID, DAY, "1", "11"),
            google_daily(CID, DAY, "1", "12", costMicros="-5"),
            google_daily(CID, DAY, "1", "13", clicks="lots"),
            google_daily(CID, DAY, "", "14"),
            google_daily(CID, DAY, "1", "15", clicks="500", impressions="100"),
            google_daily(CID, DAY, "1", "16", conversions=1e30),
        ],
    )
    run = _window("google_ads", [CID])

    assert _fact_keys() == {("google_ads", CID, "1", "11"), ("google_ads", CID, "1", "15")}
    reasons = {q.record_key.split("|")[-1]: (q.test, q.reason) for q in QuarantinedRow.objects.all()}
    assert reasons["12"] == ("non_negative", "negative value in spend_micros")
    assert reasons["13"] == ("not_null", "missing or not a valid value: clicks")
    assert reasons["14"] == ("not_null", "missing or not a valid value: campaign_id")
    assert reasons["16"] == ("not_null", "missing or not a valid value: conversions_micros")
    held = QuarantinedRow.objects.get(record_key=f"{CID}|{DAY}|1|13")
    assert held.row["raw"]["metrics"]["clicks"] == "lots", "the quarantine keeps the raw payload"
    assert held.stream == "google_ads.ad_group_daily" and held.platform == "google_ads" and held.date == DAY
    assert RawRecord.objects.filter(stream="google_ads.ad_group_daily").count() == 6, "raw is never touched"

    results = {(r.model, r.test): r for r in DataTestResult.objects.filter(run_id=run["run_id"])}
    assert results[("stg_google_ads__ad_group_daily", "not_null")].status == "fail"
    assert results[("stg_google_ads__ad_group_daily", "not_null")].failing_rows == 3
    assert results[("stg_google_ads__ad_group_daily", "non_negative")].failing_rows == 1
    warn = results[("fct_ad_performance_daily", "clicks_le_impressions")]
    assert (warn.status, warn.failing_rows, warn.severity) == ("warn", 1, "warn")
    assert warn.details["samples"] == ["clicks 500 > impressions 100"]
    assert results[("fct_ad_performance_daily", "fx_rate_available")].status == "pass"


def test_fixing_the_raw_row_releases_it_from_quarantine(with_rates: Any, land: Any) -> None:
    land("google_ads.customer", [google_customer(CID, "USD")])
    land("google_ads.ad_group_daily", [google_daily(CID, DAY, "1", "12", costMicros="-5")])
    _window("google_ads", [CID])
    assert QuarantinedRow.objects.count() == 1 and not _fact_keys()
    land("google_ads.ad_group_daily", [google_daily(CID, DAY, "1", "12", costMicros="5000000")], sync_run_id=2)
    _window("google_ads", [CID])
    assert QuarantinedRow.objects.count() == 0
    assert _fact_keys() == {("google_ads", CID, "1", "12")}


def test_rows_of_an_unsynced_account_wait_in_quarantine_until_its_currency_is_known(with_rates: Any, land: Any) -> None:
    land("google_ads.ad_group_daily", [google_daily(CID, DAY, "1", "11")])
    _window("google_ads", [CID])
    held = QuarantinedRow.objects.get()
    assert held.model == "fct_ad_performance_daily"
    assert held.reason == "no currency for this ad account: its account record has not been synced"
    land("google_ads.customer", [google_customer(CID, "GBP", "Europe/London")])
    _window("google_ads", [CID])
    assert not QuarantinedRow.objects.exists()
    assert _fact_keys() == {("google_ads", CID, "1", "11")}


def test_meta_rows_with_unknown_currencies_bad_actions_or_duplicate_grain_are_held_back(
    with_rates: Any, land: Any
) -> None:
    land(
        "meta.ad_account",
        [meta_account("501", "XAU"), meta_account("502", "US"), meta_account("503", "EUR", "Mars/Olympus_Mons")],
    )
    land("meta.ad_account", [meta_account("504", "EUR")])
    land(
        "meta.adset_daily",
        [
            meta_daily("501", DAY, "7", "71"),
            meta_daily("502", DAY, "7", "72"),
            meta_daily("503", DAY, "7", "73"),
            meta_daily("504", DAY, "7", "74", actions={"purchase": 3}),
            meta_daily("504", DAY, "7", "75", spend="12,50"),
            meta_daily("504", DAY, "7", "76"),
            meta_daily("504", DAY - timedelta(days=1), "7", "77"),
        ],
    )
    # the same ad set and day landed twice under two record keys (with and without act_)
    duplicate = meta_daily("504", DAY - timedelta(days=1), "7", "77")
    land("meta.adset_daily", [(duplicate[0].removeprefix("act_"), "504", duplicate[2], duplicate[3])])
    _window("meta", ["act_501", "act_502", "503", "504"])

    assert _fact_keys() == {("meta", "504", "7", "76")}
    by_adset = {q.record_key.split("|")[-1]: q for q in QuarantinedRow.objects.all()}
    assert by_adset["71"].test == "fx_rate_available"
    assert by_adset["71"].reason.startswith("no ECB reference rate to convert XAU to EUR on 2026-11-10")
    assert by_adset["72"].reason == "not an ISO 4217 currency code: US"
    assert by_adset["73"].test == "not_null" and "time zone" in by_adset["73"].reason
    assert by_adset["74"].reason == "missing or not a valid value: conversions_micros"
    assert by_adset["75"].reason == "missing or not a valid value: spend_micros"
    assert QuarantinedRow.objects.filter(test="unique").count() == 2
    assert all("more than one row" in q.reason for q in QuarantinedRow.objects.filter(test="unique"))


def test_meta_conversions_count_one_purchase_alias_and_follow_the_configured_groups(with_rates: Any, land: Any) -> None:
    from warehouse.services.config import setting_set

    land("meta.ad_account", [meta_account("504", "EUR")])
    row = meta_daily(
        "504",
        DAY,
        "7",
        "76",
        actions=[
            {"action_type": "purchase", "value": "2"},
            {"action_type": "omni_purchase", "value": "3"},
            {"action_type": "lead", "value": "4"},
        ],
        action_values=[
            {"action_type": "purchase", "value": "10.00"},
            {"action_type": "omni_purchase", "value": "15.00"},
        ],
    )
    land("meta.adset_daily", [row])
    _window("meta", ["504"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT conversions_micros, conversions_value_micros FROM fct_ad_performance_daily")
        assert cursor.fetchone() == (3_000_000, 15_000_000), "omni_purchase first, aliases never added"
    setting_set(key="meta.conversion_action_groups", value=[["purchase", "omni_purchase"], ["lead"]])
    _window("meta", ["504"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT conversions_micros, conversions_value_micros FROM fct_ad_performance_daily")
        assert cursor.fetchone() == (6_000_000, 10_000_000), "purchase (2) + lead (4); value of purchase"
    with pytest.raises(ValueError, match="counted twice"):
        setting_set(key="meta.conversion_action_groups", value=[["purchase"], ["purchase"]])


def test_impossible_dates_are_quarantined(with_rates: Any, land: Any) -> None:
    future = date.today() + timedelta(days=30)
    land("google_ads.customer", [google_customer(CID, "EUR", "Europe/Berlin")])
    land("google_ads.ad_group_daily", [google_daily(CID, future, "1", "11")])
    run_window(
        connection_id=1, platform="google_ads", account_ids=[CID], date_from=future, date_to=future, sync_run_id=1
    )
    held = QuarantinedRow.objects.get()
    assert held.test == "date_in_range" and held.reason.startswith(f"impossible date {future}")


def test_windows_are_validated(in_workspace: Any) -> None:
    with pytest.raises(ValueError, match="no warehouse models"):
        _window("myspace", ["1"])
    with pytest.raises(ValueError, match="empty window"):
        _window("google_ads", ["1"], date_from=DAY, date_to=DAY - timedelta(days=1))
    with pytest.raises(ValueError, match="at least one account"):
        _window("google_ads", [])
