"""Ingestion speed: Bosco's raw landing path and a full sync, against PostgreSQL's own COPY.

Prints rows/s for
  (a) a plain COPY of N parsed rows into a table of the raw table's shape (same columns, primary
      key and index), each payload serialised on the way as any COPY of parsed rows must;
  (b) Bosco's landing path (`warehouse.services.landing.raw_records_land`: COPY into a temporary
      table + one set-based upsert) for the same rows into the empty raw table;
  (c) a full sync from the emulator through the sync engine: HTTP to an emulator in its own
      process, parsing, validation, landing page by page with the cursor, run bookkeeping;
with the ratios b/a and c/a, and the Airbyte bridge's records/s against the faker source's own
output rate (bench/ingest_airbyte.py: (d), (e), e/d). For context it also prints the same rows landed again (a lookback
re-read where nothing changed), a COPY of already-serialised payloads into an unindexed table
(the ceiling), and Django's bulk_create of the same rows. The rows are real GoogleAdsRows the
emulator served. Repetitions are interleaved; the figures are medians, ratios of medians.

Then the file upload path (bench/ingest_files.py, in a process of its own): a generated CSV of
1,000,000 rows (--quick: 100,000; --file-rows N), (f) a plain COPY of it against (g) Bosco's
upload path, g/f, and the upload path's peak RSS.
(h) is Shopify's backfill path: a bulk operation's JSONL file (the emulator's, orders and their
line items as `__parentId` lines) parsed, checked whole and landed by Bosco's Shopify client code
(`orders_from_jsonl`, `parse_order`, `raw_records_land`), against (h0) a plain COPY of the same
parsed orders into a table of the raw table's shape; h/h0 is the ratio the Shopify issue asks for
(target ≥ 0.5). `--shopify-only` runs just that part.

    python bench/ingest.py            # about 100k rows, 5 repetitions
    python bench/ingest.py --quick    # about 20k rows, 3 repetitions (well under a minute)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock

from _common import ROOT, emit, machine, setup_django
from ingest_airbyte import bridge_bench

TODAY = date(2026, 11, 20)
STREAM = "google_ads.ad_group_daily"
CID = "1234567890"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--campaigns", type=int, default=None, help="campaigns of the emulated account")
    parser.add_argument("--days", type=int, default=None, help="days of history to sync")
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--file-rows", type=int, default=None, help="rows of the generated CSV (file upload path)")
    parser.add_argument("--shopify-only", action="store_true", help="only (h): the Shopify bulk JSONL path")
    parser.add_argument("--shop-days", type=int, default=None, help="days of store orders in the bulk file")
    args = parser.parse_args()
    campaigns = args.campaigns or (36 if args.quick else 100)
    days = args.days or (365 if args.quick else 730)
    repeat = args.repeat or (3 if args.quick else 5)
    dbname = setup_django("ingest")

    from django.db import connection

    from accounts.models import User, Workspace
    from accounts.services import workspace_create

    owner = User.objects.filter(email="bench@bosco.local").first() or User.objects.create_user("bench@bosco.local", "x")
    workspace = Workspace.objects.filter(slug="bench-ingest").first() or workspace_create(
        owner=owner, name="Bench ingest", slug="bench-ingest"
    )
    connection.set_tenant(workspace)
    _truncate("raw_record", "connectors_connection CASCADE")
    shop_days = args.shop_days or (20 if args.quick else 90)
    if args.shopify_only:
        shop = _shopify_bulk(shop_days, repeat)
        _print_shopify(shop)
        emit(
            {
                "bench": "ingest",
                "quick": args.quick,
                "repeat": repeat,
                **shop,
                "database": dbname,
                "machine": machine(),
                "load_average": list(os.getloadavg()),
            }
        )
        return

    emulator = Emulator(campaigns)
    try:
        sync_rows, sync_seconds = _full_sync(emulator, days)  # (c)
    finally:
        emulator.stop()
    rows = _landed_rows()
    n = len(rows)

    copy_s, text_s, land_s, resync_s, bulk_s = [], [], [], [], []
    _create_copy_tables()
    try:
        for _ in range(repeat):
            copy_s.append(_plain_copy(rows))  # (a)
            land_s.append(_landing(rows, expect_inserted=n))  # (b)
            resync_s.append(_landing(rows, expect_inserted=0, truncate=False))
            text_s.append(_copy_serialised(rows))
        bulk_s.append(_bulk_create(rows))
    finally:
        _truncate("bench_raw_copy", "bench_raw_text")
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_raw_copy, bench_raw_text")

    def rate(samples: list[float]) -> float:
        return n / statistics.median(samples)

    shop = _shopify_bulk(shop_days, repeat)

    a, b, c = rate(copy_s), rate(land_s), sync_rows / sync_seconds
    print(f"rows: {n:,} GoogleAdsRows from the emulator ({days} days, {campaigns} campaigns), {repeat} repetitions")
    print(f"(a) COPY of the parsed rows into a table of the raw table's shape:  {a:>9,.0f} rows/s")
    print(f"(b) Bosco's landing path (COPY to a temp table + set-based upsert): {b:>9,.0f} rows/s   b/a = {b / a:.2f}")
    print(f"(c) full sync from the emulator, HTTP to raw table, page by page:  {c:>9,.0f} rows/s   c/a = {c / a:.2f}")
    print("context:")
    print(f"    the same rows landed again, nothing changed (lookback re-read): {rate(resync_s):>9,.0f} rows/s")
    print(f"    COPY of already-serialised payloads into an unindexed table:    {rate(text_s):>9,.0f} rows/s")
    print(f"    Django bulk_create of the same rows:                            {rate(bulk_s):>9,.0f} rows/s")
    bridge = bridge_bench(quick=args.quick, repeat=min(repeat, 3))  # (d), (e): the Airbyte bridge
    files = _file_path(args.file_rows or (100_000 if args.quick else 1_000_000))
    _print_shopify(shop)
    emit(
        {
            **files,
            "bench": "ingest",
            "quick": args.quick,
            "rows": n,
            "repeat": repeat,
            "copy_rows_per_s": round(a),
            "landing_rows_per_s": round(b),
            "sync_rows_per_s": round(c),
            "ratio_b_a": round(b / a, 3),
            "ratio_c_a": round(c / a, 3),
            "landing_resync_rows_per_s": round(rate(resync_s)),
            "copy_serialised_unindexed_rows_per_s": round(rate(text_s)),
            "bulk_create_rows_per_s": round(rate(bulk_s)),
            "ratio_bulk_create_a": round(rate(bulk_s) / a, 3),
            "copy_s": [round(s, 3) for s in copy_s],
            "landing_s": [round(s, 3) for s in land_s],
            "sync_s": round(sync_seconds, 3),
            **shop,
            "database": dbname,
            "machine": machine(),
            "load_average": list(os.getloadavg()),
            **bridge,
        }
    )


# ---------------------------------------------------------------------------------------------
def _file_path(rows: int) -> dict[str, Any]:
    """(f) plain COPY of a generated CSV and (g) the file upload path, in a process of their own
    so the peak RSS is the upload path's (bench/ingest_files.py); their figures, prefixed."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("ingest_files.py")), "--rows", str(rows)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.strip().splitlines()
    print("file uploads (bench/ingest_files.py):")
    for line in lines[:-1]:
        if line.startswith(("(f)", "(g)", "    ", "generated")):
            print(f"  {line}")
    figures = json.loads(lines[-1])
    return {k: v for k, v in figures.items() if k.startswith("file_") or k == "ratio_g_f"}


SHOP = "bench-store.myshopify.com"


def _shopify_bulk(days: int, repeat: int) -> dict[str, Any]:
    """(h) a Shopify bulk file → Bosco's parse, whole-file check and landing; (h0) COPY of the parsed orders."""
    from zoneinfo import ZoneInfo

    import orjson
    from django.db import connection, transaction
    from django.utils import timezone

    from connectors.platforms import validation as v
    from connectors.platforms.shopify import LABEL, orders_from_jsonl, parse_order
    from devtools.emulators import EmulatorConfig
    from devtools.emulators.shopify_api import bulk_jsonl
    from devtools.emulators.state import EmulatorState
    from warehouse.services.landing import raw_records_land

    state = EmulatorState(EmulatorConfig(today=TODAY))
    since = date.fromordinal(TODAY.toordinal() - days + 1)
    query = f"updated_at:>='{since.isoformat()}T05:00:00Z' AND updated_at:<'{TODAY.isoformat()}T05:00:00Z'"
    data, lines, orders = bulk_jsonl(state, SHOP, query)
    zone = ZoneInfo("America/New_York")
    last = date.fromordinal(TODAY.toordinal() - 1)
    parsed = [(r.record_key, r.account_id, r.date, r.payload) for r in _parse(data, zone, since, last)]
    _create_copy_tables()
    copy_s, copy_fast_s, bosco_s, land_only_s = [], [], [], []
    try:
        for _ in range(repeat):
            _truncate("bench_raw_copy")
            rows = [(k, a, d, p) for k, a, d, p in _parse(data, zone, since, last, tuples=True)]  # parsed, not timed
            started = time.perf_counter()
            with transaction.atomic(), connection.cursor() as cursor:
                fetched_at = timezone.now()
                with cursor.cursor.copy(f"COPY bench_raw_copy ({_COLUMNS}) FROM STDIN") as copy:
                    for key, account, day, payload in rows:
                        copy.write_row(("shopify.order", key, 1, account, day, json.dumps(payload), 1, fetched_at))
            copy_s.append(time.perf_counter() - started)

            # the same COPY serialising with orjson, as Bosco's landing does: the stricter yardstick
            _truncate("bench_raw_copy")
            started = time.perf_counter()
            with transaction.atomic(), connection.cursor() as cursor:
                fetched_at = timezone.now()
                with cursor.cursor.copy(f"COPY bench_raw_copy ({_COLUMNS}) FROM STDIN") as copy:
                    for key, account, day, payload in rows:
                        copy.write_row(
                            ("shopify.order", key, 1, account, day, orjson.dumps(payload).decode(), 1, fetched_at)
                        )
            copy_fast_s.append(time.perf_counter() - started)

            _truncate("raw_record")
            started = time.perf_counter()
            found = orders_from_jsonl(data, where="bench")
            checked = v.rows_of(found, parse_order(SHOP, zone, since, last), where="bench", platform_label=LABEL)
            with transaction.atomic():
                result = raw_records_land(stream="shopify.order", connection_id=1, sync_run_id=1, rows=checked)
            bosco_s.append(time.perf_counter() - started)
            if result.inserted != orders:
                raise RuntimeError(f"unexpected landing result {result} for {orders} orders")

            _truncate("raw_record")
            again = _parse(data, zone, since, last)
            started = time.perf_counter()
            with transaction.atomic():
                raw_records_land(stream="shopify.order", connection_id=1, sync_run_id=1, rows=again)
            land_only_s.append(time.perf_counter() - started)
    finally:
        _truncate("bench_raw_copy", "raw_record")
    h0 = orders / statistics.median(copy_s)
    h0_fast = orders / statistics.median(copy_fast_s)
    h = orders / statistics.median(bosco_s)
    land_only = orders / statistics.median(land_only_s)
    assert len(parsed) == orders
    return {
        "shopify_days": days,
        "shopify_orders": orders,
        "shopify_jsonl_lines": lines,
        "shopify_jsonl_mb": round(len(data) / 1e6, 2),
        "shopify_copy_rows_per_s": round(h0),
        "shopify_bulk_rows_per_s": round(h),
        "shopify_land_only_rows_per_s": round(land_only),
        "shopify_ratio_h_h0": round(h / h0, 3),
        "shopify_ratio_land_only_h0": round(land_only / h0, 3),
        "shopify_copy_orjson_rows_per_s": round(h0_fast),
        "shopify_ratio_h_h0_orjson": round(h / h0_fast, 3),
    }


def _parse(data: bytes, zone: Any, since: date, last: date, *, tuples: bool = False) -> list[Any]:
    from connectors.platforms import validation as v
    from connectors.platforms.shopify import LABEL, orders_from_jsonl, parse_order

    rows = v.rows_of(
        orders_from_jsonl(data, where="bench"),
        parse_order(SHOP, zone, since, last),
        where="bench",
        platform_label=LABEL,
    )
    return [(r.record_key, r.account_id, r.date, r.payload) for r in rows] if tuples else rows


def _print_shopify(shop: dict[str, Any]) -> None:
    print(
        f"shopify: {shop['shopify_orders']:,} orders ({shop['shopify_jsonl_lines']:,} JSONL lines, "
        f"{shop['shopify_jsonl_mb']} MB, {shop['shopify_days']} days)"
    )
    print(
        f"(h0) COPY of the parsed orders into a table of the raw table's shape: {shop['shopify_copy_rows_per_s']:>9,} rows/s"
    )
    print(
        f"(h) bulk JSONL → parse, check the whole file, land (Bosco):         {shop['shopify_bulk_rows_per_s']:>9,} rows/s"
        f"   h/h0 = {shop['shopify_ratio_h_h0']:.2f}"
    )
    print(
        f"    (h0) with orjson serialising the payloads (as the landing does): {shop['shopify_copy_orjson_rows_per_s']:>9,} rows/s"
        f"   h/that = {shop['shopify_ratio_h_h0_orjson']:.2f}"
    )
    print(
        f"    landing alone of the checked orders:                             {shop['shopify_land_only_rows_per_s']:>9,} rows/s"
        f"   /h0 = {shop['shopify_ratio_land_only_h0']:.2f}"
    )


# ---------------------------------------------------------------------------------------------
class Emulator:
    """The platform emulators in a process of their own, as a remote API would be."""

    def __init__(self, campaigns: int) -> None:
        config = {
            "seed": 3,
            "today": TODAY.isoformat(),
            "campaigns_per_account": campaigns,
            "ad_groups_per_campaign_min": 2,
            "ad_groups_per_campaign_max": 4,
            "google_accounts": [
                {
                    "account_id": CID,
                    "name": "Bench DE",
                    "currency": "EUR",
                    "time_zone": "Europe/Berlin",
                    "country": "DE",
                }
            ],
        }
        self.config_file = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)  # noqa: SIM115
        json.dump(config, self.config_file)
        self.config_file.close()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devtools.emulators", "--port", str(port), "--config", self.config_file.name],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        match = re.search(r"(http://\S+)", first)
        if not match:
            raise RuntimeError(f"the emulator did not start: {first!r}")
        self.base_url = match.group(1)

    def tokens(self) -> dict[str, Any]:
        import httpx

        return httpx.post(f"{self.base_url}/_emulator/tokens", json={"platform": "google_ads"}, timeout=10).json()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        Path(self.config_file.name).unlink(missing_ok=True)


def _full_sync(emulator: Emulator, days: int) -> tuple[int, float]:
    """Backfill one Google Ads account from the emulator; returns (rows landed, seconds)."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from connectors.models import Connection, ConnectionAccount, SyncRun
    from connectors.sync import run_execute

    settings.BOSCO_EMULATOR_URL = emulator.base_url
    settings.GOOGLE_OAUTH_TOKEN_URL = settings.GOOGLE_ADS_API_URL = ""
    settings.GOOGLE_ADS_CLIENT_ID = "bosco-emulator.apps.googleusercontent.com"
    settings.GOOGLE_ADS_CLIENT_SECRET = "emulator-google-secret"  # noqa: S105 - the emulator's public test secret
    settings.CONNECTORS_FIXED_TODAY = TODAY.isoformat()
    settings.CONNECTORS_CHUNK_DAYS = {"google_ads": 30, "meta": 30}
    tokens = emulator.tokens()
    connection = Connection.objects.create(
        platform="google_ads",
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        token_expires_at=timezone.now() + timedelta(hours=1),
        lookback_days=30,
        backfill_days=days,
    )
    ConnectionAccount.objects.create(
        connection=connection,
        external_id=CID,
        name="Bench DE",
        currency="EUR",
        time_zone="Europe/Berlin",
        selected=True,
    )
    run = SyncRun.objects.create(connection=connection, kind=SyncRun.Kind.BACKFILL)
    # The warehouse's transformation is not ingestion: do not enqueue it.
    with mock.patch("warehouse.services.pipeline.enqueue_window_transform"):
        started = time.perf_counter()
        status = run_execute(run_id=run.pk)
        seconds = time.perf_counter() - started
    run.refresh_from_db()
    if status != "succeeded":
        raise RuntimeError(f"the sync failed: {run.error_message}")
    return run.rows, seconds


def _landed_rows() -> list[tuple[str, str, date | None, dict[str, Any]]]:
    from warehouse.models import RawRecord

    records = RawRecord.objects.filter(stream=STREAM).order_by("date", "record_key")
    return list(records.values_list("record_key", "account_id", "date", "payload"))


def _truncate(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"TRUNCATE {table}")


def _create_copy_tables() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_raw_copy, bench_raw_text")
        cursor.execute("CREATE TABLE bench_raw_copy (LIKE raw_record INCLUDING ALL)")
        cursor.execute("CREATE TABLE bench_raw_text (LIKE raw_record INCLUDING DEFAULTS)")


_COLUMNS = "stream, record_key, connection_id, account_id, date, payload, sync_run_id, fetched_at"


def _plain_copy(rows: list[tuple[str, str, date | None, dict[str, Any]]]) -> float:
    from django.db import connection, transaction
    from django.utils import timezone

    _truncate("bench_raw_copy")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        fetched_at = timezone.now()
        with cursor.cursor.copy(f"COPY bench_raw_copy ({_COLUMNS}) FROM STDIN") as copy:
            for key, account, day, payload in rows:
                copy.write_row((STREAM, key, 1, account, day, json.dumps(payload), 1, fetched_at))
    return time.perf_counter() - started


def _copy_serialised(rows: list[tuple[str, str, date | None, dict[str, Any]]]) -> float:
    from django.db import connection, transaction
    from django.utils import timezone

    texts = [json.dumps(p) for _, _, _, p in rows]  # not timed: the payloads arrive serialised
    _truncate("bench_raw_text")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        fetched_at = timezone.now()
        with cursor.cursor.copy(f"COPY bench_raw_text ({_COLUMNS}) FROM STDIN") as copy:
            for (key, account, day, _), text in zip(rows, texts, strict=True):
                copy.write_row((STREAM, key, 1, account, day, text, 1, fetched_at))
    return time.perf_counter() - started


def _landing(
    rows: list[tuple[str, str, date | None, dict[str, Any]]], *, expect_inserted: int, truncate: bool = True
) -> float:
    from django.db import transaction

    from warehouse.services.landing import RawRow, raw_records_land

    raw_rows = [RawRow(record_key=k, account_id=a, date=d, payload=p) for k, a, d, p in rows]  # the caller's rows
    if truncate:
        _truncate("raw_record")
    started = time.perf_counter()
    with transaction.atomic():
        result = raw_records_land(stream=STREAM, connection_id=1, sync_run_id=2, rows=raw_rows)
    seconds = time.perf_counter() - started
    if result.inserted != expect_inserted or result.received != len(rows):
        raise RuntimeError(f"unexpected landing result {result}")
    return seconds


def _bulk_create(rows: list[tuple[str, str, date | None, dict[str, Any]]]) -> float:
    from django.db import transaction
    from django.utils import timezone

    from warehouse.models import RawRecord

    _truncate("raw_record")
    started = time.perf_counter()
    with transaction.atomic():
        fetched_at = timezone.now()
        RawRecord.objects.bulk_create(
            [
                RawRecord(
                    stream=STREAM,
                    record_key=k,
                    connection_id=1,
                    account_id=a,
                    date=d,
                    payload=p,
                    sync_run_id=1,
                    fetched_at=fetched_at,
                )
                for k, a, d, p in rows
            ],
            batch_size=2000,
        )
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
