"""Sync runs and their locks: one worker per connection at a time, and the run's bookkeeping.

- `connection_lock`: a session-level PostgreSQL advisory lock per connection (workspace schema
  hashed, connection id); a second task for the same connection returns at once, and a killed
  worker's lock dies with its database session.
- `enqueue_run`: queue the `sync_connection` task by name, only if the transaction commits, with
  the broker priority of its turn in the workspace's round; `fan_out_order`: the beat's rotation.
- `close_run`, `mark_connection`, `follow_up_backfill`: the endings every path of a run shares.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.db import DatabaseError
from django.db import connection as db
from django.utils import timezone

from bosco.tasks import enqueue
from connectors.models import Connection, StreamCursor, SyncRun

logger = logging.getLogger("connectors.sync")

#: the Celery task that executes a run (connectors/tasks.py), queued by name: runs never import tasks
SYNC_TASK = "connectors.tasks.sync_connection"


def _lock_key(connection_id: int) -> tuple[int, int]:
    # Two int4 keys: the workspace schema (hashed) and the connection id.
    space = zlib.crc32(f"bosco.connectors.sync:{db.schema_name}".encode())  # type: ignore[attr-defined]  # django-tenants adds it
    return space - (1 << 32) if space >= (1 << 31) else space, int(connection_id)


@contextmanager
def connection_lock(connection_id: int) -> Iterator[bool]:
    """Hold the connection's advisory lock for the block; yields False if someone else has it."""
    key = _lock_key(connection_id)
    with db.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", key)
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            try:
                with db.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", key)
            except DatabaseError:  # the session is gone, and its lock with it
                logger.warning("could not release the sync lock of connection %s", connection_id)


def lock_is_free(connection_id: int) -> bool:
    with connection_lock(connection_id) as acquired:
        return acquired


def close_run(run: SyncRun, status: str, *, note: str = "", now: datetime | None = None) -> None:
    run.status = status
    run.finished_at = now or timezone.now()
    run.heartbeat_at = run.finished_at
    run.resume_after = None
    if note:
        run.note = note[:300]
    elif status != SyncRun.Status.QUEUED:
        run.note = ""
    if status == SyncRun.Status.SUCCEEDED:
        run.units_done = run.units_total
    run.save()


def mark_connection(connection: Connection, status: str, message: str) -> None:
    if connection.status in (Connection.Status.ACTIVE, Connection.Status.ERROR):
        connection.status = status
        connection.status_message = message
        connection.save(update_fields=["status", "status_message", "updated_at"])


#: Broker priority of a scheduled sync by its turn in the workspace's round (0: its first due
#: connection). kombu's Redis transport serves 0, then 3, 6, 9: every workspace's first scheduled
#: sync of a beat tick starts before any workspace's second, so a workspace with many connections
#: does not make the workspaces queued after it wait for all of them (bench/scale.py measures it).
TURN_PRIORITIES = (0, 3, 6, 9)


def fan_out_order(schemas: list[str], *, tick: int) -> list[str]:
    """The workspaces of one beat tick, rotated so a different one goes first every tick.

    A fixed order would put the same workspaces at the back of the queue every tick. The start
    moves by the golden-ratio share of the list each tick (a low-discrepancy sequence), so over a
    few ticks every workspace gets the front, the middle and the back about equally often.
    """
    if not schemas:
        return []
    start = int((tick * 0.6180339887498949) % 1.0 * len(schemas))
    return schemas[start:] + schemas[:start]


def enqueue_run(run: SyncRun, *, countdown: float = 0.0, turn: int = 0) -> None:
    """Queue a task for `run` once the current transaction commits (nothing if it rolls back).

    `turn` is the run's place among the syncs its workspace starts in one scheduling round.
    """
    schema = db.schema_name  # type: ignore[attr-defined]  # django-tenants adds it
    priority = TURN_PRIORITIES[min(turn, len(TURN_PRIORITIES) - 1)]
    enqueue(SYNC_TASK, schema, run.pk, on_commit=True, countdown=countdown, priority=priority)


def follow_up_backfill(connection: Connection) -> None:
    """Accounts selected while a run was going have no history yet: start their backfill now."""
    selected = set(connection.accounts.filter(selected=True).values_list("external_id", flat=True))
    covered = set(
        StreamCursor.objects.filter(
            connection=connection, account_id__in=selected, covered_from__isnull=False
        ).values_list("account_id", flat=True)
    )
    if selected - covered:
        run = SyncRun.objects.create(connection=connection, kind=SyncRun.Kind.BACKFILL)
        enqueue_run(run)
