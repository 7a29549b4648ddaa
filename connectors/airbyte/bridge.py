"""One sync run of an Airbyte connection: `read` with the configured catalog, records and STATE
committed together.

- **Incremental streams**: records are held in memory until a STATE covers them (a STREAM
  state covers its stream; a GLOBAL or legacy state covers every incremental stream). Then one
  transaction lands them (`warehouse.services.landing.raw_records_land`: COPY + upsert), lands
  their mapped rows in the unified shape, saves the state on the stream's `StreamCursor` and
  moves the run's counters. A crash anywhere loses only uncommitted records, and the next run
  starts from the last committed state, so the source sends them again: no gaps; the natural
  key (the stream's primary key, or a hash of the record) makes the replay land no duplicate.
  Records after the last STATE are landed when the source exits successfully.
- **Full-refresh streams** go to a spool file and replace the stream's rows in one transaction
  at the end of a successful read (rows the source no longer sends are deleted); a failure
  leaves the previous copy untouched.
- **Faults** end the run with a message that says what happened and that nothing stored was
  lost: a protocol error (garbage on stdout, a record for a stream not in the catalog, a STATE
  going backwards), a TRACE error, a non-zero exit, a timeout (the process group is killed), a
  source that never checkpoints (`AIRBYTE_MAX_BUFFERED_RECORDS`). Stopping the run (pause,
  disconnect) kills the subprocess at the next check.
- **Long reads** hand over to a fresh task after `CONNECTORS_TASK_BUDGET_SECONDS`, right after a
  committed STATE, and resume from it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.db import connection as db
from django.db import transaction
from django.utils import timezone

from connectors.airbyte import mappings, protocol
from connectors.airbyte.forms import config_merge
from connectors.airbyte.process import SourceFailed, source_process
from connectors.airbyte.registry import source_get
from connectors.airbyte.services import catalog_refresh
from connectors.airbyte.venvs import VenvError
from connectors.models import AirbyteSource, Connection, ConnectionAccount, StreamCursor, SyncRun
from connectors.sync.handoff import hand_off
from connectors.sync.runs import close_run, enqueue_run
from warehouse.services.landing import RawRow, raw_records_land

logger = logging.getLogger("connectors.airbyte")

#: how often (seconds) a read checks whether its run was stopped, and beats its heartbeat
CHECK_EVERY = 2.0
#: full-refresh rows landed per COPY at the end of a read
FULL_REFRESH_BATCH = 5000
#: the cursor of a GLOBAL state's shared part or a legacy state blob
SHARED_STATE = ""


class BridgeError(Exception):
    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def raw_stream_name(connection_id: int, stream: str) -> str:
    name = f"airbyte.{connection_id}.{stream}"
    if len(name) <= 100:
        return name
    digest = hashlib.sha1(stream.encode(), usedforsecurity=False).hexdigest()[:12]
    return f"airbyte.{connection_id}.{stream[:60]}.{digest}"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_key(account_id: str, primary_key: list[list[str]] | None, data: dict[str, Any]) -> str:
    """The natural key from the stream's primary key, or a hash of the whole record without one."""
    parts: list[str] = []
    for path in primary_key or []:
        node: Any = data
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            parts = []
            break
        parts.append(node if isinstance(node, str) else _canonical(node))
    if not parts:
        parts = ["#" + hashlib.sha256(_canonical(data).encode()).hexdigest()]
    key = "|".join([account_id, *parts])
    if len(key) > 400:
        key = f"{account_id}|#" + hashlib.sha256(key.encode()).hexdigest()
    return key


def _unified_key(account_id: str, stream: str, key: str) -> str:
    digest = hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()
    return f"{account_id}|{stream[:200]}|{digest}"


def _comparable(old: Any, new: Any) -> bool:
    return type(old) is type(new) and isinstance(old, (str, int, float))


class AirbyteSync:
    """Execute one run of an Airbyte connection (called by `connectors.sync.run_execute`)."""

    def __init__(self, run: SyncRun) -> None:
        self.run = run
        self.connection: Connection = run.connection
        self.source_row: AirbyteSource = AirbyteSource.objects.get(connection=self.connection)
        self.source = source_get(self.source_row.source_key)
        self.account: ConnectionAccount = self.connection.accounts.get(selected=True)
        self.catalog = protocol.configured_catalog(self.source_row.catalog.get("streams", []), self.source_row.streams)
        self.configured = {item["stream"]["name"]: item for item in self.catalog["streams"]}
        self.started = time.monotonic()
        self.duration_before = run.duration_seconds
        self.pending: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.pending_count = 0
        self.spool: IO[str] = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024, mode="w+")  # noqa: SIM115
        self.full_refresh_counts: dict[str, int] = defaultdict(int)
        self.states = self._load_states()
        self.estimates: dict[str, int] = {}
        self.received = 0
        self.source_error: protocol.TraceError | None = None
        self.landed_days: set[date] = set()

    # ------------------------------------------------------------------ state
    def _load_states(self) -> dict[str, Any]:
        return {
            c.stream: c.airbyte_state
            for c in StreamCursor.objects.filter(connection=self.connection, account_id=self.account.external_id)
            if c.airbyte_state is not None
        }

    def _state_messages(self) -> list[dict[str, Any]] | None:
        """The states to pass to `read`, in the form the source sent them."""
        shared = self.states.get(SHARED_STATE)
        if isinstance(shared, dict) and shared.get("type") in ("GLOBAL", "LEGACY"):
            raw = shared["raw"]
            return [raw] if shared["type"] == "GLOBAL" else raw.get("data")
        messages = [
            {"type": "STREAM", "stream": {"stream_descriptor": {"name": name}, "stream_state": state}}
            for name, state in self.states.items()
            if name != SHARED_STATE and name in self.configured and self._incremental(name)
        ]
        return messages or None

    def _incremental(self, stream: str) -> bool:
        return self.configured[stream]["sync_mode"] == "incremental"

    def _check_forward(self, stream: str, new: Any) -> None:
        old = self.states.get(stream)
        cursor_field = (self.configured[stream].get("cursor_field") or [None])[0]
        if not (isinstance(old, dict) and isinstance(new, dict) and cursor_field):
            return
        before: Any = old.get(cursor_field)
        after: Any = new.get(cursor_field)
        if _comparable(before, after) and after < before:
            raise BridgeError(
                f"The source's checkpoint for {stream} went backwards ({cursor_field} {after} after {before}). "
                "Bosco kept the last good checkpoint and did not save the records since it; nothing stored was lost.",
                code="state_backwards",
            )

    # ------------------------------------------------------------------ reading
    def execute(self) -> str:
        config = config_merge(self.source_row.config, json.loads(self.source_row.secrets or "{}"))
        self._land_account()
        try:
            self._rediscover(config)
            with source_process(
                self.source,
                "read",
                config=config,
                catalog=self.catalog,
                state=self._state_messages(),
                timeout=float(settings.AIRBYTE_RUN_TIMEOUT),
            ) as process:
                handed_over = self._read(process)
                if handed_over:
                    return "continued"
                try:
                    process.finish()
                except SourceFailed as exc:
                    if self.source_error is not None:
                        raise BridgeError(self._trace_message(), code="source_error") from exc
                    raise BridgeError(
                        f"{exc} Bosco saved everything up to the source's last checkpoint; nothing stored was lost.",
                        code=exc.code,
                    ) from exc
            if self.source_error is not None:
                raise BridgeError(self._trace_message(), code="source_error")
            self._land_rest()
        except protocol.ProtocolError as exc:
            return self._fail(
                BridgeError(
                    f"{exc} Bosco stopped the source and did not save the records since its last checkpoint; "
                    "nothing stored was lost.",
                    code="source_protocol",
                )
            )
        except BridgeError as exc:
            return self._fail(exc)
        except SourceFailed as exc:  # spec/venv problems raised before reading
            return self._fail(BridgeError(str(exc), code=exc.code))
        except VenvError as exc:  # the source's environment could not be built: nothing was read
            return self._fail(BridgeError(str(exc), code="source_install"))
        finally:
            self.spool.close()
        return self._finish(SyncRun.Status.SUCCEEDED)

    def _rediscover(self, config: dict[str, Any]) -> None:
        """Discover again, so schema changes between runs are recorded and the catalog is current."""
        if catalog_refresh(connection_id=self.connection.pk, config=config) is not None:
            return  # discovery failed: read with the stored catalog
        self.source_row.refresh_from_db()
        self.catalog = protocol.configured_catalog(self.source_row.catalog.get("streams", []), self.source_row.streams)
        self.configured = {item["stream"]["name"]: item for item in self.catalog["streams"]}
        if not self.configured:
            raise BridgeError(
                "None of the chosen streams exists at the source any more; choose streams again. Nothing stored was lost.",
                code="no_streams",
            )

    def _trace_message(self) -> str:
        error = self.source_error
        assert error is not None
        return (
            f"The source reported an error: {error.message}"
            + (f" ({error.internal_message[:200]})" if error.internal_message else "")
            + " Everything up to its last checkpoint is saved; nothing stored was lost."
        )

    def _read(self, process: Any) -> bool:
        """Read every message; True if the run was handed to a fresh task after a checkpoint."""
        next_check = time.monotonic() + CHECK_EVERY
        budget_ends = self.started + float(settings.CONNECTORS_TASK_BUDGET_SECONDS)
        limit = int(settings.AIRBYTE_MAX_BUFFERED_RECORDS)
        for message in process.messages():
            if isinstance(message, protocol.Record):
                self._on_record(message)
                if self.pending_count > limit:
                    raise BridgeError(
                        f"The source sent more than {limit} records without a checkpoint, so Bosco stopped it "
                        "rather than hold them all in memory. Nothing stored was lost.",
                        code="no_checkpoint",
                    )
            elif isinstance(message, protocol.State):
                self._on_state(message)
                if time.monotonic() > budget_ends and not self.full_refresh_counts:
                    process.stop()
                    self._continue_later()
                    return True
            elif isinstance(message, protocol.TraceError):
                self.source_error = message
            elif isinstance(message, protocol.Estimate) and message.rows is not None:
                self.estimates[message.stream] = message.rows
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + CHECK_EVERY
                if not self._still_wanted():
                    process.stop()
                    raise BridgeError("Stopped. Everything synced up to the last checkpoint is kept.", code="stopped")
        return False

    def _on_record(self, record: protocol.Record) -> None:
        if record.stream not in self.configured:
            raise BridgeError(
                f"The source sent a record for stream {record.stream!r}, which was not among the streams Bosco asked "
                "for. Nothing since the last checkpoint was saved; nothing stored was lost.",
                code="undeclared_stream",
            )
        self.received += 1
        if self._incremental(record.stream):
            self.pending[record.stream].append(record.data)
            self.pending_count += 1
        else:
            self.spool.write(_canonical([record.stream, record.data]) + "\n")
            self.full_refresh_counts[record.stream] += 1

    def _on_state(self, state: protocol.State) -> None:
        if state.kind == "STREAM":
            ((stream, value),) = state.streams.items()
            if stream not in self.configured:
                raise BridgeError(
                    f"The source sent a checkpoint for stream {stream!r}, which Bosco did not ask for. "
                    "Nothing since the last checkpoint was saved; nothing stored was lost.",
                    code="undeclared_stream",
                )
            if not self._incremental(stream):
                return  # full refresh replaces at the end; its checkpoints mean nothing to Bosco
            self._check_forward(stream, value)
            self._commit({stream: value}, streams=[stream])
            return
        for stream, value in state.streams.items():
            if stream in self.configured and self._incremental(stream):
                self._check_forward(stream, value)
        shared = {"type": state.kind, "raw": state.raw}
        values: dict[str, Any] = {s: v for s, v in state.streams.items() if s in self.configured}
        values[SHARED_STATE] = shared
        self._commit(values, streams=[s for s in self.configured if self._incremental(s)])

    # ------------------------------------------------------------------ landing
    def _rows(self, stream: str, records: list[dict[str, Any]]) -> tuple[list[RawRow], list[RawRow]]:
        account_id = self.account.external_id
        primary_key = self.configured[stream].get("primary_key")
        mapping = mappings.mapping_for(self.source.key, stream)
        raw: list[RawRow] = []
        unified: list[RawRow] = []
        for data in records:
            key = record_key(account_id, primary_key, data)
            day: date | None = None
            if mapping is not None:
                day, row = mappings.unified_row(mapping, data)
                row["stream"] = stream
                unified.append(RawRow(_unified_key(account_id, stream, key), account_id, day, row))
                if day is not None:
                    self.landed_days.add(day)
            raw.append(RawRow(key, account_id, day, data))
        return raw, unified

    def _land(self, stream: str, records: list[dict[str, Any]]) -> tuple[int, int, int]:
        raw, unified = self._rows(stream, records)
        landed = raw_records_land(
            stream=raw_stream_name(self.connection.pk, stream),
            connection_id=self.connection.pk,
            sync_run_id=self.run.pk,
            rows=raw,
        )
        inserted, updated = landed.inserted, landed.updated
        if unified:
            mapped = raw_records_land(
                stream=mappings.UNIFIED_STREAM, connection_id=self.connection.pk, sync_run_id=self.run.pk, rows=unified
            )
            inserted, updated = inserted + mapped.inserted, updated + mapped.updated
        return landed.received, inserted, updated

    def _commit(self, states: dict[str, Any], *, streams: list[str]) -> None:
        """Land the covered streams' records and save their states: one transaction."""
        now = timezone.now()
        with transaction.atomic():
            counts = {"rows": 0, "inserted": 0, "updated": 0}
            per_stream: dict[str, int] = {}
            for stream in streams:
                records = self.pending.pop(stream, [])
                if not records:
                    continue
                received, inserted, updated = self._land(stream, records)
                per_stream[stream] = received
                counts["rows"] += received
                counts["inserted"] += inserted
                counts["updated"] += updated
            for stream, value in states.items():
                cursor, _ = StreamCursor.objects.get_or_create(
                    connection=self.connection, account_id=self.account.external_id, stream=stream
                )
                cursor.airbyte_state = value
                cursor.rows_landed += per_stream.pop(stream, 0)
                cursor.last_success_at = now
                cursor.save()
            for stream, received in per_stream.items():  # covered by a GLOBAL/legacy state
                self._cursor_add(stream, received, now)
            self._save_progress(pages=1, **counts)
        self.states.update(states)
        self.pending_count = sum(len(v) for v in self.pending.values())

    def _cursor_add(self, stream: str, rows: int, now: datetime) -> None:
        cursor, _ = StreamCursor.objects.get_or_create(
            connection=self.connection, account_id=self.account.external_id, stream=stream
        )
        cursor.rows_landed += rows
        cursor.last_success_at = now
        cursor.save()

    def _save_progress(self, *, pages: int, rows: int, inserted: int, updated: int) -> None:
        run = SyncRun.objects.select_for_update().get(pk=self.run.pk)
        run.pages += pages
        run.rows += rows
        run.rows_inserted += inserted
        run.rows_updated += updated
        run.units_done = max(run.units_done, self.received)
        run.units_total = max(run.units_done, sum(self.estimates.values()))
        run.heartbeat_at = timezone.now()
        run.duration_seconds = self.duration_before + (time.monotonic() - self.started)
        if self.landed_days:
            first, last = min(self.landed_days), max(self.landed_days)
            run.landed_from = min(first, run.landed_from or first)
            run.landed_to = max(last, run.landed_to or last)
        run.save()
        self.run = run

    def _land_rest(self) -> None:
        """After a successful exit: records after the last checkpoint, then the full-refresh replacements."""
        if self.pending:
            self._commit({}, streams=list(self.pending))
        if not self.full_refresh_counts:
            return
        now = timezone.now()
        with transaction.atomic():
            counts = {"rows": 0, "inserted": 0, "updated": 0}
            seen: dict[str, set[str]] = defaultdict(set)
            seen_unified: dict[str, set[str]] = defaultdict(set)
            batch: dict[str, list[dict[str, Any]]] = defaultdict(list)

            def flush(stream: str) -> None:
                records = batch.pop(stream, [])
                for data in records:
                    key = record_key(self.account.external_id, self.configured[stream].get("primary_key"), data)
                    seen[stream].add(key)
                    seen_unified[stream].add(_unified_key(self.account.external_id, stream, key))
                received, inserted, updated = self._land(stream, records)
                counts["rows"] += received
                counts["inserted"] += inserted
                counts["updated"] += updated

            self.spool.seek(0)
            for line in self.spool:
                stream, data = json.loads(line)
                batch[stream].append(data)
                if len(batch[stream]) >= FULL_REFRESH_BATCH:
                    flush(stream)
            for stream in list(batch):
                flush(stream)
            for stream in self.full_refresh_counts:
                counts["updated"] += self._delete_missing(stream, seen[stream], seen_unified[stream])
                self._cursor_add(stream, self.full_refresh_counts[stream], now)
            self._save_progress(pages=1, **counts)

    def _delete_missing(self, stream: str, keys: set[str], unified_keys: set[str]) -> int:
        """Full refresh: rows of the stream the source no longer sends go (their mapped rows too)."""
        with db.cursor() as cursor:
            cursor.execute(
                "DELETE FROM raw_record WHERE stream = %s AND NOT (record_key = ANY(%s))",
                [raw_stream_name(self.connection.pk, stream), list(keys)],
            )
            deleted = cursor.rowcount
            if mappings.mapping_for(self.source.key, stream) is not None:
                prefix = f"{self.account.external_id}|{stream[:200]}|"
                cursor.execute(
                    "DELETE FROM raw_record WHERE stream = %s AND account_id = %s AND left(record_key, %s) = %s"
                    " AND NOT (record_key = ANY(%s)) RETURNING date",
                    [mappings.UNIFIED_STREAM, self.account.external_id, len(prefix), prefix, list(unified_keys)],
                )
                for (day,) in cursor.fetchall():
                    if day is not None:
                        self.landed_days.add(day)
                deleted += cursor.rowcount
        return max(0, deleted)

    def _land_account(self) -> None:
        """The connection's account record (name, currency, time zone) for the warehouse's dimensions."""
        account = self.account
        row = RawRow(
            account.external_id,
            account.external_id,
            None,
            {"name": account.name, "currency": account.currency, "time_zone": account.time_zone},
        )
        with transaction.atomic():
            raw_records_land(
                stream=mappings.ACCOUNT_STREAM, connection_id=self.connection.pk, sync_run_id=self.run.pk, rows=[row]
            )

    # ------------------------------------------------------------------ endings
    def _still_wanted(self) -> bool:
        status = SyncRun.objects.filter(pk=self.run.pk).values_list("status", flat=True).first()
        SyncRun.objects.filter(pk=self.run.pk).update(heartbeat_at=timezone.now(), units_done=self.received)
        return status == SyncRun.Status.RUNNING

    def _continue_later(self) -> None:
        with transaction.atomic():
            run = SyncRun.objects.select_for_update().get(pk=self.run.pk)
            if not run.is_active:
                return
            run.status = SyncRun.Status.QUEUED
            run.duration_seconds = self.duration_before + (time.monotonic() - self.started)
            run.heartbeat_at = timezone.now()
            run.note = "Continues in a fresh task from the source's last checkpoint."
            run.save()
            enqueue_run(run)

    def _fail(self, error: BridgeError) -> str:
        logger.warning("airbyte run %s failed: %s: %s", self.run.pk, error.code, error)
        if error.code == "stopped":
            return self._finish(SyncRun.Status.CANCELLED, note=str(error))
        return self._finish(SyncRun.Status.FAILED, error=error)

    def _finish(self, status: str, *, error: BridgeError | None = None, note: str = "") -> str:
        now = timezone.now()
        with transaction.atomic():
            run = SyncRun.objects.select_for_update().get(pk=self.run.pk)
            connection = Connection.objects.select_for_update().get(pk=self.connection.pk)
            run.duration_seconds = self.duration_before + (time.monotonic() - self.started)
            if error is not None:
                run.error_code = error.code[:40]
                run.error_message = str(error)
            if status == SyncRun.Status.CANCELLED and run.status != SyncRun.Status.RUNNING:
                status = run.status  # already closed by whoever stopped it
            close_run(run, status, note=note, now=now)
            self.run = run
            if self.landed_days or run.landed_from:
                hand_off(run, connection, [self.account.external_id], now)
            if status == SyncRun.Status.CANCELLED:
                return run.status
            connection.last_sync_at = now
            if connection.status in (Connection.Status.ACTIVE, Connection.Status.ERROR):
                connection.next_sync_at = now + timedelta(hours=connection.sync_interval_hours)
            if status == SyncRun.Status.SUCCEEDED:
                connection.last_success_at = now
                if connection.status == Connection.Status.ERROR:
                    connection.status = Connection.Status.ACTIVE
                if connection.status == Connection.Status.ACTIVE:
                    connection.status_message = ""
            elif connection.status in (Connection.Status.ACTIVE, Connection.Status.ERROR):
                connection.status = Connection.Status.ERROR
                connection.status_message = run.error_message
            connection.save()
        return run.status
