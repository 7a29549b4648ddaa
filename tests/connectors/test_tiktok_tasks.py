"""TikTok's asynchronous report tasks over real HTTP, landing in real PostgreSQL: a backfill read
through tasks lands exactly what the synchronous report lands; a crash while polling resumes the
same task; a FAILED task, an expired file, a 40067 and a malformed file each end as they should.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.errors import BadResponse
from connectors.models import Connection, StreamCursor, SyncRun
from connectors.platforms import tiktok_tasks
from connectors.sync import run_execute
from tests.connectors.conftest import TIKTOK_USD, TODAY, raw_daily, truth_daily

pytestmark = pytest.mark.django_db

SINCE = TODAY - timedelta(days=59)
STREAM = "tiktok.adgroup_daily"
CREATE = "tiktok.report.task.create"
DOWNLOAD = "tiktok.report.task.download"


class Crash(BaseException):
    """Not an Exception: nothing in Bosco catches it, as nothing survives a SIGKILL."""


@pytest.fixture
def tasks_always(emulator, settings):
    """Every daily chunk's estimate is above the threshold: the backfill goes through tasks."""
    settings.CONNECTORS_TIKTOK_ASYNC_MIN_ROWS = 1
    settings.CONNECTORS_TIKTOK_POLL_INTERVAL = 0.01
    return emulator


def _sync(connect, new_run, connection=None):
    connection = connection or connect("tiktok", accounts=[TIKTOK_USD])
    run = new_run(connection)
    status = run_execute(run_id=run.pk)
    run.refresh_from_db()
    connection.refresh_from_db()
    return status, run, connection


def _requests(emulator, name: str) -> int:
    return emulator.state.stats()["requests"].get(name, 0)


def _payloads() -> dict[str, dict]:
    from warehouse.models import RawRecord

    return dict(RawRecord.objects.filter(stream=STREAM).values_list("record_key", "payload"))


def _assert_truth(emulator) -> None:
    landed = raw_daily(STREAM, TIKTOK_USD, SINCE, TODAY)
    assert landed and landed == truth_daily(emulator, "tiktok", TIKTOK_USD, SINCE, TODAY)


def test_a_backfill_through_report_tasks_lands_exactly_the_synchronous_rows(
    tenant, tasks_always, connect, new_run, handoffs, settings
) -> None:
    from warehouse.models import RawRecord

    status, _run, connection = _sync(connect, new_run)

    assert status == "succeeded"
    creates = _requests(tasks_always, CREATE)
    assert creates >= 3 and _requests(tasks_always, DOWNLOAD) == creates, "one task per 20-day chunk"
    assert _requests(tasks_always, "tiktok.report") == 0, "no synchronous report was read"
    _assert_truth(tasks_always)
    by_task = _payloads()

    # The same backfill through the synchronous report lands the very same payloads.
    RawRecord.objects.all().delete()
    StreamCursor.objects.all().delete()
    settings.CONNECTORS_TIKTOK_ASYNC_MIN_ROWS = 10**9
    status, _run, _ = _sync(connect, new_run, connection)
    assert status == "succeeded" and _requests(tasks_always, CREATE) == creates
    assert _payloads() == by_task


def test_a_crash_while_polling_resumes_the_same_task(
    tenant, tasks_always, connect, new_run, handoffs, monkeypatch
) -> None:
    original = tiktok_tasks.wait
    crashed = {"n": 0}

    def crash_once(*args, **kwargs):
        if crashed["n"] == 0:
            crashed["n"] += 1
            raise Crash("killed while polling")
        return original(*args, **kwargs)

    monkeypatch.setattr(tiktok_tasks, "wait", crash_once)
    connection = connect("tiktok", accounts=[TIKTOK_USD])
    run = new_run(connection)
    with pytest.raises(Crash):
        run_execute(run_id=run.pk)

    saved = StreamCursor.objects.get(stream=STREAM).report_run_id
    assert saved.startswith(f"{TIKTOK_USD}:") and _requests(tasks_always, CREATE) == 1
    checks_before = _requests(tasks_always, "tiktok.report.task.check")

    assert run_execute(run_id=run.pk) == "succeeded"
    run.refresh_from_db()
    creates = _requests(tasks_always, CREATE)
    assert creates == _requests(tasks_always, DOWNLOAD), "no second task for the chunk polled at the crash"
    assert _requests(tasks_always, "tiktok.report.task.check") > checks_before
    assert run.attempts == 2
    _assert_truth(tasks_always)


def test_a_task_still_running_at_the_polling_timeout_frees_the_worker_and_is_polled_again(
    tenant, tasks_always, connect, new_run, handoffs, settings
) -> None:
    settings.CONNECTORS_TIKTOK_POLL_TIMEOUT = 0.0

    status, run, _ = _sync(connect, new_run)

    assert status == SyncRun.Status.QUEUED and run.resume_after is not None
    assert "TikTok is still preparing a large report" in run.note
    saved = StreamCursor.objects.get(stream=STREAM).report_run_id
    assert saved and _requests(tasks_always, CREATE) == 1

    settings.CONNECTORS_TIKTOK_POLL_TIMEOUT = 600.0
    SyncRun.objects.filter(pk=run.pk).update(resume_after=None)
    assert run_execute(run_id=run.pk) == "succeeded"
    assert _requests(tasks_always, CREATE) == _requests(tasks_always, DOWNLOAD), "the saved task was polled again"
    _assert_truth(tasks_always)


def test_a_failed_task_fails_the_run_clearly_and_keeps_what_landed(
    tenant, tasks_always, connect, new_run, handoffs
) -> None:
    from warehouse.models import RawRecord

    tasks_always.state.add_fault(kind="job_failed", platform="tiktok", endpoint="report.task.check", after=4)

    status, run, connection = _sync(connect, new_run)

    assert status == SyncRun.Status.FAILED and run.error_code == "report_failed"
    assert "TikTok could not prepare a large report" in run.error_message and "FAILED" in run.error_message
    assert connection.status == Connection.Status.ERROR
    assert RawRecord.objects.count() == run.rows and RawRecord.objects.filter(stream=STREAM).exists(), (
        "the chunks read before the failed task stay; nothing of its chunk landed"
    )
    tasks_always.state.clear_faults()
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.ACTIVE)
    assert _sync(connect, new_run, connection)[0] == "succeeded"
    _assert_truth(tasks_always)


def test_an_expired_file_is_read_again_through_a_new_task(tenant, tasks_always, connect, new_run, handoffs) -> None:
    tasks_always.state.add_fault(kind="task_expired", platform="tiktok", endpoint="report.task.download")

    status, _run, _ = _sync(connect, new_run)

    assert status == "succeeded"
    assert _requests(tasks_always, CREATE) == _requests(tasks_always, DOWNLOAD)
    assert tasks_always.state.stats()["faults_fired"] == {"task_expired": 1}
    _assert_truth(tasks_always)


def test_a_40067_from_the_synchronous_report_continues_as_a_report_task(
    tenant, emulator, connect, new_run, handoffs, settings
) -> None:
    settings.CONNECTORS_TIKTOK_POLL_INTERVAL = 0.01
    emulator.state.add_fault(kind="too_much_data", platform="tiktok", endpoint="report", account=TIKTOK_USD)

    status, run, _ = _sync(connect, new_run)

    assert status == "succeeded" and run.splits == 0
    assert _requests(emulator, CREATE) == 1 and _requests(emulator, DOWNLOAD) == 1
    assert StreamCursor.objects.get(stream=STREAM).report_run_id == "", "the cursor moved past the task's chunk"
    _assert_truth(emulator)


def test_a_task_too_large_for_tiktok_splits_the_chunk(tenant, tasks_always, connect, new_run, handoffs) -> None:
    tasks_always.state.add_fault(kind="too_much_data", platform="tiktok", endpoint="report.task.create")

    status, run, _ = _sync(connect, new_run)

    assert status == "succeeded" and run.splits == 1
    _assert_truth(tasks_always)


@pytest.mark.parametrize(
    ("mode", "field", "expected"),
    [
        ("wrong_type", "spend", "metrics.spend should be a decimal number sent as a string"),
        ("missing", "campaign_id", "metrics.campaign_id should be a string of digits, got null"),
    ],
)
def test_a_malformed_row_in_the_file_rejects_the_whole_file(
    tenant, tasks_always, connect, new_run, handoffs, mode, field, expected
) -> None:
    tasks_always.state.add_fault(
        kind="bad_row", mode=mode, field=field, row=3, platform="tiktok", endpoint="report.task.download", after=1
    )

    status, run, connection = _sync(connect, new_run)

    assert status == SyncRun.Status.FAILED and run.error_code == "bad_response"
    assert expected in run.error_message and "row 4" in run.error_message
    from warehouse.models import RawRecord

    assert RawRecord.objects.count() == run.rows, "nothing of the bad file landed"
    tasks_always.state.clear_faults()
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.ACTIVE)
    assert _sync(connect, new_run, connection)[0] == "succeeded"
    _assert_truth(tasks_always)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "empty"),
        ("adgroup_id,spend\r\n1,2.00\r\n", "no stat_time_day column"),
        ("adgroup_id,stat_time_day,spend,spend\r\n", "repeats a column"),
        ("adgroup_id,stat_time_day,spend\r\n1,2026-11-01 00:00:00\r\n", "line 2 of the report file has 2 cells"),
        ('adgroup_id,stat_time_day,spend\r\n1,"2026-11-01,3\r\n', "line 2 of the report file has 2 cells"),
    ],
)
def test_a_broken_file_is_refused_with_its_reason(text: str, expected: str) -> None:
    import re

    with pytest.raises(BadResponse) as caught:
        tiktok_tasks.rows_from_csv(text, "report task 1")
    assert re.search(expected, caught.value.message)
