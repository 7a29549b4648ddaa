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


def raw_records_land(
    *,
    stream: str,
    connection_id: int,
    sync_run_id: int,
    rows: Iterable[RawRow],
    fetched_at: datetime | None = None,
) -> LandingResult:
    fetched_at = fetched_at or timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGE} ("
            " seq bigint, record_key text, account_id text, date date, payload jsonb) ON COMMIT DELETE ROWS"
        )
        cursor.execute(f"TRUNCATE {_STAGE}")
        received = 0
        with cursor.cursor.copy(f"COPY {_STAGE} (seq, record_key, account_id, date, payload) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((received, row.record_key, row.account_id, row.date, json.dumps(row.payload)))
                received += 1
        if received == 0:
            return LandingResult(0, 0, 0)
        cursor.execute(
            f"""
            INSERT INTO raw_record AS r (stream, record_key, connection_id, account_id, date, payload, sync_run_id, fetched_at)
            SELECT DISTINCT ON (record_key) %(stream)s, record_key, %(connection_id)s, account_id, date, payload,
                   %(sync_run_id)s, %(fetched_at)s
              FROM {_STAGE}
             ORDER BY record_key, seq DESC
            ON CONFLICT (stream, record_key) DO UPDATE
               SET payload = EXCLUDED.payload,
                   account_id = EXCLUDED.account_id,
                   date = EXCLUDED.date,
                   connection_id = EXCLUDED.connection_id,
                   sync_run_id = EXCLUDED.sync_run_id,
                   fetched_at = EXCLUDED.fetched_at
             WHERE r.payload IS DISTINCT FROM EXCLUDED.payload
            RETURNING (xmax = 0) AS inserted
            """,
            {"stream": stream, "connection_id": connection_id, "sync_run_id": sync_run_id, "fetched_at": fetched_at},
        )
        flags = [row[0] for row in cursor.fetchall()]
        cursor.execute(f"TRUNCATE {_STAGE}")
    inserted = sum(1 for flag in flags if flag)
    return LandingResult(received=received, inserted=inserted, updated=len(flags) - inserted)
