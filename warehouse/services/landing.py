"""Land raw platform records: COPY into a temporary table, then one set-based upsert.

Idempotent: landing the same records again changes nothing; a record whose payload changed
(a restated day) is updated in place; duplicates inside one batch keep the last occurrence.
Runs inside the caller's transaction (a savepoint if one is open), so a connector commits a
page and its cursor together.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from django.db import connection, transaction
from django.utils import timezone


@dataclass(frozen=True)
class RawRow:
    record_key: str
    account_id: str
    date: date | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class LandingResult:
    received: int
    inserted: int
    updated: int

    @property
    def unchanged(self) -> int:
        return self.received - self.inserted - self.updated


_STAGE = "raw_record_landing"
# Compact, no circular-reference bookkeeping, non-ASCII as is: jsonb stores the same value as
# with json.dumps' defaults, for less work per row (the hot loop of every sync).
_encode_json_stdlib = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS


def _encode_json(payload: Any) -> str:
    """The payload as JSON text for COPY: orjson (about ten times json's speed) for the values
    JSON has; what it refuses (a Decimal, an integer beyond 64 bits, a lone surrogate) takes
    json's path, so every payload json could store is stored as before."""
    try:
        return orjson.dumps(payload, option=_ORJSON_OPTIONS).decode()
    except TypeError:
        return _encode_json_stdlib(payload)


def raw_records_land(
    *,
    stream: str,
    connection_id: int,
    sync_run_id: int,
    rows: Iterable[RawRow],
    fetched_at: datetime | None = None,
) -> LandingResult:
    fetched_at = fetched_at or timezone.now()
    # Duplicates inside the batch keep the last occurrence: resolved here, so the database
    # neither sorts the batch (DISTINCT ON) nor meets a key twice in one INSERT.
    latest: dict[str, RawRow] = {}
    received = 0
    for row in rows:
        latest[row.record_key] = row
        received += 1
    if received == 0:
        return LandingResult(0, 0, 0)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} ("
            " record_key text, account_id text, date date, payload jsonb) ON COMMIT DELETE ROWS"
        )
        cursor.execute(f"TRUNCATE {_STAGE}")
        with cursor.cursor.copy(f"COPY {_STAGE} (record_key, account_id, date, payload) FROM STDIN") as copy:
            write = copy.write_row
            for row in latest.values():
                write((row.record_key, row.account_id, row.date, _encode_json(row.payload)))
        cursor.execute(
            f"""
            WITH upserted AS (
                INSERT INTO raw_record AS r (stream, record_key, connection_id, account_id, date, payload, sync_run_id, fetched_at)
                SELECT %(stream)s, record_key, %(connection_id)s, account_id, date, payload, %(sync_run_id)s, %(fetched_at)s
                  FROM {_STAGE}
                ON CONFLICT (stream, record_key) DO UPDATE
                   SET payload = EXCLUDED.payload,
                       account_id = EXCLUDED.account_id,
                       date = EXCLUDED.date,
                       connection_id = EXCLUDED.connection_id,
                       sync_run_id = EXCLUDED.sync_run_id,
                       fetched_at = EXCLUDED.fetched_at
                 WHERE r.payload IS DISTINCT FROM EXCLUDED.payload
                RETURNING (xmax = 0) AS inserted
            )
            SELECT count(*) FILTER (WHERE inserted), count(*) FROM upserted
            """,  # nosec B608 # constant table, bound values
            {"stream": stream, "connection_id": connection_id, "sync_run_id": sync_run_id, "fetched_at": fetched_at},
        )
        inserted, changed = cursor.fetchone()
    return LandingResult(received=received, inserted=int(inserted), updated=int(changed) - int(inserted))


def raw_dates_of_run(*, stream: str, sync_run_id: int) -> tuple[date, date] | None:
    """The first and last `date` of the records a sync run inserted or changed in `stream`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT min(date), max(date) FROM raw_record WHERE stream = %s AND sync_run_id = %s",
            [stream, sync_run_id],
        )
        low, high = cursor.fetchone()
    return (low, high) if low is not None and high is not None else None
