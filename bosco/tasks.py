"""One task base for the project, and the tenant-task decorator.

- Every task acks late and is re-queued if its worker dies, so tasks must be idempotent.
- Only transient errors (network, broker, database connection, `TransientError`) are retried,
  with exponential backoff and jitter; anything else fails at once and is logged.
- Tenant tasks take the workspace schema as their first argument. The schema is activated for
  the call and reset to public afterwards, and a task for an unknown schema (or for `public`)
  fails closed instead of touching shared tables.
- Services never import tasks (tasks import services): they queue work by task NAME through
  `enqueue`, which keeps `delay_on_commit`'s "only if the transaction commits" behaviour.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import logging
import random
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import httpx
import redis.exceptions
from celery import Task, signals
from celery.contrib.django.task import DjangoTask
from django.db import InterfaceError as DbInterfaceError
from django.db import OperationalError, transaction
from django_tenants.utils import get_public_schema_name, get_tenant_model

from bosco import logging as bosco_logging
from bosco.celery import app
from bosco.db import connection
from bosco.formatting import using_number_format
from bosco.metrics import TASK_DURATION, TASK_FAILURES

logger = logging.getLogger("bosco.tasks")

P = ParamSpec("P")
R = TypeVar("R")


class TransientError(Exception):
    """An error the next attempt may not meet (a timeout, a 503, a throttle)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UnknownWorkspace(Exception):
    """A tenant task named a schema that is not an active workspace."""


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    TransientError,
    ConnectionError,
    TimeoutError,
    OperationalError,
    DbInterfaceError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    httpx.TransportError,
)


class BoscoTask(DjangoTask):  # type: ignore[misc]  # celery ships no type information
    acks_late = True
    reject_on_worker_lost = True
    max_retries = 5
    #: exponential backoff for transient errors: base * 2**retries, capped, with full jitter
    backoff_base = 5.0
    backoff_max = 600.0

    def countdown_for(self, exc: BaseException) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * (2**self.request.retries))
        delay = random.uniform(ceiling / 2, ceiling)
        retry_after = getattr(exc, "retry_after", None)
        return max(delay, float(retry_after)) if retry_after else delay

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        logger.error(
            "task failed: %s[%s]: %s: %s",
            self.name,
            task_id,
            type(exc).__name__,
            exc,
            extra={"task": self.name, "task_id": task_id},
        )

    def on_retry(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        logger.warning(
            "task retry: %s[%s] after %s: %s",
            self.name,
            task_id,
            type(exc).__name__,
            exc,
            extra={"task": self.name, "task_id": task_id},
        )


def _call_with_retries(task: BoscoTask, fn: Callable[..., R], args: Any, kwargs: Any) -> R:
    """Run `fn`; a transient error is retried with backoff, anything else fails at once."""
    try:
        return fn(*args, **kwargs)
    except TRANSIENT_ERRORS as exc:
        if task.request.called_directly:
            raise
        raise task.retry(exc=exc, countdown=task.countdown_for(exc)) from exc


def _activate_workspace(schema_name: str) -> Any:
    if not isinstance(schema_name, str) or schema_name == get_public_schema_name():
        raise UnknownWorkspace(f"tenant task called without a workspace schema (got {schema_name!r})")
    try:
        workspace = get_tenant_model().objects.get(schema_name=schema_name)
    except get_tenant_model().DoesNotExist as exc:
        raise UnknownWorkspace(f"no workspace has schema {schema_name!r}") from exc
    connection.set_tenant(workspace)
    return workspace


def tenant_task(*task_args: Any, **task_options: Any) -> Callable[[Callable[P, R]], Any]:
    """Declare a task that runs inside one workspace's schema.

    The decorated function keeps its own signature; callers pass the schema first:
    `sync_connection.delay(workspace.schema_name, connection_id)`.
    """

    def decorator(fn: Callable[P, R]) -> Any:
        @functools.wraps(fn)
        def run(self: BoscoTask, schema_name: str, *args: P.args, **kwargs: P.kwargs) -> R:
            connection.set_schema_to_public()
            workspace = _activate_workspace(schema_name)
            try:
                # text a task writes (anomaly explanations, digests) uses the workspace's number format
                with using_number_format(getattr(workspace, "number_format", None)):
                    return _call_with_retries(self, fn, args, kwargs)
            finally:
                connection.set_schema_to_public()

        options = {"base": BoscoTask, "bind": True, "name": f"{fn.__module__}.{fn.__name__}", **task_options}
        return app.task(*task_args, **options)(run)

    return decorator


def public_task(*task_args: Any, **task_options: Any) -> Callable[[Callable[P, R]], Any]:
    """Declare a task that works on shared (public-schema) data, e.g. a beat fan-out."""

    def decorator(fn: Callable[P, R]) -> Any:
        @functools.wraps(fn)
        def run(self: BoscoTask, *args: P.args, **kwargs: P.kwargs) -> R:
            connection.set_schema_to_public()
            return _call_with_retries(self, fn, args, kwargs)

        options = {"base": BoscoTask, "bind": True, "name": f"{fn.__module__}.{fn.__name__}", **task_options}
        return app.task(*task_args, **options)(run)

    return decorator


class UnknownTask(LookupError):
    """`enqueue` was given a name no task module declares."""


def registered_task(name: str) -> BoscoTask:
    """The task declared as `name` ("app.tasks.function"), importing its module on first use.

    A web process has not necessarily imported every tasks module (the worker has); importing it
    by name here keeps the caller free of an import of the tasks module.
    """
    if name not in app.tasks:
        module, _, _ = name.rpartition(".")
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise UnknownTask(f"no task named {name!r}: {exc}") from exc
    try:
        return app.tasks[name]
    except KeyError as exc:
        raise UnknownTask(f"no task named {name!r}") from exc


def enqueue(
    name: str, *args: Any, on_commit: bool = False, countdown: float = 0.0, priority: int = 0, **kwargs: Any
) -> None:
    """Queue the task declared as `name` with these arguments; a tenant task takes the schema first.

    `on_commit=True` sends it only once the current transaction commits, and not at all if it rolls
    back (`delay_on_commit`); outside a transaction it is sent at once. `countdown` delays the run.
    `priority` > 0 puts it behind everything of priority 0 in its queue (kombu's Redis transport
    keeps lists per priority step, 0 3 6 9, and a worker takes from the lowest first).
    The task is looked up at call time, so tasks may import services but services never import
    tasks: `enqueue("warehouse.tasks.transform_window", schema, ..., on_commit=True)`.
    """
    task = registered_task(name)
    if countdown > 0 or priority:
        options: dict[str, Any] = {"countdown": countdown} if countdown > 0 else {}
        if priority:
            options["priority"] = priority
        send = functools.partial(task.apply_async, args, kwargs, **options)
        if on_commit:
            transaction.on_commit(send)
        else:
            send()
    elif on_commit:
        task.delay_on_commit(*args, **kwargs)  # exactly what a caller holding the task would do
    else:
        task.delay(*args, **kwargs)


_started: dict[str, float] = {}
# The log context each running task bound, to be unbound when it ends (keyed by task id).
_log_tokens: dict[str, Any] = {}


# The schema each eagerly run task's caller was in (keyed by task id): an eager task is a function
# call inside its caller (the demo's backfill, a test), so it must leave the caller's schema as it was.
_eager_callers: dict[str, Any] = {}


@signals.task_prerun.connect
def _reset_schema_before_task(task_id: str | None = None, task: Task | None = None, **_: Any) -> None:
    # Whatever the previous task left behind, each task starts in the public schema.
    if task_id and task is not None and getattr(task.request, "is_eager", False):
        _eager_callers[task_id] = connection.tenant
    connection.set_schema_to_public()
    if task_id:
        _started[task_id] = time.monotonic()
        _log_tokens[task_id] = bosco_logging.bind(task_id=task_id, request_id=None, request=None)


@signals.task_postrun.connect
def _reset_schema_after_task(
    task_id: str | None = None, task: Task | None = None, state: str | None = None, **_: Any
) -> None:
    schema = getattr(connection, "schema_name", "-")
    caller = _eager_callers.pop(task_id or "", None)
    if caller is not None:
        connection.set_tenant(caller)
    else:
        connection.set_schema_to_public()
    started = _started.pop(task_id or "", None)
    if task is not None:
        duration = (time.monotonic() - started) if started else -1.0
        if started:
            TASK_DURATION.labels(task.name, state or "UNKNOWN").observe(duration)
        logger.info(
            "task %s %s in %.3fs",
            task.name,
            state,
            duration,
            extra={"task": task.name, "task_id": task_id, "schema_name": schema},
        )
    token = _log_tokens.pop(task_id or "", None)
    if token is not None:
        # bound in another context (a pool that moved the task): nothing to undo there
        with contextlib.suppress(ValueError):
            bosco_logging.unbind(token)


@signals.task_failure.connect
def _count_task_failure(sender: Task | None = None, **_: Any) -> None:
    # Fires once a task gives up (a retry is not a failure), in the process that ran it.
    TASK_FAILURES.labels(getattr(sender, "name", "unknown")).inc()
