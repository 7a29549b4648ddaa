"""Land rows from uploaded files (the uploads app) into `raw_record`: replace, never add.

An upload covers some days of some sources. Landing it deletes that source's raw rows for those
days and inserts the file's rows, in the caller's transaction, so a re-upload of the same period
replaces it (idempotent) and a crash leaves the earlier rows in place. The rows arrive as a file
already in PostgreSQL's COPY text format (written by the upload's validation pass), streamed in
chunks into a temporary table; rows with the same key are summed (ad-level exports hold several
rows per campaign and day). The warehouse window run that follows logs changed numbers in the
restatement log like any restated day.

Raw records of uploads carry `connection_id` 0 (no connection) and the upload's id as
`sync_run_id`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from warehouse.models import Platform

AD_DAILY = "upload.ad_daily"
OFFLINE_CONVERSION = "upload.offline_conversion"

#: the columns of each stream's normalized file, in order (COPY text format, tab separated)
COLUMNS: dict[str, tuple[str, ...]] = {
    AD_DAILY: (
        "record_key text, account_id text, date date, platform text, campaign_id text, campaign_name text,"
        " impressions bigint, clicks bigint, spend_micros bigint, conversions_micros bigint, value_micros bigint,"
        " currency text, time_zone text",
    ),
    OFFLINE_CONVERSION: (
        "record_key text, account_id text, date date, platform text, campaign_id text, source text,"
        " conversions_micros bigint, value_micros bigint, currency text",
    ),
}

# The payload of a raw record: (json key, column, aggregate when a key occurs more than once).
_FIELDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    AD_DAILY: (
        ("platform", "platform", "min"),
        ("campaign_id", "campaign_id", "min"),
        ("campaign_name", "campaign_name", "max"),
        ("impressions", "impressions", "sum"),
        ("clicks", "clicks", "sum"),
        ("spend_micros", "spend_micros", "sum"),
        ("conversions_micros", "conversions_micros", "sum"),
        ("value_micros", "value_micros", "sum"),
        ("currency", "currency", "min"),
        ("time_zone", "time_zone", "min"),
    ),
    OFFLINE_CONVERSION: (
        ("platform", "platform", "min"),
        ("campaign_id", "campaign_id", "min"),
        ("source", "source", "min"),
        ("conversions_micros", "conversions_micros", "sum"),
        ("value_micros", "value_micros", "sum"),
        ("currency", "currency", "min"),
    ),
}


def _schema() -> str:
    """The active workspace schema (django-tenants' connection carries it; Django's stubs do not)."""
    return str(getattr(connection, "schema_name", ""))


def _payload(stream: str, *, grouped: bool) -> str:
    pairs = ", ".join(f"'{key}', {agg}({col})" if grouped else f"'{key}', {col}" for key, col, agg in _FIELDS[stream])
    return f"jsonb_build_object({pairs}, 'upload_id', %(upload_id)s::bigint)"


#: the payload field that says which upload source a raw row belongs to (what a re-upload replaces)
_SOURCE_FIELD = {AD_DAILY: "platform", OFFLINE_CONVERSION: "source"}
_STAGE = "upload_landing"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class UploadLanding:
    deleted: int
    inserted: int
    #: platforms and accounts whose facts change (rows removed or added), for the window run
    platforms: list[str]
    account_ids: list[str]


def upload_source_register(*, code: str, name: str) -> None:
    """Make `code` ("upload_linkedin") a platform of the warehouse, named "LinkedIn (upload)".

    Uploaded numbers are final when uploaded: nothing restates them, so no day is settling.
    """
    Platform.objects.update_or_create(code=code, defaults={"name": name[:64], "restatement_days": 0})


def upload_rows_replace(
    *,
    stream: str,
    sources: list[str],
    date_from: date,
    date_to: date,
    rows_path: Path,
    upload_id: int,
    progress: Callable[[int], None] | None = None,
) -> UploadLanding:
    """Delete the raw rows of `sources` on `date_from`..`date_to` and land the file's rows instead."""
    if stream not in COLUMNS:
        raise ValueError(f"not an upload stream: {stream!r}")
    source_field = _SOURCE_FIELD[stream]
    with transaction.atomic(), connection.cursor() as cursor:
        # Two uploads of one source never interleave their delete and insert.
        for source in sorted(set(sources)):
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))", [_schema(), source])
        cursor.execute(
            """
            WITH gone AS (
                DELETE FROM raw_record
                 WHERE stream = %(stream)s AND date BETWEEN %(date_from)s AND %(date_to)s
                   AND payload ->> %(field)s = ANY(%(sources)s)
             RETURNING account_id, payload ->> 'platform' AS platform
            ), pairs AS (
                SELECT account_id, platform, count(*) AS n FROM gone GROUP BY 1, 2
            )
            SELECT coalesce(sum(n), 0), coalesce(array_agg(account_id), '{}'), coalesce(array_agg(platform), '{}')
              FROM pairs
            """,
            {"stream": stream, "date_from": date_from, "date_to": date_to, "field": source_field, "sources": sources},
        )
        deleted, old_accounts, old_platforms = cursor.fetchone()
        # a grouping of a large file's rows by key stays in memory instead of spilling to disk
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(f"DROP TABLE IF EXISTS {_STAGE}")
        cursor.execute(f"CREATE TEMPORARY TABLE {_STAGE} ({COLUMNS[stream][0]}) ON COMMIT DROP")
        done = 0
        with rows_path.open("rb") as handle, cursor.cursor.copy(f"COPY {_STAGE} FROM STDIN") as copy:
            while chunk := handle.read(_CHUNK):
                copy.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done)
        params: dict[str, Any] = {"stream": stream, "upload_id": upload_id, "now": timezone.now()}
        insert = "INSERT INTO raw_record (stream, record_key, connection_id, account_id, date, payload, sync_run_id, fetched_at)"
        try:
            # Most files have one row per key: insert row by row, no grouping (a savepoint, so a
            # duplicated key only costs the attempt).
            with transaction.atomic():
                cursor.execute(
                    f"{insert} SELECT %(stream)s, record_key, 0, account_id, date, {_payload(stream, grouped=False)},"
                    f" %(upload_id)s, %(now)s FROM {_STAGE}",  # nosec B608 # constant table and payload, bound values
                    params,
                )
        except IntegrityError:
            # Several rows per key (an ad-level export): one raw record per key with the sums.
            cursor.execute(
                f"{insert} SELECT %(stream)s, record_key, 0, min(account_id), min(date), {_payload(stream, grouped=True)},"
                f" %(upload_id)s, %(now)s FROM {_STAGE} GROUP BY record_key",  # nosec B608 # as above
                params,
            )
        inserted = cursor.rowcount
        cursor.execute(f"SELECT DISTINCT account_id, platform FROM {_STAGE}")  # nosec B608 # constant table
        landed_pairs = cursor.fetchall()
        new_accounts = [a for a, _ in landed_pairs]
        new_platforms = [p for _, p in landed_pairs]
    return UploadLanding(
        deleted=int(deleted),
        inserted=int(inserted),
        platforms=sorted(set(old_platforms) | set(new_platforms)),
        account_ids=sorted(set(old_accounts) | set(new_accounts)),
    )
