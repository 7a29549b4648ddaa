"""Exports of the unified daily fact for a date range, as streamed CSV or Parquet.

Both are generators of bytes for a view or API endpoint to wrap in a StreamingHttpResponse;
memory stays bounded whatever the range. Columns follow Fivetran's dbt_ad_reporting unified
report (date_day, platform, account / campaign / ad group ids and names, impressions, clicks,
spend, conversions, conversions_value) plus what it lacks: currency, time zone, the reporting
currency amounts with the FX rate and its date, and the settling flag.

Money is exact: CSV carries decimal strings, Parquet decimal128(18, 6) built directly from the
stored integer micros (no float on the way).

- CSV is one `COPY … TO STDOUT`, so it is one consistent snapshot.
- Parquet reads in keyset-paginated batches (one row group each); a sync that commits while a
  long export runs may show in the later batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from django.db import connection

MONEY = pa.decimal128(18, 6)
COLUMNS: list[tuple[str, str, pa.DataType]] = [
    # (export name, SQL expression over f = fact, a/c/g = dimensions, Arrow type)
    ("date_day", "f.date_day", pa.date32()),
    ("platform", "f.platform", pa.string()),
    ("account_id", "f.account_id", pa.string()),
    ("account_name", "a.name", pa.string()),
    ("campaign_id", "f.campaign_id", pa.string()),
    ("campaign_name", "c.name", pa.string()),
    ("ad_group_id", "f.ad_group_id", pa.string()),
    ("ad_group_name", "g.name", pa.string()),
    ("impressions", "f.impressions", pa.int64()),
    ("clicks", "f.clicks", pa.int64()),
    ("spend", "f.spend_micros", MONEY),
    ("conversions", "f.conversions_micros", MONEY),
    ("conversions_value", "f.conversions_value_micros", MONEY),
    ("currency", "f.currency", pa.string()),
    ("time_zone", "f.time_zone", pa.string()),
    ("reporting_currency", "f.reporting_currency", pa.string()),
    ("spend_reporting", "f.spend_reporting_micros", MONEY),
    ("conversions_value_reporting", "f.conversions_value_reporting_micros", MONEY),
    ("fx_rate", "f.fx_rate::text", pa.string()),
    ("fx_rate_date", "f.fx_rate_date", pa.date32()),
    ("fx_fallback", "f.fx_fallback", pa.bool_()),
    ("is_settling", "f.is_settling", pa.bool_()),
]
#: rows come in primary-key order, so every Parquet batch is one index range (no sort)
KEY = ("platform", "account_id", "date_day", "campaign_id", "ad_group_id")
_FROM = """
  FROM fct_ad_performance_daily f
  LEFT JOIN dim_ad_account a ON a.platform = f.platform AND a.account_id = f.account_id
  LEFT JOIN dim_campaign c ON c.platform = f.platform AND c.account_id = f.account_id AND c.campaign_id = f.campaign_id
  LEFT JOIN dim_ad_group g ON g.platform = f.platform AND g.account_id = f.account_id AND g.ad_group_id = f.ad_group_id
 WHERE f.date_day BETWEEN %(date_from)s AND %(date_to)s AND (%(all_platforms)s OR f.platform = ANY(%(platforms)s))"""


def _params(date_from: date, date_to: date, platforms: list[str] | None) -> dict[str, Any]:
    if date_from > date_to:
        raise ValueError("date_from is after date_to")
    return {"date_from": date_from, "date_to": date_to, "all_platforms": not platforms, "platforms": platforms or []}


def _csv_select() -> str:
    def expr(name: str, sql: str, kind: pa.DataType) -> str:
        if kind == MONEY:
            return f"to_char({sql} / 1000000.0, 'FM9999999999990.000000') AS {name}"
        return f"{sql} AS {name}"

    return "SELECT " + ", ".join(expr(*c) for c in COLUMNS)


def facts_export_csv(
    *, date_from: date, date_to: date, platforms: list[str] | None = None, chunk_bytes: int = 256 * 1024
) -> Iterator[bytes]:
    """The facts of [date_from, date_to] as CSV with a header row, streamed in chunks."""
    params = _params(date_from, date_to, platforms)
    order = ", ".join(f"f.{k}" for k in KEY)
    with connection.cursor() as cursor:
        query = cursor.cursor.mogrify(f"{_csv_select()}{_FROM} ORDER BY {order}", params)
        buffer = bytearray()
        with cursor.cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)") as copy:
            for block in copy:
                buffer += block
                if len(buffer) >= chunk_bytes:
                    yield bytes(buffer)
                    buffer.clear()
        if buffer:
            yield bytes(buffer)


class _Sink:
    """A write-only file the Parquet writer fills and the generator drains."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.closed = False
        self.position = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        return None

    def close(self) -> None:
        self.closed = True

    def drain(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def _micros_to_decimal(values: list[int]) -> pa.Array:
    """Integer micros are exactly the unscaled value of a decimal with scale 6."""
    micros = np.asarray(values, dtype=np.int64)
    words = np.empty((len(micros), 2), dtype=np.int64)
    words[:, 0] = micros
    words[:, 1] = micros >> 63  # sign extension to 128 bits
    return pa.Array.from_buffers(MONEY, len(micros), [None, pa.py_buffer(words.tobytes())])


def facts_export_parquet(
    *, date_from: date, date_to: date, platforms: list[str] | None = None, batch_rows: int = 100_000
) -> Iterator[bytes]:
    """The facts of [date_from, date_to] as one Parquet file, streamed one row group at a time."""
    params = _params(date_from, date_to, platforms)
    schema = pa.schema([(name, kind) for name, _, kind in COLUMNS])
    select = "SELECT " + ", ".join(sql for _, sql, _ in COLUMNS)
    order = ", ".join(f"f.{k}" for k in KEY)
    after = "(" + ", ".join(f"f.{k}" for k in KEY) + ") > (" + ", ".join(f"%(k_{k})s" for k in KEY) + ")"
    sink = _Sink()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    last: dict[str, Any] | None = None
    key_index = [i for i, (name, _, _) in enumerate(COLUMNS) if name in KEY]
    with connection.cursor() as cursor:
        while True:
            where = f" AND {after}" if last else ""
            cursor.execute(
                f"{select}{_FROM}{where} ORDER BY {order} LIMIT {int(batch_rows)}", {**params, **(last or {})}
            )
            rows = cursor.fetchall()
            if not rows:
                break
            columns = list(zip(*rows, strict=True))
            arrays = [
                _micros_to_decimal(list(col)) if kind == MONEY else pa.array(col, type=kind)
                for col, (_, _, kind) in zip(columns, COLUMNS, strict=True)
            ]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            chunk = sink.drain()
            if chunk:
                yield chunk
            final = rows[-1]
            last = {f"k_{COLUMNS[i][0]}": final[i] for i in key_index}
            if len(rows) < batch_rows:
                break
    writer.close()
    yield sink.drain()
