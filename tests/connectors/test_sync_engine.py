"""The sync engine against the emulators over real HTTP: backfill, scheduled re-reads, restatement, hand-off."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import psycopg
import pytest

from connectors.models import Connection, StreamCursor, SyncRun
from connectors.sync import run_execute
from tests.connectors.conftest import (
    GOOGLE_EUR,
    GOOGLE_USD,
    META_JPY,
    META_USD,
    TIKTOK_EUR,
    TIKTOK_USD,
    TODAY,
    raw_daily,
    raw_table_snapshot,
    truth_daily,
)

pytestmark = pytest.mark.django_db

SINCE = TODAY - timedelta(days=59)
PLATFORMS = [
    ("google_ads", "google_ads.ad_group_daily", [GOOGLE_EUR, GOOGLE_USD]),
    ("meta", "meta.adset_daily", [META_USD, META_JPY]),
    ("tiktok", "tiktok.adgroup_daily", [TIKTOK_USD, TIKTOK_EUR]),
]


def _account(platform: str, account: str) -> str:
    return f"act_{account}" if platform == "meta" else account


def assert_matches_truth(
    emulator, platform: str, stream: str, accounts: list[str], since: date = SINCE, until: date = TODAY
) -> None:
    for account in accounts:
        raw = raw_daily(stream, _account(platform, account), since, until)
        truth = truth_daily(emulator, platform, account, since, until)
        assert raw, f"nothing landed for {account}"
        assert raw == truth, f"{platform} {account}: landed rows differ from the platform's truth"


@pytest.mark.parametrize(("platform", "stream", "accounts"), PLATFORMS)
def test_backfill_lands_exactly_what_the_platform_reports(
    tenant, emulator, connect, new_run, handoffs, platform, stream, accounts
) -> None:
    connection = connect(platform)
    run = new_run(connection, "backfill")

    assert run_execute(run_id=run.pk) == "succeeded"

    run.refresh_from_db()
    assert_matches_truth(emulator, platform, stream, accounts)
    assert (run.window_start, run.window_end) == (SINCE, TODAY)
    assert run.progress_percent == 100.0
    assert run.rows == run.rows_inserted > 0 and run.rows_updated == 0
    assert run.pages > 0 and run.api_calls >= run.pages and run.retries == 0
    assert run.duration_seconds > 0 and run.error_message == ""
    # Entity snapshots keep every field the platform sent, including ones Bosco does not use yet.
    from warehouse.models import RawRecord

    entity_stream = f"{platform}.campaign"
    campaign = RawRecord.objects.filter(stream=entity_stream).first()
    assert campaign is not None and campaign.date is None
    expected_fields = {
        "google_ads": {"campaign"},
        "meta": {"id", "name", "objective", "effective_status", "daily_budget"},
        "tiktok": {"campaign_id", "campaign_name", "objective_type", "operation_status", "secondary_status"},
    }[platform]
    assert expected_fields <= set(campaign.payload)
    # The warehouse hears about the landed window, once, in the finishing transaction.
    assert handoffs == [
        {
            "connection_id": connection.pk,
            "platform": platform,
            "account_ids": sorted(_account(platform, a) for a in accounts),
            "date_from": SINCE,
            "date_to": TODAY,
            "sync_run_id": run.pk,
            # when the run began reading: days over in an account's zone by then were read whole
            "synced_from": run.started_at,
        }
    ]
    assert run.started_at is not None
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE
    assert connection.last_success_at is not None and connection.next_sync_at > connection.last_success_at


def test_meta_rows_keep_actions_and_their_values(tenant, emulator, connect, new_run, handoffs) -> None:
    from warehouse.models import RawRecord

    run_execute(run_id=new_run(connect("meta")).pk)
    rows = RawRecord.objects.filter(stream="meta.adset_daily", account_id=f"act_{META_JPY}")
    with_purchases = [r for r in rows if any(a["action_type"] == "purchase" for a in r.payload.get("actions", []))]
    assert with_purchases, "some ad set days have purchases"
    sample = with_purchases[0].payload
    assert {"actions", "action_values", "spend", "account_currency", "date_start", "date_stop"} <= set(sample)
    assert sample["account_currency"] == "JPY" and "." not in sample["spend"]  # JPY has no minor unit
    assert (
        with_purchases[0].record_key
        == f"act_{META_JPY}|{sample['date_start']}|{sample['campaign_id']}|{sample['adset_id']}"
    )


def test_backfill_reads_newest_chunks_first(tenant, emulator, connect, new_run, handoffs, monkeypatch) -> None:
    from connectors.sync import engine

    order: list[tuple[str, date, date]] = []
    original = engine.SyncEngine._read_chunk

    def spy(self, cursor, stream, account):
        order.append((cursor.account_id, cursor.chunk_from, cursor.chunk_to))
        return original(self, cursor, stream, account)

    monkeypatch.setattr(engine.SyncEngine, "_read_chunk", spy)
    run_execute(run_id=new_run(connect("google_ads")).pk)

    ends = [chunk_to for _, _, chunk_to in order]
    assert ends == sorted(ends, reverse=True), "chunks go newest first across accounts"
    assert {account for account, _, _ in order} == {GOOGLE_EUR, GOOGLE_USD}
    assert order[0][2] == TODAY and order[-1][1] == SINCE
    assert all((b - a).days + 1 <= 20 for _, a, b in order)


def test_scheduled_sync_rereads_the_lookback_window_plus_new_days(
    tenant, emulator, connect, new_run, handoffs, settings
) -> None:
    connection = connect("google_ads", accounts=[GOOGLE_EUR], backfill_days=60)
    run_execute(run_id=new_run(connection, "backfill").pk)
    later = TODAY + timedelta(days=3)
    emulator.state.update_config(today=later)
    settings.CONNECTORS_FIXED_TODAY = later.isoformat()

    run = new_run(connection, "scheduled")
    assert run_execute(run_id=run.pk) == "succeeded"

    run.refresh_from_db()
    assert (run.window_start, run.window_end) == (TODAY - timedelta(days=29), later)
    cursor = StreamCursor.objects.get(connection=connection, account_id=GOOGLE_EUR, stream="google_ads.ad_group_daily")
    assert (cursor.covered_from, cursor.covered_to) == (SINCE, later)
    assert_matches_truth(emulator, "google_ads", "google_ads.ad_group_daily", [GOOGLE_EUR], SINCE, later)


def test_a_paused_connection_resumes_with_every_day_it_missed(
    tenant, emulator, connect, new_run, handoffs, settings
) -> None:
    connection = connect("meta", accounts=[META_USD], backfill_days=120)
    settings.CONNECTORS_CHUNK_DAYS = {"google_ads": 60, "meta": 60}
    run_execute(run_id=new_run(connection).pk)
    later = TODAY + timedelta(days=45)  # longer than the 28-day lookback
    emulator.state.update_config(today=later)
    settings.CONNECTORS_FIXED_TODAY = later.isoformat()

    run = new_run(connection)
    run_execute(run_id=run.pk)

    run.refresh_from_db()
    # The days that were still settling (the lookback window as of the last sync) are read again.
    assert (run.window_start, run.window_end) == (TODAY - timedelta(days=27), later)
    assert_matches_truth(emulator, "meta", "meta.adset_daily", [META_USD], TODAY - timedelta(days=119), later)


@pytest.mark.parametrize(("platform", "stream", "accounts"), PLATFORMS)
def test_after_a_restatement_the_next_sync_matches_the_platform_again(
    tenant, emulator, connect, new_run, handoffs, platform, stream, accounts
) -> None:
    connection = connect(platform)
    run_execute(run_id=new_run(connection, "backfill").pk)
    before = raw_daily(stream, _account(platform, accounts[0]), SINCE, TODAY)

    emulator.state.restate(platform, steps=2)
    assert truth_daily(emulator, platform, accounts[0], SINCE, TODAY) != before, "the emulator restated recent days"
    run = new_run(connection, "scheduled")
    run_execute(run_id=run.pk)

    run.refresh_from_db()
    assert run.rows_updated > 0
    assert_matches_truth(emulator, platform, stream, accounts)
    lookback = {"google_ads": 30, "meta": 28, "tiktok": 7}[platform]
    assert handoffs[-1]["date_from"] == TODAY - timedelta(days=lookback - 1)
    assert handoffs[-1]["date_to"] == TODAY


def test_resyncing_unchanged_data_changes_nothing(tenant, emulator, connect, new_run, handoffs) -> None:
    connection = connect("google_ads")
    run_execute(run_id=new_run(connection).pk)
    first = raw_table_snapshot()

    run = new_run(connection)
    run_execute(run_id=run.pk)

    run.refresh_from_db()
    assert raw_table_snapshot() == first
    assert run.rows > 0 and run.rows_inserted == 0 and run.rows_updated == 0
    assert len(handoffs) == 1, "nothing changed, so the warehouse is not asked to rebuild anything"
    # …but it hears when the accounts were read whole, or an account without delivery looks stale
    from warehouse.models import TransformRun

    read = TransformRun.objects.get(kind=TransformRun.Kind.READ)
    assert (read.sync_run_id, read.synced_from, read.status) == (run.pk, run.started_at, "success")
    assert read.platforms == ["google_ads"] and read.account_ids


def test_a_second_task_for_a_busy_connection_is_a_no_op(tenant, emulator, connect, new_run, handoffs) -> None:
    from connectors.sync.runs import _lock_key

    connection = connect("google_ads")
    run = new_run(connection)
    with other_session() as other:
        # Another worker (another database session) is syncing this connection.
        other.execute("SELECT pg_advisory_lock(%s, %s)", _lock_key(connection.pk))
        assert run_execute(run_id=run.pk) == "busy"
        other.execute("SELECT pg_advisory_unlock(%s, %s)", _lock_key(connection.pk))
    run.refresh_from_db()
    assert run.status == SyncRun.Status.QUEUED and run.attempts == 0
    assert emulator.state.stats()["requests"] == {}, "the second task never called the platform"
    # Once the other worker let go, the same task goes ahead.
    assert run_execute(run_id=run.pk) == "succeeded"


@contextmanager
def other_session() -> Iterator[psycopg.Connection]:
    """A second database session, as another worker process would have."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    with psycopg.connect(
        host=db["HOST"] or db.get("OPTIONS", {}).get("host"),  # TCP, or the embedded server's socket
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=True,
    ) as conn:
        yield conn


def test_only_one_active_run_per_connection_at_database_level(tenant, emulator, connect, new_run) -> None:
    from django.db import IntegrityError, transaction

    connection = connect("google_ads")
    new_run(connection)
    with pytest.raises(IntegrityError), transaction.atomic():
        new_run(connection)


def test_pausing_stops_a_run_after_its_current_page_and_keeps_the_data(
    tenant, emulator, connect, new_run, handoffs, monkeypatch
) -> None:
    from connectors import services
    from connectors.sync import engine

    connection = connect("google_ads")
    run = new_run(connection)
    pages = {"n": 0}
    original = engine.SyncEngine._commit_page

    def pause_after_three(self, *args, **kwargs):
        original(self, *args, **kwargs)
        pages["n"] += 1
        if pages["n"] == 3:
            services.connection_pause(connection=connection)

    monkeypatch.setattr(engine.SyncEngine, "_commit_page", pause_after_three)
    assert run_execute(run_id=run.pk) == "cancelled"

    run.refresh_from_db()
    assert run.pages == 3 and "paused" in run.note.lower()
    from warehouse.models import RawRecord

    assert RawRecord.objects.count() == run.rows > 0
