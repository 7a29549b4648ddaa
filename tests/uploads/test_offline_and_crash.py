"""Offline conversions add to their campaign's day; a worker killed mid-check or mid-landing restarts
cleanly without duplicates."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.db.models import Sum

from bosco.queues import GROUPS
from tests.uploads.conftest import uploaded, wait_for
from tests.warehouse.conftest import google_customer, google_daily
from uploads import services
from uploads.models import Upload
from warehouse.models import AdPerformanceDaily, RawRecord, TransformRun
from warehouse.services.landing import RawRow, raw_records_land
from warehouse.services.transform import run_full

CID = "1234567890"
ROOT = Path(__file__).resolve().parents[2]


def _google_campaign_days() -> None:
    rows = [google_customer(CID, "EUR", "Europe/Berlin")]
    daily = [
        google_daily(
            CID, date(2026, 11, d), "111", "9001", costMicros="20000000", conversions=2.0, conversionsValue=50.0
        )
        for d in (1, 2)
    ]
    for stream, batch in (("google_ads.customer", rows), ("google_ads.ad_group_daily", daily)):
        raw_records_land(
            stream=stream,
            connection_id=1,
            sync_run_id=1,
            rows=[RawRow(record_key=k, account_id=a, date=d, payload=p) for k, a, d, p in batch],
        )
    run_full(platforms=["google_ads"])


def _campaign_day(day: date) -> dict[str, Any]:
    return AdPerformanceDaily.objects.filter(platform="google_ads", campaign_id="111", date_day=day).aggregate(
        spend=Sum("spend_micros"), conversions=Sum("conversions_micros"), value=Sum("conversions_value_micros")
    )


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_offline_conversions_add_to_the_matching_campaign_day(celery_worker, ws) -> None:
    _google_campaign_days()
    before = _campaign_day(date(2026, 11, 1))
    assert before == {"spend": 20_000_000, "conversions": 2_000_000, "value": 50_000_000}
    content = (
        "Date,Campaign,Conversions,Value,Currency,GCLID\n"
        '2026-11-01,111,3,"1.200,00",EUR,abc\n'
        "2026-11-01,111,1,10,EUR,def\n"  # same campaign and day: summed
        "2026-11-01,no such campaign,1,10,EUR,x\n"
        "2026-11-01,111,1,10,USD,y\n"
    )
    upload = services.upload_create(
        kind="offline_conversions",
        source_name="CRM",
        file=uploaded("crm.csv", content),
        default_currency="EUR",
        user_id=None,
    )
    assert upload.mapping == {"date": 0, "campaign": 1, "conversions": 2, "value": 3, "currency": 4, "click_id": 5}
    runs = TransformRun.objects.count()
    services.upload_mapping_set(
        upload=upload, mapping=upload.mapping, date_order="ymd", decimal_mark=",", default_currency="EUR"
    )
    upload = wait_for(lambda: Upload.objects.filter(pk=upload.pk, status="needs_decision").first())
    assert [m for _, m in upload.errors] == [
        "Campaign: no synced campaign is named or numbered 'no such campaign'",
        "Currency: the value is in USD but campaign '111' reports in EUR",
    ]
    services.upload_skips_accept(upload=upload)
    wait_for(lambda: TransformRun.objects.filter(status="success").count() > runs, what="the warehouse run")
    after = _campaign_day(date(2026, 11, 1))
    assert after == {"spend": 20_000_000, "conversions": 6_000_000, "value": 1_260_000_000}
    offline = AdPerformanceDaily.objects.get(platform="google_ads", campaign_id="111", ad_group_id="offline:upload_crm")
    assert (offline.impressions, offline.clicks, offline.spend_micros) == (0, 0, 0)
    assert _campaign_day(date(2026, 11, 2))["conversions"] == 2_000_000  # other days untouched
    # A Google sync's window run keeps the offline row (the fact reads the upload staging too).
    run_full(platforms=["google_ads"])
    assert _campaign_day(date(2026, 11, 1))["conversions"] == 6_000_000


# --------------------------------------------------------------------------- killed workers


def _queues(base: str) -> str:
    return ",".join([base, *(f"{base}.{group}" for group in GROUPS)])


@pytest.mark.slow
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_check_restarts_cleanly_without_duplicates(ws, uploads_dir, request) -> None:
    from bosco.celery import app
    from tests.conftest import test_database_url

    queue = f"bosco-test-upload-kill-{uuid.uuid4().hex[:8]}"
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    request.addfinalizer(lambda: setattr(app.conf, "task_default_queue", previous))
    env = dict(os.environ)
    env.update(
        DATABASE_URL=test_database_url(),
        REDIS_URL=django_settings.REDIS_URL,
        BOSCO_CELERY_QUEUE=queue,
        DJANGO_SETTINGS_MODULE="bosco.settings.test",
        UPLOADS_DIR=str(uploads_dir),
        CELERY_VISIBILITY_TIMEOUT="3",  # a dead worker's unacked task comes back after 3 s
    )
    rows = 150_000
    lines = ["Date,Campaign,Spend,Impressions"] + [
        f"2026-{1 + i % 12:02d}-{1 + i % 28:02d},C{i % 997},{i % 50}.25,{i}" for i in range(rows)
    ]
    upload = services.upload_create(
        kind="ad_performance",
        source_name="Big",
        file=uploaded("big.csv", "\n".join(lines) + "\n"),
        default_currency="EUR",
        user_id=None,
    )

    def start() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "bosco", "worker", "-Q", _queues(queue), "--concurrency", "1",
             "--pool", "prefork", "-l", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    worker = start()
    try:
        services.upload_mapping_set(
            upload=upload, mapping=upload.mapping, date_order="ymd", decimal_mark=".", default_currency="EUR"
        )
        # Kill the whole worker while it is part-way through the rows.
        wait_for(lambda: Upload.objects.filter(pk=upload.pk, attempts__gte=1).exists(), 60, "the check to start")
        time.sleep(1.0)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(10)
        assert Upload.objects.get(pk=upload.pk).status == "checking"
        assert not RawRecord.objects.filter(stream="upload.ad_daily").exists()
        worker = start()  # the broker gives the unacknowledged task to the new worker
        done = wait_for(
            lambda: Upload.objects.filter(pk=upload.pk, status="landed").first(), 240, "the restarted check"
        )
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(30)
    assert done.attempts == 0 and done.rows_valid == rows
    distinct_keys = len({(line.split(",")[0], line.split(",")[1]) for line in lines[1:]})
    assert RawRecord.objects.filter(stream="upload.ad_daily").count() == done.rows_landed == distinct_keys
    spend = sum(float(line.split(",")[2]) for line in lines[1:])
    landed = sum(r.payload["spend_micros"] for r in RawRecord.objects.filter(stream="upload.ad_daily")) / 1e6
    assert abs(landed - spend) < 0.01  # every row once: nothing lost, nothing twice
    connection.set_tenant(ws)
