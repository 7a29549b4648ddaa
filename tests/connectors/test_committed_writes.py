"""The connection services that lock rows or act after commit, run with real commits.

Most connector tests run inside a rolled-back transaction, where a lock is never contended and
an `on_commit` callback (the revocation at the platform, a queued sync) never fires. Here every
call commits; the token refresh runs in two threads with their own database connections.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection as db
from django.db import connections, transaction

from connectors import services
from connectors.http import CallStats
from connectors.models import Connection, SyncRun
from connectors.oauth import ConnectionTokens

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _grant_status(emulator: Any, token: str) -> str:
    status, _, _ = emulator.state.tokens.check(token, "google_ads")
    return status


def test_pause_cancels_the_queued_run_and_is_committed(tenant, emulator, connect, new_run) -> None:
    connection = connect()
    queued = new_run(connection)
    services.connection_pause(connection=connection)
    assert Connection.objects.get(pk=connection.pk).status == Connection.Status.PAUSED
    assert SyncRun.objects.get(pk=queued.pk).status == SyncRun.Status.CANCELLED


@pytest.mark.celery_worker
def test_resume_commits_and_the_worker_runs_the_sync_it_queued(
    celery_worker, tenant, emulator, connect, handoffs
) -> None:
    connection = connect(backfill_days=5)
    services.connection_pause(connection=connection)
    services.connection_resume(connection=connection, user_id=None)
    assert Connection.objects.get(pk=connection.pk).status == Connection.Status.ACTIVE
    run = SyncRun.objects.get(connection=connection)
    _wait_for(
        lambda: SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.SUCCEEDED).exists(),
        60,
        "the resumed connection's sync to succeed on the worker",
    )


def test_disconnect_revokes_the_grant_only_once_committed(tenant, emulator, connect) -> None:
    connection = connect()
    token = connection.access_token
    with transaction.atomic():
        services.connection_disconnect(connection=connection)
        transaction.set_rollback(True)  # the request failed after the disconnect
    assert _grant_status(emulator, token) == "ok", "a rolled-back disconnect must not revoke the grant"
    assert Connection.objects.get(pk=connection.pk).status == Connection.Status.ACTIVE

    services.connection_disconnect(connection=connection)
    saved = Connection.objects.get(pk=connection.pk)
    assert saved.status == Connection.Status.DISCONNECTED and not saved.access_token and not saved.refresh_token
    assert _grant_status(emulator, token) == "revoked"


def test_sync_settings_are_committed(tenant, emulator, connect) -> None:
    connection = connect()
    services.connection_settings_update(connection=connection, lookback_days=7, backfill_days=30, sync_interval_hours=6)
    saved = Connection.objects.get(pk=connection.pk)
    assert (saved.lookback_days, saved.backfill_days, saved.sync_interval_hours) == (7, 30, 6)


def test_credential_rotation_commits_and_tokens_still_decrypt(tenant, emulator, connect) -> None:
    connection = connect()
    assert services.credentials_rotate() == 1
    assert Connection.objects.get(pk=connection.pk).access_token == connection.access_token


def test_two_workers_hit_by_one_expired_token_refresh_it_once(tenant, emulator, connect) -> None:
    connection = connect()
    rejected = connection.access_token
    emulator.state.expire_token(rejected)
    barrier = threading.Barrier(2)
    results: list[Any] = [None, None]

    def refresh(index: int) -> None:
        try:
            db.set_tenant(tenant)
            tokens = ConnectionTokens(Connection.objects.get(pk=connection.pk), CallStats())
            barrier.wait(timeout=10)
            results[index] = tokens.refresh(rejected=rejected)
        except Exception as exc:  # reported to the main thread
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=refresh, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(isinstance(r, str) for r in results), results
    assert results[0] == results[1] != rejected, "the second worker adopts the token the first one saved"
    assert emulator.state.stats()["token_refreshes"].get("google_ads") == 1
    saved = Connection.objects.get(pk=connection.pk)
    assert saved.access_token == results[0] and saved.token_version == connection.token_version + 1


@pytest.mark.celery_worker
def test_a_throttled_run_is_handed_to_a_later_task_after_commit_and_finishes(
    celery_worker, tenant, emulator, connect, handoffs, settings
) -> None:
    settings.CONNECTORS_MAX_INLINE_WAIT = 0.5  # a 2 s throttle is then longer than a worker should sleep
    emulator.state.add_fault(
        kind="rate_limit", platform="google_ads", endpoint="search", retry_after=2, count=1, after=2
    )
    connection = connect(backfill_days=30)
    run, _ = services.sync_request(connection=connection, kind=SyncRun.Kind.MANUAL)
    _wait_for(
        lambda: SyncRun.objects.filter(pk=run.pk, deferrals=1).exists(),
        30,
        "the throttled run to be deferred to a later task",
    )
    _wait_for(
        lambda: SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.SUCCEEDED).exists(),
        60,
        "the deferred run to finish on the worker",
    )
    assert emulator.state.stats()["faults_fired"].get("rate_limit") == 1
