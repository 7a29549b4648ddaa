"""The Airbyte protocol as Bosco reads it: one JSON message per line on a source's stdout.

Message types: RECORD, STATE (per stream, global, or the legacy blob), LOG, TRACE (ERROR ends
the run with the source's message; ESTIMATE feeds progress; STREAM_STATUS is informational),
CONNECTION_STATUS (answer to `check`), CATALOG (answer to `discover`), SPEC (answer to `spec`).
Anything else on stdout — a line that is not JSON, JSON that is not a message, a message
without the fields its type requires — is a `ProtocolError` naming the line: Bosco never lands
data from a source it cannot understand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: longest excerpt of a bad line quoted in an error
_QUOTE = 120


class ProtocolError(Exception):
    """The source broke the protocol; the message is written for the person reading the run."""


@dataclass(frozen=True)
class Record:
    stream: str
    data: dict[str, Any]
    namespace: str | None = None


@dataclass(frozen=True)
class State:
    """A checkpoint. `kind` is "STREAM", "GLOBAL" or "LEGACY"; `streams` maps a stream to its state."""

    kind: str
    streams: dict[str, Any]
    shared: Any = None  # GLOBAL: the shared_state; LEGACY: the whole blob
    raw: dict[str, Any] | None = None


@dataclass(frozen=True)
class Log:
    level: str
    message: str


@dataclass(frozen=True)
class TraceError:
    message: str
    internal_message: str
    failure_type: str
    stack_trace: str


@dataclass(frozen=True)
class Estimate:
    stream: str
    rows: int | None


@dataclass(frozen=True)
class StreamStatus:
    stream: str
    status: str


@dataclass(frozen=True)
class ConnectionStatus:
    succeeded: bool
    message: str


@dataclass(frozen=True)
class Catalog:
    streams: list[dict[str, Any]]


@dataclass(frozen=True)
class Spec:
    connection_specification: dict[str, Any]
    documentation_url: str


Message = Record | State | Log | TraceError | Estimate | StreamStatus | ConnectionStatus | Catalog | Spec


def _quote(line: str) -> str:
    line = line.strip()
    return line if len(line) <= _QUOTE else line[:_QUOTE] + "…"


def _need(obj: Any, key: str, kind: type | tuple[type, ...], where: str, line_no: int) -> Any:
    value = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(value, kind):
        raise ProtocolError(f"line {line_no} of the source's output: {where} has no valid {key!r}.")
    return value


def parse_line(line: str, line_no: int) -> Message | None:
    """One line of stdout → a message; blank lines are None; anything unreadable raises."""
    text = line.strip()
    if not text:
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        raise ProtocolError(
            f"line {line_no} of the source's output is not an Airbyte message (not JSON): {_quote(text)!r}."
        ) from None
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise ProtocolError(f"line {line_no} of the source's output is JSON without a message type: {_quote(text)!r}.")
    kind = obj["type"]
    if kind == "RECORD":
        record = _need(obj, "record", dict, "a RECORD", line_no)
        return Record(
            stream=_need(record, "stream", str, "a RECORD", line_no),
            data=_need(record, "data", dict, "a RECORD", line_no),
            namespace=record.get("namespace") if isinstance(record.get("namespace"), str) else None,
        )
    if kind == "STATE":
        return _parse_state(_need(obj, "state", dict, "a STATE", line_no), line_no)
    if kind == "LOG":
        log = _need(obj, "log", dict, "a LOG", line_no)
        return Log(level=str(log.get("level") or "INFO"), message=str(log.get("message") or ""))
    if kind == "TRACE":
        return _parse_trace(_need(obj, "trace", dict, "a TRACE", line_no), line_no)
    if kind == "CONNECTION_STATUS":
        status = _need(obj, "connectionStatus", dict, "a CONNECTION_STATUS", line_no)
        return ConnectionStatus(succeeded=status.get("status") == "SUCCEEDED", message=str(status.get("message") or ""))
    if kind == "CATALOG":
        catalog = _need(obj, "catalog", dict, "a CATALOG", line_no)
        streams = _need(catalog, "streams", list, "a CATALOG", line_no)
        for stream in streams:
            _need(stream, "name", str, "a CATALOG stream", line_no)
            _need(stream, "json_schema", dict, "a CATALOG stream", line_no)
        return Catalog(streams=streams)
    if kind == "SPEC":
        spec = _need(obj, "spec", dict, "a SPEC", line_no)
        return Spec(
            connection_specification=_need(spec, "connectionSpecification", dict, "a SPEC", line_no),
            documentation_url=str(spec.get("documentationUrl") or ""),
        )
    if kind in ("CONTROL", "DESTINATION_CATALOG"):
        return None  # config updates and destination messages: nothing for a reader to do
    raise ProtocolError(f"line {line_no} of the source's output has an unknown message type {kind!r}.")


def _parse_state(state: dict[str, Any], line_no: int) -> State:
    kind = state.get("type") or ("LEGACY" if "data" in state else None)
    if kind == "STREAM":
        stream = _need(state, "stream", dict, "a STREAM state", line_no)
        descriptor = _need(stream, "stream_descriptor", dict, "a STREAM state", line_no)
        name = _need(descriptor, "name", str, "a STREAM state", line_no)
        return State(kind="STREAM", streams={name: stream.get("stream_state")}, raw=state)
    if kind == "GLOBAL":
        shared = _need(state, "global", dict, "a GLOBAL state", line_no)
        streams: dict[str, Any] = {}
        for item in shared.get("stream_states") or []:
            descriptor = _need(item, "stream_descriptor", dict, "a GLOBAL state's stream", line_no)
            streams[_need(descriptor, "name", str, "a GLOBAL state's stream", line_no)] = item.get("stream_state")
        return State(kind="GLOBAL", streams=streams, shared=shared.get("shared_state"), raw=state)
    if kind == "LEGACY":
        return State(kind="LEGACY", streams={}, shared=state.get("data"), raw=state)
    raise ProtocolError(f"line {line_no} of the source's output: a STATE of unknown type {kind!r}.")


def _parse_trace(trace: dict[str, Any], line_no: int) -> Message | None:
    kind = trace.get("type")
    if kind == "ERROR":
        error = _need(trace, "error", dict, "an ERROR trace", line_no)
        return TraceError(
            message=str(error.get("message") or "The source reported an error without a message."),
            internal_message=str(error.get("internal_message") or ""),
            failure_type=str(error.get("failure_type") or "system_error"),
            stack_trace=str(error.get("stack_trace") or ""),
        )
    if kind == "ESTIMATE":
        estimate = _need(trace, "estimate", dict, "an ESTIMATE trace", line_no)
        rows = estimate.get("row_estimate")
        return Estimate(stream=str(estimate.get("name") or ""), rows=rows if isinstance(rows, int) else None)
    if kind == "STREAM_STATUS":
        status = trace.get("stream_status") or {}
        descriptor = status.get("stream_descriptor") or {}
        return StreamStatus(stream=str(descriptor.get("name") or ""), status=str(status.get("status") or ""))
    return None  # ANALYTICS and future trace kinds carry nothing Bosco acts on


def configured_catalog(streams: list[dict[str, Any]], chosen: list[str]) -> dict[str, Any]:
    """The ConfiguredAirbyteCatalog for `chosen` streams: incremental where supported, else full refresh."""
    by_name = {s["name"]: s for s in streams}
    configured = []
    for name in chosen:
        stream = by_name[name]
        incremental = "incremental" in (stream.get("supported_sync_modes") or []) and bool(
            stream.get("source_defined_cursor") or stream.get("default_cursor_field")
        )
        item: dict[str, Any] = {
            "stream": stream,
            "sync_mode": "incremental" if incremental else "full_refresh",
            "destination_sync_mode": "append_dedup" if incremental else "overwrite",
        }
        if incremental and stream.get("default_cursor_field"):
            item["cursor_field"] = stream["default_cursor_field"]
        if stream.get("source_defined_primary_key"):
            item["primary_key"] = stream["source_defined_primary_key"]
        configured.append(item)
    return {"streams": configured}


def sync_mode(catalog: dict[str, Any], stream: str) -> str:
    for item in catalog.get("streams", []):
        if item["stream"]["name"] == stream:
            return str(item["sync_mode"])
    return "full_refresh"
