"""Land a workspace's buffered beacons into its `tracking_event` table.

Read with a Redis consumer group; COPY into the table (or, when the batch repeats a stored event,
into a temporary staging table and one INSERT … SELECT … ON CONFLICT (event_id) DO NOTHING); commit; only then XACK and XDEL. A worker killed anywhere before the
commit leaves its entries pending in the group, and the next landing claims them (XAUTOCLAIM) once
they have been idle for `TRACKING_RECLAIM_IDLE_SECONDS`; killed after the commit, the re-landed rows
are dropped by the conflict clause. Nothing is lost and nothing doubled.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from dataclasses import dataclass
from typing import Any, cast

import psycopg
import redis
from django.conf import settings
from django.db import transaction

from bosco.db import connection
from tracking.collect import buffer
from tracking.collect.parsing import COLUMNS

logger = logging.getLogger(__name__)

BATCH_ENTRIES = 2000


@dataclass
class LandingResult:
    entries: int = 0
    rows: int = 0
    inserted: int = 0

    @property
    def duplicates(self) -> int:
        return self.rows - self.inserted


def _ensure_group(client: redis.Redis, stream: str) -> None:
    try:
        client.xgroup_create(stream, buffer.GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def _claim(client: redis.Redis, stream: str, consumer: str, *, count: int) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """Entries a dead (or stuck) consumer took and never acknowledged, then new ones."""
    idle_ms = int(settings.TRACKING_RECLAIM_IDLE_SECONDS * 1000)
    # redis-py types every reply as a union; these are XAUTOCLAIM's and XREADGROUP's shapes.
    claimed = cast(
        "list[Any]",
        client.xautoclaim(stream, buffer.GROUP, consumer, min_idle_time=idle_ms, start_id="0-0", count=count),
    )
    entries: list[tuple[bytes, dict[bytes, bytes]]] = [entry for entry in claimed[1] if entry[1]]
    if len(entries) < count:
        fresh = cast(
            "list[Any] | None",
            client.xreadgroup(buffer.GROUP, consumer, {stream: ">"}, count=count - len(entries)),
        )
        for _stream, items in fresh or []:
            entries.extend(items)
    return entries


def _copy_rows(rows: list[list[Any]]) -> int:
    """Land the rows; how many were new.

    The common batch holds no event already stored, so it is COPYed straight into the table inside
    a savepoint. A replayed beacon, or a batch re-landed after a worker died between commit and
    XACK, makes that COPY fail on the event_id key; the savepoint is rolled back and the batch goes
    through a staging table and INSERT … ON CONFLICT (event_id) DO NOTHING, which drops the copies.
    """
    columns = ", ".join(COLUMNS)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3's cursor, for COPY
        try:
            # A savepoint: the caller's transaction survives a conflict.
            with transaction.atomic(), raw.copy(f"COPY tracking_event ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return len(rows)
        except psycopg.errors.UniqueViolation:
            pass
        # IF NOT EXISTS + TRUNCATE: a caller's outer transaction may land several batches in one.
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS tracking_event_staging ON COMMIT DROP AS "
            f"SELECT {columns} FROM tracking_event WITH NO DATA"
        )
        cursor.execute("TRUNCATE tracking_event_staging")
        with raw.copy(f"COPY tracking_event_staging ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f"INSERT INTO tracking_event ({columns}) "
            f"SELECT {columns} FROM tracking_event_staging "
            "ON CONFLICT (event_id) DO NOTHING"
        )
        return cursor.rowcount


def land_batch(*, schema: str, consumer: str | None = None, count: int = BATCH_ENTRIES) -> LandingResult:
    """Land up to `count` buffered beacons of the current workspace; the entries acknowledged after commit."""
    client = buffer.client()
    stream = buffer.stream_key(schema)
    _ensure_group(client, stream)
    entries = _claim(client, stream, consumer or consumer_name(), count=count)
    result = LandingResult(entries=len(entries))
    if not entries:
        return result
    rows: list[list[Any]] = []
    for _entry_id, fields in entries:
        rows.extend(json.loads(fields[b"rows"]))
    result.rows = len(rows)
    with transaction.atomic():
        result.inserted = _copy_rows(rows)
    ids = [entry_id for entry_id, _fields in entries]
    pipe = client.pipeline(transaction=True)
    pipe.xack(stream, buffer.GROUP, *ids)
    pipe.xdel(stream, *ids)
    if result.duplicates:
        pipe.hincrby(buffer.counts_key(schema), "rejected:duplicate", result.duplicates)
    pipe.hincrby(buffer.counts_key(schema), "landed", result.inserted)
    pipe.execute()
    return result


def land_pending(*, schema: str, time_budget: float = 20.0) -> LandingResult:
    """Land batches until the stream is drained or the time budget is spent."""
    # Cleared before reading: a beacon appended after this point queues a landing of its own, and
    # one appended before it is read below. (Left set, beacons in its 2 s would wait for the backstop.)
    buffer.client().delete(buffer.landing_flag_key(schema))
    total = LandingResult()
    consumer = consumer_name()
    started = time.monotonic()
    while time.monotonic() - started < time_budget:
        result = land_batch(schema=schema, consumer=consumer)
        total.entries += result.entries
        total.rows += result.rows
        total.inserted += result.inserted
        if result.entries == 0:
            break
    if total.entries == 0 or time.monotonic() - started < time_budget:
        _forget_if_drained(schema)
    if total.entries:
        logger.info(
            "tracking events landed",
            extra={"entries": total.entries, "inserted": total.inserted, "duplicates": total.duplicates},
        )
    return total


# Atomic against the collect script's XADD + SADD: a workspace leaves the pending set only while its
# stream is empty.
_FORGET_IF_DRAINED = """
if redis.call('XLEN', KEYS[1]) == 0 then return redis.call('SREM', KEYS[2], ARGV[1]) end
return 0
"""


def _forget_if_drained(schema: str) -> None:
    client = buffer.client()
    client.eval(_FORGET_IF_DRAINED, 2, buffer.stream_key(schema), buffer.PENDING_SET, schema)


def buffered_entries(*, schema: str) -> int:
    """Entries still in the workspace's stream (new or pending)."""
    return int(buffer.client().xlen(buffer.stream_key(schema)))
