"""Crashes at every page, and deliveries in any order: the raw table always ends as the clean run's.

A crash is simulated in-process with a BaseException the engine does not handle (like a killed
process, the run stays "running" and the lock goes with the session); the real SIGKILL of a
Celery worker is in test_worker.py.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from connectors import windows
from connectors.models import StreamCursor, SyncRun
from connectors.sync import engine, run_execute
from tests.connectors.conftest import (
    GA4_USD,
    GOOGLE_EUR,
    META_USD,
    TIKTOK_USD,
    TODAY,
    raw_daily,
    raw_table_snapshot,
    truth_daily,
)

pytestmark = pytest.mark.django_db

SINCE = TODAY - timedelta(days=59)


class Crash(BaseException):
    """Not an Exception: nothing in Bosco catches it, as nothing survives a SIGKILL."""


def _reset_world(emulator) -> None:
    from warehouse.models import RawRecord

    RawRecord.objects.all().delete()
    StreamCursor.objects.all().delete()
    SyncRun.objects.all().delete()


def _crash_after_commit(monkeypatch, k: int, *, inside: bool) -> dict[str, int]:
    """Crash once page k+1 is landed: after its transaction commits, or (`inside`) before it does."""
    seen = {"pages": 0}
    original = engine.SyncEngine._commit_page

    def commit(self, cursor, stream, page, *, account):
        if inside and seen["pages"] == k:
            original_land = engine.raw_records_land

            def land_then_crash(**kwargs):
                original_land(**kwargs)
                raise Crash(f"killed inside page transaction {k + 1}")

            monkeypatch.setattr(engine, "raw_records_land", land_then_crash)
        original(self, cursor, stream, page, account=account)
        seen["pages"] += 1
        if not inside and seen["pages"] == k + 1:
            raise Crash(f"killed after page {k + 1}")

    monkeypatch.setattr(engine.SyncEngine, "_commit_page", commit)
    return seen


def _assert_cursors_never_ahead(emulator, platform: str) -> None:
    """Every day a cursor calls done has all its rows landed: the cursor is never ahead of the data."""
    for cursor in StreamCursor.objects.filter(stream__endswith="_daily", run__isnull=False):
        ranges = windows.from_json(cursor.plan.get("ranges"))
        for start, end in windows.done_spans(ranges, cursor.position):
            account = cursor.account_id.removeprefix("act_")
            landed = raw_daily(cursor.stream, cursor.account_id, start, end)
            assert landed == truth_daily(emulator, platform, account, start, end), f"{cursor} is ahead of its data"


@pytest.mark.parametrize(
    ("platform", "account"),
    [("google_ads", GOOGLE_EUR), ("meta", META_USD), ("tiktok", TIKTOK_USD), ("ga4", GA4_USD)],
)
def test_a_crash_after_every_page_then_a_rerun_gives_exactly_the_clean_rows(
    tenant, emulator, connect, new_run, handoffs, monkeypatch, settings, platform, account
) -> None:
    if platform == "ga4":
        # GA4 asks for a chunk's later pages five at a time: small pages make several batches.
        settings.CONNECTORS_GA4_PAGE_SIZE = 25
    connection = connect(platform, accounts=[account], backfill_days=40)
    clean_run = new_run(connection)
    assert run_execute(run_id=clean_run.pk) == "succeeded"
    clean = raw_table_snapshot()
    clean_run.refresh_from_db()
    pages = clean_run.pages
    assert pages >= 7, "enough pages to crash between: snapshots, then two date chunks of several pages"

    for k in range(pages):
        for inside in (False, True):
            _reset_world(emulator)
            with monkeypatch.context() as patch:
                _crash_after_commit(patch, k, inside=inside)
                run = new_run(connection)
                with pytest.raises(Crash):
                    run_execute(run_id=run.pk)
            run.refresh_from_db()
            assert run.status == SyncRun.Status.RUNNING, "a killed run is left running, to be resumed"
            assert run.pages == (k if inside else k + 1), "the page in flight is all or nothing"
            assert len(raw_table_snapshot()) == run.rows
            _assert_cursors_never_ahead(emulator, platform)
            # The redelivered task (or the stale-run rescue) executes the same run again.
            assert run_execute(run_id=run.pk) == "succeeded"
            assert raw_table_snapshot() == clean, f"crash after page {k} (inside={inside}) changed the result"
            run.refresh_from_db()
            assert run.attempts == 2 and run.progress_percent == 100.0


def test_a_run_killed_too_often_ends_as_failed_instead_of_looping(
    tenant, emulator, connect, new_run, handoffs, settings
) -> None:
    settings.CONNECTORS_MAX_TASK_ATTEMPTS = 3
    run = new_run(connect("google_ads", accounts=[GOOGLE_EUR]))
    SyncRun.objects.filter(pk=run.pk).update(attempts=3, status=SyncRun.Status.RUNNING)
    assert run_execute(run_id=run.pk) == SyncRun.Status.FAILED
    run.refresh_from_db()
    assert run.error_code == "worker_lost" and "stopped unexpectedly 3 times" in run.error_message


# ---------------------------------------------------------------------------------------------
# Overlapping, duplicated and reordered deliveries through the real landing path
_PAGE_CACHE: dict[tuple[str, date, date], list[list[Any]]] = {}


def _pages_for(emulator, window: tuple[date, date]) -> list[list[Any]]:
    """The pages the Google Ads client reads for a window (cached: the emulator is deterministic)."""
    from connectors.oauth import StaticTokens
    from connectors.platforms.google_ads import AD_GROUP_DAILY, GoogleAdsClient

    key = (emulator.base_url, *window)
    if key not in _PAGE_CACHE:
        token = emulator.state.issue_tokens("google_ads")["access_token"]
        client = GoogleAdsClient(tokens=StaticTokens(token, "google_ads"))
        pages, page_token = [], ""
        while True:
            page = client.fetch_page(
                stream=AD_GROUP_DAILY,
                account_id=GOOGLE_EUR,
                date_from=window[0],
                date_to=window[1],
                page_token=page_token,
                job_id="",
            )
            pages.append(page.rows)
            if not page.next_token:
                break
            page_token = page.next_token
        client.close()
        _PAGE_CACHE[key] = pages
    return _PAGE_CACHE[key]


day_offsets = st.integers(min_value=0, max_value=59)
windows_strategy = st.lists(st.tuples(day_offsets, st.integers(min_value=0, max_value=25)), min_size=1, max_size=6)


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spans=windows_strategy, seed=st.integers(min_value=0, max_value=2**32 - 1), duplicate=st.floats(0, 0.5))
def test_overlapping_duplicated_and_reordered_windows_land_the_clean_result(
    tenant, emulator, spans, seed, duplicate
) -> None:
    from warehouse.services.landing import raw_records_land

    rng = random.Random(seed)
    deliveries: list[list[Any]] = []
    days: set[date] = set()
    for offset, length in spans:
        start = SINCE + timedelta(days=offset)
        end = min(TODAY, start + timedelta(days=length))
        days.update(start + timedelta(days=i) for i in range((end - start).days + 1))
        for page in _pages_for(emulator, (start, end)):
            deliveries.append(page)
            if rng.random() < duplicate:
                deliveries.append(page)  # a page delivered twice (a retry after a lost ack)
    rng.shuffle(deliveries)  # windows and pages in any order
    with transaction.atomic():
        for run_id, page in enumerate(deliveries, start=1):
            if page:
                raw_records_land(stream="google_ads.ad_group_daily", connection_id=1, sync_run_id=run_id, rows=page)
        landed = raw_daily("google_ads.ad_group_daily", GOOGLE_EUR, SINCE, TODAY)
        expected = {
            k: v
            for k, v in truth_daily(emulator, "google_ads", GOOGLE_EUR, SINCE, TODAY).items()
            if date.fromisoformat(k[0]) in days
        }
        assert landed == expected
        from warehouse.models import RawRecord

        assert RawRecord.objects.count() == len(expected), "no duplicates"
        transaction.set_rollback(True)
