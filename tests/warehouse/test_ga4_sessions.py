"""GA4 → fct_sessions_daily: the fact equals what the Data API served (native and EUR), days GA4
was still processing settle and their revisions reach the restatement log, a rerun changes
nothing, flagged rows stay flagged, and the model sits in the lineage graph."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from django.db import connection

from connectors.oauth import StaticTokens
from connectors.platforms.ga4 import PROPERTY, TRAFFIC_DAILY, Ga4Client
from warehouse.models import ModelRun, Restatement
from warehouse.services.fx import FxRateRow
from warehouse.services.landing import raw_records_land
from warehouse.services.transform import run_window

emulators = pytest.importorskip("devtools.emulators")
pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 20)
SINCE = TODAY - timedelta(days=29)
CONFIG = emulators.EmulatorConfig(seed=5, today=TODAY, campaigns_per_account=3)
MICROS = Decimal(1_000_000)
PROPERTIES = ("412345678", "498765432")  # USD, EUR


@pytest.fixture(scope="module")
def emulator() -> Iterator[Any]:
    srv = emulators.start_emulator_server(host="127.0.0.1", port=0, config=CONFIG)
    yield srv
    srv.shutdown()


@pytest.fixture
def srv(emulator: Any, settings: Any) -> Any:
    emulator.state.reset()
    settings.BOSCO_EMULATOR_URL = emulator.base_url
    settings.GA4_ADMIN_API_URL = settings.GA4_DATA_API_URL = ""
    settings.CONNECTORS_GA4_PAGE_SIZE = 500
    settings.CONNECTORS_MAX_ATTEMPTS = 1
    return emulator


def _sync(srv: Any, sync_run_id: int) -> dict[str, Any]:
    """Land both properties' snapshot and traffic as the connector does, then transform."""
    client = Ga4Client(tokens=StaticTokens(srv.state.issue_tokens("ga4")["access_token"], "ga4"))
    for prop in PROPERTIES:
        for stream, since, until in ((PROPERTY, None, None), (TRAFFIC_DAILY, SINCE, TODAY)):
            token = ""
            while True:
                page = client.fetch_page(
                    stream=stream, account_id=prop, date_from=since, date_to=until, page_token=token, job_id=""
                )
                raw_records_land(stream=stream.name, connection_id=9, sync_run_id=sync_run_id, rows=page.rows)
                if page.next_token is None:
                    break
                token = page.next_token
    client.close()
    return run_window(
        connection_id=9,
        platform="ga4",
        account_ids=list(PROPERTIES),
        date_from=SINCE,
        date_to=TODAY,
        sync_run_id=sync_run_id,
    )


def _truth(srv: Any, rates: list[FxRateRow]) -> dict[tuple[str, str], dict[str, Decimal]]:
    from devtools.emulators import ga4_data

    per_euro: dict[str, dict[date, Decimal]] = defaultdict(dict)
    for r in rates:
        per_euro[r.currency][r.date] = r.rate

    def to_eur(currency: str, day: date) -> Decimal:
        if currency == "EUR":
            return Decimal(1)
        for back in range(11):
            if (rate := per_euro[currency].get(day - timedelta(days=back))) is not None:
                return (Decimal(1) / rate).quantize(Decimal("1e-14"), rounding=ROUND_HALF_UP)
        raise AssertionError(f"no {currency} rate near {day}")

    out: dict[tuple[str, str], dict[str, Decimal]] = {}
    for prop in PROPERTIES:
        truth = ga4_data.truth(srv.state, prop, SINCE, TODAY)
        for row in truth["rows"]:
            totals = out.setdefault((prop, row["channel_group"]), defaultdict(Decimal))
            revenue = Decimal(row["purchase_revenue"]) * MICROS
            totals["sessions"] += row["sessions"]
            totals["engaged_sessions"] += row["engaged_sessions"]
            totals["key_events"] += row["key_events"]
            totals["revenue_micros"] += revenue
            rate = to_eur(truth["currency"], date.fromisoformat(row["date"]))
            totals["revenue_eur_micros"] += (revenue * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return {k: dict(v) for k, v in out.items()}


def _facts() -> dict[tuple[str, str], dict[str, Decimal]]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT property_id, channel_group, sum(sessions), sum(engaged_sessions), sum(key_events),
                      sum(purchase_revenue_micros), sum(purchase_revenue_reporting_micros), min(reporting_currency)
                 FROM fct_sessions_daily GROUP BY 1, 2"""
        )
        out = {}
        for prop, channel, sessions, engaged, key_events, revenue, revenue_eur, rc in cursor.fetchall():
            assert rc == "EUR"
            out[(prop, channel)] = {
                "sessions": sessions,
                "engaged_sessions": engaged,
                "key_events": key_events,
                "revenue_micros": revenue,
                "revenue_eur_micros": revenue_eur,
            }
        return out


def test_sessions_fact_equals_what_ga4_served_in_native_and_reporting_currency(
    srv: Any, with_rates: Any, sample_rates: list[FxRateRow]
) -> None:
    summary = _sync(srv, sync_run_id=1)

    assert summary["models"]["fct_sessions_daily"]["rows_written"] > 0
    assert _facts() == _truth(srv, sample_rates)
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT property_id, currency, time_zone FROM fct_sessions_daily ORDER BY 1")
        assert cursor.fetchall() == [
            ("412345678", "USD", "America/New_York"),
            ("498765432", "EUR", "Europe/Berlin"),
        ]
        cursor.execute(
            "SELECT count(*) FROM fct_sessions_daily WHERE is_settling AND date_day < %s", [TODAY - timedelta(days=3)]
        )
        assert cursor.fetchone()[0] == 0, "days past GA4's processing delay are settled"


def test_ga4_revisions_update_the_fact_and_the_restatement_log(
    srv: Any, with_rates: Any, sample_rates: list[FxRateRow]
) -> None:
    _sync(srv, sync_run_id=1)
    before = _facts()
    srv.state.restate("ga4", steps=2)
    _sync(srv, sync_run_id=2)
    after = _facts()

    assert after == _truth(srv, sample_rates) and after != before
    log = list(Restatement.objects.filter(platform="ga4"))
    assert log and all(e.date_day >= TODAY - timedelta(days=CONFIG.ga4_processing_days) for e in log)
    for (prop, channel), values in after.items():
        change = sum(
            (
                e.new_value - e.old_value
                for e in log
                if (e.account_id, e.campaign_id, e.metric) == (prop, channel[:64], "sessions")
            ),
            Decimal(0),
        )
        assert change == values["sessions"] - before[(prop, channel)]["sessions"], (prop, channel)


def test_a_rerun_writes_nothing(srv: Any, with_rates: Any) -> None:
    _sync(srv, sync_run_id=1)
    again = _sync(srv, sync_run_id=1)

    assert again["models"]["fct_sessions_daily"]["rows_written"] == 0
    assert again["models"]["stg_ga4__traffic_daily"]["rows_written"] == 0
    assert not Restatement.objects.filter(platform="ga4").exists()


def test_other_and_thresholded_rows_are_flagged_not_dropped(srv: Any, with_rates: Any) -> None:
    srv.state.update_config(ga4_other_row_after=120, ga4_threshold_users=25)
    _sync(srv, sync_run_id=1)

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT bool_or(is_other), bool_and(has_other_row), bool_and(is_thresholded),
                      sum(sessions) FILTER (WHERE is_other) FROM fct_sessions_daily"""
        )
        any_other, all_lost, all_thresholded, other_sessions = cursor.fetchone()
    assert any_other and all_lost and all_thresholded and other_sessions > 0


def test_the_sessions_fact_is_in_the_lineage_graph(srv: Any, with_rates: Any) -> None:
    from warehouse.services import graph

    model = graph.models()["fct_sessions_daily"]
    assert {"stg_ga4__traffic_daily", "stg_ga4__property", "wh_fx_rate"} <= set(model.inputs)
    _sync(srv, sync_run_id=1)
    ran = set(ModelRun.objects.filter(status=ModelRun.Status.SUCCESS).values_list("model", flat=True))
    assert {"stg_ga4__property", "stg_ga4__traffic_daily", "fct_sessions_daily"} <= ran
