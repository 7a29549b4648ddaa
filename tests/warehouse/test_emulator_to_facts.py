"""Emulator data → facts: totals equal the emulator's truth in every currency, restatements flow
through facts, rollups and the restatement log, a rerun changes nothing, lineage is recorded."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from warehouse.models import ModelRun, Restatement, TransformRun
from warehouse.selectors import lineage_upstream
from warehouse.services import graph
from warehouse.services.fx import FxRateRow
from warehouse.services.transform import run_window

from .emulated import land_google, land_meta, land_tiktok

emulators = pytest.importorskip("devtools.emulators")
pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)
SINCE = TODAY - timedelta(days=29)
CONFIG = emulators.EmulatorConfig(
    seed=5, today=TODAY, campaigns_per_account=3, ad_groups_per_campaign_min=1, ad_groups_per_campaign_max=2
)
MICROS = Decimal(1_000_000)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Any]:
    srv = emulators.start_emulator_server(host="127.0.0.1", port=0, config=CONFIG)
    yield srv
    srv.shutdown()


@pytest.fixture
def srv(emulator: Any) -> Any:
    emulator.state.reset()
    return emulator


def _sync(srv: Any, sync_run_id: int) -> dict[str, dict[str, Any]]:
    google = land_google(srv, since=SINCE, until=TODAY, sync_run_id=sync_run_id)
    meta = land_meta(srv, since=SINCE, until=TODAY, sync_run_id=sync_run_id)
    tiktok = land_tiktok(srv, since=SINCE, until=TODAY, sync_run_id=sync_run_id)
    return {
        "google_ads": run_window(
            connection_id=1,
            platform="google_ads",
            account_ids=google,
            date_from=SINCE,
            date_to=TODAY,
            sync_run_id=sync_run_id,
        ),
        "meta": run_window(
            connection_id=2, platform="meta", account_ids=meta, date_from=SINCE, date_to=TODAY, sync_run_id=sync_run_id
        ),
        "tiktok": run_window(
            connection_id=3,
            platform="tiktok",
            account_ids=tiktok,
            date_from=SINCE,
            date_to=TODAY,
            sync_run_id=sync_run_id,
        ),
    }


def _rate_finder(rates: list[FxRateRow]) -> Any:
    by_currency: dict[str, dict[date, Decimal]] = defaultdict(dict)
    for r in rates:
        by_currency[r.currency][r.date] = r.rate

    def per_euro(currency: str, day: date) -> Decimal:
        if currency == "EUR":
            return Decimal(1)
        for back in range(11):
            rate = by_currency[currency].get(day - timedelta(days=back))
            if rate is not None:
                return rate
        raise AssertionError(f"the sample has no {currency} rate near {day}")

    return per_euro


def _truth(srv: Any, rates: list[FxRateRow]) -> dict[tuple[str, str], dict[str, Decimal]]:
    """Native totals per account from the emulator, and reporting (EUR) totals computed here."""
    per_euro = _rate_finder(rates)
    out: dict[tuple[str, str], dict[str, Decimal]] = {}
    for platform, specs in (
        ("google_ads", CONFIG.google_accounts),
        ("meta", CONFIG.meta_accounts),
        ("tiktok", CONFIG.tiktok_accounts),
    ):
        for spec in specs:
            truth = srv.state.truth(platform, spec.account_id, level="ad_group", since=SINCE, until=TODAY)
            totals = defaultdict(Decimal)
            for row in truth["rows"]:
                if platform == "google_ads":
                    spend = Decimal(row["cost_micros"])
                    conversions = Decimal(row["conversions"]) * MICROS
                    value = Decimal(row["conversions_value"]) * MICROS
                elif platform == "tiktok":
                    spend = Decimal(row["spend"]) * MICROS
                    conversions = Decimal(row["conversion"]) * MICROS
                    value = Decimal(row["complete_payment_value"]) * MICROS
                else:
                    spend = Decimal(row["spend"]) * MICROS
                    conversions = Decimal(row["purchases"]) * MICROS
                    value = Decimal(row["purchase_value"]) * MICROS
                rate = (Decimal(1) / per_euro(truth["currency"], date.fromisoformat(row["date"]))).quantize(
                    Decimal("1e-14"), rounding=ROUND_HALF_UP
                )
                totals["impressions"] += row["impressions"]
                totals["clicks"] += row["clicks"]
                totals["spend_micros"] += spend
                totals["conversions_micros"] += conversions
                totals["conversions_value_micros"] += value
                totals["spend_eur_micros"] += (spend * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP)
                totals["value_eur_micros"] += (value * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP)
                totals["rows"] += 1
            out[(platform, spec.account_id)] = dict(totals)
    return out


def _facts() -> dict[tuple[str, str], dict[str, Decimal]]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT platform, account_id, sum(impressions), sum(clicks), sum(spend_micros), sum(conversions_micros),
                      sum(conversions_value_micros), sum(spend_reporting_micros), sum(conversions_value_reporting_micros),
                      count(*), min(currency), max(currency), min(reporting_currency)
                 FROM fct_ad_performance_daily GROUP BY 1, 2"""
        )
        out = {}
        for p, a, imp, clk, spend, conv, value, spend_eur, value_eur, rows, cur_lo, cur_hi, rc in cursor.fetchall():
            assert cur_lo == cur_hi, "one currency per account"
            assert rc == "EUR"
            out[(p, a)] = {
                "impressions": imp,
                "clicks": clk,
                "spend_micros": spend,
                "conversions_micros": conv,
                "conversions_value_micros": value,
                "spend_eur_micros": spend_eur,
                "value_eur_micros": value_eur,
                "rows": rows,
            }
        return out


def _assert_rollups_match_facts() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT (SELECT sum(spend_reporting_micros) FROM fct_ad_performance_daily),
                      (SELECT sum(spend_micros) FROM rollup_day_platform),
                      (SELECT sum(spend_micros) FROM rollup_day_account),
                      (SELECT sum(spend_micros) FROM rollup_day_campaign),
                      (SELECT sum(spend_micros) FROM rollup_week_campaign),
                      (SELECT sum(spend_micros) FROM rollup_month_campaign),
                      (SELECT sum(spend_micros) FROM rollup_campaign_span)"""
        )
        totals = cursor.fetchone()
        assert len(set(totals)) == 1, totals
        # The running total on each campaign's last day is its lifetime total, for every campaign.
        cursor.execute(
            """SELECT count(*) FROM rollup_campaign_span s
                 JOIN (SELECT campaign_key, sum(conversions_value_micros) AS v FROM rollup_day_campaign GROUP BY 1) d
                   USING (campaign_key)
                WHERE s.conversions_value_micros <> d.v"""
        )
        assert cursor.fetchone()[0] == 0


def test_facts_equal_the_emulator_truth_in_native_and_reporting_currency(
    srv: Any, with_rates: Any, sample_rates: list[FxRateRow]
) -> None:
    _sync(srv, sync_run_id=1)
    truth = _truth(srv, sample_rates)
    facts = _facts()
    assert set(facts) == set(truth)
    currencies = set()
    for key, expected in truth.items():
        assert facts[key] == expected, key
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT currency FROM fct_ad_performance_daily")
        currencies = {row[0] for row in cursor.fetchall()}
    assert {"EUR", "USD", "GBP", "JPY"} <= currencies  # every currency the emulator serves
    _assert_rollups_match_facts()


def test_settling_days_follow_each_platforms_restatement_window(srv: Any, with_rates: Any) -> None:
    _sync(srv, sync_run_id=1)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT f.platform, f.time_zone, f.date_day, f.is_settling, p.restatement_days
                 FROM fct_ad_performance_daily f JOIN dim_platform p ON p.code = f.platform"""
        )
        rows = cursor.fetchall()
    assert rows
    for platform, tz, day, settling, days in rows:
        local_today = now.astimezone(ZoneInfo(tz)).date()
        assert settling == (day > local_today - timedelta(days=days)), (platform, day)


def test_restated_days_update_facts_rollups_and_the_restatement_log(
    srv: Any, with_rates: Any, sample_rates: list[FxRateRow]
) -> None:
    _sync(srv, sync_run_id=1)
    before = _facts()
    srv.state.restate(None, steps=3)
    _sync(srv, sync_run_id=2)
    after = _facts()
    truth = _truth(srv, sample_rates)
    for key, expected in truth.items():
        assert after[key] == expected, key
    assert after != before, "the emulator restated recent conversions"
    _assert_rollups_match_facts()

    log = list(Restatement.objects.all())
    assert log
    oldest = {
        "google_ads": TODAY - timedelta(days=CONFIG.google_restatement_days),
        "meta": TODAY - timedelta(days=28),
        "tiktok": TODAY - timedelta(days=CONFIG.tiktok_restatement_days),
    }
    assert all(entry.date_day >= oldest[entry.platform] for entry in log), "settled days never change"
    # The log's old → new differences add up to the facts' change, per account and metric.
    for (platform, account), values in after.items():
        entries = [e for e in log if e.platform == platform and e.account_id == account]
        for metric, column in (
            ("conversions", "conversions_micros"),
            ("conversions_value", "conversions_value_micros"),
        ):
            change = sum((e.new_value - e.old_value for e in entries if e.metric == metric), Decimal(0))
            assert change * MICROS == values[column] - before[(platform, account)][column], (platform, account, metric)


def test_a_rerun_changes_nothing(srv: Any, with_rates: Any) -> None:
    _sync(srv, sync_run_id=1)
    facts = _facts()
    restatements = Restatement.objects.count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(hashtext(t::text)) FROM rollup_campaign_cumulative t")
        cumulative = cursor.fetchone()[0]
    again = _sync(srv, sync_run_id=1)
    for platform, summary in again.items():
        written = {name: m["rows_written"] for name, m in summary["models"].items()}
        assert set(written.values()) == {0}, (platform, written)
    assert _facts() == facts
    assert Restatement.objects.count() == restatements
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(hashtext(t::text)) FROM rollup_campaign_cumulative t")
        assert cursor.fetchone()[0] == cumulative


def test_every_model_run_is_recorded_with_its_lineage(srv: Any, with_rates: Any) -> None:
    summaries = _sync(srv, sync_run_id=1)
    run = TransformRun.objects.get(pk=summaries["meta"]["run_id"])
    assert run.status == TransformRun.Status.SUCCESS and run.connection_id == 2 and run.platforms == ["meta"]
    model_runs = {m.model: m for m in ModelRun.objects.filter(run=run)}
    assert set(model_runs) == {m.name for m in graph.plan(platforms=["meta"])}
    daily = model_runs["stg_meta__adset_daily"]
    assert daily.inputs == ["raw_record"] and daily.output == "stg_meta__adset_daily"
    assert (daily.date_from, daily.date_to) == (SINCE, TODAY)
    assert daily.rows_read > 0 and daily.rows_written == daily.rows_read and daily.duration_ms > 0
    fact = model_runs["fct_ad_performance_daily"]
    assert "wh_fx_rate" in fact.inputs and fact.rows_written > 0 and fact.status == "success"

    upstream = {node.name: node for node in lineage_upstream(table="rollup_campaign_span")}
    assert {"rollup_campaign_cumulative", "rollup_day_campaign", "fct_ad_performance_daily"} <= set(upstream)
    assert {"raw_record", "wh_fx_rate", "stg_meta__adset_daily", "stg_google_ads__ad_group_daily"} <= set(upstream)
    assert upstream["raw_record"].layer == "sources"
    assert upstream["rollup_campaign_cumulative"].depth == 1 < upstream["raw_record"].depth
