"""Syncing: one run of one connection, resumable at every page.

How a run goes (`run_execute`, called by the `sync_connection` task):

1. **One at a time.** A session-level PostgreSQL advisory lock per connection: a second task for
   the same connection (a redelivered message, a duplicate beat) returns at once; a killed
   worker's lock dies with its database session.
2. **Plan.** For every selected account and stream the cursor gets this run's date ranges
   (`connectors.windows.plan_ranges`): the backfill on first contact, later the lookback window
   plus new days. Planning is idempotent: a resumed run keeps its plan.
3. **Snapshots, then daily chunks newest first.** Entity streams (account, campaigns, ad
   groups / ad sets) are read in full; daily streams are read in date chunks, always picking the
   newest unfinished chunk across accounts, so recent data arrives first.
4. **Each page commits with its cursor.** One transaction lands the page (COPY + upsert, see
   `warehouse.services.landing`), advances the cursor (next page token, or the next chunk and
   the covered span) and updates the run's counters. A crash loses at most the page in flight,
   and re-reading it is harmless because landing is idempotent.
5. **Faults.** Transient errors are retried in `connectors.http` (bounded, backoff with jitter,
   Retry-After); a report the platform gives up on is split in half; an expired token is
   refreshed once and the same page requested again; a revoked grant marks the connection
   `needs_reauth`; a long wait frees the worker and re-queues the run (`resume_after`). A
   synchronous report refused as too large may continue as an asynchronous job
   (`ReportJobStarted`), whose id is committed with the cursor before the first poll.
6. **Finish.** The run's status, counters and a message a person can act on are saved with the
   connection's status, and — in the same transaction — the landed date window is handed to the
   warehouse (`warehouse.services.pipeline.enqueue_window_transform`, enqueued on commit).

The package follows those seams: `runs` (the lock, queueing a run by task name, a run's
endings), `engine` (`SyncEngine`: plan, read, commit pages, finish), `handoff` (the one call
into the warehouse). This module is the entry point that ties them together.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.entitlements import for_workspace
from bosco.db import connection as db
from connectors.models import Connection, Platform, SyncRun
from connectors.sync.engine import SyncEngine
from connectors.sync.runs import close_run, connection_lock, enqueue_run, lock_is_free, mark_connection

__all__ = ["SyncEngine", "enqueue_run", "lock_is_free", "run_execute"]

logger = logging.getLogger("connectors.sync")


def run_execute(*, run_id: int) -> str:
    """Execute (or resume) a sync run; safe to call any number of times for the same run."""
    connection_id = SyncRun.objects.filter(pk=run_id).values_list("connection_id", flat=True).first()
    if connection_id is None:
        return "missing"
    with connection_lock(connection_id) as acquired:
        if not acquired:
            logger.info("sync run %s: connection %s is already syncing; nothing to do", run_id, connection_id)
            return "busy"
        return _execute_locked(run_id)


def _execute_locked(run_id: int) -> str:
    with transaction.atomic():
        run = SyncRun.objects.select_for_update().select_related("connection").get(pk=run_id)
        if not run.is_active:
            return run.status
        connection = run.connection
        now = timezone.now()
        if not connection.is_live:
            close_run(
                run,
                SyncRun.Status.CANCELLED,
                note=f"Not synced: the connection is {connection.get_status_display().lower()}.",
            )
            return run.status
        plan = for_workspace(db.schema_name)
        if plan.read_only:
            # Queued before the workspace turned read-only: skip, saying why; nothing synced is lost.
            logger.info("sync run %s skipped: %s", run_id, plan.read_only_reason)
            close_run(run, SyncRun.Status.CANCELLED, note=f"Not synced: {plan.read_only_reason}")
            return run.status
        if run.resume_after and run.resume_after > now:
            # An early redelivery of a deferred run: come back when the platform lets us.
            enqueue_run(run, countdown=(run.resume_after - now).total_seconds())
            return "deferred"
        run.attempts += 1
        if run.attempts > settings.CONNECTORS_MAX_TASK_ATTEMPTS:
            run.error_code = "worker_lost"
            run.error_message = (
                f"The sync stopped unexpectedly {run.attempts - 1} times in a row, so Bosco gave up on this run. "
                "Nothing already synced was lost; the next scheduled sync starts afresh. If it keeps happening, contact support."
            )
            close_run(run, SyncRun.Status.FAILED)
            mark_connection(connection, Connection.Status.ERROR, run.error_message)
            return run.status
        run.status = SyncRun.Status.RUNNING
        run.started_at = run.started_at or now
        run.heartbeat_at = now
        run.resume_after = None
        run.note = ""
        run.save(update_fields=["attempts", "status", "started_at", "heartbeat_at", "resume_after", "note"])
    if connection.platform == Platform.AIRBYTE:
        # Function-level: the bridge imports connectors.sync.runs/handoff, so importing it at
        # module level would close an import cycle through this package.
        from connectors.airbyte.bridge import AirbyteSync

        return AirbyteSync(run).execute()
    return SyncEngine(run).execute()
