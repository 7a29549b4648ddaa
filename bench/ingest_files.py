"""The file-upload path of `bench/ingest.py`: a generated CSV of ad performance, landed by Bosco's
upload path and by a plain COPY of the same file, with the peak memory of Bosco's path.

Runs in a process of its own (`python bench/ingest_files.py --rows N`, started by ingest.py), so
its peak RSS is the upload path's alone, not the rest of the benchmark's. It prints its figures
and ends with one JSON line, like every benchmark.

  (f) plain COPY: PostgreSQL parses the CSV itself (`COPY … FROM STDIN (FORMAT csv, HEADER)`) into
      a typed table with the file's columns and a primary key on (date, account, campaign);
  (g) Bosco's upload path for the same file: `upload_create` (store, sniff, preview, mapping
      guess), `upload_check` (every row parsed and checked in Python, the good rows written in
      COPY format to disk) and `upload_land` (delete the covered days of the source, COPY into a
      temporary table, one INSERT … SELECT grouped by key into `raw_record` with a JSON payload),
      as the worker runs them, minus the Celery hop and the warehouse run queued afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import time
from datetime import date, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from unittest import mock

from _common import emit, machine, setup_django

FIRST_DAY = date(2024, 1, 1)


def generate(path: Path, rows: int, *, seed: int = 5) -> None:
    """rows of (date, account, campaign, spend, impressions, clicks, conversions, value, currency)."""
    rng = random.Random(seed)
    campaigns = max(rows // 700, 10)
    with path.open("w", encoding="utf-8") as out:
        out.write("Date,Account,Campaign,Spend,Impressions,Clicks,Conversions,Conversion value,Currency\n")
        for i in range(rows):
            day = FIRST_DAY + timedelta(days=i // campaigns)
            campaign = i % campaigns
            impressions = rng.randint(100, 50_000)
            clicks = impressions // rng.randint(20, 200)
            out.write(
                f"{day.isoformat()},acct-{campaign % 7},Campaign {campaign:05d},{rng.randint(100, 500_000) / 100:.2f},"
                f"{impressions},{clicks},{clicks // 10},{rng.randint(0, 900_000) / 100:.2f},EUR\n"
            )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    dbname = setup_django("ingest")

    from django.conf import settings
    from django.core.files.uploadedfile import UploadedFile
    from django.db import connection

    from accounts.models import User, Workspace
    from accounts.services import workspace_create
    from uploads import services
    from uploads.models import Upload

    owner = User.objects.filter(email="bench@bosco.local").first() or User.objects.create_user("bench@bosco.local", "x")
    workspace = Workspace.objects.filter(slug="bench-ingest").first() or workspace_create(
        owner=owner, name="Bench ingest", slug="bench-ingest"
    )
    connection.set_tenant(workspace)
    baseline_mb = peak_rss_mb()

    with TemporaryDirectory(prefix="bosco-bench-upload-") as tmp:
        settings.UPLOADS_DIR = Path(tmp) / "uploads"
        csv_path = Path(tmp) / "ads.csv"
        started = time.perf_counter()
        generate(csv_path, args.rows)
        size_mb = csv_path.stat().st_size / 2**20
        print(f"generated {args.rows:,} rows ({size_mb:,.1f} MB) in {time.perf_counter() - started:.1f} s")

        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM raw_record WHERE stream = 'upload.ad_daily'")
            cursor.execute("DROP TABLE IF EXISTS bench_upload_copy")
            cursor.execute(
                "CREATE TABLE bench_upload_copy (date date, account text, campaign text, spend numeric,"
                " impressions bigint, clicks bigint, conversions numeric, value numeric, currency text,"
                " PRIMARY KEY (date, account, campaign))"
            )
        try:
            started = time.perf_counter()
            with (
                connection.cursor() as cursor,
                csv_path.open("rb") as handle,
                cursor.cursor.copy("COPY bench_upload_copy FROM STDIN (FORMAT csv, HEADER)") as copy,
            ):
                while chunk := handle.read(1 << 20):
                    copy.write(chunk)
            copy_s = time.perf_counter() - started
        finally:
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS bench_upload_copy")

        land_s: list[float] = []
        real_land = services.upload_land

        def timed_land(*, upload_id: int) -> str:
            began = time.perf_counter()
            try:
                return real_land(upload_id=upload_id)
            finally:
                land_s.append(time.perf_counter() - began)

        with (
            csv_path.open("rb") as handle,
            mock.patch("uploads.services.enqueue"),
            mock.patch("uploads.services.enqueue_upload_transform"),
            mock.patch("uploads.services.upload_land", timed_land),
        ):
            started = time.perf_counter()
            # a file on disk read in chunks, as Django's TemporaryUploadedFile is for a large upload
            file = UploadedFile(handle, name="ads.csv", size=csv_path.stat().st_size)
            upload = services.upload_create(
                kind="ad_performance", source_name="Bench", file=file, default_currency="EUR", user_id=None
            )
            create_s = time.perf_counter() - started
            services.upload_mapping_set(
                upload=upload,
                mapping=upload.mapping,
                date_order=upload.date_order,
                decimal_mark=".",
                default_currency="EUR",
            )
            started = time.perf_counter()
            outcome = services.upload_check(upload_id=upload.pk)  # lands at once: every row is good
            check_land_s = time.perf_counter() - started
        upload = Upload.objects.get(pk=upload.pk)
        assert outcome == "landed" and upload.rows_landed == args.rows, (outcome, upload.status, upload.errors[:3])
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM raw_record WHERE stream = 'upload.ad_daily'")
            landed = cursor.fetchone()[0]
            cursor.execute("DELETE FROM raw_record WHERE stream = 'upload.ad_daily'")
        Upload.objects.filter(pk=upload.pk).delete()
    peak_mb = peak_rss_mb()

    bosco_s = create_s + check_land_s
    f, g = args.rows / copy_s, args.rows / bosco_s
    print(f"(f) plain COPY of the CSV into a typed, keyed table:        {f:>9,.0f} rows/s  ({copy_s:.1f} s)")
    print(
        f"(g) Bosco's upload path (store, check every row, land):     {g:>9,.0f} rows/s  ({bosco_s:.1f} s)   g/f = {g / f:.2f}"
    )
    print(
        f"    of which store + preview {create_s:.1f} s, check {check_land_s - land_s[0]:.1f} s,"
        f" land {land_s[0]:.1f} s; {landed:,} raw records"
    )
    print(f"    peak RSS {peak_mb:,.0f} MB (after Django set-up {baseline_mb:,.0f} MB) for a {size_mb:,.0f} MB file")
    emit(
        {
            "bench": "ingest_files",
            "rows": args.rows,
            "file_mb": round(size_mb, 1),
            "file_copy_rows_per_s": round(f),
            "file_upload_rows_per_s": round(g),
            "ratio_g_f": round(g / f, 3),
            "file_copy_s": round(copy_s, 3),
            "file_upload_store_s": round(create_s, 3),
            "file_upload_check_s": round(check_land_s - land_s[0], 3),
            "file_upload_land_s": round(land_s[0], 3),
            "file_upload_peak_rss_mb": round(peak_mb, 1),
            "file_upload_baseline_rss_mb": round(baseline_mb, 1),
            "database": dbname,
            "machine": machine(),
            "load_average": list(os.getloadavg()),
        }
    )


if __name__ == "__main__":
    main()
