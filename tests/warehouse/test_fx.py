"""ECB reference rates: the published formats, loading, the day's rate or the last earlier one
(flagged), missing rates, and recomputing when the reporting currency changes."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from warehouse.models import FxRate, QuarantinedRow, Restatement
from warehouse.services import fx
from warehouse.services.transform import run_window

from .conftest import google_customer, google_daily

pytestmark = pytest.mark.django_db

HIST_CSV = b"""Date,USD,JPY,BGN,CYP,GBP,
2024-01-05,1.0921,158.56,1.9558,N/A,0.86075,
2024-01-04,1.0953,158.17,1.9558,N/A,0.86350,
"""
DAILY_CSV = b"""Date, USD, JPY, BGN, GBP,
05 January 2024, 1.0921, 158.56, 1.9558, 0.86075,
"""
XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <gesmes:subject>Reference rates</gesmes:subject>
  <gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>
  <Cube>
    <Cube time="2024-01-05"><Cube currency="USD" rate="1.0921"/><Cube currency="JPY" rate="158.56"/></Cube>
    <Cube time="2024-01-04"><Cube currency="USD" rate="1.0953"/><Cube currency="JPY" rate="158.17"/></Cube>
  </Cube>
</gesmes:Envelope>
"""


def test_the_ecb_csv_xml_and_zip_formats_parse_to_the_same_rates() -> None:
    hist = fx.fx_rates_parse(HIST_CSV)
    assert fx.FxRateRow("USD", date(2024, 1, 5), Decimal("1.0921")) in hist
    assert not any(r.currency == "CYP" for r in hist), "N/A is no rate"
    assert len(hist) == 8
    daily = fx.fx_rates_parse(DAILY_CSV)
    assert {(r.currency, r.rate) for r in daily} == {(r.currency, r.rate) for r in hist if r.date == date(2024, 1, 5)}
    xml = fx.fx_rates_parse(XML)
    assert {(r.currency, r.date, r.rate) for r in xml} == {
        (r.currency, r.date, r.rate) for r in hist if r.currency in ("USD", "JPY")
    }
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("eurofxref-hist.csv", HIST_CSV)
    assert fx.fx_rates_parse(archive.getvalue()) == hist


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"Day,USD\n2024-01-05,1.1\n", "first column must be 'Date'"),
        (b"Date,USD\n2024-01-05,-1.1\n", "impossible rate"),
        (b"Date,USD\n2024-01-05,abc\n", "unreadable rate"),
        (b"Date,USD\nyesterday,1.1\n", "unreadable date"),
        (b"Date,usd\n2024-01-05,1.1\n", "not a currency code"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>', "DTD"),
        (b"<html><body>maintenance</body></html>", "not an ECB XML file"),
        (b"Date,USD\n", "holds no rates"),
    ],
)
def test_anything_else_is_refused_with_a_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(fx.FxFileError, match=message):
        fx.fx_rates_parse(data)


def test_the_shipped_sample_is_labelled_synthetic_and_parses() -> None:
    readme = (fx.SAMPLE_FILE.parent / "README.md").read_text()
    assert "synthetic" in fx.SAMPLE_FILE.name and "made up" in readme
    rates = fx.fx_rates_read(source=str(fx.SAMPLE_FILE))
    assert {r.currency for r in rates} >= {"USD", "GBP", "JPY", "SEK", "CHF"}
    assert min(r.date for r in rates) <= date(2023, 1, 2) and max(r.date for r in rates) >= date(2027, 12, 1)
    assert all(r.date.weekday() < 5 for r in rates), "TARGET business days only"


def test_a_real_published_excerpt_parses_every_rate_it_holds() -> None:
    """Three days of the ECB's real historical file, all 41 columns (N/A for legacy currencies)."""
    rates = fx.fx_rates_read(source=str(fx.SAMPLE_FILE.parent / "ecb-eurofxref-hist-2019-04-08.csv"))
    by_key = {(r.currency, r.date): r.rate for r in rates}
    assert by_key[("USD", date(2019, 4, 10))] == Decimal("1.1279")
    assert by_key[("GBP", date(2019, 4, 8))] == Decimal("0.86183")
    assert by_key[("IDR", date(2019, 4, 9))] == Decimal("15937.78")
    assert {r.date for r in rates} == {date(2019, 4, 8), date(2019, 4, 9), date(2019, 4, 10)}
    # 41 columns, 9 of them legacy currencies published as N/A
    assert len(rates) == 3 * 32
    assert not {"CYP", "EEK", "LTL", "LVL", "MTL", "ROL", "SIT", "SKK", "TRL"} & {r.currency for r in rates}


def test_loading_is_an_idempotent_upsert(in_workspace: Any, tmp_path: Path) -> None:
    path = tmp_path / "eurofxref-hist.csv"
    path.write_bytes(HIST_CSV)
    first = fx.fx_rates_load(rates=fx.fx_rates_read(source=str(path)))
    assert (first.inserted, first.updated) == (8, 0)
    again = fx.fx_rates_load(rates=fx.fx_rates_read(source=str(path)))
    assert (again.inserted, again.updated, again.changed_from) == (0, 0, None)
    corrected = fx.fx_rates_load(rates=[fx.FxRateRow("USD", date(2024, 1, 4), Decimal("1.0950"))])
    assert (corrected.updated, corrected.changed_from) == (1, date(2024, 1, 4))
    assert FxRate.objects.get(currency="USD", date=date(2024, 1, 4)).rate == Decimal("1.0950")


def test_the_command_loads_a_file_into_the_chosen_schemas(in_workspace: Any, tmp_path: Path) -> None:
    path = tmp_path / "rates.xml"
    path.write_bytes(XML)
    out = io.StringIO()
    schema = in_workspace.schema_name
    call_command("load_fx_rates", file=str(path), schema=[schema], recompute="none", stdout=out)
    assert f"{schema}: 4 rates, 4 new, 0 changed" in out.getvalue()
    connection.set_schema(schema)
    assert FxRate.objects.count() == 4


def _fact(day: date) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT currency, reporting_currency, fx_rate, fx_rate_date, fx_fallback, spend_micros, spend_reporting_micros
                 FROM fct_ad_performance_daily WHERE date_day = %s""",
            [day],
        )
        names = [d[0] for d in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


def _sync(cid: str, day: date, **kwargs: Any) -> None:
    run_window(
        connection_id=1, platform="google_ads", account_ids=[cid], date_from=day, date_to=day, sync_run_id=1, **kwargs
    )


def test_a_day_without_a_published_rate_uses_the_last_earlier_one_and_says_so(in_workspace: Any, land: Any) -> None:
    fx.fx_rates_load(rates=fx.fx_rates_parse(HIST_CSV))
    land("google_ads.customer", [google_customer("1000000001", "USD")])
    saturday, friday = date(2024, 1, 6), date(2024, 1, 5)
    land(
        "google_ads.ad_group_daily",
        [google_daily("1000000001", day, "1", "1", costMicros="10921000") for day in (friday, saturday)],
    )
    run_window(
        connection_id=1,
        platform="google_ads",
        account_ids=["1000000001"],
        date_from=friday,
        date_to=saturday,
        sync_run_id=1,
    )
    on_friday, on_saturday = _fact(friday), _fact(saturday)
    assert (on_friday["fx_rate_date"], on_friday["fx_fallback"]) == (friday, False)
    assert (on_saturday["fx_rate_date"], on_saturday["fx_fallback"]) == (friday, True)
    rate = (Decimal(1) / Decimal("1.0921")).quantize(Decimal("1e-14"))
    assert on_saturday["fx_rate"] == rate
    assert on_saturday["spend_reporting_micros"] == 10_000_000, "10.921 USD at 1.0921 USD/EUR is 10 EUR"


def test_rows_without_any_rate_are_held_back_until_rates_arrive(in_workspace: Any, land: Any) -> None:
    land("google_ads.customer", [google_customer("1000000001", "USD")])
    day = date(2024, 1, 5)
    land("google_ads.ad_group_daily", [google_daily("1000000001", day, "1", "1")])
    _sync("1000000001", day)
    held = QuarantinedRow.objects.get()
    assert held.test == "fx_rate_available" and "load the rates" in held.reason
    loaded = fx.fx_rates_load(rates=fx.fx_rates_parse(HIST_CSV))
    assert loaded.changed_from == date(2024, 1, 4)
    fx.fx_rates_apply(date_from=loaded.changed_from, date_to=loaded.changed_to)
    assert not QuarantinedRow.objects.exists()
    assert _fact(day)["fx_fallback"] is False


def test_changing_the_reporting_currency_recomputes_facts_and_rollups_without_restatements(
    with_rates: Any, land: Any
) -> None:
    day = date(2026, 11, 10)
    land("google_ads.customer", [google_customer("1000000001", "USD"), google_customer("1000000002", "EUR")])
    land(
        "google_ads.ad_group_daily",
        [
            google_daily("1000000001", day, "1", "1", costMicros="20000000"),
            google_daily("1000000002", day, "2", "2", costMicros="30000000"),
        ],
    )
    run_window(
        connection_id=1,
        platform="google_ads",
        account_ids=["1000000001", "1000000002"],
        date_from=day,
        date_to=day,
        sync_run_id=1,
    )
    usd_per_eur = FxRate.objects.get(currency="USD", date=day).rate
    with_rates.reporting_currency = "USD"
    with_rates.save(update_fields=["reporting_currency"])
    fx.reporting_currency_recompute()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT currency, reporting_currency, fx_rate, spend_reporting_micros FROM fct_ad_performance_daily ORDER BY 1"
        )
        eur, usd = cursor.fetchall()
        cursor.execute("SELECT sum(spend_micros) FROM rollup_day_platform")
        rollup_total = cursor.fetchone()[0]
    assert usd == ("USD", "USD", Decimal(1), 20_000_000)
    assert eur[1] == "USD" and eur[2] == usd_per_eur
    assert eur[3] == round(30_000_000 * usd_per_eur)
    assert rollup_total == usd[3] + eur[3]
    assert not Restatement.objects.exists(), "a currency change restates nothing"


def test_the_settings_page_hook_queues_the_recompute_after_commit(
    in_workspace: Any, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from warehouse import tasks

    queued: list[Any] = []
    monkeypatch.setattr(tasks.recompute_reporting_currency, "delay", lambda *a, **k: queued.append(a))
    with django_capture_on_commit_callbacks(execute=True):
        fx.reporting_currency_changed()
        assert not queued
    assert queued == [(in_workspace.schema_name,)]
