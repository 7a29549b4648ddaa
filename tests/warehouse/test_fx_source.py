"""Each converted amount says where its rate came from, and the pages say so when it is not the ECB.

The repository's rate sample is synthetic (made-up numbers in the ECB's format); loading it must
never record "ECB", the fact rows carry each rate's real source, and the dashboards and the
settings page say when amounts were converted with rates that are not the ECB's.
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.models import User
from warehouse.models import FxRate
from warehouse.services import fx
from warehouse.services.transform import run_window

from .conftest import google_customer, google_daily

pytestmark = pytest.mark.django_db

DAY = date(2024, 1, 5)
ECB_USD = b"Date,USD,\n2024-01-05,1.0921,\n"
REAL_ECB_FILE = Path(fx.SAMPLE_FILE).parent / "ecb-eurofxref-hist-2019-04-08.csv"


def _made_up_gbp() -> list[fx.FxRateRow]:
    from decimal import Decimal

    return [fx.FxRateRow("GBP", DAY, Decimal("0.8600"))]


def _fact_sources() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT currency, fx_source FROM fct_ad_performance_daily")
        return dict(cursor.fetchall())


def _land_three_currencies(land: Any) -> None:
    accounts = {"1000000001": "USD", "1000000002": "GBP", "1000000003": "EUR"}
    land("google_ads.customer", [google_customer(cid, currency) for cid, currency in accounts.items()])
    land("google_ads.ad_group_daily", [google_daily(cid, DAY, cid[-1], cid[-1]) for cid in accounts])
    run_window(
        connection_id=1,
        platform="google_ads",
        account_ids=list(accounts),
        date_from=DAY,
        date_to=DAY,
        sync_run_id=1,
    )


def test_the_synthetic_sample_is_never_labelled_as_the_ecbs() -> None:
    assert fx.fx_source_label(str(fx.SAMPLE_FILE)) == "synthetic"
    assert fx.fx_source_label(str(REAL_ECB_FILE)) == "ECB"
    assert fx.fx_source_label(fx.ECB_HIST_URL) == "ECB"


def test_the_load_command_records_the_sample_as_synthetic(in_workspace: Any) -> None:
    since = date(2027, 12, 1)  # the sample's last month: enough rows to tell, few to load
    call_command(
        "load_fx_rates",
        file=str(fx.SAMPLE_FILE),
        schema=[in_workspace.schema_name],
        since=since,
        recompute="none",
        stdout=io.StringIO(),
    )
    connection.set_schema(in_workspace.schema_name)
    assert set(FxRate.objects.values_list("source", flat=True)) == {"synthetic"}


def test_each_fact_row_names_the_source_of_its_rate(in_workspace: Any, land: Any) -> None:
    fx.fx_rates_load(rates=fx.fx_rates_parse(ECB_USD), source="ECB")
    fx.fx_rates_load(rates=_made_up_gbp(), source="synthetic")
    _land_three_currencies(land)
    assert _fact_sources() == {"USD": "ECB", "GBP": "synthetic", "EUR": "none"}


def test_reloading_real_rates_relabels_the_facts_they_convert(in_workspace: Any, land: Any) -> None:
    fx.fx_rates_load(rates=_made_up_gbp(), source="synthetic")
    fx.fx_rates_load(rates=fx.fx_rates_parse(ECB_USD), source="ECB")
    _land_three_currencies(land)
    loaded = fx.fx_rates_load(rates=_made_up_gbp(), source="ECB")  # the same numbers, now the ECB's
    assert loaded.updated == 1, "a new source alone is a change worth recording"
    fx.fx_rates_apply(date_from=loaded.changed_from, date_to=loaded.changed_to)
    assert _fact_sources()["GBP"] == "ECB"


def test_the_pages_say_when_amounts_were_not_converted_with_ecb_rates(
    in_workspace: Any, land: Any, workspace_client: Any
) -> None:
    owner = User.objects.get(email="owner@warehouse.example")
    client = workspace_client(owner, in_workspace)
    fx.fx_rates_load(rates=fx.fx_rates_parse(ECB_USD), source="ECB")
    fx.fx_rates_load(rates=_made_up_gbp(), source="ECB")
    _land_three_currencies(land)
    period = f"?period=custom&from={DAY - timedelta(days=1)}&to={DAY}"
    ecb_only = client.get("/channels/" + period).content.decode()
    assert 'id="fx-source-note"' not in ecb_only and "at each day's ECB rate" in ecb_only
    assert "not the ECB's" not in client.get("/settings/").content.decode()

    loaded = fx.fx_rates_load(rates=_made_up_gbp(), source="synthetic")
    fx.fx_rates_apply(date_from=loaded.changed_from, date_to=loaded.changed_to)
    channels = client.get("/channels/" + period).content.decode()
    assert 'id="fx-source-note"' in channels and "synthetic demo rates" in channels
    assert "at each day's ECB rate" not in channels
    overview = client.get("/" + period).content.decode()
    assert 'id="fx-source-note"' in overview
    settings_page = client.get("/settings/").content.decode()
    assert "not the ECB's" in settings_page and "synthetic demo rates" in settings_page
