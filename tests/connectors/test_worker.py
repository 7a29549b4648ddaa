"""Syncs on real Celery workers: the in-process test worker, and `celery worker` subprocesses we SIGKILL."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psutil
import pytest
from django.conf import settings as django_settings
from django.db import connection as db
from django.db import transaction
from django.utils import timezone

from bosco.queues import GROUPS
from connectors import services
from connectors.models import Connection, SyncRun
from connectors.tasks import schedule_syncs, sync_connection
from tests.connectors.conftest import GOOGLE_EUR, GOOGLE_USD, TEST_SETTINGS, TODAY, raw_daily, truth_daily

SINCE = TODAY - timedelta(days=59)
ROOT = Path(__file__).resolve().parents[2]


def _wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def _run_status(run_id: int) -> str:
    return SyncRun.objects.filter(pk=run_id).values_list("status", flat=True).first() or ""


def _assert_truth(emulator, accounts=(GOOGLE_EUR,)) -> None:
    for account in accounts:
        assert raw_daily("google_ads.ad_group_daily", account, SINCE, TODAY) == truth_daily(
            emulator, "google_ads", account, SINCE, TODAY
        )


# ---------------------------------------------------------------------------------------------
# The in-process worker (bosco's celery_worker fixture)
@pytest.mark.celery_worker
def test_choosing_accounts_starts_a_backfill_on_the_worker(celery_worker, tenant, emulator, connect, handoffs) -> None:
    connection = connect("google_ads", accounts=[])
    run = services.connection_accounts_select(
        connection=connection, external_ids=[GOOGLE_EUR, GOOGLE_USD], user_id=None
    )
    assert run is not None and run.kind == SyncRun.Kind.BACKFILL

    _wait_for(lambda: _run_status(run.pk) in ("succeeded", "failed"), 60, "the backfill to finish")

    run.refresh_from_db()
    assert run.status == "succeeded", run.error_message
    _assert_truth(emulator, (GOOGLE_EUR, GOOGLE_USD))
    assert len(handoffs) == 1 and handoffs[0]["sync_run_id"] == run.pk


@pytest.mark.celery_worker
def test_beat_fan_out_starts_due_syncs_in_every_workspace(celery_worker, tenant, emulator, connect, handoffs) -> None:
    connection = connect("google_ads", accounts=[GOOGLE_EUR])
    Connection.objects.filter(pk=connection.pk).update(next_sync_at=timezone.now() - timedelta(minutes=1))
    schema = db.schema_name

    assert schedule_syncs.delay().get(timeout=30) >= 1

    run = _wait_for(lambda: SyncRun.objects.filter(connection=connection).first(), 30, "a scheduled run")
    assert run.kind == SyncRun.Kind.SCHEDULED
    _wait_for(lambda: _run_status(run.pk) == "succeeded", 60, "the scheduled sync")
    connection.refresh_from_db()
    assert connection.next_sync_at > timezone.now() + timedelta(hours=5), "the next one is hours away"
    # A second fan-out right away finds nothing due: one run, not two.
    schedule_syncs.delay().get(timeout=30)
    time.sleep(1.0)
    assert SyncRun.objects.filter(connection=connection).count() == 1
    assert db.schema_name == schema


@pytest.mark.celery_worker
def test_a_sync_requested_in_a_rolled_back_transaction_never_runs(celery_worker, tenant, emulator, connect) -> None:
    connection = connect("google_ads", accounts=[GOOGLE_EUR])

    def request_then_fail() -> None:
        with transaction.atomic():
            services.sync_request(connection=connection, kind=SyncRun.Kind.MANUAL)
            raise RuntimeError("the request failed after asking for a sync")

    with pytest.raises(RuntimeError):
        request_then_fail()
    time.sleep(1.5)
    assert not SyncRun.objects.exists()
    assert emulator.state.stats()["requests"] == {}


# ---------------------------------------------------------------------------------------------
# Real worker processes, killed with SIGKILL
def _all_queues(base: str) -> str:
    """The base queue and its groups' queues (bosco.queues): the worker's tasks enqueue onto them."""
    return ",".join([base, *(f"{base}.{group}" for group in GROUPS)])


class WorkerProcess:
    """`celery -A bosco worker` on a queue of its own, against the test database."""

    def __init__(self, queue: str, env: dict[str, str], concurrency: int = 1, log: Path | None = None) -> None:
        self.log = open(log or os.devnull, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "bosco", "worker", "-Q", _all_queues(queue),
             "--concurrency", str(concurrency),
             "--pool", "prefork", "-l", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stdout=self.log,
            stderr=self.log,
        )  # fmt: skip

    def children(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def kill_child(self) -> None:
        for child in self.children():
            child.send_signal(signal.SIGKILL)

    def kill_all(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill_all()
        self.log.close()


@pytest.fixture
def worker_env(emulator, live_database_url) -> tuple[str, dict[str, str]]:
    queue = f"bosco-test-kill-{uuid.uuid4().hex[:8]}"
    env = dict(os.environ)
    env.update(
        DATABASE_URL=live_database_url,
        REDIS_URL=django_settings.REDIS_URL,
        BOSCO_CELERY_QUEUE=queue,
        DJANGO_SETTINGS_MODULE="bosco.settings.test",
        BOSCO_EMULATOR_URL=emulator.base_url,
        CONNECTORS_FIXED_TODAY=TEST_SETTINGS["CONNECTORS_FIXED_TODAY"],
        CONNECTORS_BACKFILL_DAYS="60",
        GOOGLE_ADS_CHUNK_DAYS="20",
        CONNECTORS_BACKOFF_BASE="0.01",
        CONNECTORS_BACKOFF_MAX="0.05",
        # Unacked messages of a dead worker come back after 3 s (production: longer than the hard limit).
        CELERY_VISIBILITY_TIMEOUT="3",
        LOG_LEVEL=os.environ.get("BOSCO_TEST_WORKER_LOG_LEVEL", "WARNING"),
    )
    return queue, env


@pytest.fixture
def live_database_url() -> str:
    from tests.conftest import test_database_url

    return test_database_url()


@pytest.mark.slow
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_sigkilled_workers_resume_without_gaps_or_duplicates(tenant, emulator, connect, worker_env, request) -> None:
    from bosco.celery import app
    from warehouse.models import RawRecord

    queue, env = worker_env
    previous_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    request.addfinalizer(lambda: setattr(app.conf, "task_default_queue", previous_queue))
    emulator.state.update_config(latency_seconds=0.1)  # long enough a run to kill it twice
    connection = connect("google_ads", accounts=[GOOGLE_EUR, GOOGLE_USD])
    run = SyncRun.objects.create(connection=connection, kind=SyncRun.Kind.BACKFILL)
    schema = db.schema_name

    log = Path(os.environ.get("BOSCO_TEST_WORKER_LOG", os.devnull))
    worker = WorkerProcess(queue, env, concurrency=2, log=log)
    try:
        # The same run is delivered twice: the second copy finds the lock taken and does nothing.
        sync_connection.apply_async((schema, run.pk), queue=queue)
        sync_connection.apply_async((schema, run.pk), queue=queue)
        _wait_for(lambda: SyncRun.objects.get(pk=run.pk).pages >= 4, 60, "the first pages")
        worker.kill_child()  # the pool process dies mid-run; the main process requeues the task
        pages_at_first_kill = SyncRun.objects.get(pk=run.pk).pages
        _wait_for(
            lambda: SyncRun.objects.get(pk=run.pk).pages >= pages_at_first_kill + 4, 60, "progress after the first kill"
        )
        worker.kill_all()  # now the whole worker, main process included
    finally:
        worker.stop()
    assert _run_status(run.pk) in ("running", "queued"), "killed mid-run"
    # Redis hands an unacked message to the next worker once it is older than the visibility timeout.
    time.sleep(3.5)

    worker = WorkerProcess(queue, env, concurrency=1, log=log)
    try:
        # The broker hands the dead worker's unacked message to the new worker.
        _wait_for(lambda: _run_status(run.pk) in ("succeeded", "failed"), 90, "the resumed run to finish", interval=0.5)
    finally:
        worker.stop()

    run.refresh_from_db()
    assert run.status == "succeeded", run.error_message
    assert run.attempts >= 3, "three workers picked the run up"
    _assert_truth(emulator, (GOOGLE_EUR, GOOGLE_USD))
    keys = list(RawRecord.objects.values_list("stream", "record_key"))
    assert len(keys) == len(set(keys))


# ---------------------------------------------------------------------------------------------
# Redelivery while running, two beats, the soft time limit (security plan cases 10 and 13)
@pytest.fixture
def on_test_queue(worker_env) -> Iterator[str]:
    """Send this test's tasks to its own worker's queue."""
    from bosco.celery import app

    queue, _ = worker_env
    previous_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    yield queue
    app.conf.task_default_queue = previous_queue


@pytest.mark.slow
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_task_redelivered_after_the_visibility_timeout_while_still_running_is_a_no_op(
    tenant, emulator, connect, worker_env, on_test_queue, tmp_path
) -> None:
    from warehouse.models import RawRecord

    queue, env = worker_env
    # Every platform call takes 5 s until the redelivered copy has been seen: the first copy is
    # then surely still running, however slowly the second worker starts on a busy machine.
    emulator.state.update_config(latency_seconds=5.0)
    connection = connect("google_ads", accounts=[GOOGLE_EUR])
    run = SyncRun.objects.create(connection=connection, kind=SyncRun.Kind.MANUAL)
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"

    first = WorkerProcess(queue, env, concurrency=1, log=first_log)
    second = None
    try:
        sync_connection.apply_async((db.schema_name, run.pk), queue=queue)
        _wait_for(lambda: _run_status(run.pk) == "running", 60, "the first copy to be working")
        time.sleep(3.5)  # the message is unacked (acks_late) and now older than the visibility timeout
        # A second worker: the broker hands it the still-running task's message again.
        second = WorkerProcess(queue, {**env, "LOG_LEVEL": "INFO"}, concurrency=1, log=second_log)
        # The copy it got returned at once: the connection's lock is held by the first copy.
        _wait_for(
            lambda: re.search(r"sync_connection\[.*\] succeeded in .*: 'busy'", second_log.read_text(errors="replace")),
            60,
            "the redelivered copy to find the connection busy",
        )
        assert _run_status(run.pk) == "running", "the first copy was still at work"
        emulator.state.update_config(latency_seconds=0.0)
        _wait_for(lambda: _run_status(run.pk) in ("succeeded", "failed"), 90, "the first copy to finish")
    finally:
        first.stop()
        if second is not None:
            second.stop()

    run.refresh_from_db()
    assert run.status == "succeeded", run.error_message
    assert run.attempts == 1, "the redelivered copy never started the run a second time"
    _assert_truth(emulator)
    keys = list(RawRecord.objects.values_list("stream", "record_key"))
    assert len(keys) == len(set(keys))


@pytest.mark.slow
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_two_beats_firing_the_same_schedule_at_once_start_one_run(
    tenant, emulator, connect, worker_env, on_test_queue
) -> None:
    queue, env = worker_env
    connection = connect("google_ads", accounts=[GOOGLE_EUR])
    Connection.objects.filter(pk=connection.pk).update(next_sync_at=timezone.now() - timedelta(minutes=1))

    worker = WorkerProcess(queue, env, concurrency=2)
    try:
        # Two beat processes each send the fan-out; both workspace tasks run at the same time.
        fan_outs = [schedule_syncs.apply_async(queue=queue) for _ in range(2)]
        assert all(result.get(timeout=60) >= 1 for result in fan_outs)
        run = _wait_for(lambda: SyncRun.objects.filter(connection=connection).first(), 30, "a scheduled run")
        _wait_for(lambda: _run_status(run.pk) in ("succeeded", "failed"), 90, "the scheduled sync")
        time.sleep(1.0)
    finally:
        worker.stop()

    assert SyncRun.objects.filter(connection=connection).count() == 1
    assert _run_status(run.pk) == "succeeded"
    _assert_truth(emulator)


@pytest.mark.slow
@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_at_the_soft_time_limit_a_sync_checkpoints_and_a_fresh_task_finishes_it(
    tenant, emulator, connect, worker_env, on_test_queue
) -> None:
    from warehouse.models import RawRecord

    queue, env = worker_env
    emulator.state.update_config(latency_seconds=0.3)
    connection = connect("google_ads", accounts=[GOOGLE_EUR])
    run = SyncRun.objects.create(connection=connection, kind=SyncRun.Kind.MANUAL)

    worker = WorkerProcess(queue, env, concurrency=1)
    try:
        # This copy may work 2 s; the one it hands over to gets the normal limits.
        sync_connection.apply_async((db.schema_name, run.pk), queue=queue, soft_time_limit=2, time_limit=30)
        _wait_for(lambda: _run_status(run.pk) in ("succeeded", "failed"), 90, "the handed-over run to finish")
    finally:
        worker.stop()

    run.refresh_from_db()
    assert run.status == "succeeded", run.error_message
    assert run.attempts == 2, "the first task stopped at its soft limit, a second one carried on"
    assert run.error_code == "" and run.deferrals == 0
    _assert_truth(emulator)
    keys = list(RawRecord.objects.values_list("stream", "record_key"))
    assert len(keys) == len(set(keys))
