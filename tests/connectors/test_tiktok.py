"""TikTok faults over real HTTP: envelope codes (HTTP 200) for throttles, dead tokens and bad
requests, broken bodies and malformed rows. Each is retried boundedly or fails the run visibly;
a bad page never lands partly; a clean rerun ends with exactly what TikTok reports.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.models import Connection, SyncRun
from connectors.sync import run_execute
from tests.connectors.conftest import TIKTOK_USD, TODAY, raw_daily, truth_daily

pytestmark = pytest.mark.django_db

SINCE = TODAY - timedelta(days=59)
STREAM = "tiktok.adgroup_daily"
# The second page of the first daily report chunk of the one selected advertiser.
REPORT_PAGE_2 = {"platform": "tiktok", "endpoint": "report", "account": TIKTOK_USD, "page": 2}


def _sync(connect, new_run):
    connection = connect("tiktok", accounts=[TIKTOK_USD])
    run = new_run(connection)
    status = run_execute(run_id=run.pk)
    run.refresh_from_db()
    connection.refresh_from_db()
    return status, run, connection


def _assert_truth(emulator) -> None:
    landed = raw_daily(STREAM, TIKTOK_USD, SINCE, TODAY)
    assert landed and landed == truth_daily(emulator, "tiktok", TIKTOK_USD, SINCE, TODAY)


def _landed_count() -> int:
    from warehouse.models import RawRecord

    return RawRecord.objects.count()


def _rerun_clean(emulator, connection, new_run) -> None:
    emulator.state.clear_faults()
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.ACTIVE)
    assert run_execute(run_id=new_run(connection).pk) == "succeeded"
    _assert_truth(emulator)


def test_rate_limit_codes_are_retried_with_backoff(tenant, emulator, connect, new_run, handoffs) -> None:
    emulator.state.add_fault(kind="rate_limit", count=2, **REPORT_PAGE_2)

    status, run, _ = _sync(connect, new_run)

    assert status == "succeeded" and run.retries == 2
    assert emulator.state.stats()["faults_fired"] == {"rate_limit": 2}
    _assert_truth(emulator)


def test_a_revoked_token_needs_reauth_without_retries(tenant, emulator, connect, new_run, handoffs) -> None:
    emulator.state.add_fault(kind="revoked_grant", **REPORT_PAGE_2)

    status, run, connection = _sync(connect, new_run)

    assert status == SyncRun.Status.FAILED and run.error_code == "needs_reauth"
    assert connection.status == Connection.Status.NEEDS_REAUTH and "Re-authorise" in connection.status_message
    assert emulator.state.stats()["requests"]["tiktok.report"] == 2, "no retry of a dead token"
    assert _landed_count() == run.rows > 0, "what landed before stays"


@pytest.mark.parametrize(
    ("mode", "field", "expected"),
    [
        ("wrong_type", "spend", "metrics.spend should be a decimal number sent as a string"),
        ("missing", "campaign_id", "metrics.campaign_id is missing"),
        ("null", "impressions", "metrics.impressions should be an integer sent as a string"),
    ],
)
def test_a_malformed_row_rejects_its_whole_page(
    tenant, emulator, connect, new_run, handoffs, mode, field, expected
) -> None:
    emulator.state.add_fault(kind="bad_row", mode=mode, field=field, row=3, **REPORT_PAGE_2)

    status, run, connection = _sync(connect, new_run)

    assert status == SyncRun.Status.FAILED and run.error_code == "bad_response"
    assert expected in run.error_message and "row 4" in run.error_message
    assert _landed_count() == run.rows, "rows 1-3 of the bad page did not land"
    _rerun_clean(emulator, connection, new_run)


def test_a_repeated_row_rejects_its_page(tenant, emulator, connect, new_run, handoffs) -> None:
    emulator.state.add_fault(kind="duplicate_row", row=0, **REPORT_PAGE_2)

    status, run, connection = _sync(connect, new_run)

    assert status == SyncRun.Status.FAILED and "repeats the key" in run.error_message
    _rerun_clean(emulator, connection, new_run)


@pytest.mark.parametrize("kind", ["truncated_json", "html_502", "server_error"])
def test_broken_bodies_and_system_errors_are_retried(tenant, emulator, connect, new_run, handoffs, kind) -> None:
    emulator.state.add_fault(kind=kind, **REPORT_PAGE_2)

    status, run, _ = _sync(connect, new_run)

    assert status == "succeeded" and run.retries == 1
    _assert_truth(emulator)


def test_too_much_data_continues_the_chunk_as_a_report_task(tenant, emulator, connect, new_run, handoffs) -> None:
    emulator.state.add_fault(kind="too_much_data", platform="tiktok", endpoint="report", account=TIKTOK_USD)

    status, _run, _ = _sync(connect, new_run)

    assert status == "succeeded" and emulator.state.stats()["faults_fired"] == {"too_much_data": 1}
    assert emulator.state.stats()["requests"]["tiktok.report.task.create"] == 1  # test_tiktok_tasks.py has more
    _assert_truth(emulator)
