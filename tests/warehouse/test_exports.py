"""Exports: the unified facts of a date range as streamed CSV and Parquet, exact and complete."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow.parquet as pq
import pytest
from django.db import connection

from devtools.synthetic import SyntheticSpec, synthetic_raw_land
from warehouse.services.exports import COLUMNS, facts_export_csv, facts_export_parquet
from warehouse.services.transform import run_window

pytestmark = pytest.mark.django_db

SPEC = SyntheticSpec(platforms=("google_ads", "meta"), accounts_per_platform=1, campaigns_per_account=3, seed=4)
D1, D2 = date(2026, 10, 1), date(2026, 10, 20)


@pytest.fixture
def facts(with_rates: Any) -> dict[str, Any]:
    synthetic_raw_land(spec=SPEC, date_from=D1, date_to=D2)
    for platform in SPEC.platforms:
        accounts = [a["account_id"] for a in SPEC.accounts() if a["platform"] == platform]
        run_window(connection_id=1, platform=platform, account_ids=accounts, date_from=D1, date_to=D2, sync_run_id=1)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT count(*), sum(spend_micros), sum(spend_reporting_micros), sum(conversions_value_micros)
                 FROM fct_ad_performance_daily WHERE date_day BETWEEN '2026-10-05' AND '2026-10-14'"""
        )
        rows, spend, spend_eur, value = cursor.fetchone()
    return {"rows": rows, "spend": spend, "spend_eur": spend_eur, "value": value}


def test_csv_streams_every_row_with_exact_amounts(facts: dict[str, Any]) -> None:
    chunks = list(facts_export_csv(date_from=date(2026, 10, 5), date_to=date(2026, 10, 14), chunk_bytes=4096))
    assert len(chunks) > 1, "streamed in chunks"
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    assert list(rows[0]) == [name for name, _, _ in COLUMNS]
    assert len(rows) == facts["rows"]
    assert sum(Decimal(r["spend"]) for r in rows) * 1_000_000 == facts["spend"]
    assert sum(Decimal(r["spend_reporting"]) for r in rows) * 1_000_000 == facts["spend_eur"]
    assert {r["reporting_currency"] for r in rows} == {"EUR"}
    assert all(r["campaign_name"] and r["account_name"] for r in rows), "names come with the ids"
    assert rows == sorted(
        rows, key=lambda r: (r["platform"], r["account_id"], r["date_day"], r["campaign_id"], r["ad_group_id"])
    )


def test_parquet_streams_row_groups_with_decimal_money(facts: dict[str, Any]) -> None:
    chunks = list(facts_export_parquet(date_from=date(2026, 10, 5), date_to=date(2026, 10, 14), batch_rows=25))
    assert len(chunks) > 2, "one chunk per row group, then the footer"
    table = pq.read_table(io.BytesIO(b"".join(chunks)))
    assert table.num_rows == facts["rows"]
    assert str(table.schema.field("spend").type) == "decimal128(18, 6)"
    assert sum(table.column("spend").to_pylist()) * 1_000_000 == facts["spend"]
    assert sum(table.column("conversions_value").to_pylist()) * 1_000_000 == facts["value"]
    keys = list(
        zip(
            *(
                table.column(k).to_pylist()
                for k in ("platform", "account_id", "date_day", "campaign_id", "ad_group_id")
            ),
            strict=True,
        )
    )
    assert keys == sorted(keys) and len(set(keys)) == len(keys), "keyset pages neither skip nor repeat rows"


def test_an_empty_range_gives_a_valid_empty_file(facts: dict[str, Any]) -> None:
    csv_text = b"".join(facts_export_csv(date_from=date(2020, 1, 1), date_to=date(2020, 1, 31))).decode()
    assert csv_text.strip() == ",".join(name for name, _, _ in COLUMNS)
    table = pq.read_table(
        io.BytesIO(b"".join(facts_export_parquet(date_from=date(2020, 1, 1), date_to=date(2020, 1, 2))))
    )
    assert table.num_rows == 0 and table.column_names == [name for name, _, _ in COLUMNS]
    with pytest.raises(ValueError, match="after"):
        list(facts_export_csv(date_from=date(2020, 2, 1), date_to=date(2020, 1, 1)))


def test_a_platform_filter_narrows_the_export(facts: dict[str, Any]) -> None:
    rows = list(
        csv.DictReader(io.StringIO(b"".join(facts_export_csv(date_from=D1, date_to=D2, platforms=["meta"])).decode()))
    )
    assert rows and {r["platform"] for r in rows} == {"meta"}
