"""Runs: a model failing half-way changes nothing and delays its dependants without losing their
work; a full rebuild reproduces what the window runs built; runs are audited."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection

from devtools.synthetic import SyntheticSpec, synthetic_raw_land, synthetic_restate
from warehouse.models import ModelRun, PendingWindow, Restatement, TransformRun
from warehouse.services import graph, transform
from warehouse.services.transform import TransformFailed, run_full, run_window

pytestmark = pytest.mark.django_db

SPEC = SyntheticSpec(platforms=("google_ads",), accounts_per_platform=2, campaigns_per_account=3, seed=9)
D1, D2 = date(2026, 10, 1), date(2026, 10, 31)
ACCOUNTS = [a["account_id"] for a in SPEC.accounts()]


def _snapshot() -> dict[str, Any]:
    with connection.cursor() as cursor:
        out = {}
        for table in (
            "fct_ad_performance_daily",
            "rollup_day_platform",
            "rollup_day_campaign",
            "rollup_week_campaign",
            "rollup_month_campaign",
            "rollup_campaign_cumulative",
            "rollup_campaign_span",
        ):
            columns = (
                "*"
                if table != "fct_ad_performance_daily"
                else (
                    "date_day, platform, account_id, campaign_id, ad_group_id, impressions, clicks, spend_micros,"
                    " conversions_micros, conversions_value_micros, spend_reporting_micros, conversions_value_reporting_micros,"
                    " fx_rate, fx_rate_date, fx_fallback, is_settling"
                )
            )
            cursor.execute(
                f"SELECT count(*), coalesce(sum(hashtext(t::text)), 0) FROM (SELECT {columns} FROM {table}) t"
            )
            out[table] = cursor.fetchone()
        return out


def _window(date_from: date = D1, date_to: date = D2, sync_run_id: int = 1) -> dict[str, Any]:
    return run_window(
        connection_id=7,
        platform="google_ads",
        account_ids=ACCOUNTS,
        date_from=date_from,
        date_to=date_to,
        sync_run_id=sync_run_id,
    )


@pytest.fixture
def loaded(with_rates: Any) -> dict[str, Any]:
    synthetic_raw_land(spec=SPEC, date_from=D1, date_to=D2)
    _window()
    return _snapshot()


def _broken(name: str) -> dict[str, graph.SqlModel]:
    """The model graph with `name` failing at run time, half-way through its rows."""
    models = dict(graph.models())
    model = models[name]
    assert model.select_sql is not None
    models[name] = dataclasses.replace(
        model,
        select_sql=f"SELECT * FROM ({model.select_sql}) x WHERE 1 / (x.clicks - x.clicks + (x.impressions %% 2)) >= 0",
    )
    return models


def test_a_model_failing_half_way_changes_nothing_and_its_dependants_wait(
    loaded: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    synthetic_restate(stream="google_ads.ad_group_daily", date_from=D2 - timedelta(days=6), date_to=D2, variant=2)
    restatements = Restatement.objects.count()
    broken = _broken("fct_ad_performance_daily")
    monkeypatch.setattr(graph, "models", lambda: broken)
    with pytest.raises(TransformFailed, match="fct_ad_performance_daily: DataError: division by zero"):
        _window(sync_run_id=2)
    assert _snapshot() == loaded, "the failed model and everything after it left their tables alone"
    assert Restatement.objects.count() == restatements
    run = TransformRun.objects.latest("pk")
    assert run.status == TransformRun.Status.FAILED and "division by zero" in run.error
    statuses = dict(ModelRun.objects.filter(run=run).values_list("model", "status"))
    assert statuses["stg_google_ads__ad_group_daily"] == "success"
    assert statuses["fct_ad_performance_daily"] == "failed"
    assert {statuses[m] for m in graph.downstream("fct_ad_performance_daily")} == {"skipped"}
    pending = set(PendingWindow.objects.values_list("model", flat=True))
    assert pending == {"fct_ad_performance_daily"} | graph.downstream("fct_ad_performance_daily")

    # The next sync covers only its own three days, but the fact and its rollups also catch up
    # on the whole window the failed run left pending.
    monkeypatch.undo()
    summary = _window(date_from=D2 - timedelta(days=2), date_to=D2, sync_run_id=3)
    fact = ModelRun.objects.get(run_id=summary["run_id"], model="fct_ad_performance_daily")
    assert (fact.date_from, fact.date_to) == (D1, D2)
    assert not PendingWindow.objects.exists()
    assert Restatement.objects.count() > restatements
    after = _snapshot()
    assert after != loaded
    run_full(platforms=["google_ads"])
    assert _snapshot() == after, "the catch-up left the same tables a full rebuild builds"


def test_a_full_rebuild_reproduces_the_window_runs_and_a_second_changes_nothing(loaded: dict[str, Any]) -> None:
    summary = run_full(platforms=["google_ads"])
    assert _snapshot() == loaded
    assert summary["models"]["fct_ad_performance_daily"]["rows_written"] == 0
    again = run_full()
    assert {m["rows_written"] for m in again["models"].values()} == {0}
    assert TransformRun.objects.filter(kind="full", status="success").count() == 2


def test_backfilled_older_days_shift_the_running_totals_after_them(loaded: dict[str, Any]) -> None:
    earlier = D1 - timedelta(days=20)
    synthetic_raw_land(spec=SPEC, date_from=earlier, date_to=D1 - timedelta(days=1))
    _window(date_from=earlier, date_to=D1 - timedelta(days=1), sync_run_id=2)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*) FROM rollup_campaign_cumulative c
                 JOIN LATERAL (SELECT sum(spend_micros) AS s FROM rollup_day_campaign d
                                WHERE d.campaign_key = c.campaign_key AND d.date_day <= c.date_day) d ON true
                WHERE c.spend_micros <> d.s"""
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT min(first_day), max(last_day) FROM rollup_campaign_span")
        assert cursor.fetchone() == (earlier, D2)


def test_runs_in_one_workspace_take_turns(loaded: dict[str, Any]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND pid = pg_backend_pid()",
            [transform._LOCK_CLASS],
        )
        assert cursor.fetchone()[0] == 0, "the lock is released after a run"
        with transform.workspace_lock():
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND granted"
                " AND pid = pg_backend_pid()",
                [transform._LOCK_CLASS],
            )
            assert cursor.fetchone()[0] == 1
