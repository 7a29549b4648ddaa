"""Tenant-aware Celery tasks on a real worker: the schema travels with the task and is reset after it."""

from __future__ import annotations

import time

import pytest
import redis
from celery.exceptions import TimeoutError as CeleryTimeout
from django.conf import settings
from django.db import connection

from bosco.tasks import TransientError, UnknownTask, UnknownWorkspace, enqueue, public_task, tenant_task

pytestmark = [pytest.mark.celery_worker]


def _counter() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


@tenant_task()
def report_schema() -> str:
    return connection.schema_name


@public_task()
def report_schema_public() -> str:
    return connection.schema_name


@tenant_task(backoff_base=0.05, max_retries=3)
def flaky_then_ok(key: str, failures: int) -> int:
    attempt = _counter().incr(key)
    if attempt <= failures:
        raise TransientError("platform answered 503")
    return int(attempt)


@tenant_task(backoff_base=0.05, max_retries=3)
def broken(key: str) -> None:
    _counter().incr(key)
    raise ValueError("a bug, not a hiccup")


def test_interleaved_tasks_run_in_their_own_workspace_schema(celery_worker, make_workspace) -> None:
    a = make_workspace("tenant-a")
    b = make_workspace("tenant-b")
    order = [a, b, a, b, b, a]
    results = [report_schema.delay(ws.schema_name) for ws in order]
    seen = [result.get(timeout=30) for result in results]
    assert seen == [ws.schema_name for ws in order]
    # A plain task after tenant tasks sees the public schema, not the last tenant's.
    assert report_schema_public.delay().get(timeout=30) == "public"


def test_same_options_dict_reused_across_applies_keeps_each_schema(celery_worker, make_workspace) -> None:
    """Regression guard for the tenant-schemas-celery headers-dict bug (#170): options are not state."""
    a = make_workspace("tenant-a")
    b = make_workspace("tenant-b")
    options = {"headers": {"x-request": "same"}}
    first = report_schema.apply_async(args=[a.schema_name], **options)
    second = report_schema.apply_async(args=[b.schema_name], **options)
    assert (first.get(timeout=30), second.get(timeout=30)) == (a.schema_name, b.schema_name)


def test_tenant_task_for_public_or_unknown_schema_fails_closed(celery_worker) -> None:
    with pytest.raises(UnknownWorkspace):
        report_schema.delay("public").get(timeout=30)
    with pytest.raises(UnknownWorkspace):
        report_schema.delay("ws_does_not_exist").get(timeout=30)


def test_transient_errors_retry_then_succeed(celery_worker, make_workspace) -> None:
    ws = make_workspace("tenant-a")
    key = f"test:flaky:{ws.schema_name}"
    _counter().delete(key)
    assert flaky_then_ok.delay(ws.schema_name, key, 2).get(timeout=60) == 3


def test_other_errors_fail_at_once_without_retry(celery_worker, make_workspace) -> None:
    ws = make_workspace("tenant-a")
    key = f"test:broken:{ws.schema_name}"
    _counter().delete(key)
    with pytest.raises(ValueError, match="a bug"):
        broken.delay(ws.schema_name, key).get(timeout=30)
    assert int(_counter().get(key)) == 1


def test_task_enqueued_in_a_rolled_back_transaction_never_runs(celery_worker, make_workspace) -> None:
    from django.db import transaction

    ws = make_workspace("tenant-a")
    key = f"test:rollback:{ws.schema_name}"
    _counter().delete(key)

    def failing_request() -> None:
        with transaction.atomic():
            flaky_then_ok.delay_on_commit(ws.schema_name, key, 0)
            raise RuntimeError("the request failed after enqueueing")

    with pytest.raises(RuntimeError):
        failing_request()
    probe = flaky_then_ok.delay(ws.schema_name, f"{key}:probe", 0)
    probe.get(timeout=30)  # the worker is idle after this: anything queued before has run
    assert _counter().get(key) is None


def test_delay_on_commit_runs_after_commit(celery_worker, make_workspace) -> None:
    from django.db import transaction

    ws = make_workspace("tenant-a")
    key = f"test:commit:{ws.schema_name}"
    _counter().delete(key)
    with transaction.atomic():
        flaky_then_ok.delay_on_commit(ws.schema_name, key, 0)
    probe = flaky_then_ok.delay(ws.schema_name, f"{key}:probe", 0)
    probe.get(timeout=30)
    try:
        assert int(_counter().get(key) or 0) == 1
    except CeleryTimeout:  # pragma: no cover - only if the worker is wedged
        pytest.fail("worker did not run the committed task")


FLAKY = f"{__name__}.flaky_then_ok"


def test_enqueue_by_name_waits_for_commit_and_drops_on_rollback(celery_worker, make_workspace) -> None:
    from django.db import transaction

    ws = make_workspace("tenant-a")
    committed, rolled_back = f"test:enqueue:commit:{ws.schema_name}", f"test:enqueue:rollback:{ws.schema_name}"
    _counter().delete(committed, rolled_back)

    def failing_request() -> None:
        with transaction.atomic():
            enqueue(FLAKY, ws.schema_name, rolled_back, 0, on_commit=True)
            raise RuntimeError("the request failed after enqueueing")

    with pytest.raises(RuntimeError):
        failing_request()
    with transaction.atomic():
        enqueue(FLAKY, ws.schema_name, committed, 0, on_commit=True)
        assert _counter().get(committed) is None, "nothing is sent before the commit"
    probe = flaky_then_ok.delay(ws.schema_name, f"{committed}:probe", 0)
    probe.get(timeout=30)  # the worker is idle after this: anything queued before has run
    assert int(_counter().get(committed) or 0) == 1
    assert _counter().get(rolled_back) is None


def test_enqueue_with_a_countdown_keeps_the_schema_and_the_keyword_arguments(celery_worker, make_workspace) -> None:
    ws = make_workspace("tenant-a")
    key = f"test:enqueue:countdown:{ws.schema_name}"
    _counter().delete(key)
    enqueue(FLAKY, ws.schema_name, key=key, failures=0, countdown=0.5)
    deadline = time.monotonic() + 30
    while _counter().get(key) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert int(_counter().get(key) or 0) == 1


def test_enqueue_of_an_unknown_task_name_is_a_clear_error() -> None:
    with pytest.raises(UnknownTask, match=r"no task named 'warehouse\.tasks\.no_such_task'"):
        enqueue("warehouse.tasks.no_such_task", "ws_acme")
    with pytest.raises(UnknownTask, match=r"no task named 'nowhere\.tasks\.anything'"):
        enqueue("nowhere.tasks.anything", "ws_acme", on_commit=True)


@pytest.mark.django_db
def test_an_eagerly_run_task_leaves_its_callers_schema_as_it_was(make_workspace) -> None:
    """The demo runs the warehouse hand-off eagerly inside a sync: the sync must stay in its
    workspace afterwards (it used to continue in public and queue a task for 'public')."""
    from django_tenants.utils import schema_context

    acme, other = make_workspace("acme"), make_workspace("other")
    with schema_context(acme.schema_name):
        assert report_schema.apply(args=(other.schema_name,)).get() == other.schema_name
        assert connection.schema_name == acme.schema_name
        assert report_schema_public.apply().get() == "public"
        assert connection.schema_name == acme.schema_name
    assert connection.schema_name == "public"
