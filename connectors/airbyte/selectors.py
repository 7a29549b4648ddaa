"""Reads for the Airbyte card of a connection's page: the check, the streams, schema changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.airbyte import mappings, protocol
from connectors.airbyte.registry import SOURCES, SourceDefinition
from connectors.models import AirbyteSource, Connection, StreamCursor


@dataclass(frozen=True)
class StreamRow:
    name: str
    chosen: bool
    sync_mode: str
    primary_key: str
    mapped: bool
    rows: int
    fields: int


@dataclass(frozen=True)
class AirbyteCard:
    source: AirbyteSource
    definition: SourceDefinition | None
    discovering: bool
    streams: list[StreamRow] = field(default_factory=list)
    schema_changes: list[dict[str, Any]] = field(default_factory=list)


def airbyte_card(*, connection: Connection) -> AirbyteCard | None:
    row = AirbyteSource.objects.filter(connection=connection).first()
    if row is None:
        return None
    streams = row.catalog.get("streams", []) if row.catalog else []
    catalog = protocol.configured_catalog(streams, [s["name"] for s in streams])
    rows = dict(StreamCursor.objects.filter(connection=connection).values_list("stream", "rows_landed"))
    mapped = mappings.mapped_streams(row.source_key)
    out = []
    for item in catalog["streams"]:
        stream = item["stream"]
        out.append(
            StreamRow(
                name=stream["name"],
                chosen=stream["name"] in row.streams,
                sync_mode="incremental" if item["sync_mode"] == "incremental" else "full refresh",
                primary_key=", ".join(".".join(p) for p in item.get("primary_key") or []) or "— (hash of the record)",
                mapped=stream["name"] in mapped,
                rows=int(rows.get(stream["name"]) or 0),
                fields=len((stream.get("json_schema") or {}).get("properties") or {}),
            )
        )
    return AirbyteCard(
        source=row,
        definition=SOURCES.get(row.source_key),
        discovering=row.checked_at is None,
        streams=out,
        schema_changes=list(row.schema_changes),
    )
