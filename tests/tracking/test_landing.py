"""Accepted beacons reach PostgreSQL through a real worker, and a worker SIGKILLed in the middle of
landing a batch loses nothing and doubles nothing: its entries stay pending in the stream's group
until a live worker claims them, and the killed transaction never committed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.test import Client
from django_tenants.utils import schema_context

from bosco.celery import app
from tests.conftest import test_database_url as database_url_of_tests  # not collected as a test
from tests.ops.processes import drop_queues
from tests.tracking.conftest import beacon, event, fresh_ip, post_beacon
from tracking.collect import buffer
from tracking.models import Event

ROOT = Path(settings.BASE_DIR)
Tracked = Callable[..., Any]


def _wait(what: str, check: Callable[[], bool], timeout: float = 90, state: Callable[[], object] = str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}: {state()}")


def _stored(schema: str) -> tuple[int, int]:
    with schema_context(schema):
        return Event.objects.count(), Event.objects.values("event_id").distinct().count()


@pytest.mark.django_db(transaction=True)
def test_accepted_beacons_are_landed_by_the_worker(
    client: Client, tracked_workspace: Tracked, celery_worker: Any
) -> None:
    workspace, tracking = tracked_workspace()
    for _ in range(4):
        body = beacon(*[event(aid="v1") for _ in range(5)])
        assert post_beacon(client, tracking.public_key, body, ip=fresh_ip()).status_code == 204
    # the first beacon queued a landing; nobody calls the service here
    _wait("the worker to land 20 events", lambda: _stored(workspace.schema_name) == (20, 20), timeout=60)
    _wait("the stream to be drained", lambda: buffer.client().xlen(buffer.stream_key(workspace.schema_name)) == 0)


class Worker:
    """A `celery worker` process of its own; its tasks and the ones it queues go to `<queue>...`."""

    def __init__(self, queue: str, log: Path) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bosco.settings.test",
            "DATABASE_URL": database_url_of_tests(),
            "BOSCO_CELERY_QUEUE": queue,
            "TRACKING_RECLAIM_IDLE_SECONDS": "1",
        }
        self.log = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "bosco", "worker", "-Q", queue, "-c", "1", "-P", "solo",
             "-n", f"{queue}-{time.monotonic_ns()}@%h", "-l", "INFO", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, start_new_session=True, stdout=self.log, stderr=self.log,
        )  # fmt: skip

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self.log.close()


@pytest.mark.django_db(transaction=True)
def test_worker_killed_mid_batch_loses_and_doubles_nothing(
    client: Client, tracked_workspace: Tracked, tmp_path: Path
) -> None:
    workspace, tracking = tracked_workspace()
    schema = workspace.schema_name
    stream = buffer.stream_key(schema)
    queue = f"bosco-trk-kill-{os.getpid()}"
    # The live worker that later claims the dead one's entries listens on a queue of its own, so it
    # can start up alongside the first (a worker start-up is most of this test's time) and take
    # nothing before it is asked to.
    rescue_queue = f"{queue}-rescue"
    previous_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue  # the endpoint queues its landing task for this test's worker
    workers: list[Worker] = []
    # Hold the events table so the worker's COPY into it waits mid-batch: it has read the entries
    # and is killed before it can commit.
    holder = psycopg.connect(database_url_of_tests())
    # pg_stat_activity is a snapshot per transaction: watch from a connection of its own
    watcher = psycopg.connect(database_url_of_tests(), autocommit=True)
    try:
        holder.execute(f'SET search_path TO "{schema}"')
        holder.execute("LOCK TABLE tracking_event IN EXCLUSIVE MODE")
        for _ in range(12):
            body = beacon(*[event(aid="v1") for _ in range(5)])
            assert post_beacon(client, tracking.public_key, body, ip=fresh_ip()).status_code == 204

        workers.append(Worker(queue, tmp_path / "worker-1.log"))
        workers.append(Worker(rescue_queue, tmp_path / "worker-2.log"))
        app.send_task("tracking.tasks.land_events", args=[schema], queue=queue)

        def blocked_insert() -> bool:
            row = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE 'COPY tracking_event %%'"
            ).fetchone()
            return bool(row and row[0])

        _wait(
            "the worker to block inside its batch",
            blocked_insert,
            timeout=120,
            state=lambda: (tmp_path / "worker-1.log").read_text()[-2000:],
        )
        pending = buffer.client().xpending(stream, buffer.GROUP)
        assert pending["pending"] == 12  # every entry taken by the worker, none acknowledged
        workers[0].kill()
        holder.rollback()  # the lock goes; the dead worker's COPY finishes but can never commit

        def insert_gone() -> bool:
            row = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'COPY tracking_event %%' AND state <> 'idle'"
            ).fetchone()
            return row is not None and row[0] == 0

        _wait("the killed worker's transaction to end", insert_gone)
        assert _stored(schema) == (0, 0)
        assert buffer.client().xlen(stream) == 12

        # A live worker claims the dead one's entries (idle past TRACKING_RECLAIM_IDLE_SECONDS).
        time.sleep(1.5)
        app.send_task("tracking.tasks.land_events", args=[schema], queue=rescue_queue)
        _wait(
            "the entries to be landed", lambda: _stored(schema) == (60, 60), timeout=120, state=lambda: _stored(schema)
        )
        _wait("the stream to be drained", lambda: buffer.client().xlen(stream) == 0)
        assert buffer.client().xpending(stream, buffer.GROUP)["pending"] == 0
    finally:
        holder.close()
        watcher.close()
        for worker in workers:
            worker.kill()
        app.conf.task_default_queue = previous_queue
        drop_queues(queue)  # and the rescue queue, whose name starts with it
