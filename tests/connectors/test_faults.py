"""Platform faults over real HTTP: throttles, server errors, timeouts, broken bodies, token trouble.

The rule each test checks: a fault is retried boundedly or fails the run visibly with a message a
person can act on; a bad page never lands partly; nothing already stored is lost; a clean rerun
ends with exactly what the platform reports.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.models import Connection, StreamCursor, SyncRun
from connectors.sync import run_execute
from tests.connectors.conftest import GOOGLE_EUR, GOOGLE_USD, META_USD, TODAY, raw_daily, truth_daily

pytestmark = pytest.mark.django_db

SINCE = TODAY - timedelta(days=59)
# Entity snapshots come first (customer, campaigns, ad groups of one account = 3 search calls):
# the fault lands on the daily report's second page.
DAILY_PAGE_2 = {"endpoint": "search", "account": GOOGLE_EUR, "after": 4}


def _sync(connect, new_run, platform="google_ads", accounts=None):
    connection = connect(platform, accounts=accounts or ([GOOGLE_EUR] if platform == "google_ads" else [META_USD]))
    run = new_run(connection)
    status = run_execute(run_id=run.pk)
    run.refresh_from_db()
    connection.refresh_from_db()
    return status, run, connection


def _rerun_clean(emulator, connection, new_run):
    emulator.state.clear_faults()
    if connection.status != Connection.Status.ACTIVE:
        Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.ACTIVE)
    run = new_run(connection)
    assert run_execute(run_id=run.pk) == "succeeded"
    return run


def _assert_truth(emulator, platform="google_ads", account=GOOGLE_EUR):
    stream = "google_ads.ad_group_daily" if platform == "google_ads" else "meta.adset_daily"
    external = account if platform == "google_ads" else f"act_{account}"
    assert raw_daily(stream, external, SINCE, TODAY) == truth_daily(emulator, platform, account, SINCE, TODAY)


def _landed_count() -> int:
    from warehouse.models import RawRecord

    return RawRecord.objects.count()


@pytest.fixture
def waits(monkeypatch):
    """Every wait the connectors make, still really waited."""
    recorded: list[float] = []

    def sleep(seconds: float) -> None:
        recorded.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr("connectors.http.sleep", sleep)
    return recorded


# ---------------------------------------------------------------------------------------------
# Throttling
def test_429_with_retry_after_waits_at_least_that_long(tenant, emulator, connect, new_run, handoffs, waits) -> None:
    emulator.state.add_fault(kind="rate_limit", platform="google_ads", retry_after=1, count=2, **DAILY_PAGE_2)
    started = time.monotonic()

    status, run, _ = _sync(connect, new_run)

    assert status == "succeeded"
    assert run.retries == 2
    assert len(waits) == 2 and min(waits) >= 1.0, waits
    assert time.monotonic() - started >= 2.0
    _assert_truth(emulator)


def test_a_long_retry_after_frees_the_worker_and_resumes_later(tenant, emulator, connect, new_run, handoffs) -> None:
    emulator.state.add_fault(kind="rate_limit", platform="google_ads", retry_after=3600, count=1, **DAILY_PAGE_2)

    status, run, _ = _sync(connect, new_run)

    assert status == SyncRun.Status.QUEUED
    assert run.resume_after is not None and run.resume_after > timezone.now() + timedelta(minutes=55)
    assert "resumes by itself" in run.note and run.deferrals == 1
    landed = _landed_count()
    assert landed == run.rows > 0, "pages before the throttle stay landed"
    # An early redelivery does not touch the platform before resume_after.
    calls = sum(emulator.state.stats()["requests"].values())
    assert run_execute(run_id=run.pk) == "deferred"
    assert sum(emulator.state.stats()["requests"].values()) == calls
    SyncRun.objects.filter(pk=run.pk).update(resume_after=timezone.now() - timedelta(seconds=1))
    assert run_execute(run_id=run.pk) == "succeeded"
    _assert_truth(emulator)


def test_meta_throttle_codes_and_usage_headers_make_bosco_wait(
    tenant, emulator, connect, new_run, handoffs, monkeypatch, settings
) -> None:
    # Meta answers code 80004 and says "regain access in 1 minute" in X-Business-Use-Case-Usage.
    settings.CONNECTORS_MAX_INLINE_WAIT = 120.0
    emulator.state.add_fault(kind="rate_limit", platform="meta", endpoint="campaigns", retry_after=60, count=1)
    sleeps: list[float] = []
    monkeypatch.setattr("connectors.http.sleep", sleeps.append)  # record the minute, do not spend it

    status, run, _ = _sync(connect, new_run, platform="meta")

    assert status == "succeeded" and run.retries == 1
    assert max(sleeps) >= 60, sleeps
    _assert_truth(emulator, "meta", META_USD)


# ---------------------------------------------------------------------------------------------
# Server errors and timeouts
@pytest.mark.parametrize("kind", ["server_error", "html_502"])
def test_server_errors_are_retried(tenant, emulator, connect, new_run, handoffs, kind) -> None:
    emulator.state.add_fault(kind=kind, platform="google_ads", count=2, **DAILY_PAGE_2)

    status, run, _ = _sync(connect, new_run)

    assert status == "succeeded" and run.retries == 2
    _assert_truth(emulator)


def test_persistent_server_errors_fail_visibly_after_bounded_retries(
    tenant, emulator, connect, new_run, handoffs
) -> None:
    emulator.state.add_fault(kind="server_error", platform="google_ads", status=503, count=None, **DAILY_PAGE_2)

    status, run, connection = _sync(connect, new_run)

    assert status == SyncRun.Status.FAILED
    assert run.error_code == "server_error"
    assert "kept failing" in run.error_message and "4 attempts" in run.error_message
    assert "Sync now" in run.error_message  # what the person can do
    assert emulator.state.stats()["statuses"].get("503") == 4, "exactly the bounded number of attempts"
    assert connection.status == Connection.Status.ERROR and connection.status_message == run.error_message
    assert _landed_count() == run.rows > 0, "the pages before the failure are kept"
    _rerun_clean(emulator, connection, new_run)
    _assert_truth(emulator)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE and connection.status_message == ""


def test_timeouts_are_retried_then_fail_visibly(tenant, emulator, connect, new_run, handoffs, settings) -> None:
    settings.CONNECTORS_HTTP_TIMEOUT = 0.3
    emulator.state.add_fault(kind="slow", platform="google_ads", delay=1.0, count=1, **DAILY_PAGE_2)
    status, run, connection = _sync(connect, new_run)
    assert status == "succeeded" and run.retries == 1

    emulator.state.add_fault(kind="slow", platform="google_ads", endpoint="search", delay=1.0, count=None)
    run = new_run(connection)
    assert run_execute(run_id=run.pk) == SyncRun.Status.FAILED
    run.refresh_from_db()
    assert run.error_code == "timeout" and "did not answer in time" in run.error_message


# ---------------------------------------------------------------------------------------------
# Broken bodies: nothing of a bad page lands
def test_truncated_json_lands_nothing_and_keeps_what_was_stored(tenant, emulator, connect, new_run, handoffs) -> None:
    emulator.state.add_fault(kind="truncated_json", platform="google_ads", count=None, **DAILY_PAGE_2)

    status, run, connection = _sync(connect, new_run)

    assert status == SyncRun.Status.FAILED and run.error_code == "malformed_response"
    assert "could not read" in run.error_message
    cursor = StreamCursor.objects.get(connection=connection, account_id=GOOGLE_EUR, stream="google_ads.ad_group_daily")
    assert cursor.pages_in_chunk == 1 and cursor.page_token, "the cursor waits at the broken page"
    assert _landed_count() == run.rows, "only whole pages landed"
    # what it landed goes to the warehouse, but not as a complete read of its accounts' days
    assert run.rows > 0 and handoffs[-1]["sync_run_id"] == run.pk and handoffs[-1]["synced_from"] is None
    _rerun_clean(emulator, connection, new_run)
    _assert_truth(emulator)
    assert handoffs[-1]["sync_run_id"] != run.pk and handoffs[-1]["synced_from"] is not None


def test_a_truncated_body_once_is_just_retried(tenant, emulator, connect, new_run, handoffs) -> None:
    emulator.state.add_fault(kind="truncated_json", platform="google_ads", count=1, **DAILY_PAGE_2)
    status, run, _ = _sync(connect, new_run)
    assert status == "succeeded" and run.retries == 1
    _assert_truth(emulator)


@pytest.mark.parametrize(
    ("mode", "field", "expected"),
    [
        ("wrong_type", "metrics.cost_micros", "metrics.costMicros should be an integer sent as a string, got "),
        ("missing", "metrics.clicks", "metrics.clicks is missing"),
        ("null", "segments.date", "segments.date should be a date YYYY-MM-DD, got null"),
        ("wrong_type", "ad_group.id", "adGroup.id should be a string of digits"),
    ],
)
def test_a_malformed_row_rejects_its_whole_page_with_a_clear_message(
    tenant, emulator, connect, new_run, handoffs, mode, field, expected
) -> None:
    emulator.state.add_fault(
        kind="bad_row", platform="google_ads", mode=mode, field=field, row=7, count=1, **DAILY_PAGE_2
    )

    status, run, connection = _sync(connect, new_run)

    assert status == SyncRun.Status.FAILED and run.error_code == "bad_response"
    assert expected in run.error_message and "row 8" in run.error_message
    assert "Nothing from that page was saved" in run.error_message
    assert _landed_count() == run.rows, "rows 0-6 of the bad page did not land"
    _rerun_clean(emulator, connection, new_run)
    _assert_truth(emulator)


def test_meta_malformed_insights_row_is_rejected(tenant, emulator, connect, new_run, handoffs) -> None:
    emulator.state.add_fault(
        kind="bad_row",
        platform="meta",
        endpoint="report_run.insights",
        field="spend",
        mode="wrong_type",
        row=3,
        count=1,
    )
    status, run, _ = _sync(connect, new_run, platform="meta")
    assert status == SyncRun.Status.FAILED
    assert "spend should be a decimal number sent as a string, got 12345 (int)" in run.error_message
    assert _landed_count() == run.rows


def test_empty_pages_that_point_onwards_are_followed(tenant, emulator, connect, new_run, handoffs) -> None:
    emulator.state.add_fault(kind="empty_page", platform="google_ads", count=2, **DAILY_PAGE_2)
    emulator.state.add_fault(kind="empty_page", platform="meta", endpoint="report_run.insights", count=1)
    assert _sync(connect, new_run)[0] == "succeeded"
    _assert_truth(emulator)
    assert _sync(connect, new_run, platform="meta")[0] == "succeeded"
    _assert_truth(emulator, "meta", META_USD)


# ---------------------------------------------------------------------------------------------
# Reports the platform gives up on are split
def test_a_report_that_times_out_is_split_into_smaller_ranges(tenant, emulator, connect, new_run, handoffs) -> None:
    # About 8 ad groups x 20 days per chunk: more than 60 rows makes Google give up (DEADLINE_EXCEEDED).
    emulator.state.update_config(google_max_rows_per_request=60)

    status, run, _ = _sync(connect, new_run)

    assert status == "succeeded"
    assert run.splits >= 1  # then the smaller chunk size holds for the rest of the run
    _assert_truth(emulator)


def test_a_failed_meta_report_job_is_split(tenant, emulator, connect, new_run, handoffs) -> None:
    emulator.state.add_fault(kind="job_failed", platform="meta", endpoint="report_run", count=1)
    status, run, _ = _sync(connect, new_run, platform="meta")
    assert status == "succeeded" and run.splits == 1
    _assert_truth(emulator, "meta", META_USD)


# ---------------------------------------------------------------------------------------------
# Tokens
def test_token_expiry_mid_sync_refreshes_once_and_resumes_at_the_same_page(
    tenant, emulator, connect, new_run, handoffs
) -> None:
    clean = _sync(connect, new_run)[1]
    searches_clean = emulator.state.stats()["requests"]["google_ads.search"]
    from warehouse.models import RawRecord

    RawRecord.objects.all().delete()
    StreamCursor.objects.all().delete()
    emulator.state.reset()
    emulator.state.add_fault(kind="token_expiry", platform="google_ads", count=1, **DAILY_PAGE_2)

    status, run, connection = _sync(connect, new_run)

    assert status == "succeeded"
    stats = emulator.state.stats()
    assert stats["token_refreshes"] == {"google_ads": 1} and run.token_refreshes == 1
    assert stats["requests"]["google_ads.search"] == searches_clean + 1, "only the rejected page was asked again"
    assert run.pages == clean.pages and run.rows == clean.rows
    assert connection.token_version == 1, "the new token was saved (encrypted) on the connection"
    _assert_truth(emulator)


def test_revoked_grant_marks_needs_reauth_without_a_retry_storm(tenant, emulator, connect, new_run, handoffs) -> None:
    from connectors.services import syncs_schedule_due

    emulator.state.add_fault(kind="revoked_grant", platform="google_ads", count=1, **DAILY_PAGE_2)

    status, run, connection = _sync(connect, new_run)

    assert status == SyncRun.Status.FAILED and run.error_code == "needs_reauth"
    assert connection.status == Connection.Status.NEEDS_REAUTH
    assert "Re-authorise" in connection.status_message and connection.next_sync_at is None
    requests = emulator.state.stats()["requests"]
    assert requests["google_ads.search"] == 5 and requests["google_ads.oauth.token"] == 1, (
        "one refresh attempt, no storm"
    )
    assert _landed_count() == run.rows > 0
    # Nothing schedules it again until a person re-authorises.
    Connection.objects.filter(pk=connection.pk).update(next_sync_at=timezone.now() - timedelta(hours=1))
    assert syncs_schedule_due() == {"started": 0, "rescued": 0}


def test_an_expired_meta_token_needs_reauth_after_one_exchange_attempt(
    tenant, emulator, connect, new_run, handoffs
) -> None:
    emulator.state.add_fault(kind="token_expiry", platform="meta", endpoint="campaigns", count=1)
    status, _, connection = _sync(connect, new_run, platform="meta")
    assert status == SyncRun.Status.FAILED and connection.status == Connection.Status.NEEDS_REAUTH
    assert emulator.state.stats()["requests"].get("meta.oauth.access_token") == 1


def test_a_meta_token_close_to_expiry_is_renewed_before_syncing(tenant, emulator, connect, new_run, handoffs) -> None:
    connection = connect("meta", accounts=[META_USD])
    Connection.objects.filter(pk=connection.pk).update(token_expires_at=timezone.now() + timedelta(days=3))
    old_token = Connection.objects.get(pk=connection.pk).access_token
    run = new_run(connection)
    assert run_execute(run_id=run.pk) == "succeeded"
    connection.refresh_from_db()
    assert connection.access_token != old_token
    assert connection.token_expires_at > timezone.now() + timedelta(days=50)
    assert emulator.state.stats()["token_refreshes"] == {"meta": 1}


def test_a_google_token_past_its_expiry_is_refreshed_before_the_first_call(
    tenant, emulator, connect, new_run, handoffs
) -> None:
    connection = connect("google_ads", accounts=[GOOGLE_USD])
    Connection.objects.filter(pk=connection.pk).update(token_expires_at=timezone.now() - timedelta(minutes=5))
    run = new_run(connection)
    assert run_execute(run_id=run.pk) == "succeeded"
    run.refresh_from_db()
    assert run.token_refreshes == 1 and emulator.state.stats()["statuses"].get("401") is None
