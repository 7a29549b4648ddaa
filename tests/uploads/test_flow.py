"""An upload end to end on the real worker: check, land, warehouse; errors, skips, re-uploads, mappings."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from tests.uploads.conftest import CSV_DE, uploaded, wait_for, xlsx_bytes
from uploads import services
from uploads.models import SavedMapping, Upload
from warehouse.models import AdPerformanceDaily, Platform, RawRecord, Restatement, TransformRun
from warehouse.queries import MetricsQuery, metrics_query

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]


def _create(name: str, content: Any, *, source: str = "LinkedIn", kind: str = "ad_performance", **kw: Any) -> Upload:
    return services.upload_create(
        kind=kind, source_name=source, file=uploaded(name, content, **kw), default_currency="EUR", user_id=None
    )


def _confirm(upload: Upload, save_as: str = "", **changes: Any) -> Upload:
    services.upload_mapping_set(
        upload=upload,
        mapping={**upload.mapping, **changes.pop("mapping", {})},
        date_order=changes.pop("date_order", upload.date_order),
        decimal_mark=changes.pop("decimal_mark", upload.decimal_mark),
        default_currency=changes.pop("currency", upload.default_currency),
        encoding=changes.pop("encoding", ""),
        save_as=save_as,
    )
    return upload


def _settled(upload: Upload, status: str = "landed") -> Upload:
    done = wait_for(
        lambda: Upload.objects.filter(pk=upload.pk, status__in=["landed", "needs_decision", "failed"]).first(),
        what=f"upload {upload.pk}",
    )
    assert done.status == status, (done.status, done.error, done.errors[:3])
    return done


def _transformed(runs_before: int) -> None:
    wait_for(
        lambda: TransformRun.objects.filter(status="success").count() > runs_before,
        what="the warehouse run",
    )


def _totals(platform: str) -> dict[str, Any]:
    result = metrics_query(
        MetricsQuery(
            metrics=("spend", "impressions", "clicks", "conversions", "conversion_value"),
            dimensions=("platform",),
            date_from=date(2026, 10, 1),
            date_to=date(2026, 11, 30),
            filters={"platform": (platform,)},
        )
    )
    return result.rows[0] if result.rows else {}


def test_a_clean_german_csv_lands_and_reaches_the_unified_fact(celery_worker, ws) -> None:
    upload = _create("linkedin.csv", CSV_DE)
    assert upload.decimal_mark == ","  # the workspace's number format
    assert set(upload.mapping) == {
        "date",
        "campaign",
        "account",
        "spend",
        "impressions",
        "clicks",
        "conversions",
        "value",
    }
    assert upload.date_order == "ymd"  # dotted dates are always day.month.year
    runs = TransformRun.objects.count()
    _settled(_confirm(upload))
    _transformed(runs)
    assert Platform.objects.get(code="upload_linkedin").name == "LinkedIn (upload)"
    facts = AdPerformanceDaily.objects.filter(platform="upload_linkedin")
    assert facts.count() == 4
    row = facts.get(date_day=date(2026, 11, 1), campaign_id="Brand DE")
    assert (row.spend_micros, row.impressions, row.clicks, row.currency) == (1_234_560_000, 10_000, 250, "EUR")
    assert row.time_zone == "Europe/Berlin"
    totals = _totals("upload_linkedin")
    assert totals["spend"] == Decimal("2384.46")
    assert totals["impressions"] == 28_000
    assert totals["conversion_value"] == Decimal("4600.00")


def test_reuploading_the_same_period_replaces_it_and_logs_the_restatement(celery_worker, ws) -> None:
    runs = TransformRun.objects.count()
    _settled(_confirm(_create("v1.csv", CSV_DE)))
    _transformed(runs)
    second = CSV_DE.replace("1.234,56 €", "1.300,00 €").replace(
        "02.11.2026;Prospecting;LI-1;50,00 €;4.000;60;0;0,00 €\n", ""
    )
    runs = TransformRun.objects.filter(status="success").count()
    upload = _settled(_confirm(_create("v2.csv", second)))
    _transformed(runs)
    assert (upload.rows_replaced, upload.rows_landed) == (4, 3)
    assert RawRecord.objects.filter(stream="upload.ad_daily").count() == 3
    assert AdPerformanceDaily.objects.filter(platform="upload_linkedin").count() == 3
    assert _totals("upload_linkedin")["spend"] == Decimal("2399.90")
    logged = Restatement.objects.filter(platform="upload_linkedin", metric="spend")
    assert {(r.date_day, r.campaign_id, r.old_value, r.new_value) for r in logged} == {
        (date(2026, 11, 1), "Brand DE", Decimal("1234.56"), Decimal("1300.00")),
        (date(2026, 11, 2), "Prospecting", Decimal("50.00"), Decimal("0")),
    }


def test_rows_with_errors_hold_everything_back_until_skipping_is_accepted(celery_worker, ws) -> None:
    content = (
        CSV_DE
        + '03.11.2026;=HYPERLINK("http://evil");LI-1;abc;1;1;0;0\n'
        + "31.02.2026;Brand DE;LI-1;1,00;1;1;0;0\n"
        + "04.11.2026;Brand DE;LI-1;12.5;1;1;0;0\n"
    )
    upload = _settled(_confirm(_create("errors.csv", content)), "needs_decision")
    assert (upload.rows_total, upload.rows_valid, upload.rows_invalid) == (7, 4, 3)
    assert [line for line, _ in upload.errors] == [6, 7, 8]
    assert "Spend: 'abc' is not a number" in upload.errors[0][1]
    assert "not a valid date" in upload.errors[1][1]
    assert "decimal mark" in upload.errors[2][1]
    assert not RawRecord.objects.filter(stream="upload.ad_daily").exists()  # nothing landed yet
    with services.skipped_path(upload.pk).open(encoding="utf-8") as handle:
        skipped = list(csv.reader(handle))
    assert skipped[1][0] == "6" and skipped[1][3] == '\'=HYPERLINK("http://evil")'  # escaped, kept
    services.upload_skips_accept(upload=upload)
    upload = _settled(upload)
    assert upload.rows_landed == 4
    assert RawRecord.objects.filter(stream="upload.ad_daily").count() == 4


def test_a_saved_mapping_is_applied_to_the_next_file_with_the_same_headers(celery_worker, ws) -> None:
    content = "When,What,Money,Seen\n2026-11-01,Brand,10.50,100\n"
    first = _create("odd.csv", content)
    assert "spend" not in first.mapping  # "Money" is nobody's spelling of spend
    _settled(
        _confirm(
            first,
            save_as="Odd export",
            mapping={"date": 0, "campaign": 1, "spend": 2, "impressions": 3},
            decimal_mark=".",
        )
    )
    saved = SavedMapping.objects.get(name="Odd export")
    assert saved.columns == {"date": "When", "campaign": "What", "spend": "Money", "impressions": "Seen"}
    second = _create("odd-december.csv", "When,What,Money,Seen\n2026-12-01,Brand,11.00,90\n")
    assert second.mapping_name == "Odd export"
    assert second.mapping == {"date": 0, "campaign": 1, "spend": 2, "impressions": 3}
    assert second.decimal_mark == "."  # the mapping's, not the workspace's


def test_an_xlsx_workbook_lands_like_a_csv(celery_worker, ws) -> None:
    rows = [["Day", "Campaign", "Spend", "Clicks", "Impressions", "Currency"]]
    rows += [[date(2026, 11, d), f"C{d % 2}", 10.25 * d, d, 100 * d, "EUR"] for d in range(1, 11)]
    upload = _create("report.xlsx", xlsx_bytes(rows), source="Pinterest")
    assert upload.file_format == "xlsx"
    upload = _settled(_confirm(upload))
    assert upload.rows_landed == 10
    assert upload.sources == [["upload_pinterest", "Pinterest"]]


def test_a_disguised_or_empty_file_is_refused_and_nothing_is_kept(ws) -> None:
    with pytest.raises(services.UploadError, match="not an Excel workbook"):
        _create("report.xlsx", CSV_DE)
    with pytest.raises(services.UploadError, match="empty"):
        _create("empty.csv", "")
    with pytest.raises(services.UploadError, match="empty"):
        _create("blank.csv", "\n\n")
    assert not Upload.objects.exists()


def test_a_latin1_file_is_guessed_and_the_encoding_can_be_chosen(celery_worker, ws) -> None:
    content = "Datum;Kampagne;Kosten\n01.11.2026;Café Müller;10,00\n"
    upload = _create("latin.csv", content, encoding="latin-1")
    assert (upload.encoding, upload.encoding_certain) == ("cp1252", False)
    assert upload.preview[0][1] == "Café Müller"
    upload = _settled(_confirm(upload))
    assert AdPerformanceDaily.objects.none() is not None
    assert RawRecord.objects.get(stream="upload.ad_daily").payload["campaign_name"] == "Café Müller"


def test_utf16_with_a_bom_is_read(ws) -> None:
    upload = _create("u16.csv", "Date\tCampaign\tSpend\n2026-11-01\tA\t1.00\n", encoding="utf-16")
    assert upload.encoding == "utf-16" and upload.delimiter == "\t"
    assert upload.preview == [["2026-11-01", "A", "1.00"]]


def test_an_ambiguous_date_order_must_be_chosen(ws) -> None:
    upload = _create("us.csv", "Date,Campaign,Spend\n03/04/2026,A,1.00\n05/06/2026,B,2.00\n")
    assert upload.date_order == ""
    with pytest.raises(services.UploadError, match="day/month"):
        _confirm(upload)
    assert Upload.objects.get(pk=upload.pk).status == "needs_mapping"


def test_duplicated_headers_are_mapped_by_position(celery_worker, ws) -> None:
    upload = _create("dup.csv", "Date,Campaign,Spend,Spend\n2026-11-01,A,1.00,2.00\n")
    assert upload.headers == ["Date", "Campaign", "Spend", "Spend (column 4)"]
    _settled(_confirm(upload, mapping={"spend": 3}, decimal_mark="."))
    assert RawRecord.objects.get(stream="upload.ad_daily").payload["spend_micros"] == 2_000_000
