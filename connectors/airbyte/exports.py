"""One stream's raw records as CSV (unmapped streams stay usable outside Bosco).

Columns are the stream's schema properties (then any other top-level key seen), nested values
as JSON. Cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR) get a
leading apostrophe. Streamed in batches: memory stays bounded whatever the stream's size.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from connectors.airbyte.bridge import raw_stream_name
from connectors.models import AirbyteSource, Connection
from warehouse.models import RawRecord

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, str) and text.startswith(_FORMULA):
        return "'" + text
    return text


def stream_csv(*, connection: Connection, source: AirbyteSource, stream: str) -> Iterator[bytes]:
    schema = source.stream_schema(stream) or {}
    json_schema = schema.get("json_schema")
    properties = json_schema.get("properties") if isinstance(json_schema, dict) else None
    columns = list(properties) if isinstance(properties, dict) else []
    records = (
        RawRecord.objects.filter(stream=raw_stream_name(connection.pk, stream))
        .order_by("record_key")
        .values_list("payload", flat=True)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header_written = False
    for payload in records.iterator(chunk_size=2000):
        if not header_written:
            columns += [k for k in payload if k not in columns]
            writer.writerow(columns)
            header_written = True
        writer.writerow([_cell(payload.get(c)) for c in columns])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    if not header_written:
        writer.writerow(columns)
    yield buffer.getvalue().encode()
